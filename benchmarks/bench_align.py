"""Pan alignment and stitching vs scikit-image's phase_cross_correlation and OpenCV's Stitcher (SCANS).

Test pans as the design asks: the bundled-or-shared public-domain image reduced by an integer k with a
box filter and cropped at integer source offsets (ground truth exact to 1/k px), degraded with Gaussian
noise, Pillow JPEG (Q25, Q50), x264 (ffmpeg, crf 18), a static semi-transparent logo and drifting
steam. Then the whole of ``vo.stitch`` on 48 x264-encoded 1080p frames, as a user runs it.
Writes results/align.json.

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
from vsovermix.ops.metrics import psnr
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


def degrade(frame, kind, rng, steam=None):
    """One degraded frame; ``steam`` is the frame's steam opacity for the "steam" case."""
    from PIL import Image

    f = frame
    if kind == "steam":  # translucent puffs rising over the pan, faster than it moves
        f = f * (1 - steam) + 245 * steam + rng.normal(0, 2, f.shape)
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


def x264_frames(frames, crf=18.0):
    """Luma frames through libx264 (4:2:0 with neutral chroma), as float32."""
    from vsovermix._ffmpeg import x264_roundtrip

    h, w = frames[0].shape
    grey = np.full((h // 2, w // 2), 128, np.uint8)
    planes = [(np.clip(np.floor(f + 0.5), 0, 255).astype(np.uint8), grey, grey) for f in frames]
    return [y.astype(np.float32) for y, _, _ in x264_roundtrip("bench", planes, crf=crf, preset="veryfast")]


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
    from vsovermix.demo import make_steam_alpha

    k, w, h, n = 4, 480, 270, 12
    steam = make_steam_alpha(h, w, n, seed=2, count=12)
    for kind in ("clean", "noise", "jpeg50", "jpeg25", "x264", "logo", "steam"):
        rng = np.random.default_rng(7)
        frames, truth, _ = make_pan(src, k, w, h, n, seed=3)
        frames = [degrade(f, kind, rng, a) for f, a in zip(frames, steam, strict=True)]
        if kind == "x264":
            frames = x264_frames(frames)
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

    proxy_ms = best(lambda: align.build_pyramid(align.make_proxy(a / 255, 2)))
    pair_ms = best(lambda: align.estimate_pair(pa, pb, weights))
    hinted_ms = best(lambda: align.estimate_pair(pa, pb, weights, hint=(17.0, 8.5)))
    tiles_ms = best(lambda: align.tile_disagreement(pa, pb, weights, (17.0, 8.5)))
    pcc1 = best(lambda: phase_cross_correlation(a, b, upsample_factor=1), 3)
    pcc100 = best(lambda: phase_cross_correlation(a, b, upsample_factor=100), 3)
    results["speed_1080p_ms"] = {"proxy_per_frame": proxy_ms, "pair_from_scratch": pair_ms, "pair_hinted": hinted_ms,
                                 "tile_check": tiles_ms, "skimage_pcc_u1": pcc1, "skimage_pcc_u100": pcc100,
                                 "ratio_skimage_u100_to_ours_pair": pcc100 / pair_ms}
    print(f"1080p: proxy pyramid {proxy_ms:.1f} ms/frame, pair {pair_ms:.1f} ms (hinted {hinted_ms:.1f}, "
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
        still_psnr = psnr(np.floor(values[:hh, :ww][m] + 0.5), gt[m])
        single = psnr(obs[0], frames[0]) if sigma else None
        seam = seam_step(values[:hh, :ww] - gt, cover[:hh, :ww], canvas, pos, w, h) if not sigma else None
        row[label] = {"seconds_48_frames_480x270": seconds, "psnr_db": still_psnr, "single_frame_psnr_db": single}
        if seam is not None:
            row[label]["largest_seam_step_code_values"] = seam
        extra = f" (one frame {single:.2f} dB)" if single else f" (largest step across a frame edge {seam:.3f})"
        print(f"stitch {label}: {seconds:.2f} s, PSNR {still_psnr:.2f} dB{extra}")
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


def seam_step(error, cover, canvas, positions, w, h, strip=2):
    """Largest jump of the still's error (still - truth, code values) across any frame edge inside the still.

    For each edge of each frame, the mean error over the ``strip`` px just inside the frame is compared
    with the mean just outside, along the part of the edge where both sides are covered. A seam (a
    frame's brightness or position differing from its neighbours') shows up as such a step.
    """
    worst = 0.0
    for x, y in positions:
        c0, r0 = round(x - canvas.origin_x), round(y - canvas.origin_y)
        c1, r1 = c0 + w, r0 + h
        r_lo, r_hi = max(r0, 0), min(r1, error.shape[0])
        c_lo, c_hi = max(c0, 0), min(c1, error.shape[1])
        edges = [(np.s_[r_lo:r_hi, c0:c0 + strip], np.s_[r_lo:r_hi, c0 - strip:c0], c0 - strip >= 0),
                 (np.s_[r_lo:r_hi, c1 - strip:c1], np.s_[r_lo:r_hi, c1:c1 + strip], c1 + strip <= error.shape[1]),
                 (np.s_[r0:r0 + strip, c_lo:c_hi], np.s_[r0 - strip:r0, c_lo:c_hi], r0 - strip >= 0),
                 (np.s_[r1 - strip:r1, c_lo:c_hi], np.s_[r1:r1 + strip, c_lo:c_hi], r1 + strip <= error.shape[0])]
        for inside, outside, fits in edges:
            if not fits:
                continue
            a, b = error[inside], error[outside]
            both = (cover[inside] > 0) & (cover[outside] > 0)
            if both.sum() >= 16:
                worst = max(worst, abs(float(a[both].mean() - b[both].mean())))
    return worst


def stitch_1080p(results):
    """``vo.stitch`` end to end (alignment at call time, compositing at the frame request) on 48 frames of
    1080p after 4:2:0 and x264 (integer offsets: the shared image is 3200 px wide, too small for k >= 2)."""
    import vapoursynth as vs

    import vsovermix as vo
    from vsovermix._ffmpeg import x264_roundtrip
    from vsovermix._png import read_png
    from vsovermix._vs.frames import clip_from_planes, plane_view

    if not SHARED.exists():
        print("stitch 1080p: skipped (needs ../shared/data/park.png, 3200x2400)")
        return
    rgb = read_png(SHARED)[:, :, :3]
    n, w, h = 48, 1920, 1080
    t = np.arange(n) / (n - 1)
    ox = np.rint(40 + 1200 * t + 30 * np.sin(3 * np.pi * t)).astype(int)
    oy = np.rint(40 + 1250 * (0.5 - 0.5 * np.cos(np.pi * t))).astype(int)
    frames = clip_from_planes([[rgb[y:y + h, x:x + w, c] for c in range(3)] for x, y in zip(ox, oy, strict=True)],
                              vs.RGB24)
    yuv = frames.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in yuv.frames(close=True)]
    clip = clip_from_planes(x264_roundtrip("bench", planes, crf=18, preset="veryfast"), vs.YUV420P8)
    clip = clip.std.SetFrameProps(_Matrix=vs.MATRIX_BT709, _Range=vs.Range.RANGE_LIMITED)
    clip.get_frame(0)  # the source is ready (a decoded file would be) before the clock starts
    t0 = time.perf_counter()
    # What vo.stitch(clip) does at call time, with the pan kept for the error below.
    pan = vo.estimate_pan(clip, backend="numpy", progress=False)
    still = vo.stitch(clip, pan=pan, backend="numpy", progress=False)
    t1 = time.perf_counter()
    with still.get_frame(0) as frame:
        origin = int(frame.props["OvrOriginX"]), int(frame.props["OvrOriginY"])
        luma = np.array(plane_view(frame, 0), dtype=np.float64)
        covered = np.asarray(frame.props["_Alpha"][0]) > 0
        offsets = np.array([frame.props["OvrOffsetMaxX"], frame.props["OvrOffsetMaxY"]])
    t2 = time.perf_counter()
    error = np.abs(np.stack([pan.x, pan.y], axis=1) - np.stack([ox - ox[0], oy - oy[0]], axis=1))
    # Truth: the source region under the still, through the same 4:2:0 conversion, luma only.
    sx, sy = ox[0] + origin[0], oy[0] + origin[1]
    region = rgb[sy:sy + luma.shape[0], sx:sx + luma.shape[1]]
    truth_clip = clip_from_planes([[region[:, :, c] for c in range(3)]], vs.RGB24).resize.Bicubic(
        format=vs.YUV420P8, matrix_s="709")
    with truth_clip.get_frame(0) as frame:
        truth = np.array(plane_view(frame, 0), dtype=np.float64)
    inside = covered[:truth.shape[0], :truth.shape[1]]
    still_psnr = psnr(luma[:truth.shape[0], :truth.shape[1]][inside], truth[inside])
    with clip.get_frame(0) as frame:
        first = np.array(plane_view(frame, 0), dtype=np.float64)
    single = psnr(first, truth[-origin[1]:-origin[1] + h, -origin[0]:-origin[0] + w])
    results["stitch_1080p"] = {"frames": n, "align_seconds": t1 - t0, "composite_seconds": t2 - t1,
                               "total_seconds": t2 - t0, "offset_error_median_px": float(np.median(error)),
                               "offset_error_max_px": float(error.max()), "luma_psnr_db": still_psnr,
                               "single_frame_luma_psnr_db": single, "offset_max": offsets.tolist()}
    print(f"stitch 1080p x264, 48 frames: {t2 - t0:.2f} s (align {t1 - t0:.2f} s, composite {t2 - t1:.2f} s); "
          f"offset error median {np.median(error):.4f} max {error.max():.4f} px; "
          f"luma PSNR {still_psnr:.2f} dB (one frame {single:.2f} dB)")


def main() -> None:
    src = load_source()
    results = {"meta": metadata(), "accuracy": {}}
    accuracy(src, results)
    speed(src, results)
    stitching(src, results)
    stitch_1080p(results)
    print(write_result("align", results))


if __name__ == "__main__":
    main()
