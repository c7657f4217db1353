"""A TV-station-like logo drawn from shapes, with known alpha and colour, for tests, benchmarks and figures.

A translucent rounded badge (alpha 0.35) carrying nearly opaque strokes (alpha 0.9): a ring, a V and a
bar, in two colours, anti-aliased by 4x4 supersampling. Nothing here is learnt; it is ground truth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["blend_logo", "make_logo"]

_SUPERSAMPLE = 4
BADGE_ALPHA = 0.35
STROKE_ALPHA = 0.9
BADGE_RGB = (250.0, 250.0, 245.0)
STROKE_RGB = (240.0, 150.0, 30.0)


def _segment_distance(px: np.ndarray, py: np.ndarray, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(px - ax - t * dx, py - ay - t * dy)


def make_logo(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha, colour)``: (H, W) float32 alpha in [0, 0.9] and (H, W, 3) float32 RGB colour in 0..255."""
    s = _SUPERSAMPLE
    ys, xs = np.mgrid[0:height * s, 0:width * s].astype(np.float32)
    px, py = (xs + 0.5) / s / width, (ys + 0.5) / s / height  # 0..1 across the logo
    aspect = width / height
    # Rounded badge: a rectangle inset by 4 % with corners rounded at a fifth of the height.
    r = 0.2
    qx = np.maximum(np.abs(px - 0.5) * aspect - (0.46 * aspect - r), 0.0)
    qy = np.maximum(np.abs(py - 0.5) - (0.46 - r), 0.0)
    badge = np.hypot(qx, qy) <= r
    # Strokes in units of the height: a ring, a V and a bar, each 0.09 of the height thick.
    ux, uy = px * aspect, py
    thick = 0.09
    ring = np.abs(np.hypot(ux - 0.55, uy - 0.5) - 0.24) <= thick
    vee = (_segment_distance(ux, uy, (1.0, 0.26), (1.2, 0.74)) <= thick) | \
          (_segment_distance(ux, uy, (1.2, 0.74), (1.4, 0.26)) <= thick)
    bar = _segment_distance(ux, uy, (1.65, 0.26), (1.65, 0.74)) <= thick
    strokes = (ring | vee | bar) & badge

    def down(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(height, s, width, s).mean(axis=(1, 3), dtype=np.float64)

    badge_cover, stroke_cover = down(badge), down(strokes)
    alpha = badge_cover * BADGE_ALPHA + stroke_cover * (STROKE_ALPHA - BADGE_ALPHA)
    # Premultiplied colour of the two layers, then divided out where there is any alpha.
    premultiplied = (badge_cover - stroke_cover)[..., None] * BADGE_ALPHA * np.array(BADGE_RGB) \
        + stroke_cover[..., None] * STROKE_ALPHA * np.array(STROKE_RGB)
    colour = np.where(alpha[..., None] > 0, premultiplied / np.maximum(alpha, 1e-9)[..., None], 0.0)
    return alpha.astype(np.float32), colour.astype(np.float32)


def blend_logo(image: np.ndarray, alpha: np.ndarray, colour: np.ndarray, x: int, y: int) -> np.ndarray:
    """``image`` (H, W, 3) with the logo blended at ``(x, y)``, in float64 (round it as the encoder would)."""
    out = image.astype(np.float64).copy()
    h, w = alpha.shape
    a = alpha[..., None].astype(np.float64)
    out[y:y + h, x:x + w] = (1.0 - a) * out[y:y + h, x:x + w] + a * colour
    return out
