"""Shared benchmark plumbing: vspipe runs, CPU time, machine/version metadata, JSON results."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
VSPIPE = str(Path(sys.executable).parent / "vspipe")
_OUTPUT = re.compile(r"Output (\d+) frames in ([\d.]+) seconds \(([\d.]+) fps\)")


def vspipe_run(script: Path, args: dict[str, str], end: int | None = None) -> tuple[int, float, float]:
    """Render ``script`` through vspipe, output discarded. Returns (frames, wall fps, CPU seconds of the child)."""
    cmd = [VSPIPE, "-p"]
    for key, value in args.items():
        cmd += ["-a", f"{key}={value}"]
    if end is not None:
        cmd += ["-e", str(end)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*cmd, str(script), "--"], capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = _OUTPUT.search(done.stderr)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"vspipe failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return int(match.group(1)), float(match.group(3)), cpu


def measure(script: Path, args: dict[str, str], reps: int) -> dict[str, float]:
    """Median wall fps over ``reps`` runs and CPU ms per frame with start-up (a 1-frame run) subtracted."""
    startup = statistics.median(vspipe_run(script, args, end=0)[2] for _ in range(2))
    fps, cpu_ms = [], []
    frames = 0
    for _ in range(reps):
        frames, wall, cpu = vspipe_run(script, args)
        fps.append(wall)
        cpu_ms.append((cpu - startup) / max(frames - 1, 1) * 1000)
    return {"frames": frames, "fps": statistics.median(fps), "fps_min": min(fps), "fps_max": max(fps),
            "cpu_ms_per_frame": statistics.median(cpu_ms)}


def metadata() -> dict[str, object]:
    import numpy
    import vapoursynth as vs

    from vsovermix.backend import probe_cupy

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                            check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                text=True, cwd=ROOT, check=False).stdout.strip())
    probe = probe_cupy()
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit + ("-dirty" if dirty else ""),
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
                    "gpu": probe.device_name if probe.usable else None},
        "versions": {"python": platform.python_version(), "vapoursynth": f"R{vs.core.core_version.release_major}",
                     "numpy": numpy.__version__, "cupy": probe.cupy_version},
        "vs_threads": vs.core.num_threads,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _plain(value: object) -> object:
    """NumPy scalars as the Python numbers JSON knows (a sum of NumPy bools is an int64)."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return item()


def write_result(name: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=_plain) + "\n")
    return path
