"""Shots under rising steam, with their steam-free truth: a still camera and a camera pan.

Steam is two layers of value noise (random values on a coarse lattice, smoothly interpolated, two
octaves) that rise by whole pixels per frame at different speeds, so no interpolator is involved.
Each layer's opacity is its noise pushed through a smoothstep and scaled to a peak; the layers
composite as ``1 - (1 - a1) (1 - a2)`` (peak 0.68 where both are dense). Steam is blended in float
RGB toward a near-white colour and rounded to 8 bits; VapourSynth converts to 4:2:0 (BT.709,
limited) and x264 compresses, as a broadcast or a BD encode would.

Images: ``tuning_images()`` (the bundled ``park_detail.png``: the constants of ``ops.steam`` were chosen on
it) and ``validation_images()`` (``room.png`` and ``tiger.png`` from ``../shared/data``, never tuned on).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import vapoursynth as vs

from vsovermix._png import read_png
from vsovermix._vs.frames import clip_from_planes, plane_view
from vsovermix.ops.resample import box_reduce

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BUNDLED = Path(__file__).resolve().parents[1] / "vsovermix" / "data"


@dataclass(frozen=True)
class SteamShot:
    """A steamy shot: the clip handed to the filter and its steam-free frames."""

    clip: vs.VideoNode          # YUV420P8 after x264, or RGB24 (the decode converted back, as a user would)
    clean: list[np.ndarray]     # (H, W, 3) float32 8-bit RGB per frame, before steam and encoding
    alpha: np.ndarray           # (frames, H, W) steam opacity
    offsets: np.ndarray         # (frames, 2) crop offsets in source px (x, y); all zero for a still camera


def value_noise(height: int, width: int, cell: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise in [0, 1]: uniform values on a lattice of ``cell`` px, bicubic-smoothstep interpolated."""
    gh, gw = height // cell + 3, width // cell + 3
    lattice = rng.uniform(0.0, 1.0, (gh, gw))
    y = np.arange(height) / cell
    x = np.arange(width) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - y0, x - x0
    sy, sx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    top = lattice[y0][:, x0] * (1 - sx) + lattice[y0][:, x0 + 1] * sx
    bottom = lattice[y0 + 1][:, x0] * (1 - sx) + lattice[y0 + 1][:, x0 + 1] * sx
    return top * (1 - sy)[:, None] + bottom * sy[:, None]


def steam_layers(height: int, width: int, frames: int, *, speeds: tuple[int, int] = (3, 5),
                 peaks: tuple[float, float] = (0.42, 0.45), cells: tuple[int, int] = (56, 88),
                 seed: int = 0) -> np.ndarray:
    """(frames, H, W) float32 opacity of two value-noise layers rising ``speeds`` px per frame."""
    rng = np.random.default_rng(seed)
    alpha_clear = np.ones((frames, height, width), np.float32)
    for speed, peak, cell in zip(speeds, peaks, cells, strict=True):
        tall = height + speed * frames
        noise = 0.7 * value_noise(tall, width, cell, rng) + 0.3 * value_noise(tall, width, cell // 3, rng)
        shaped = np.clip((noise - 0.45) / 0.3, 0.0, 1.0)  # about half the area clear per layer
        layer = (peak * shaped * shaped * (3 - 2 * shaped)).astype(np.float32)
        for t in range(frames):  # rising: row y of frame t shows layer row y + speed * t
            alpha_clear[t] *= 1.0 - layer[speed * t:speed * t + height]
    return 1.0 - alpha_clear


@functools.cache
def _image(path: Path) -> np.ndarray:
    return read_png(path)[..., :3].astype(np.float32)


def tuning_images() -> list[Path]:
    return [BUNDLED / "park_detail.png"]


def validation_images() -> list[Path]:
    return [SHARED_DATA / "room.png", SHARED_DATA / "tiger.png"]


def _reduced(image: np.ndarray, factor: int) -> np.ndarray:
    return np.stack([box_reduce(np.ascontiguousarray(image[..., c]), factor) for c in range(3)], axis=-1)


def steamy_shot(image: Path, *, frames: int = 48, size: tuple[int, int] = (854, 480), motion: str = "static",
                colour: tuple[float, float, float] = (240.0, 242.0, 246.0), crf: float = 16.0, rgb: bool = False,
                seed: int = 0, peaks: tuple[float, float] = (0.42, 0.45)) -> SteamShot:
    """``frames`` of ``size`` from ``image`` under two rising steam layers, x264 at ``crf`` (None: no encode).

    ``motion="static"``: one crop of the image reduced to just cover ``size``. ``"pan"``: the image reduced
    3x and cropped at source offsets ``(7 t, 2 t)``, a pan of 7/3 and 2/3 px per frame (exact sub-pixel
    positions). ``rgb`` hands the decode back as RGB24 (BT.709 limited to full-range RGB).
    """
    from vsovermix._ffmpeg import x264_roundtrip

    width, height = size
    source = _image(image)
    if motion == "static":
        factor = max(1, min(source.shape[0] // height, source.shape[1] // width))
        scene = _reduced(source[:height * factor, :width * factor], factor)
        clean = [scene] * frames
        offsets = np.zeros((frames, 2), np.int64)
    elif motion == "pan":
        factor = 3
        offsets = np.stack([7 * np.arange(frames), 2 * np.arange(frames)], axis=1).astype(np.int64)
        span_w, span_h = width * factor + 7 * frames, height * factor + 2 * frames
        if source.shape[1] < span_w or source.shape[0] < span_h:
            source = np.repeat(np.repeat(source, 2, axis=0), 2, axis=1)  # small images: enlarge first
        clean = [_reduced(source[y:y + height * factor, x:x + width * factor], factor) for x, y in offsets]
    else:
        raise ValueError(f"motion must be 'static' or 'pan', got {motion!r}")
    alpha = steam_layers(height, width, frames, seed=seed, peaks=peaks)
    steam = np.asarray(colour, np.float32)
    seen = [np.clip(np.floor(f * (1 - a[..., None]) + steam * a[..., None] + 0.5), 0, 255)
            for f, a in zip(clean, alpha, strict=True)]
    rgb_clip = clip_from_planes([[f[..., c] for c in range(3)] for f in seen], vs.RGB24, Fraction(24000, 1001))
    yuv = rgb_clip.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    if crf is not None:
        planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in yuv.frames(close=True)]
        yuv = clip_from_planes(x264_roundtrip("steams", planes, crf=crf), vs.YUV420P8, Fraction(24000, 1001))
    yuv = yuv.std.SetFrameProps(_Matrix=vs.MATRIX_BT709, _Transfer=vs.TRANSFER_BT709, _Primaries=vs.PRIMARIES_BT709,
                                _Range=vs.Range.RANGE_LIMITED, _ChromaLocation=vs.CHROMA_LEFT)
    clip = yuv.resize.Bicubic(format=vs.RGB24, matrix_in_s="709") if rgb else yuv
    return SteamShot(clip, clean, alpha, offsets)


def rgb_frames(clip: vs.VideoNode) -> list[np.ndarray]:
    """Every frame of ``clip`` as (H, W, 3) float32 8-bit RGB (YUV converted with BT.709, limited range)."""
    if clip.format.color_family != vs.RGB or clip.format.bits_per_sample != 8:
        clip = clip.resize.Bicubic(format=vs.RGB24, matrix_in_s="709") if clip.format.color_family == vs.YUV \
            else clip.resize.Bicubic(format=vs.RGB24)
    return [np.stack([np.array(plane_view(f, c), np.float32) for c in range(3)], axis=-1)
            for f in clip.frames(close=True)]
