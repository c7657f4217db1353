"""steam vs its native peer (std.Expr over the shifted clips) at 1080p, through vspipe, in one run.

    .venv/bin/python benchmarks/bench_steam.py [--reps 3] [--backend numpy|cupy]

Writes benchmarks/results/steam-<backend>.json and prints a Markdown table (the README's).
Method: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure, metadata, write_result

from vsovermix.ops.temporal import rank_for_mode, temporal_select

SCRIPT = Path(__file__).resolve().parent / "steam.vpy"


def op_ms(dtype: type, mode: str, tr: int, reps: int = 30) -> float:
    """Median ms of the NumPy op alone on one 1080p luma plane (no VapourSynth)."""
    rng = np.random.default_rng(0)
    planes = [rng.integers(0, 255, (1080, 1920)).astype(dtype) for _ in range(2 * tr + 1)]
    out = np.empty_like(planes[0])
    rank = rank_for_mode(mode, len(planes))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        temporal_select(planes, rank, out=out)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    parser.add_argument("--tr", type=int, default=2)
    args = parser.parse_args()
    rows = []
    sources = {}
    for fmt in ("P8", "P16"):
        sources[fmt] = measure(SCRIPT, {"fmt": fmt, "impl": "source"}, args.reps)
        for mode in ("min", "max", "median"):
            common = {"fmt": fmt, "mode": mode, "tr": str(args.tr)}
            peer = measure(SCRIPT, {**common, "impl": "expr"}, args.reps)
            ours = measure(SCRIPT, {**common, "impl": "steam", "backend": args.backend}, args.reps)
            rows.append({"format": f"YUV420{fmt}", "mode": mode, "tr": args.tr, "peer": peer, "ours": ours,
                         "ratio_fps": ours["fps"] / peer["fps"],
                         "ratio_cpu": peer["cpu_ms_per_frame"] / ours["cpu_ms_per_frame"]})
            print(f"{fmt} {mode}: expr {peer['fps']:.1f} fps, steam {ours['fps']:.1f} fps "
                  f"(ratio {rows[-1]['ratio_fps']:.2f})", file=sys.stderr)
    ops = {f"{dtype.__name__}_{mode}_ms": op_ms(dtype, mode, args.tr)
           for dtype in (np.uint8, np.uint16) for mode in ("min", "median")}
    payload = {"benchmark": "steam", "backend": args.backend, "resolution": "1920x1080", "frames": 240,
               "peer": "core.std.Expr over 2*tr+1 edge-clamped shifted clips (same selection network)",
               "meta": metadata(), "source_only": sources, "rows": rows, "op_1080p_luma": ops}
    path = write_result(f"steam-{args.backend}", payload)
    print("| format | mode | std.Expr fps | steam fps | ratio (fps) "
          "| std.Expr CPU ms/f | steam CPU ms/f | ratio (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['format']} | {r['mode']} | {r['peer']['fps']:.1f} | {r['ours']['fps']:.1f} | "
              f"{r['ratio_fps']:.2f} | {r['peer']['cpu_ms_per_frame']:.2f} | {r['ours']['cpu_ms_per_frame']:.2f} | "
              f"{r['ratio_cpu']:.2f} |")
    print("\n- source alone (both pay it): " + ", ".join(
        f"YUV420{k} {v['fps']:.0f} fps, {v['cpu_ms_per_frame']:.2f} CPU ms/f" for k, v in sources.items()))
    print(f"- NumPy op alone, one 1080p luma plane, tr={args.tr}: " +
          ", ".join(f"{k[:-3]} {v:.2f} ms" for k, v in ops.items()))
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
