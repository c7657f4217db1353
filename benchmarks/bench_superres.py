"""Multi-frame super-resolution vs VapourSynth's own bicubic and Lanczos resizers, in one run.

Test material as the design asks: the shared 3200x2400 drawing (or the bundled crop) reduced 8x with
a box filter at integer source offsets, so 16 frames of 240x136 sit at exact 1/8 px positions and the
truth at 2x (4x reduction) and 4x (2x reduction) is exact. Cases: clean, Gaussian noise sigma 2, x264
(crf 18), a soft source (the drawing blurred by 0.5 frame px before the reduction; also solved with the
matching ``psf=0.5``), and an outlier case where 2 of 16 frames carry a local change. Every case is
solved with ``vo.superres``'s default PSF (0.2 px besides the area) and also with ``psf=0`` (the area
sensor alone, which exact box reductions fit best).
Shifts estimated by our own alignment, and oracle shifts (the gap is the alignment's cost). PSNR (luma,
peak 1) on an interior crop against the centre frame resized by ``resize.Bicubic`` and ``resize.Lanczos``.

Line art: the bundled black-on-white drawing reduced 4x at 1/4 px steps (16 frames), at 2x: how far
each method overshoots the truth's local range (the 3 x 3 min and max: ringing halos), whether strokes
come out darker or paler, and PSNR; our solve also unclamped (the descent before ``super_resolve``
clamps it to the frames' range).

Also: the time of one 1080p frame at 2x from 9 frames (NumPy, and CuPy where it runs), and the peak
memory of ``render="sr"`` on a 100-frame 1080p pan at 2x.

    .venv/bin/python benchmarks/bench_superres.py        # writes benchmarks/results/superres.json
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import vapoursynth as vs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_align import x264_frames
from benchmarks.common import metadata, write_result
from vsovermix._png import read_png
from vsovermix._vs.frames import clip_from_planes, plane_view
from vsovermix.backend import probe_cupy
from vsovermix.filters.superres import DEFAULT_PSF_SIGMA, plane_psf
from vsovermix.ops.align import estimate_pan_offsets
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.superres import Psf, SrSettings, _descend, solve_bytes, super_resolve

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "park.png"
BUNDLED = Path(__file__).resolve().parents[1] / "vsovermix" / "data" / "park_detail.png"
LINE_ART = BUNDLED.parent / "lineart_crop.png"
REDUCTION, WIDTH, HEIGHT, FRAMES = 8, 240, 136, 16
# Cases also solved with psf= (a Gaussian sigma in input px): "soft" is drawn blurred by that much.
CASE_PSF = {"soft": 0.5}


def psf_default(scale: int):
    """``vo.superres``'s default PSF (psf=None) for a luma plane at ``scale``."""
    return plane_psf(DEFAULT_PSF_SIGMA, scale, 0, 0)


def source_luma() -> np.ndarray:
    rgb = read_png(SHARED if SHARED.exists() else BUNDLED)[:, :, :3].astype(np.float32)
    return (rgb[..., 0] + 2 * rgb[..., 1] + rgb[..., 2]) / 4


def make_frames(luma: np.ndarray, kind: str) -> tuple[list[np.ndarray], np.ndarray, tuple[int, int]]:
    """Frames (peak 1), their true offsets (low-res px, frame 0 at 0) and frame 0's source origin."""
    rng = np.random.default_rng(5)
    offsets = rng.integers(0, 3 * REDUCTION, (FRAMES, 2))
    offsets[0] = 0
    origin = (600, 500)
    if kind == "soft":
        from scipy.ndimage import gaussian_filter

        luma = gaussian_filter(luma, CASE_PSF["soft"] * REDUCTION)  # the truth stays sharp
    frames = []
    for k, (ox, oy) in enumerate(offsets):
        y0, x0 = origin[1] + oy, origin[0] + ox
        f = box_reduce(np.ascontiguousarray(luma[y0:y0 + HEIGHT * REDUCTION, x0:x0 + WIDTH * REDUCTION]), REDUCTION)
        if kind == "noise2":
            f = f + rng.normal(0, 2, f.shape)
        if kind == "outliers" and k in (5, 11):  # 10 % of the frames: a mouth-sized patch that changes
            f = f.copy()
            f[60:76, 100:124] = 30.0
        frames.append(np.clip(np.floor(f + 0.5), 0, 255).astype(np.float32))
    if kind == "x264":
        frames = x264_frames(frames)
    return [f / 255 for f in frames], offsets / REDUCTION, origin


def resized(frame: np.ndarray, scale: int, kernel: str) -> np.ndarray:
    clip = clip_from_planes([[frame]], vs.GRAYS)
    out = getattr(clip.resize, kernel)(frame.shape[1] * scale, frame.shape[0] * scale)
    with out.get_frame(0) as f:
        return np.array(plane_view(f, 0), dtype=np.float64)


def inner_psnr(image: np.ndarray, truth: np.ndarray, margin: int) -> float:
    inner = np.s_[margin:-margin, margin:-margin]
    return psnr(image[inner], truth[inner], peak=1.0)


def quality(results: dict) -> None:
    luma = source_luma()
    rows = {}
    for kind in ("clean", "noise2", "x264", "soft", "outliers"):
        frames, truth_offsets, origin = make_frames(luma, kind)
        pan = estimate_pan_offsets(lambda n, frames=frames: frames[n], FRAMES, 1)
        estimated = np.stack([pan.x, pan.y], axis=1)
        row = {"offset_error_max_px": float(np.abs(estimated - truth_offsets).max())}
        for scale in (2, 4):
            step = REDUCTION // scale
            y0, x0 = origin[1], origin[0]
            truth = box_reduce(np.ascontiguousarray(luma[y0:y0 + HEIGHT * REDUCTION, x0:x0 + WIDTH * REDUCTION]),
                               step) / 255
            margin = 4 * scale
            entry = {"bicubic": inner_psnr(resized(frames[0], scale, "Bicubic"), truth, margin),
                     "lanczos": inner_psnr(resized(frames[0], scale, "Lanczos"), truth, margin)}
            default_psf = psf_default(scale)
            for label, offsets in (("estimated", estimated), ("oracle", truth_offsets)):
                for robust in (True, False):
                    start = time.perf_counter()
                    estimate = super_resolve(frames, [tuple(o) for o in offsets], scale,
                                             SrSettings(robust=robust, psf=default_psf))
                    name = f"{'robust' if robust else 'l2'}_{label}"
                    entry[name] = inner_psnr(estimate, truth, margin)
                    entry[f"{name}_seconds"] = time.perf_counter() - start
            for robust in (True, False):  # psf=0: the area sensor alone
                estimate = super_resolve(frames, [tuple(o) for o in estimated], scale, SrSettings(robust=robust))
                entry[f"{'robust' if robust else 'l2'}_estimated_psf_0"] = inner_psnr(estimate, truth, margin)
            if kind in CASE_PSF:
                psf = Psf.gaussian(CASE_PSF[kind] * scale)
                estimate = super_resolve(frames, [tuple(o) for o in estimated], scale, SrSettings(psf=psf))
                entry[f"robust_estimated_psf_{CASE_PSF[kind]}"] = inner_psnr(estimate, truth, margin)
            entry["gain_over_bicubic"] = entry["robust_estimated"] - entry["bicubic"]
            entry["gain_over_lanczos"] = entry["robust_estimated"] - entry["lanczos"]
            row[f"x{scale}"] = entry
            if kind in CASE_PSF:
                with_psf = entry[f"robust_estimated_psf_{CASE_PSF[kind]}"]
                print(f"{kind} x{scale} with psf={CASE_PSF[kind]}: {with_psf:.2f} dB")
            print(f"{kind} x{scale} with psf=0: robust {entry['robust_estimated_psf_0']:.2f}, "
                  f"L2 {entry['l2_estimated_psf_0']:.2f} dB")
            print(f"{kind} x{scale}: bicubic {entry['bicubic']:.2f}, lanczos {entry['lanczos']:.2f}, "
                  f"robust {entry['robust_estimated']:.2f} (oracle {entry['robust_oracle']:.2f}), "
                  f"L2 {entry['l2_estimated']:.2f} (oracle {entry['l2_oracle']:.2f}) dB; "
                  f"+{entry['gain_over_bicubic']:.2f} over bicubic, {entry['robust_estimated_seconds']:.1f} s")
        rows[kind] = row
    results["quality"] = rows


def line_art(results: dict) -> None:
    """Halos and stroke darkening on line art at 2x (8-bit values), against bicubic and Lanczos clipped
    to the range (as an integer output is)."""
    from scipy.ndimage import maximum_filter, minimum_filter

    art = read_png(LINE_ART)[:, :, 0].astype(np.float32) / 255
    steps = np.random.default_rng(4).integers(0, 8, (FRAMES, 2))
    steps[0] = 0
    frames = [(np.floor(box_reduce(np.ascontiguousarray(art[oy:oy + 480, ox:ox + 640]), 4) * 255 + 0.5) / 255)
              .astype(np.float32) for ox, oy in steps]
    truth = box_reduce(np.ascontiguousarray(art[:480, :640]), 2)
    pan = estimate_pan_offsets(lambda n: frames[n], FRAMES, 1)
    offsets = list(zip(pan.x, pan.y, strict=True))
    inner = np.s_[8:-8, 8:-8]
    above, below = maximum_filter(truth, 3)[inner], minimum_filter(truth, 3)[inner]
    strokes = truth[inner] < 0.5

    def measure(image: np.ndarray) -> dict:
        image = image[inner]
        overshoot = (np.maximum(image - above, 0) + np.maximum(below - image, 0)) * 255
        return {"overshoot_p99_9": float(np.percentile(overshoot, 99.9)), "overshoot_max": float(overshoot.max()),
                "stroke_bias": float((image - truth[inner])[strokes].mean() * 255),
                "psnr": psnr(image, truth[inner], peak=1.0)}

    rows = {"bicubic": measure(np.clip(resized(frames[0], 2, "Bicubic"), 0, 1)),
            "lanczos": measure(np.clip(resized(frames[0], 2, "Lanczos"), 0, 1))}
    for label, psf in (("ours", psf_default(2)), ("ours_psf_0", None)):
        rows[label] = measure(super_resolve(frames, offsets, 2, SrSettings(psf=psf)))
        rows[f"{label}_unclamped"] = measure(_descend(frames, offsets, 2, SrSettings(psf=psf), 0, None))
    for label, row in rows.items():
        print(f"line art 2x {label}: overshoot 99.9% {row['overshoot_p99_9']:.1f}, max {row['overshoot_max']:.1f}, "
              f"strokes {row['stroke_bias']:+.2f} (8-bit values), {row['psnr']:.2f} dB")
    results["line_art_2x"] = rows


def speed(results: dict, iterations: int = 5) -> None:
    """2x of one 1080p luma frame from 9 frames: NumPy seconds per iteration (a 1 + ``iterations`` run
    less a 1-iteration run, so the start-up, mostly the cubic first estimate, is apart) and the default
    count's total; and where CuPy can run, the whole default solve on the GPU (after a warm-up that
    compiles)."""
    rng = np.random.default_rng(0)
    frames = [rng.random((1080, 1920)).astype(np.float32) for _ in range(9)]
    offsets = [(float(a), float(b)) for a, b in rng.uniform(-3, 3, (9, 2))]
    offsets[0] = (0.0, 0.0)
    seconds = []
    for count in (1, 1 + iterations):
        start = time.perf_counter()
        super_resolve(frames, offsets, 2, SrSettings(iterations=count, psf=psf_default(2)))
        seconds.append(time.perf_counter() - start)
    per_iteration = (seconds[1] - seconds[0]) / iterations
    setup = seconds[0] - per_iteration
    default = SrSettings().iterations
    entry = {"iterations_run": [1, 1 + iterations], "seconds": seconds, "seconds_per_iteration": per_iteration,
             "setup_seconds": setup, "projected_seconds_default_iterations": setup + per_iteration * default,
             "default_iterations": default}
    print(f"1080p 2x from 9 frames: {per_iteration:.2f} s per iteration after {setup:.2f} s of set-up, "
          f"{entry['projected_seconds_default_iterations']:.0f} s for the default {default} (one plane, NumPy)")
    for scale in (2, 4):  # what one solve allocates (tracemalloc, after the runs above), against solve_bytes
        tracemalloc.start()
        super_resolve(frames, offsets, scale, SrSettings(iterations=2, psf=psf_default(scale)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        entry[f"x{scale}_peak_allocated_mib"] = peak / 2**20
        entry[f"x{scale}_solve_bytes_mib"] = solve_bytes((1080, 1920), 9, scale, on_gpu=False) / 2**20
        print(f"1080p {scale}x from 9 frames allocates at most {peak / 2**20:.0f} MiB "
              f"(solve_bytes says {entry[f'x{scale}_solve_bytes_mib']:.0f} MiB)")
    if probe_cupy().usable:
        import cupy as cp

        on_gpu = [cp.asarray(f) for f in frames]
        super_resolve(on_gpu, offsets, 2, SrSettings(psf=psf_default(2)))
        cp.cuda.Device().synchronize()
        start = time.perf_counter()
        for _ in range(5):
            super_resolve(on_gpu, offsets, 2, SrSettings(psf=psf_default(2)))
        cp.cuda.Device().synchronize()
        entry["cupy_ms_per_frame_default_iterations"] = (time.perf_counter() - start) / 5 * 1000
        print(f"CuPy: {entry['cupy_ms_per_frame_default_iterations']:.1f} ms per 1080p frame (default iterations)")
    results["speed_1080p_2x_9_frames"] = entry


def canvas_memory(results: dict, count: int = 100, iterations: int = 2) -> None:
    """``render="sr"``'s solve of a 100-frame 1080p pan at 2x: the peak memory it allocates (tracemalloc,
    the frames themselves not counted) and its time per iteration. Memory does not depend on the
    iteration count, so a few iterations measure it."""
    from vsovermix.ops.stitch import plan_canvas
    from vsovermix.ops.superres import superres_canvas

    luma = source_luma() / 255
    rng = np.random.default_rng(2)
    h, w = 1080, 1920
    xs = np.arange(count) * 12 + rng.integers(0, 3, count)  # 12 px/frame to the right, wobbling 0-2 px
    ys = 100 + rng.integers(0, 5, count)
    if luma.shape[1] < xs[-1] + w or luma.shape[0] < ys.max() + h:
        print("canvas memory: needs the shared 3200x2400 park.png; skipped")
        return
    frames = [np.ascontiguousarray(luma[y:y + h, x:x + w], dtype=np.float32) for x, y in zip(xs, ys, strict=True)]
    positions = [(float(x - xs[0]), float(y - ys[0])) for x, y in zip(xs, ys, strict=True)]
    canvas = plan_canvas([p[0] for p in positions], [p[1] for p in positions], w, h)
    placements = [canvas.placement(x, y, w, h, 0, 0, "cubic") for x, y in positions]
    initial = np.full((canvas.height, canvas.width), np.nan, np.float32)
    for frame, place in zip(frames, placements, strict=True):
        (r0, r1), (c0, c1) = place.rows, place.cols
        initial[r0:r1, c0:c1] = frame[:r1 - r0, :c1 - c0]  # the start only; integer positions here
    tracemalloc.start()
    start = time.perf_counter()
    superres_canvas(lambda i: frames[i], placements, initial, 2,
                    SrSettings(iterations=iterations, psf=psf_default(2)))
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    default = SrSettings().iterations
    results["canvas_100_frames_1080p_2x"] = {
        "canvas": [canvas.width, canvas.height], "frames": count, "iterations_run": iterations,
        "peak_allocated_mib": peak / 2**20, "output_mib": canvas.width * canvas.height * 16 / 2**20,
        "seconds": seconds, "projected_seconds_default_iterations": seconds / iterations * default}
    print(f"render='sr' of {count} 1080p frames ({canvas.width}x{canvas.height} canvas) at 2x: peak "
          f"{peak / 2**20:.0f} MiB allocated (the 2x still itself is "
          f"{canvas.width * canvas.height * 16 / 2**20:.0f} MiB), {seconds / iterations:.1f} s per iteration")


def main() -> None:
    results = {"meta": metadata()}
    quality(results)
    line_art(results)
    speed(results)
    canvas_memory(results)
    print(write_result("superres", results))


if __name__ == "__main__":
    main()
