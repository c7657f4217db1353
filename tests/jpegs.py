"""JPEG pans for the dejpeg tests: crops of the bundled park drawing at known integer offsets, each saved by
Pillow (4:2:0 colour, or grey) on its own 8x8 grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.pans import park_rgb

JFIF = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def jpeg_pan(folder: Path, n: int = 5, quality: int = 25, width: int = 160, height: int = 120, grey: bool = False,
             seed: int = 3) -> tuple[list[str], np.ndarray, list[tuple[int, int]]]:
    """``n`` JPEG files of a pan, the truth of frame 0's area (uint8, RGB or grey) and each frame's (x, y)."""
    scene = np.clip(np.rint(park_rgb()), 0, 255).astype(np.uint8)
    rng = np.random.default_rng(seed)
    offsets = [(0, 0)] + [(int(x), int(y)) for x, y in rng.integers(0, 20, size=(n - 1, 2))]
    top, left = 40, 60
    paths = []
    for i, (x, y) in enumerate(offsets):
        crop = Image.fromarray(scene[top + y:top + y + height, left + x:left + x + width])
        if grey:
            crop = crop.convert("L")
        path = folder / f"frame{i:03d}.jpg"
        crop.save(path, quality=quality)
        paths.append(str(path))
    truth = scene[top:top + height, left:left + width]
    if grey:
        truth = np.asarray(Image.fromarray(truth).convert("L"))
    return paths, truth, offsets


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ JFIF[0]
