"""Synthetic camera pans with exact sub-pixel ground truth, from the bundled public-domain image.

The image is box-reduced by an integer ``k`` after cropping at integer source offsets, so frame
positions are exact multiples of ``1 / k`` px and no interpolator decides the truth.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from vsovermix._png import read_png
from vsovermix.ops.resample import box_reduce

PARK = Path(__file__).resolve().parents[1] / "vsovermix" / "data" / "park.png"


@functools.cache
def park_rgb() -> np.ndarray:
    return read_png(PARK)[:, :, :3].astype(np.float32)


def pan_frames(k: int, width: int, height: int, source_offsets: np.ndarray) -> list[np.ndarray]:
    """(H, W, 3) float32 frames: ``box_reduce(image[oy:oy + height*k, ox:ox + width*k], k)``."""
    image = park_rgb()
    out = []
    for ox, oy in source_offsets:
        crop = image[oy:oy + height * k, ox:ox + width * k]
        out.append(np.stack([box_reduce(np.ascontiguousarray(crop[:, :, c]), k) for c in range(3)], axis=-1))
    return out


def random_walk(n: int, step: tuple[int, int], jitter: int, seed: int, margin: int = 4) -> np.ndarray:
    """Integer source offsets of a 2-D pan: a drift ``step`` per frame plus +-``jitter``."""
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.integers(-jitter, jitter + 1, (n, 2)) + np.array(step), axis=0)
    return pos - pos.min(axis=0) + margin


def truth_positions(source_offsets: np.ndarray, k: int) -> np.ndarray:
    return (source_offsets - source_offsets[0]) / k


def luma(frame: np.ndarray) -> np.ndarray:
    return (frame[:, :, 0] + 2 * frame[:, :, 1] + frame[:, :, 2]) / 4
