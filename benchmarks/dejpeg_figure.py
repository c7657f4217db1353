"""The README's JPEG picture: one decoded frame | the mean of 8 | vo.dejpeg from 8 | truth, shown 3x larger.

    .venv/bin/python benchmarks/dejpeg_figure.py         # writes docs/dejpeg_crops.png

Same material as bench_dejpeg.py's multi-frame case (park_detail.png, Q25, quarter-pixel pan, 8 frames).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_dejpeg import FRAME, FRAMES, decode, rgb_frame, save_jpeg, source, to_rgb
from vsovermix import dejpeg
from vsovermix._png import write_png
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.superres import shift

OUT = Path(__file__).resolve().parents[1] / "docs" / "dejpeg_crops.png"


def main() -> None:
    image = source("park_detail.png", 1)
    steps = np.random.default_rng(11).integers(0, 96, size=(FRAMES, 2))
    steps[0] = 0
    width, height = FRAME
    with tempfile.TemporaryDirectory() as tmp:
        paths, truth = [], None
        for k, (sx, sy) in enumerate(steps):
            crop = image[sy:sy + height * 4, sx:sx + width * 4]
            reduced = np.stack([box_reduce(crop[..., c], 4) for c in range(3)], axis=-1)
            truth = reduced if truth is None else truth
            paths.append(Path(tmp) / f"f{k}.jpg")
            save_jpeg(reduced, paths[-1], 25)
        clip = decode(paths)
        decoded = [rgb_frame(to_rgb(clip), k) for k in range(FRAMES)]
        mean = np.mean([np.stack([shift(d[..., c].astype(np.float32), -sx / 4, -sy / 4) for c in range(3)], -1)
                        for d, (sx, sy) in zip(decoded, steps, strict=True)], axis=0)
        ours = rgb_frame(to_rgb(dejpeg(clip, tr=4)), 0)
    window = np.s_[150:230, 250:350]  # 100x80 px: outlines, foliage and a flat wall
    panels = [np.clip(np.floor(p[window] + 0.5), 0, 255).astype(np.uint8).repeat(3, 0).repeat(3, 1)
              for p in (decoded[0], mean, ours, truth)]
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    OUT.parent.mkdir(exist_ok=True)
    write_png(OUT, np.concatenate([panels[0], gap, panels[1], gap, panels[2], gap, panels[3]], axis=1),
              overwrite=True)
    print(OUT)


if __name__ == "__main__":
    main()
