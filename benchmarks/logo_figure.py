"""The README's delogo picture: logo, vo.delogo, truth, for a pan and for 500 different pictures.

    .venv/bin/python benchmarks/logo_figure.py       # writes docs/logo_crops.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_logo import AT, LOGO, SIZE, clip_of, make_frames, scene_luma
from vsovermix import delogo, estimate_logo
from vsovermix._png import write_png

OUT = Path(__file__).resolve().parents[1] / "docs" / "logo_crops.png"
PAD = 16


def crops(offsets, motion, frame):
    marked, clean = make_frames(offsets)
    clip = clip_of(marked)
    out = delogo(clip, estimate_logo(clip, motion=motion), motion=motion)
    window = (slice(AT[1] - 12, AT[1] + LOGO[1] + PAD), slice(AT[0] - PAD, AT[0] + LOGO[0] + PAD))
    got = np.asarray(out.get_frame(frame)[0], np.float64)
    return [marked[frame][window], got[window], clean[frame][window]]


def main() -> None:
    rng = np.random.default_rng(0)
    height, width = scene_luma().shape
    varied = list(zip(rng.integers(0, width - SIZE[0], 500), rng.integers(0, height - SIZE[1], 500), strict=True))
    rows = [crops([(60 + 14 * k, 700) for k in range(48)], "global", 24), crops(varied, None, 10)]
    gap = np.full((rows[0][0].shape[0], 6), 255.0)
    lines = [np.concatenate([part for crop in row for part in (crop, gap)][:-1], axis=1) for row in rows]
    image = np.concatenate([lines[0], np.full((6, lines[0].shape[1]), 255.0), lines[1]], axis=0)
    image = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    OUT.parent.mkdir(exist_ok=True)
    print(write_png(OUT, np.clip(np.round(image), 0, 255).astype(np.uint8), overwrite=True))


if __name__ == "__main__":
    main()
