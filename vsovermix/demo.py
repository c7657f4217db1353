"""``vsovermix demo``: three stages built from the bundled public-domain sample images.

**Steam.** A still background (a static camera on a drawn background) with a bright translucent steam
layer drifting up over it, blended in 8-bit RGB. ``vo.steam``'s steam model estimates the background
from 7 frames (the least-steamed frame of each pixel, de-blended); the result is compared with the
steam-free background.

**Telecine.** A film pan hard-telecined 3:2 with ``std``, one frame cut mid-cycle as an edit
after telecine does; ``vo.detelecine`` gives the film frames back, without a combed or repeated one.

**Pan.** A camera pan over ``park_detail.png``, made the way ground truth stays exact: the image is
cropped at integer offsets and reduced 3x with a box filter, so frames sit at thirds of a pixel along a
2-D path. Steam drifts over it, a little noise is added, and the frames go through 4:2:0 and x264, the
damage real footage has. ``vo.estimate_pan`` measures the path and ``vo.stitch(render="min")`` builds
the still (the minimum over the whole pan also removes the steam); both are compared with the truth.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import vapoursynth as vs
from scipy import ndimage

from ._ffmpeg import x264_roundtrip
from ._logo_art import blend_logo, make_logo
from ._png import read_png, write_png
from ._progress import Progress
from ._vs.frames import clip_from_planes, plane_view
from .filters.align import Rect, estimate_pan
from .filters.detelecine import detelecine
from .filters.steam import steam
from .filters.stitch import stitch
from .ops.metrics import psnr
from .ops.resample import box_reduce

__all__ = ["DemoResult", "PanDemoResult", "TelecineDemoResult", "film_clip", "hard_telecine", "logo_pan_clip",
           "luma_frames", "make_steam_alpha", "nearest_film_frames", "pan_offsets", "panning_clip", "run_demo",
           "run_pan_demo", "run_telecine_demo", "steamy_clip", "telecine_clip"]

SAMPLE = Path(__file__).parent / "data" / "park.png"
PAN_SAMPLE = Path(__file__).parent / "data" / "park_detail.png"
STEAM_LEVEL = 245.0  # the steam's colour (8-bit RGB code value)
PAN_REDUCTION = 3  # box reduction of PAN_SAMPLE: frame positions are exact multiples of 1/3 px
PAN_FRAME = (480, 270)  # width, height of the pan's frames
PAN_PUFFS = 12  # steam puffs over the pan (light enough that most scene points are seen clear)
PAN_NOISE = 2.0  # Gaussian noise sigma, 8-bit RGB code values
PAN_CRF = 18.0
LOGO_SIZE = (96, 34)  # width, height of the logo over the pan (``logo_pan_clip``)


def make_steam_alpha(height: int, width: int, frames: int, seed: int = 1, count: int = 30) -> np.ndarray:
    """(frames, H, W) float32 opacity of puffs of steam that rise, sway and fade, in [0, 0.85].

    Each puff is a soft disc (Gaussian profile) rising 14-22 px per frame; a pixel is covered for a
    few frames at a time, so over a 7-frame window most pixels are seen clear at least once.
    """
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(0.1, 0.9, count) * width
    y0 = rng.uniform(0.15, 1.6, count) * height
    speed = rng.uniform(14.0, 22.0, count)
    radius = rng.uniform(12.0, 28.0, count)
    peak = rng.uniform(0.45, 0.85, count)
    sway = rng.uniform(0, 2 * np.pi, count)
    alpha = np.zeros((frames, height, width), np.float32)
    for t in range(frames):
        clear = np.ones((height, width), np.float32)
        for i in range(count):
            cx = x0[i] + 12.0 * np.sin(sway[i] + 0.35 * t)
            cy = y0[i] - speed[i] * t
            reach = 3.0 * radius[i]  # beyond 3 radii the puff's opacity is below 1.2 %: leave it out
            top, bottom = max(int(cy - reach), 0), min(int(cy + reach) + 1, height)
            left, right = max(int(cx - reach), 0), min(int(cx + reach) + 1, width)
            if top >= bottom or left >= right:
                continue
            yy, xx = np.ogrid[top:bottom, left:right]
            d2 = ((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32)
            clear[top:bottom, left:right] *= 1.0 - peak[i] * np.exp(-d2 / (2.0 * radius[i] ** 2))
        alpha[t] = 1.0 - clear
    return np.minimum(alpha, 0.85)


def steamy_clip(frames: int = 24) -> tuple[vs.VideoNode, np.ndarray]:
    """The demo's RGB24 clip of the sample under drifting steam, and the steam-free (H, W, 3) image."""
    background = read_png(SAMPLE)[:, :, :3].astype(np.float32)
    alpha = make_steam_alpha(*background.shape[:2], frames)[..., None]
    steamy = [np.floor(background * (1 - a) + STEAM_LEVEL * a + 0.5).astype(np.uint8) for a in alpha]
    return _rgb_clip(steamy), background.astype(np.uint8)


def _rgb_clip(frames: list[np.ndarray]) -> vs.VideoNode:
    planes = [[f[:, :, c] for c in range(3)] for f in frames]
    clip = clip_from_planes(planes, vs.RGB24, Fraction(24000, 1001))
    return clip.std.SetFrameProps(_Matrix=vs.MATRIX_RGB, _Transfer=vs.TRANSFER_BT709,
                                  _Primaries=vs.PRIMARIES_BT709, _Range=vs.Range.RANGE_FULL)


@functools.cache
def _detail_rgb() -> np.ndarray:
    """``PAN_SAMPLE`` as (H, W, 3) uint8, read once (callers slice and convert, never write)."""
    return read_png(PAN_SAMPLE)[:, :, :3]


def _rgb_array(frame: vs.VideoFrame) -> np.ndarray:
    return np.stack([plane_view(frame, c) for c in range(3)], axis=-1).copy()


def _reduce_rgb(image: np.ndarray, factor: int) -> np.ndarray:
    return np.stack([box_reduce(np.ascontiguousarray(image[:, :, c]), factor) for c in range(3)], axis=-1)


def pan_offsets(frames: int) -> np.ndarray:
    """(frames, 2) integer (x, y) crop offsets in ``PAN_SAMPLE`` px: a diagonal sweep with a sideways sway."""
    t = np.arange(frames) / (frames - 1)
    x = 20 + 440 * t + 18 * np.sin(3 * np.pi * t)
    y = 20 + 590 * (0.5 - 0.5 * np.cos(np.pi * t))
    return np.rint(np.stack([x, y], axis=1)).astype(np.int64)


def _pan_frames(offsets: np.ndarray) -> list[np.ndarray]:
    """The pan's clean RGB frames (float32): ``box_reduce(PAN_SAMPLE[y:y + 3h, x:x + 3w], 3)`` per offset."""
    source = _detail_rgb().astype(np.float32)
    width, height = PAN_FRAME
    return [_reduce_rgb(source[y:y + height * PAN_REDUCTION, x:x + width * PAN_REDUCTION], PAN_REDUCTION)
            for x, y in offsets]


def panning_clip(frames: int = 24, seed: int = 5) -> tuple[vs.VideoNode, list[np.ndarray], np.ndarray]:
    """The pan as a YUV420P8 clip after x264, its clean RGB frames (float32) and the crop offsets.

    Each clean frame is ``box_reduce(PAN_SAMPLE[y:y + 3h, x:x + 3w], 3)``; steam and noise are added in
    8-bit RGB, VapourSynth converts to 4:2:0 (BT.709, limited range) and ffmpeg's x264 compresses.
    """
    width, height = PAN_FRAME
    offsets = pan_offsets(frames)
    clean = _pan_frames(offsets)
    alpha = make_steam_alpha(height, width, frames, seed=seed, count=PAN_PUFFS)[..., None]
    rng = np.random.default_rng(seed)
    seen = [np.clip(np.floor(f * (1 - a) + STEAM_LEVEL * a + rng.normal(0, PAN_NOISE, f.shape) + 0.5), 0, 255)
            .astype(np.uint8) for f, a in zip(clean, alpha, strict=True)]
    return _x264_yuv420(seen), clean, offsets


def _x264_yuv420(frames: list[np.ndarray]) -> vs.VideoNode:
    """8-bit RGB frames as a tagged YUV420P8 clip (BT.709, limited range) after an x264 round trip."""
    yuv = _rgb_clip(frames).resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in yuv.frames(close=True)]
    decoded = x264_roundtrip("demo", planes, crf=PAN_CRF)
    clip = clip_from_planes(decoded, vs.YUV420P8, Fraction(24000, 1001))
    return clip.std.SetFrameProps(_Matrix=vs.MATRIX_BT709, _Transfer=vs.TRANSFER_BT709,
                                  _Primaries=vs.PRIMARIES_BT709, _Range=vs.Range.RANGE_LIMITED,
                                  _ChromaLocation=vs.CHROMA_LEFT)


def logo_pan_clip(frames: int = 40, seed: int = 5) -> tuple[vs.VideoNode, vs.VideoNode, Rect]:
    """The demo pan under a TV-station logo instead of steam: YUV420P8 after x264, its truth, the logo's box.

    The frames are those of ``panning_clip`` (same path, same 3x box reduction, same noise); the logo
    (``vsovermix._logo_art``, known alpha and colour) is blended in float RGB at a fixed place near the
    top-right corner before rounding to 8 bits, as a broadcaster's encoder input would be. The truth is
    the clean frames (no logo, no noise, no x264) through the same conversion to YUV420P8.
    """
    clean = _pan_frames(pan_offsets(frames))
    width, _ = PAN_FRAME
    logo_width, logo_height = LOGO_SIZE
    box = (width - logo_width - 16, 14, logo_width, logo_height)
    alpha, colour = make_logo(logo_width, logo_height)
    rng = np.random.default_rng(seed)
    seen = [np.clip(np.floor(blend_logo(f, alpha, colour, box[0], box[1]) + rng.normal(0, PAN_NOISE, f.shape)
                             + 0.5), 0, 255).astype(np.uint8) for f in clean]
    truth = _rgb_clip([np.clip(np.floor(f + 0.5), 0, 255).astype(np.uint8) for f in clean])
    return _x264_yuv420(seen), truth.resize.Bicubic(format=vs.YUV420P8, matrix_s="709"), box


def _to_rgb24(clip: vs.VideoNode) -> np.ndarray:
    with clip.resize.Bicubic(format=vs.RGB24).get_frame(0) as frame:
        return _rgb_array(frame)


@dataclass
class PanDemoResult:
    offset_error_median: float  # px, both axes, against the exact positions
    offset_error_max: float
    psnr_frame: float  # dB, RGB: frame 0 as decoded, against its clean crop
    psnr_still: float  # dB, RGB: the still inside its covered area, against the clean scene
    psnr_cap: float  # dB, RGB: a clean frame through 4:2:0 alone (what chroma subsampling leaves)
    still_size: tuple[int, int]
    files: list[Path]


def run_pan_demo(output_dir: Path, frames: int = 24, backend: str = "auto") -> PanDemoResult:
    """Make the pan, measure it, stitch it with ``render="min"`` and write ``pan_*.png``."""
    clip, clean, offsets = panning_clip(frames)
    truth = (offsets - offsets[0]) / PAN_REDUCTION
    pan = estimate_pan(clip, backend=backend)
    error = np.abs(np.stack([pan.x, pan.y], axis=1) - truth)

    still_clip = stitch(clip, render="min", pan=pan, backend=backend)
    still = _to_rgb24(still_clip)
    with still_clip.get_frame(0) as frame:
        origin = int(frame.props["OvrOriginX"]), int(frame.props["OvrOriginY"])
        covered = np.asarray(frame.props["_Alpha"][0]) > 0
    height, width = still.shape[:2]
    # The scene the still shows: the same box reduction, from frame 0's crop moved by the still's origin.
    sx, sy = offsets[0] + PAN_REDUCTION * np.array(origin)
    source = _detail_rgb().astype(np.float32)
    scene = _reduce_rgb(source[sy:sy + height * PAN_REDUCTION, sx:sx + width * PAN_REDUCTION], PAN_REDUCTION)
    scene = np.floor(scene + 0.5).astype(np.uint8)
    # Converting 4:2:0 to RGB pulls chroma across the still's edge from the black fill: score 4 px inside it.
    inside = ndimage.binary_erosion(covered, iterations=4)
    psnr_still = psnr(still[inside], scene[inside])
    first = _to_rgb24(clip[0])
    psnr_frame = psnr(first, np.floor(clean[0] + 0.5))
    clean_clip = _rgb_clip([np.floor(clean[0] + 0.5).astype(np.uint8)])
    psnr_cap = psnr(_to_rgb24(clean_clip.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")),
                    np.floor(clean[0] + 0.5))

    frame_on_canvas = np.zeros_like(still)
    fx, fy = -origin[0], -origin[1]
    frame_on_canvas[fy:fy + first.shape[0], fx:fx + first.shape[1]] = first
    gap = np.full((height, 8, 3), 255, np.uint8)
    side_by_side = np.concatenate([frame_on_canvas, gap, still, gap, scene], axis=1)
    files = [write_png(output_dir / "pan_frame0.png", first, overwrite=True),
             write_png(output_dir / "pan_still.png", still, overwrite=True),
             write_png(output_dir / "pan_truth.png", scene, overwrite=True),
             write_png(output_dir / "pan_side_by_side.png", side_by_side, overwrite=True)]
    return PanDemoResult(float(np.median(error)), float(error.max()), psnr_frame, psnr_still, psnr_cap,
                         (width, height), files)


TELECINE_FRAME = (640, 360)  # width, height of the telecine stage's film frames (4:2:0 fields need height % 4 == 0)


def film_clip(frames: int) -> vs.VideoNode:
    """A 23.976p YUV420P8 pan over ``park_detail.png`` at whole-pixel steps, every frame different."""
    source = _detail_rgb()
    width, height = TELECINE_FRAME
    crops = [source[10 + 3 * t:10 + 3 * t + height, 10 + 6 * t:10 + 6 * t + width] for t in range(frames)]
    return _rgb_clip(crops).resize.Bicubic(format=vs.YUV420P8, matrix_s="709")


def hard_telecine(film: vs.VideoNode) -> vs.VideoNode:
    """Hard 3:2 telecine with ``std`` only, as research/vapoursynth.md §2.1 makes it: SeparateFields,
    SelectEvery(8, [0, 1, 2, 3, 2, 5, 4, 7, 6, 7]), DoubleWeave; 29.97 fps, top field first."""
    fields = film.std.SeparateFields(tff=True).std.SelectEvery(8, [0, 1, 2, 3, 2, 5, 4, 7, 6, 7])
    woven = fields.std.DoubleWeave(tff=True)[::2].std.AssumeFPS(fpsnum=30000, fpsden=1001)
    return woven.std.SetFieldBased(vs.FIELD_TOP)


def nearest_film_frames(frames: np.ndarray, film: np.ndarray) -> tuple[list[int], np.ndarray]:
    """For each of ``frames`` (n, H, W) the index of the nearest of ``film`` (m, H, W) by mean squared
    error, and that error."""
    flat = film.reshape(len(film), -1).astype(np.float32)
    nearest, errors = [], []
    for frame in frames:
        mse = np.mean((flat - frame.astype(np.float32).ravel()) ** 2, axis=1)
        nearest.append(int(np.argmin(mse)))
        errors.append(float(mse.min()))
    return nearest, np.array(errors)


def luma_frames(clip: vs.VideoNode) -> np.ndarray:
    """(frames, H, W) float32 plane 0 of every frame."""
    return np.stack([np.array(plane_view(f, 0), dtype=np.float32) for f in clip.frames(close=True)])


def telecine_clip(film: vs.VideoNode) -> tuple[vs.VideoNode, int]:
    """``hard_telecine``, then one frame cut out mid-cycle, as an edit after telecine does: the third frame of
    the next-to-last cycle, which leaves the next frame's first field an orphan. Returns the clip and the
    index cut."""
    woven = hard_telecine(film)
    cut = 5 * (woven.num_frames // 5 - 2) + 2
    return woven[:cut] + woven[cut + 1:], cut


@dataclass
class TelecineDemoResult:
    frames_in: int
    frames_out: int
    exact: int  # output frames identical to a film frame
    duplicates: int  # output frames showing the same film frame as the one before
    interpolated: int  # output frames flagged OvrInterpolated (their second field rebuilt)
    combed_in: int  # telecined frames that weave two film frames
    cut: int  # the telecined frame removed
    files: list[Path]


def run_telecine_demo(output_dir: Path, frames: int = 24, backend: str = "auto") -> TelecineDemoResult:
    """Telecine the film, cut a frame mid-cycle, run ``vo.detelecine``, check every output frame."""
    film = film_clip(max(frames, 16) // 4 * 4)
    truth = luma_frames(film)
    telecined, cut = telecine_clip(film)
    output = detelecine(telecined, backend=backend)
    combed_in = int((nearest_film_frames(luma_frames(telecined), truth)[1] > 0.5).sum())
    shown, errors = nearest_film_frames(luma_frames(output), truth)
    exact = int((errors < 0.5).sum())
    interpolated = sum(int(f.props["OvrInterpolated"]) for f in output.frames(close=True))
    duplicates = sum(a == b for a, b in itertools.pairwise(shown))
    rgb_in, rgb_out = _to_rgb24(telecined[2]), _to_rgb24(output[2])
    gap = np.full((rgb_in.shape[0], 8, 3), 255, np.uint8)
    files = [write_png(output_dir / "telecine_side_by_side.png", np.concatenate([rgb_in, gap, rgb_out], axis=1),
                       overwrite=True)]
    return TelecineDemoResult(telecined.num_frames, output.num_frames, exact, duplicates, interpolated, combed_in,
                              cut, files)


@dataclass
class DemoResult:
    output_dir: Path
    files: list[Path]
    psnr_before: float  # steam stage: mean over frames, dB, RGB against the steam-free background
    psnr_after: float
    frames: int
    tr: int
    pan: PanDemoResult
    telecine: TelecineDemoResult


def run_demo(output_dir: str | Path = "demo-output", *, frames: int = 24, tr: int = 3,
             backend: str = "auto") -> DemoResult:
    """Run the three stages on ``frames`` frames, write their PNGs and ``report.txt`` into ``output_dir``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    video, truth = steamy_clip(frames)
    height, width = truth.shape[:2]
    cleaned = steam(video, tr, backend=backend)

    progress = Progress(frames, "steam")
    before, after = [], []
    middle = frames // 2
    shown: dict[str, np.ndarray] = {}
    for n, (seen, fixed) in enumerate(zip(video.frames(close=True), cleaned.frames(close=True), strict=True)):
        seen_rgb, fixed_rgb = _rgb_array(seen), _rgb_array(fixed)
        before.append(psnr(seen_rgb, truth))
        after.append(psnr(fixed_rgb, truth))
        if n == middle:
            shown = {"input": seen_rgb, "output": fixed_rgb}
        progress.step()

    gap = np.full((height, 8, 3), 255, np.uint8)
    side_by_side = np.concatenate([shown["input"], gap, shown["output"], gap, truth], axis=1)
    psnr_before, psnr_after = float(np.mean(before)), float(np.mean(after))
    files = [
        write_png(output_dir / "steam_input.png", shown["input"], overwrite=True),
        write_png(output_dir / "steam_output.png", shown["output"], overwrite=True),
        write_png(output_dir / "steam_clean.png", truth, overwrite=True),
        write_png(output_dir / "steam_side_by_side.png", side_by_side, overwrite=True),
    ]
    pan = run_pan_demo(output_dir, frames, backend)
    files += pan.files
    ivtc = run_telecine_demo(output_dir, frames, backend)
    files += ivtc.files
    report = output_dir / "report.txt"
    pan_width, pan_height = PAN_FRAME
    report.write_text(
        f"vsovermix demo (samples: {SAMPLE.name}, {PAN_SAMPLE.name}; public domain, see vsovermix/data/NOTICE.md)\n"
        f"\n1. steam removal: vo.steam(clip, tr={tr}) on {frames} frames of {width}x{height} RGB24\n"
        f"PSNR against the steam-free background (RGB, mean over frames): "
        f"before {psnr_before:.2f} dB, after {psnr_after:.2f} dB\n"
        f"frame {middle}: steam_input.png, steam_output.png, steam_clean.png; "
        f"steam_side_by_side.png = input | output | clean\n"
        f"\n2. pan: {frames} frames of {pan_width}x{pan_height} at exact thirds of a pixel, with steam and noise, "
        f"4:2:0 and x264 (crf {PAN_CRF:g})\n"
        f"vo.estimate_pan offset error: median {pan.offset_error_median:.4f} px, max {pan.offset_error_max:.4f} px\n"
        f"vo.stitch(render='min'): a {pan.still_size[0]}x{pan.still_size[1]} still\n"
        f"PSNR against the clean scene (RGB): one frame {pan.psnr_frame:.2f} dB, the still {pan.psnr_still:.2f} dB "
        f"(4:2:0 alone leaves {pan.psnr_cap:.2f} dB)\n"
        f"pan_side_by_side.png = frame 0 in place | still | clean scene\n"
        f"\n3. telecine: {TELECINE_FRAME[0]}x{TELECINE_FRAME[1]} film, hard 3:2 telecine (std), frame "
        f"{ivtc.cut} cut out mid-cycle (an orphan field), vo.detelecine\n"
        f"{ivtc.frames_in} frames in ({ivtc.combed_in} combed) -> {ivtc.frames_out} out: {ivtc.exact} film frames "
        f"exactly, {ivtc.duplicates} duplicates, {ivtc.interpolated} interpolated (flagged)\n"
        f"telecine_side_by_side.png = telecined frame 2 (combed) | output frame 2\n")
    files.append(report)
    return DemoResult(output_dir, files, psnr_before, psnr_after, frames, tr, pan, ivtc)
