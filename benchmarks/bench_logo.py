"""Logo removal: vo.estimate_logo + vo.delogo against inpainting peers and the oracle de-blend, in one run.

Test material: luma (BT.601 weights) of the bundled ``park_detail.png`` cropped at integer offsets to
640x360 frames, a 200x70 station logo (``vsovermix._logo_art``: a badge at alpha 0.35 with strokes at
alpha 0.9) blended at (420, 20) in float and rounded to 8 bits. Cases:

- ``pan 14 px/frame``: 48 frames of a horizontal pan; each scene point is seen clear in most frames.
- ``pan 14 px/frame, x264``: the same through libx264 crf 18 (truth: the frames before the logo and x264).
- ``pan 3 px/frame``: a slow pan, most of the logo's scene points are never clear within the window.
- ``demo pan``: the demo's clip (``vsovermix.demo.logo_pan_clip``), what real pans look like: steps of
  thirds of a pixel, noise, 4:2:0 and x264, flat drawn areas behind the logo; luma of a YUV clip.
- ``500 different pictures``: random crops (a static camera over many shots), no motion.
- ``24 different pictures``: a small set of images sharing one watermark.

PSNR (peak 255) inside the logo's 200x70 box against the logo-free frame, from the mean squared error
over the evaluated frames (8 for the static cases, whose crops include flat areas); peers on
the same frames: ``cv2.inpaint`` TELEA (radius 3) and ``skimage.restoration.inpaint_biharmonic`` over the
logo's pixels (alpha > 0, grown 1 px), and the de-blend with the true alpha and colour. The static cases
also run ``delogo(max_alpha=0.85)`` (the strokes filled, not de-blended). Alpha error:
mean |alpha - true alpha| over the logo's pixels. Speed: 1080p YUV420P8, logo 300x105.

    .venv/bin/python benchmarks/bench_logo.py        # writes benchmarks/results/logo.json (needs .[bench])
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np
import vapoursynth as vs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_align import x264_frames
from benchmarks.common import metadata, write_result
from vsovermix import delogo, estimate_logo
from vsovermix._logo_art import make_logo
from vsovermix._png import read_png
from vsovermix._vs.frames import clip_from_planes
from vsovermix.demo import PAN_SAMPLE, logo_pan_clip

SIZE = (640, 360)
AT = (420, 20)
LOGO = (200, 70)


def scene_luma() -> np.ndarray:
    rgb = read_png(PAN_SAMPLE)[..., :3].astype(np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])


def logo_luma(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    alpha, colour = make_logo(width, height)
    return alpha.astype(np.float64), colour.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def make_frames(offsets, size=SIZE, at=AT, logo=LOGO):
    image = scene_luma()
    alpha, colour = logo_luma(*logo)
    width, height = size
    marked, clean = [], []
    for x0, y0 in offsets:
        crop = image[y0:y0 + height, x0:x0 + width]
        clean.append(np.round(crop))
        blended = crop.copy()
        box = (slice(at[1], at[1] + logo[1]), slice(at[0], at[0] + logo[0]))
        blended[box] = (1 - alpha) * crop[box] + alpha * colour
        marked.append(np.clip(np.round(blended), 0, 255))
    return marked, clean


def clip_of(frames) -> vs.VideoNode:
    return clip_from_planes([[f] for f in frames], vs.GRAY8)


def peers(frame: np.ndarray, alpha_full: np.ndarray, colour_full: np.ndarray, at, logo) -> dict[str, np.ndarray]:
    import cv2
    from scipy import ndimage
    from skimage.restoration import inpaint_biharmonic

    mask = ndimage.binary_dilation(alpha_full > 0)
    x, y = at
    pad = 24  # biharmonic on a window around the logo (the whole frame gives the same, slower)
    window = (slice(max(y - pad, 0), y + logo[1] + pad), slice(max(x - pad, 0), x + logo[0] + pad))
    harmonic = frame.copy()
    harmonic[window] = inpaint_biharmonic(frame[window] / 255.0, mask[window]) * 255.0
    telea = cv2.inpaint(frame.astype(np.uint8), mask.astype(np.uint8), 3, cv2.INPAINT_TELEA).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        oracle = np.where(alpha_full < 1, (frame - alpha_full * colour_full) / (1 - alpha_full), frame)
    return {"cv2_telea": telea, "skimage_biharmonic": harmonic, "oracle_deblend": np.clip(oracle, 0, 255)}


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2))


def run_case(name, marked, clean, motion, eval_frames, at=AT, logo_layers=None):
    """One case: ``marked`` and ``clean`` 8-bit luma frames, the logo at ``at`` (``logo_layers``: its alpha
    and luma colour, default the bench's LOGO)."""
    clip = clip_of(marked)
    start = time.perf_counter()
    logo = estimate_logo(clip, motion=motion)
    seconds = time.perf_counter() - start
    alpha, colour = logo_layers if logo_layers is not None else logo_luma(*LOGO)
    logo_height, logo_width = alpha.shape
    alpha_full = np.zeros(marked[0].shape)
    colour_full = np.zeros(marked[0].shape)
    box = (slice(at[1], at[1] + logo_height), slice(at[0], at[0] + logo_width))
    alpha_full[box], colour_full[box] = alpha, colour
    alpha_error = float(np.abs(logo.alpha_map() - alpha_full)[alpha_full > 0].mean())
    outs = {"ours": delogo(clip, logo, motion=motion)}
    if motion is None:  # the default de-blends up to alpha 0.95 here; 0.85 fills the strokes instead
        outs["ours_max_alpha_0.85"] = delogo(clip, logo, max_alpha=0.85)
    scores: dict[str, list[float]] = {"untouched": [], **{k: [] for k in outs}, "cv2_telea": [],
                                      "skimage_biharmonic": [], "oracle_deblend": []}
    for n in eval_frames:
        truth, frame = clean[n], marked[n]
        scores["untouched"].append(mse(frame[box], truth[box]))
        for label, out in outs.items():
            scores[label].append(mse(np.asarray(out.get_frame(n)[0], np.float64)[box], truth[box]))
        for peer, result in peers(frame, alpha_full, colour_full, at, (logo_width, logo_height)).items():
            scores[peer].append(mse(result[box], truth[box]))
    row = {"case": name, "frames": len(marked), "motion": motion, "estimate_s": round(seconds, 2),
           "alpha_error": round(alpha_error, 4), "box": list(logo.box)}
    row.update({k: round(10 * math.log10(255 ** 2 / max(float(np.mean(v)), 1e-12)), 2) for k, v in scores.items()})
    print(row, flush=True)
    return row


def demo_pan_case():
    """The demo's pan (``vsovermix.demo.logo_pan_clip``): 40 frames 480x270 at thirds of a pixel, noise
    sigma 2, 4:2:0 and x264 crf 18, over flat drawn areas. Luma only; truth: the noise-free frames' luma."""
    clip, truth, (x, y, w, h) = logo_pan_clip(frames=40)
    marked = [np.asarray(f[0], np.float64) for f in clip.frames(close=True)]
    clean_luma = [np.asarray(f[0], np.float64) for f in truth.frames(close=True)]
    alpha, colour = make_logo(w, h)
    luma = 16.0 + 219.0 / 255.0 * (colour.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722]))
    return run_case("demo pan: 1/3 px steps, noise, 4:2:0, x264", marked, clean_luma, "global", [8, 20, 32],
                    at=(x, y), logo_layers=(alpha.astype(np.float64), luma))


def speed() -> dict[str, float]:
    """1080p YUV420P8: seconds to estimate from 500 frames, delogo fps without and with motion."""
    image = read_png(PAN_SAMPLE)[..., :3]
    alpha, colour = make_logo(300, 105)
    rng = np.random.default_rng(4)
    distinct = []
    for y0 in rng.integers(0, image.shape[0] - 1080, 40):
        crop = image[y0:y0 + 1080, :1920].astype(np.float64)
        crop[40:145, 1580:1880] = (1 - alpha[..., None]) * crop[40:145, 1580:1880] + alpha[..., None] * colour
        distinct.append(np.clip(np.round(crop), 0, 255).astype(np.uint8))
    rgb = clip_from_planes([[f[..., c] for c in range(3)] for f in distinct], vs.RGB24)
    base = rgb.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    order = rng.integers(0, len(distinct), 500)
    long = vs.core.std.Splice([base[int(i)] for i in order])
    start = time.perf_counter()
    logo = estimate_logo(long, region=(1570, 30, 320, 125))
    estimate_s = time.perf_counter() - start
    out = delogo(long, logo)
    start = time.perf_counter()
    for n in range(48):
        out.get_frame(n)
    static_fps = 48 / (time.perf_counter() - start)
    pan_frames = []
    for k in range(48):
        crop = image[6 * k:6 * k + 1080, :1920].astype(np.float64)
        crop[40:145, 1580:1880] = (1 - alpha[..., None]) * crop[40:145, 1580:1880] + alpha[..., None] * colour
        pan_frames.append(np.clip(np.round(crop), 0, 255).astype(np.uint8))
    pan = clip_from_planes([[f[..., c] for c in range(3)] for f in pan_frames], vs.RGB24)
    pan = pan.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    moving = delogo(pan, logo, motion="global")
    moving.get_frame(0)  # the pan is measured on the first request: not part of the per-frame rate
    start = time.perf_counter()
    for n in range(1, 25):
        moving.get_frame(n)
    motion_fps = 24 / (time.perf_counter() - start)
    result = {"estimate_500_frames_s": round(estimate_s, 2), "delogo_fps": round(static_fps, 1),
              "delogo_motion_fps": round(motion_fps, 2)}
    print(result, flush=True)
    return result


def main() -> None:
    vs.core.num_threads = 2
    rng = np.random.default_rng(0)
    height, width = scene_luma().shape
    pan14 = [(60 + 14 * k, 700) for k in range(48)]
    pan3 = [(300 + 3 * k, 500 + k) for k in range(48)]
    varied = list(zip(rng.integers(0, width - SIZE[0], 500), rng.integers(0, height - SIZE[1], 500), strict=True))
    rows = []
    marked, clean = make_frames(pan14)
    rows.append(run_case("pan 14 px/frame", marked, clean, "global", [12, 24, 36]))
    encoded = [np.clip(np.floor(f + 0.5), 0, 255) for f in x264_frames(marked)]
    rows.append(run_case("pan 14 px/frame, x264 crf 18", encoded, clean, "global", [12, 24, 36]))
    marked, clean = make_frames(pan3)
    rows.append(run_case("pan 3 px/frame (rarely clear)", marked, clean, "global", [12, 24, 36]))
    rows.append(demo_pan_case())
    marked, clean = make_frames(varied)
    rows.append(run_case("500 different pictures", marked, clean, None, list(range(10, 500, 60))))
    rows.append(run_case("24 different pictures", marked[:24], clean[:24], None, list(range(0, 24, 3))))
    payload = {"meta": metadata(), "cases": rows, "speed_1080p": speed()}
    print(write_result("logo", payload))


if __name__ == "__main__":
    main()
