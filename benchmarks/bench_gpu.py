"""GPU figures for the steam path: host<->device transfer rates and the kernel's own time, at 1080p.

    .venv/bin/python benchmarks/bench_gpu.py

Needs a usable CuPy GPU (exits with the probe's reason otherwise). Transfers: 1080p YUV420P8 and
P16 frames (3.1 / 6.2 MB), pageable and pinned, H2D and D2H, 200 repetitions each. Kernel:
``temporal_select`` over 5 luma planes (tr=2), min and median, timed with cupyx.profiler.benchmark
(device time). Achieved bandwidth is reported against the bytes the kernel must move.
Writes results/gpu-<device>.json.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import metadata, write_result

from vsovermix.backend import probe_cupy
from vsovermix.ops.temporal import rank_for_mode, temporal_select


def transfer_gbps(cp, nbytes: int, pinned: bool, direction: str, reps: int = 200) -> float:
    import cupyx

    host = cupyx.empty_pinned((nbytes,), np.uint8) if pinned else np.empty(nbytes, np.uint8)
    host[:] = 7
    device = cp.empty(nbytes, np.uint8)
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        if direction == "h2d":
            device.set(host)
        else:
            device.get(out=host)
    cp.cuda.Device().synchronize()
    return nbytes * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    probe = probe_cupy()
    if not probe.usable:
        sys.exit(f"bench_gpu: no usable GPU: {probe.reason}")
    import cupy as cp
    from cupyx.profiler import benchmark

    transfers = {}
    for name, nbytes in (("YUV420P8", 1920 * 1080 * 3 // 2), ("YUV420P16", 1920 * 1080 * 3)):
        for pinned in (False, True):
            for direction in ("h2d", "d2h"):
                key = f"{name}_{'pinned' if pinned else 'pageable'}_{direction}_GBps"
                transfers[key] = transfer_gbps(cp, nbytes, pinned, direction)
    kernels = {}
    rng = np.random.default_rng(0)
    for dtype in (np.uint8, np.uint16):
        planes = [cp.asarray(rng.integers(0, 255, (1080, 1920)).astype(dtype)) for _ in range(5)]
        out = cp.empty_like(planes[0])
        for mode in ("min", "median"):
            rank = rank_for_mode(mode, 5)
            result = benchmark(temporal_select, (planes, rank, out), n_repeat=200, n_warmup=10)
            gpu_ms = float(np.median(result.gpu_times)) * 1000
            moved = 6 * planes[0].nbytes  # read 5 planes, write 1
            kernels[f"{dtype.__name__}_{mode}"] = {"gpu_ms": gpu_ms, "GBps": moved / (gpu_ms / 1000) / 1e9}
    payload = {"benchmark": "gpu", "meta": metadata(), "transfers": transfers, "temporal_select_1080p_tr2": kernels}
    device = (probe.device_name or "gpu").replace(" ", "_")
    path = write_result(f"gpu-{device}", payload)
    for key, value in transfers.items():
        print(f"{key}: {value:.1f}")
    for key, value in kernels.items():
        print(f"{key}: {value['gpu_ms']:.3f} ms, {value['GBps']:.0f} GB/s")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
