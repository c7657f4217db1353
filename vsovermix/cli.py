"""The ``vsovermix`` command: ``doctor`` (what is installed and which backend runs) and ``demo``."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import warnings
from collections.abc import Sequence

__all__ = ["doctor_report", "main"]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def doctor_report() -> list[tuple[str, str]]:
    """(label, value) rows: Python, VapourSynth, plugins, NumPy/SciPy/CuPy, CUDA, GPU, resolved backend."""
    import numpy
    import scipy
    import vapoursynth as vs

    from .backend import ENV_VAR, Backend, probe_cupy, resolve_backend

    core = vs.core
    version = core.core_version
    probe = probe_cupy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resolved = resolve_backend(Backend.AUTO, "doctor")
    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("vsovermix", _version("vsovermix")),
        ("vapoursynth core", f"R{version.release_major}.{version.release_minor}"),
        ("vapoursynth api", f"{vs.__api_version__.api_major}.{vs.__api_version__.api_minor}"),
        ("vapoursynth threads", str(core.num_threads)),
        ("plugin namespaces", " ".join(sorted(p.namespace for p in core.plugins()))),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("cupy", probe.cupy_version or "not installed"),
        ("cuda runtime", _cuda_version(probe.runtime_version)),
        ("cuda driver", _cuda_version(probe.driver_version)),
        ("gpu", f"{probe.device_name} ({probe.device_memory / 2**30:.1f} GiB)" if probe.usable else
         f"none usable: {probe.reason}"),
        (f"backend auto resolves to ({ENV_VAR}={os.environ.get(ENV_VAR, '')!r})", resolved.value),
    ]
    return rows


def _cuda_version(number: int | None) -> str:
    if number is None:
        return "unknown"
    if number == 0:
        return "none (no driver)"
    return f"{number // 1000}.{number % 1000 // 10}"


def _doctor(_: argparse.Namespace) -> int:
    rows = doctor_report()
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    result = run_demo(args.output_dir, frames=args.frames, tr=args.tr, backend=args.backend)
    print(f"steam removal, tr={result.tr}, {result.frames} frames: PSNR against the clean frames "
          f"{result.psnr_before:.2f} dB -> {result.psnr_after:.2f} dB")
    print(f"wrote {len(result.files)} files into {result.output_dir.resolve()}:")
    for path in result.files:
        print(f"  {path.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsovermix", description="Multi-frame restoration of anime video.")
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="print versions, plugins, GPU and the backend 'auto' resolves to")
    doctor.set_defaults(run=_doctor)
    demo = commands.add_parser("demo", help="remove moving steam from a clip built from the bundled sample")
    demo.add_argument("--output-dir", default="demo-output",
                      help="folder for the demo's files (default: demo-output); only its own files are replaced")
    demo.add_argument("--frames", type=int, default=24, help="clip length, 8-240 (default 24)")
    demo.add_argument("--tr", type=int, default=3, help="steam's temporal radius, 1-3 (default 3)")
    demo.add_argument("--backend", default="auto", choices=["auto", "cupy", "numpy"])
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and not (8 <= args.frames <= 240 and 1 <= args.tr <= 3):
        parser.error(f"demo: --frames must be in [8, 240] and --tr in [1, 3], got {args.frames} and {args.tr}")
    from .errors import VsOvermixError

    try:
        return args.run(args)
    except VsOvermixError as exc:
        print(f"vsovermix: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vsovermix: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
