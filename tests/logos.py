"""Clips that carry a known logo, with their logo-free truth: different pictures and camera pans.

Frames are crops of the bundled ``park_detail.png`` (public domain); the logo (``vsovermix._logo_art``)
is blended in float RGB and rounded to 8 bits, as a broadcaster's encoder input would be.
"""

from __future__ import annotations

import functools

import numpy as np
import vapoursynth as vs

from vsovermix._logo_art import blend_logo, make_logo
from vsovermix._png import read_png
from vsovermix._vs.frames import clip_from_planes
from vsovermix.demo import PAN_SAMPLE

LOGO_SIZE = (120, 42)  # width, height of the logo in the test frames


@functools.cache
def scene() -> np.ndarray:
    return read_png(PAN_SAMPLE)[..., :3].astype(np.float64)


def logo_at(width: int = LOGO_SIZE[0], height: int = LOGO_SIZE[1]) -> tuple[np.ndarray, np.ndarray]:
    return make_logo(width, height)


def _clip(frames: list[np.ndarray], fmt: int) -> vs.VideoNode:
    rgb = clip_from_planes([[f[..., c] for c in range(3)] for f in frames], vs.RGB24)
    if fmt == vs.RGB24:
        return rgb
    target = vs.core.get_video_format(fmt)
    kwargs = {"matrix_s": "709"} if target.color_family != vs.RGB else {}
    return rgb.resize.Bicubic(format=fmt, **kwargs)


def logo_clips(offsets: np.ndarray, size: tuple[int, int], at: tuple[int, int], fmt: int = vs.RGB24,
               logo: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[vs.VideoNode, vs.VideoNode]:
    """(with logo, truth): crops of the scene at integer ``offsets`` (n, 2: x, y) of ``size``, logo at ``at``."""
    alpha, colour = logo if logo is not None else logo_at()
    width, height = size
    image = scene()
    marked, clean = [], []
    for x0, y0 in offsets:
        crop = image[y0:y0 + height, x0:x0 + width]
        clean.append(crop.astype(np.uint8))
        marked.append(np.clip(np.round(blend_logo(crop, alpha, colour, *at)), 0, 255).astype(np.uint8))
    return _clip(marked, fmt), _clip(clean, fmt)


def random_offsets(count: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Crop positions all over the scene: a different picture behind the logo in every frame."""
    rng = np.random.default_rng(seed)
    h, w = scene().shape[:2]
    return np.stack([rng.integers(0, w - size[0], count), rng.integers(0, h - size[1], count)], axis=1)


def pan_offsets(count: int, step: tuple[int, int] = (9, 2), start: tuple[int, int] = (40, 300)) -> np.ndarray:
    return np.array([(start[0] + k * step[0], start[1] + k * step[1]) for k in range(count)])


def true_alpha(size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    alpha, _ = logo_at()
    out = np.zeros((size[1], size[0]), np.float32)
    out[at[1]:at[1] + alpha.shape[0], at[0]:at[0] + alpha.shape[1]] = alpha
    return out
