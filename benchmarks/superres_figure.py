"""The README's super-resolution picture: bicubic | vo's estimate | truth, a crop at 2x, shown 3x larger.

    .venv/bin/python benchmarks/superres_figure.py       # writes docs/superres_crops.png

Same material as bench_superres.py (clean case, 16 frames, shifts from our own alignment, default PSF).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_superres import FRAMES, HEIGHT, REDUCTION, WIDTH, make_frames, psf_default, resized, source_luma
from vsovermix._png import write_png
from vsovermix.ops.align import estimate_pan_offsets
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.superres import SrSettings, super_resolve

OUT = Path(__file__).resolve().parents[1] / "docs" / "superres_crops.png"


def main() -> None:
    luma = source_luma()
    frames, _, origin = make_frames(luma, "clean")
    pan = estimate_pan_offsets(lambda n: frames[n], FRAMES, 1)
    estimate = super_resolve(frames, list(zip(pan.x, pan.y, strict=True)), 2, SrSettings(psf=psf_default(2)))
    truth = box_reduce(np.ascontiguousarray(luma[origin[1]:origin[1] + HEIGHT * REDUCTION,
                                                 origin[0]:origin[0] + WIDTH * REDUCTION]), REDUCTION // 2) / 255
    bicubic = resized(frames[0], 2, "Bicubic")
    window = np.s_[100:196, 200:296]  # 96x96 of the 2x image: trees and outlines
    panels = [np.clip(np.floor(p[window] * 255 + 0.5), 0, 255).astype(np.uint8).repeat(3, 0).repeat(3, 1)
              for p in (bicubic, estimate, truth)]
    gap = np.full((panels[0].shape[0], 6), 255, np.uint8)
    OUT.parent.mkdir(exist_ok=True)
    write_png(OUT, np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1), overwrite=True)
    print(OUT)


if __name__ == "__main__":
    main()
