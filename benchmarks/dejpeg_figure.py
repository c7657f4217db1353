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
from benchmarks.bench_dejpeg import aligned_decodes, jpeg_pan, rgb_frame, to_rgb
from vsovermix import dejpeg
from vsovermix._png import write_png

OUT = Path(__file__).resolve().parents[1] / "docs" / "dejpeg_crops.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip, truth, offsets = jpeg_pan("park_detail.png", 25, True, Path(tmp))
        aligned = aligned_decodes(clip, offsets)
        ours = rgb_frame(to_rgb(dejpeg(clip, tr=4)), 0)
    decoded, mean = aligned[0], np.mean(aligned, axis=0)
    window = np.s_[150:230, 250:350]  # 100x80 px: outlines, foliage and a flat wall
    panels = [np.clip(np.floor(p[window] + 0.5), 0, 255).astype(np.uint8).repeat(3, 0).repeat(3, 1)
              for p in (decoded, mean, ours, truth)]
    gap = np.full((panels[0].shape[0], 6, 3), 255, np.uint8)
    OUT.parent.mkdir(exist_ok=True)
    write_png(OUT, np.concatenate([panels[0], gap, panels[1], gap, panels[2], gap, panels[3]], axis=1),
              overwrite=True)
    print(OUT)


if __name__ == "__main__":
    main()
