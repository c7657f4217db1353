"""``vsovermix demo``: steam removal on a clip built from the bundled sample image.

The clip is made the way such footage is: a still background (a static camera on a drawn
background) with a bright translucent steam layer drifting up over it, blended in 8-bit RGB.
``vo.steam`` takes the darkest value of each pixel and channel over 7 frames; the result is compared
with the steam-free background.

RGB, because white steam brightens every RGB channel, so a per-channel minimum is exactly right
there. In YUV the chroma planes are reduced independently of luma, which tints the patches where
steam covered a pixel in every frame of the window differently in U and V.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import vapoursynth as vs

from ._png import read_png, write_png
from ._progress import Progress
from ._vs.frames import clip_from_planes, plane_view
from .filters.steam import steam
from .ops.metrics import psnr

__all__ = ["DemoResult", "make_steam_alpha", "run_demo", "steamy_clip"]

SAMPLE = Path(__file__).parent / "data" / "park.png"
STEAM_LEVEL = 245.0  # the steam's colour (8-bit RGB code value)


def make_steam_alpha(height: int, width: int, frames: int, seed: int = 1) -> np.ndarray:
    """(frames, H, W) float32 opacity of puffs of steam that rise, sway and fade, in [0, 0.85].

    Each puff is a soft disc (Gaussian profile) rising 14-22 px per frame; a pixel is covered for a
    few frames at a time, so over a 7-frame window most pixels are seen clear at least once.
    """
    rng = np.random.default_rng(seed)
    count = 30
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


def _rgb_array(frame: vs.VideoFrame) -> np.ndarray:
    return np.stack([plane_view(frame, c) for c in range(3)], axis=-1).copy()


@dataclass
class DemoResult:
    output_dir: Path
    files: list[Path]
    psnr_before: float  # mean over frames, dB, RGB against the steam-free background
    psnr_after: float
    frames: int
    tr: int


def run_demo(output_dir: str | Path = "demo-output", *, frames: int = 24, tr: int = 3,
             backend: str = "auto") -> DemoResult:
    """Build the steamy clip, run ``vo.steam``, write PNGs and a report into ``output_dir``."""
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
    report = output_dir / "report.txt"
    report.write_text(
        f"vsovermix demo: steam removal, vo.steam(clip, tr={tr}) on {frames} frames of {width}x{height} RGB24\n"
        f"sample: {SAMPLE.name} (public domain, see vsovermix/data/NOTICE.md)\n"
        f"PSNR against the steam-free background (RGB, mean over frames): "
        f"before {psnr_before:.2f} dB, after {psnr_after:.2f} dB\n"
        f"frame {middle}: input.png, output.png, clean.png; side_by_side.png = input | output | clean\n")
    files = [
        write_png(output_dir / "input.png", shown["input"], overwrite=True),
        write_png(output_dir / "output.png", shown["output"], overwrite=True),
        write_png(output_dir / "clean.png", truth, overwrite=True),
        write_png(output_dir / "side_by_side.png", side_by_side, overwrite=True),
        report,
    ]
    return DemoResult(output_dir, files, psnr_before, psnr_after, frames, tr)
