# Sourced by scripts/demo and scripts/test: make .venv current, then export VENV_PY.
# Idempotent: when .venv matches pyproject.toml it only checks that vspipe starts.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.vsovermix-stamp"
EXTRAS="test,peers,demo"

say() { printf '[vsovermix] %s\n' "$*" >&2; }

# A candidate counts only if it runs and is >= 3.12 (a pyenv shim that errors does not count).
python_ok() {
    [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    for c in "${PYTHON:-}" python3.13 python3.12; do
        if [ -n "$c" ] && python_ok "$c"; then command -v "$c" 2>/dev/null || echo "$c"; return 0; fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        for c in $(ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python3.1[2-9] 2>/dev/null | sort -rV); do
            if python_ok "$c"; then echo "$c"; return 0; fi
        done
    fi
    return 1
}

stamp_now() {
    # What the venv was built from: the project's metadata, the extras and the interpreter.
    { cat "$ROOT/pyproject.toml"; echo "$EXTRAS"; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1
}

if ! python_ok "$VENV/bin/python"; then
    PY=$(find_python) || {
        say "error: no Python >= 3.12 found (VapourSynth's Linux wheels need it)."
        say "Tried \$PYTHON, python3.13, python3.12 and pyenv's versions. Install one, or run: PYTHON=/path/to/python3.12 $0"
        exit 2
    }
    say "creating .venv with $("$PY" -V 2>&1) ($PY)"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(stamp_now)" ]; then
    say "installing vsovermix (editable) with extras [$EXTRAS] into .venv"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[$EXTRAS]"
    rm -f "$STAMP"
fi

# vspipe run from an unactivated venv fails until VSScript is configured once for this venv.
if [ ! -f "$STAMP" ] || ! "$VENV/bin/vspipe" --version >/dev/null 2>&1; then
    "$VENV/bin/vapoursynth" config >/dev/null
    "$VENV/bin/vspipe" --version >/dev/null 2>&1 || { say "error: vspipe does not start after 'vapoursynth config'"; exit 2; }
    stamp_now > "$STAMP"
fi

VENV_PY="$VENV/bin/python"
export VENV_PY
