"""Pan alignment and stitching vs scikit-image's phase_cross_correlation and OpenCV's Stitcher (SCANS).

Test pans as the design asks: the bundled-or-shared public-domain image reduced by an integer k with a
box filter and cropped at integer source offsets (ground truth exact to 1/k px), degraded with Gaussian
noise, Pillow JPEG (Q25, Q50) and a static semi-transparent logo. Writes results/align.json.

    .venv/bin/python benchmarks/bench_align.py            # needs scikit-image and opencv-python-headless
"""

from __future__ import annotations

import io
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import metadata, write_result
from vsovermix.ops import align
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.stitch import StreamingRender, plan_canvas

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "park.png"


def load_source() -> np.ndarray:
    from PIL import Image

    path = SHARED if SHARED.exists() else Path(__file__).resolve().parents[1] / "vsovermix" / "data" / "park.png"
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return rgb[..., 0] * 0.25 + rgb[..., 1] * 0.5 + rgb[..., 2] * 0.25


def make_pan(src, k, w, h, n, seed, step=(30, 10), jitter=25):
    """Frames, their true positions (frame px, frame 0 at 0, 0) and frame 0's source offset."""
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.integers(-jitter, jitter + 1, (n, 2)) + np.array(step), axis=0)
    pos -= pos.min(axis=0)
    frames = [box_reduce(np.ascontiguousarray(src[oy:oy + h * k, ox:ox + w * k]), k) for ox, oy in pos]
    return frames, (pos - pos[0]) / k, pos[0]


def degrade(frame, kind, rng):
    from PIL import Image

    f = frame
    if kind == "noise":
        f = f + rng.normal(0, 3, f.shape)
    if kind == "logo":
        f = f.copy()
        h, w = f.shape
        f[h // 12:h // 12 + 40, w - 120:w - 20] = 0.5 * f[h // 12:h // 12 + 40, w - 120:w - 20] + 0.5 * 235
        f = f + rng.normal(0, 2, f.shape)
    f = np.clip(np.floor(f + 0.5), 0, 255)
    if kind.startswith("jpeg"):
        buffer = io.BytesIO()
        Image.fromarray(f.astype(np.uint8)).save(buffer, "JPEG", quality=int(kind[4:]))
        f = np.asarray(Image.open(buffer), dtype=np.float32)
    return f.astype(np.float32)


def ours_positions(frames, scale=1):
    result = align.estimate_pan_offsets(lambda n: (frames[n] / 255).astype(np.float32), len(frames), scale)
    return np.stack([result.x, result.y], axis=1)


def skimage_positions(frames):
    from skimage.registration import phase_cross_correlation

    pos = [np.zeros(2)]
    for a, b in itertools.pairwise(frames):
        shift, _, _ = phase_cross_correlation(a, b, upsample_factor=100)
        pos.append(pos[-1] + shift[::-1])  # skimage: the shift that moves b onto a
    return np.array(pos)


def accuracy(src, results):
    k, w, h, n = 4, 480, 270, 12
    for kind in ("clean", "noise", "jpeg50", "jpeg25", "logo"):
        rng = np.random.default_rng(7)
        frames, truth, _ = make_pan(src, k, w, h, n, seed=3)
        frames = [degrade(f, kind, rng) for f in frames]
        row = {}
        for name, fn in (("vsovermix", ours_positions), ("skimage_pcc_u100", skimage_positions)):
            pos = fn(frames)
            error = np.abs(pos - truth).ravel()
            row[name] = {"median_px": float(np.median(error)), "max_px": float(error.max())}
        results["accuracy"][kind] = row
        print(f"{kind:7s} ours median {row['vsovermix']['median_px']:.4f} max {row['vsovermix']['max_px']:.4f} | "
              f"skimage median {row['skimage_pcc_u100']['median_px']:.4f} max {row['skimage_pcc_u100']['max_px']:.4f}")


def speed(src, results):
    from skimage.registration import phase_cross_correlation

    a, b = (np.ascontiguousarray(src[300 + d:300 + d + 1080, 300 + 2 * d:300 + 2 * d + 1920]) for d in (0, 17))
    pa, pb = (align.build_pyramid(align.make_proxy(f / 255, 2)) for f in (a, b))
    weights = align.build_weights((540, 960), 4)

    def best(fn, repeat=5):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times) * 1e3

    proxy_ms = best(lambda: align.make_proxy(a / 255, 2))
    pair_ms = best(lambda: align.estimate_pair(pa, pb, weights))
    hinted_ms = best(lambda: align.estimate_pair(pa, pb, weights, hint=(17.0, 8.5)))
    tiles_ms = best(lambda: align.tile_disagreement(pa, pb, weights, (17.0, 8.5)))
    pcc1 = best(lambda: phase_cross_correlation(a, b, upsample_factor=1), 3)
    pcc100 = best(lambda: phase_cross_correlation(a, b, upsample_factor=100), 3)
    results["speed_1080p_ms"] = {"proxy_per_frame": proxy_ms, "pair_from_scratch": pair_ms, "pair_hinted": hinted_ms,
                                 "tile_check": tiles_ms, "skimage_pcc_u1": pcc1, "skimage_pcc_u100": pcc100,
                                 "ratio_skimage_u100_to_ours_pair": pcc100 / pair_ms}
    print(f"1080p: proxy {proxy_ms:.1f} ms/frame, pair {pair_ms:.1f} ms (hinted {hinted_ms:.1f}, "
          f"tiles {tiles_ms:.1f}); "
          f"skimage pcc u1 {pcc1:.1f} ms, u100 {pcc100:.1f} ms -> {pcc100 / pair_ms:.1f}x")


def stitching(src, results):
    import cv2

    k, w, h, n = 4, 480, 270, 48
    frames, truth, first_offset = make_pan(src, k, w, h, n, seed=11, step=(8, 3), jitter=6)
    rng = np.random.default_rng(1)
    row = {}
    for label, sigma in (("clean", 0.0), ("noise3", 3.0)):
        obs = [np.clip(np.floor(f + rng.normal(0, sigma, f.shape) + 0.5), 0, 255).astype(np.float32) for f in frames]
        t = time.perf_counter()
        pos = ours_positions(obs)
        canvas = plan_canvas(pos[:, 0], pos[:, 1], w, h)
        acc = StreamingRender("average", canvas.width, canvas.height)
        for f, (x, y) in zip(obs, pos, strict=True):
            acc.add(f, canvas.placement(x, y, w, h, 0, 0, "lanczos3"), 8, "lanczos3")
        values, cover = acc.result()
        seconds = time.perf_counter() - t
        # Ground truth: the same source region the canvas covers (frame 0 at integer origin offsets).
        ox, oy = int(canvas.origin_x), int(canvas.origin_y)
        start = np.array([ox, oy]) * k + first_offset
        gt = box_reduce(np.ascontiguousarray(src[start[1]:start[1] + canvas.height * k,
                                                 start[0]:start[0] + canvas.width * k]), k)
        hh, ww = gt.shape
        m = cover[:hh, :ww] > 0
        err = np.floor(values[:hh, :ww][m] + 0.5) - gt[m]
        psnr = float(10 * np.log10(255**2 / np.mean(err**2)))
        single = float(10 * np.log10(255**2 / np.mean((obs[0] - frames[0]) ** 2))) if sigma else None
        row[label] = {"seconds_48_frames_480x270": seconds, "psnr_db": psnr, "single_frame_psnr_db": single}
        extra = f" (one frame {single:.2f} dB)" if single else ""
        print(f"stitch {label}: {seconds:.2f} s, PSNR {psnr:.2f} dB{extra}")
    # OpenCV Stitcher SCANS on 8 frames (colour copies of the luma frames).
    sub = [np.repeat(np.clip(f, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2) for f in frames[::6]]
    stitcher = cv2.Stitcher_create(cv2.Stitcher_SCANS)
    t = time.perf_counter()
    status, pano = stitcher.stitch(sub)
    cv_seconds = time.perf_counter() - t
    t = time.perf_counter()
    pos8 = ours_positions([f.astype(np.float32) for f in frames[::6]])
    ours8 = time.perf_counter() - t
    truth8 = truth[::6]
    true_width = truth8[:, 0].max() - truth8[:, 0].min() + w
    row["opencv_scans_8_frames"] = {"status": int(status), "seconds": cv_seconds,
                                    "width_px": None if pano is None else int(pano.shape[1]),
                                    "true_width_px": float(true_width), "ours_align_seconds": ours8,
                                    "ours_width_error_px": float(abs((pos8[:, 0].max() - pos8[:, 0].min() + w)
                                                                     - true_width))}
    print(f"OpenCV SCANS 8 frames: status {status}, {cv_seconds:.2f} s, "
          f"width {row['opencv_scans_8_frames']['width_px']}"
          f" vs true {true_width:.2f}; ours align {ours8:.2f} s, width error "
          f"{row['opencv_scans_8_frames']['ours_width_error_px']:.3f} px")
    results["stitch"] = row


def main() -> None:
    src = load_source()
    results = {"meta": metadata(), "accuracy": {}}
    accuracy(src, results)
    speed(src, results)
    stitching(src, results)
    print(write_result("align", results))


if __name__ == "__main__":
    main()
