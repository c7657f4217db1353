"""JPEG estimation: vo.dejpeg against the decodes, their mean and median, jpegqs and ffmpeg spp, in one run.

Test material: the bundled ``park_detail.png`` (a cel-like background; box-reduced 4x for the pans, so
that whole source pixels move the frames by quarter pixels) and ``lineart_crop.png`` (line art, single
image). Each frame is saved by Pillow (4:2:0) and decoded as coded by BestSource (YUV420P8, full range);
RGB comparisons convert every result with the same ``resize.Bicubic`` (BT.601, full range).

- Multi-frame: 8 frames of 384x288 at random offsets (integer, or quarter-pixel), Q25 and Q50. Each
  frame 0 estimate is ``vo.dejpeg(clip, tr=4)`` (alignment by ``vo.estimate_pan``); the mean and median
  are of the decodes moved onto frame 0 with the true offsets (Catmull-Rom); PSNR on the area all
  frames cover, luma (JFIF Y) and RGB.
- Single image, Q25: one 640x480 frame: ``jpegqs -q 6`` (apt ``jpegqs``), ffmpeg ``spp=quality=6`` at the
  best of qp 4..24 (chosen with the truth: generous to the peer), ours with ``tr=0`` on the YUV decode
  (4:2:0 out) and on imgseqs' RGB decode (chroma estimated at full resolution, as jpegqs outputs it).
- Whole still: ``vo.stitch`` of the same 8-frame pans, ``render="jpeg"`` against ``"average"`` and
  ``"median"`` (one alignment for all), PSNR on every pixel some frame covers (4 px in from the edge).
- Speed: one 1080p frame from a window of 8 frames (vertical pan), pan estimate and solve timed apart;
  the still of the same 8 frames (1920x1339) with ``render="jpeg"``.

    .venv/bin/python benchmarks/bench_dejpeg.py      # writes benchmarks/results/dejpeg.json (needs .[bench])
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import vapoursynth as vs
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import metadata, write_result
from vsovermix import dejpeg, estimate_pan, stitch
from vsovermix._ffmpeg import ffmpeg_executable
from vsovermix._png import read_png
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.superres import shift

core = vs.core
DATA = Path(__file__).resolve().parents[1] / "vsovermix" / "data"
JFIF_Y = np.array([0.299, 0.587, 0.114])
FRAME = (384, 288)
FRAMES = 8


def source(name: str, reduce: int) -> np.ndarray:
    rgb = read_png(DATA / name).astype(np.float32)
    rgb = np.repeat(rgb[..., :1], 3, axis=-1) if rgb.ndim == 2 or rgb.shape[-1] < 3 else rgb[..., :3]
    return np.stack([box_reduce(rgb[..., c], reduce) for c in range(3)], axis=-1) if reduce > 1 else rgb


def save_jpeg(rgb: np.ndarray, path: Path, quality: int) -> None:
    Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8)).save(path, quality=quality)


def decode(paths: list[Path]) -> vs.VideoNode:
    clips = [core.bs.VideoSource(str(p), cachemode=0) for p in paths]
    return clips[0] if len(clips) == 1 else core.std.Splice(clips)


def to_rgb(clip: vs.VideoNode) -> vs.VideoNode:
    return clip.resize.Bicubic(format=vs.RGB24, matrix_in_s="470bg", range_in_s="full")


def rgb_frame(clip: vs.VideoNode, n: int) -> np.ndarray:
    with clip.get_frame(n) as f:
        return np.stack([np.asarray(f[p], dtype=np.float64) for p in range(3)], axis=-1)


def scores(estimate: np.ndarray, truth: np.ndarray, area=np.s_[:, :]) -> dict[str, float]:
    return {"rgb": round(psnr(estimate[area], truth[area]), 2),
            "luma": round(psnr(estimate[area] @ JFIF_Y, truth[area] @ JFIF_Y), 2)}


def jpeg_pan(name: str, quality: int, quarter: bool, folder: Path) -> tuple[vs.VideoNode, np.ndarray, np.ndarray]:
    """The multi-frame material: the decoded clip, frame 0's truth (RGB) and each frame's offset from frame 0
    (frame k's pixel (r, c) shows frame 0's (r, c) + offset)."""
    scale = 4  # source px per frame px
    image = source(name, 1)
    steps = np.random.default_rng(11).integers(0, 24 * scale, size=(FRAMES, 2))
    if not quarter:
        steps = steps // scale * scale
    steps[0] = 0
    width, height = FRAME
    paths, truth = [], None
    for k, (sx, sy) in enumerate(steps):
        crop = image[sy:sy + height * scale, sx:sx + width * scale]
        reduced = np.stack([box_reduce(crop[..., c], scale) for c in range(3)], axis=-1)
        truth = np.clip(np.rint(reduced), 0, 255) if truth is None else truth
        paths.append(folder / f"{name[:4]}_q{quality}_{'q' if quarter else 'i'}_{k}.jpg")
        save_jpeg(reduced, paths[-1], quality)
    return decode(paths), truth, steps / scale


def aligned_decodes(clip: vs.VideoNode, offsets: np.ndarray) -> list[np.ndarray]:
    """Every decoded frame (RGB) moved onto frame 0 with the true offsets (Catmull-Rom, zeros outside)."""
    rgb = to_rgb(clip)
    aligned = []
    for k, (ox, oy) in enumerate(offsets):
        frame = rgb_frame(rgb, k).astype(np.float32)
        aligned.append(np.stack([shift(frame[..., c], -ox, -oy) for c in range(3)], axis=-1).astype(np.float64))
    return aligned


def multi_frame(name: str, quality: int, quarter: bool, folder: Path) -> dict[str, object]:
    clip, truth, offsets = jpeg_pan(name, quality, quarter, folder)
    aligned = aligned_decodes(clip, offsets)
    width, height = FRAME
    reach = 2  # the interpolation's reach past a frame's edge
    area = np.s_[int(np.ceil(offsets[:, 1].max())) + reach:height - reach,
                 int(np.ceil(offsets[:, 0].max())) + reach:width - reach]
    pan = estimate_pan(clip)
    start = time.perf_counter()
    ours = rgb_frame(to_rgb(dejpeg(clip, tr=4, pan=pan)), 0)
    seconds = time.perf_counter() - start
    row = {"case": f"{name} Q{quality} {'quarter-pixel' if quarter else 'integer'}",
           "pan_error_px": round(float(np.abs(np.stack([pan.x, pan.y], 1) - offsets).max()), 4),
           "single": scores(aligned[0], truth, area),
           "mean": scores(np.mean(aligned, axis=0), truth, area),
           "median": scores(np.median(aligned, axis=0), truth, area),
           "ours": scores(ours, truth, area), "ours_seconds": round(seconds, 2)}
    row["gain_over_mean_luma"] = round(row["ours"]["luma"] - row["mean"]["luma"], 2)
    print(row, flush=True)
    return row


def whole_still(name: str, quality: int, quarter: bool, folder: Path) -> dict[str, object]:
    clip, _, _ = jpeg_pan(name, quality, quarter, folder)
    scene = source(name, 4)  # the pans' frames are box-reduced 4x crops of it, frame 0 at its top-left
    pan = estimate_pan(clip)
    row: dict[str, object] = {"case": f"{name} Q{quality} {'quarter-pixel' if quarter else 'integer'}"}
    for render in ("average", "median", "jpeg"):
        start = time.perf_counter()
        still = stitch(clip, render=render, pan=pan)
        with still.get_frame(0) as f:
            origin = (int(f.props["OvrOriginX"]), int(f.props["OvrOriginY"]))
            covered = np.asarray(f.props["_Alpha"][0]) > 0
        estimate = rgb_frame(to_rgb(still), 0)
        seconds = time.perf_counter() - start
        # The still may start a pixel left of or above frame 0 (pan error): no truth there.
        truth = np.full(estimate.shape, np.nan)
        (x0, y0), (skip_x, skip_y) = origin, (max(-origin[0], 0), max(-origin[1], 0))
        known = np.clip(np.rint(scene[y0 + skip_y:y0 + still.height, x0 + skip_x:x0 + still.width]), 0, 255)
        truth[skip_y:skip_y + known.shape[0], skip_x:skip_x + known.shape[1]] = known
        area = ndimage.binary_erosion(covered, iterations=4) & ~np.isnan(truth).any(axis=-1)
        row[render] = scores(estimate, truth, area)
        row[f"{render}_seconds"] = round(seconds, 2)
    row["gain_over_average_luma"] = round(row["jpeg"]["luma"] - row["average"]["luma"], 2)
    print(row, flush=True)
    return row


def spp(path: Path, qp: int, folder: Path) -> np.ndarray:
    out = folder / f"spp{qp}.png"
    subprocess.run([ffmpeg_executable(dejpeg), "-v", "error", "-y", "-i", str(path), "-vf",
                    f"spp=quality=6:qp={qp}", "-pix_fmt", "rgb24", str(out)], check=True)
    return read_png(out)[..., :3].astype(np.float64)


def single_image(name: str, reduce: int, folder: Path, quality: int = 25) -> dict[str, object]:
    image = source(name, reduce)
    truth = np.clip(np.rint(image[:480, :640]), 0, 255)
    path = folder / f"single_{name[:4]}.jpg"
    save_jpeg(truth, path, quality)
    clip = decode([path])
    decoded = rgb_frame(to_rgb(clip), 0)
    row: dict[str, object] = {"case": f"{name} Q{quality} 640x480", "decoded": scores(decoded, truth)}
    if shutil.which("jpegqs"):
        out = folder / f"qs_{name[:4]}.jpg"
        subprocess.run(["jpegqs", "-q", "6", str(path), str(out)], check=True, capture_output=True)
        row["jpegqs_q6"] = scores(rgb_frame(to_rgb(decode([out])), 0), truth)
    best = max((spp(path, qp, folder) for qp in (4, 8, 12, 16, 20, 24)), key=lambda e: psnr(e, truth))
    row["spp_best_qp"] = scores(best, truth)
    start = time.perf_counter()
    row["ours"] = scores(rgb_frame(to_rgb(dejpeg(clip, tr=0, quant=path)), 0), truth)
    row["ours_seconds"] = round(time.perf_counter() - start, 2)
    # From the RGB decode that imgseqs (libjpeg) gives: chroma is estimated at full resolution, as jpegqs does.
    rgb = core.imgseqs.Read([str(path)], mismatch=False)
    row["decoded_rgb_input"] = scores(rgb_frame(rgb, 0), truth)
    row["ours_rgb_input"] = scores(rgb_frame(dejpeg(rgb, tr=0, quant=path), 0), truth)
    print(row, flush=True)
    return row


def speed_1080p(folder: Path) -> dict[str, float]:
    image = source("park_detail.png", 1)
    paths = []
    for k in range(FRAMES):
        path = folder / f"hd{k}.jpg"
        save_jpeg(image[k * 37:k * 37 + 1080, :1920], path, 25)
        paths.append(path)
    clip = decode(paths)
    start = time.perf_counter()
    pan = estimate_pan(clip)
    aligned = time.perf_counter() - start
    start = time.perf_counter()
    with dejpeg(clip, tr=4, pan=pan).get_frame(4) as _:
        pass
    solve = time.perf_counter() - start
    start = time.perf_counter()
    still = stitch(clip, render="jpeg", pan=pan)
    with still.get_frame(0) as _:
        pass
    result = {"frames": FRAMES, "pan_seconds": round(aligned, 2), "estimate_seconds": round(solve, 2),
              "still_size": [still.width, still.height], "still_seconds": round(time.perf_counter() - start, 2)}
    print(result, flush=True)
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        multi = [multi_frame("park_detail.png", q, quarter, folder) for q in (25, 50) for quarter in (False, True)]
        stills = [whole_still("park_detail.png", 25, quarter, folder) for quarter in (False, True)]
        single = [single_image("park_detail.png", 2, folder), single_image("lineart_crop.png", 1, folder)]
        speed = speed_1080p(folder)
    write_result("dejpeg", {"meta": metadata(), "multi_frame": multi, "whole_still": stills,
                           "single_image": single, "speed_1080p": speed})


if __name__ == "__main__":
    main()
