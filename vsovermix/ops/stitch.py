"""Compositing frames of a pan into one canvas at their sub-pixel positions.

A frame at position ``p`` (the scene point its top-left pixel shows) contributes to canvas pixel
``X`` the value it has at ``X + origin - p``: every pixel of a frame shares one fractional phase,
so it is resampled by two fixed 1-D filters (``ops.resample``), never floored to whole pixels.
Chroma planes use the same positions divided by their subsampling; the chroma siting is the same
on the canvas and on every frame, so it cancels out of a pure translation.

Renders: ``average`` (weighted, each frame's edges feathered so dirty borders and the resampling
edge fade out instead of leaving a seam), ``min`` and ``max`` stream frame by frame with canvas-sized
accumulators; ``median`` works in horizontal bands so its memory stays under a budget whatever the
number of frames, re-reading the frames that cover each band. The selecting renders (min, max,
median) clamp each resampled value to its 2x2 source neighbourhood, so they never pick a Lanczos
overshoot.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .parallel import parallel_map, row_bands
from .resample import sample_bounds, sample_shifted, snap_shift, xp_of

__all__ = ["DEFAULT_FEATHER", "DEFAULT_KERNEL", "RENDERS", "STITCH_RENDERS", "Band", "Canvas", "FramePlacement",
           "StreamingRender", "canvas_bands", "median_render", "plan_canvas", "resample", "start_values"]

RENDERS = ("average", "median", "min", "max")
# vo.stitch's render= choices: these combines, and the solvers (steam model, super-resolution, JPEG estimation)
STITCH_RENDERS = (*RENDERS, "steam", "sr", "jpeg")
DEFAULT_KERNEL = "lanczos3"
DEFAULT_FEATHER = 8  # px over which a frame's weight in the average ramps up from its edge
PHASE_WEIGHT_FLOOR = 0.1


@dataclass(frozen=True)
class FramePlacement:
    """Where one frame's plane lands: canvas pixel ``X`` reads frame pixel ``X + shift``."""

    shift_x: float
    shift_y: float
    cols: tuple[int, int]  # canvas columns it covers (taps inside the frame)
    rows: tuple[int, int]

    @property
    def weight(self) -> float:
        """Weight in the average: a frame whose pixels fall nearer the canvas grid carries less
        interpolation error (none at a whole-pixel phase), so it counts more (10x at phase 0,
        0.48x at half a pixel on both axes)."""
        phase = math.sin(math.pi * self.shift_x) ** 2 + math.sin(math.pi * self.shift_y) ** 2
        return 1.0 / (PHASE_WEIGHT_FLOOR + phase)


@dataclass(frozen=True)
class Canvas:
    """The still's luma size and the scene position of its top-left pixel."""

    width: int
    height: int
    origin_x: float
    origin_y: float

    def placement(self, x: float, y: float, plane_width: int, plane_height: int, ssw: int, ssh: int,
                  kernel: str) -> FramePlacement:
        """Placement of a frame at scene position ``(x, y)`` in a plane subsampled by ``2**ssw x 2**ssh``."""
        shift_x = snap_shift((self.origin_x - x) / (1 << ssw))
        shift_y = snap_shift((self.origin_y - y) / (1 << ssh))
        c0, c1 = sample_bounds(plane_width, shift_x, kernel)
        r0, r1 = sample_bounds(plane_height, shift_y, kernel)
        width, height = self.width >> ssw, self.height >> ssh
        return FramePlacement(shift_x, shift_y, (max(c0, 0), min(c1, width)), (max(r0, 0), min(r1, height)))


def plan_canvas(xs: Sequence[float], ys: Sequence[float], width: int, height: int, ssw: int = 0,
                ssh: int = 0) -> Canvas:
    """Smallest canvas holding every frame, its size a multiple of the chroma subsampling."""
    # A hair of slack: a solve that puts frame 0 at -1e-13 must not grow the canvas by a pixel.
    origin_x, origin_y = math.floor(min(xs) + 1e-6), math.floor(min(ys) + 1e-6)
    span_w = math.ceil(max(xs) - origin_x) + width
    span_h = math.ceil(max(ys) - origin_y) + height
    mw, mh = 1 << ssw, 1 << ssh
    return Canvas(-(-span_w // mw) * mw, -(-span_h // mh) * mh, float(origin_x), float(origin_y))


def resample(plane: Any, place: FramePlacement, rows: tuple[int, int], kernel: str, clamp: bool) -> Any:
    """``plane`` resampled on canvas ``rows`` x ``place.cols`` at its placement.

    ``clamp`` keeps each value within the range of the 2x2 source pixels around its position: Lanczos
    overshoots at edges, and a render that selects one frame's value per pixel (min, max, median)
    would pick exactly those overshoots (dark or bright halos along every line).
    """
    values = sample_shifted(plane, place.shift_x, place.shift_y, rows, place.cols, kernel)
    return _clamp_to_neighbours(values, plane, place.shift_x, place.shift_y, rows, place.cols) if clamp else values


def _clamp_to_neighbours(values: Any, plane: Any, shift_x: float, shift_y: float, rows: tuple[int, int],
                         cols: tuple[int, int]) -> Any:
    xp = xp_of(plane)
    y0, x0 = rows[0] + math.floor(shift_y), cols[0] + math.floor(shift_x)
    h, w = rows[1] - rows[0], cols[1] - cols[0]
    dy = 0 if shift_y == math.floor(shift_y) else 1
    dx = 0 if shift_x == math.floor(shift_x) else 1
    corners = [plane[y0 + a:y0 + a + h, x0 + b:x0 + b + w] for a in (0, dy) for b in (0, dx)]
    lo = xp.minimum(xp.minimum(corners[0], corners[1]), xp.minimum(corners[2], corners[3]))
    hi = xp.maximum(xp.maximum(corners[0], corners[1]), xp.maximum(corners[2], corners[3]))
    return xp.clip(values, lo, hi)


def edge_weight(length: int, shift: float, span: tuple[int, int], feather: float) -> np.ndarray:
    """1-D weight of canvas positions ``span`` reading frame coordinate ``X + shift``: ramps up over
    ``feather`` px from each frame edge (the first and last pixel weigh ``1 / (feather + 1)``)."""
    if feather <= 0:
        return np.ones(span[1] - span[0], dtype=np.float32)
    coord = np.arange(span[0], span[1], dtype=np.float64) + shift
    distance = np.minimum(coord, length - 1 - coord)
    return np.clip((distance + 1) / (feather + 1), 1e-3, 1.0).astype(np.float32)


class StreamingRender:
    """Running average / min / max of frames on one plane of the canvas; memory independent of frame count."""

    def __init__(self, mode: str, width: int, height: int, xp: Any = np):
        self.mode, self.xp = mode, xp
        self.coverage = xp.zeros((height, width), dtype=np.float32)
        if mode == "average":
            self.total = xp.zeros((height, width), dtype=np.float64)
        else:
            self.total = xp.full((height, width), np.inf if mode == "min" else -np.inf, dtype=np.float32)

    def add(self, plane: Any, place: FramePlacement, feather: float, kernel: str) -> None:
        """Resample ``plane`` (float32) at its placement and fold it in (average: weighted by ``place.weight``)."""
        (r0, r1), (c0, c1) = place.rows, place.cols
        if r1 <= r0 or c1 <= c0:
            return
        xp = self.xp
        wy = xp.asarray(edge_weight(plane.shape[0], place.shift_y, place.rows, feather))
        wx = xp.asarray(edge_weight(plane.shape[1], place.shift_x, place.cols, feather)) * np.float32(place.weight)

        def fold(rows: tuple[int, int]) -> None:
            # Bands of rows own disjoint slices of the accumulators, so threads never write the same sample.
            values = resample(plane, place, rows, kernel, clamp=self.mode != "average")
            window = (slice(*rows), slice(c0, c1))
            weight = wy[rows[0] - r0:rows[1] - r0, None] * wx[None, :]
            self.coverage[window] += weight
            if self.mode == "average":
                self.total[window] += weight * values
            else:
                reduce = xp.minimum if self.mode == "min" else xp.maximum
                reduce(self.total[window], values, out=self.total[window])

        parallel_map(fold, row_bands(r0, r1) if xp is np else [(r0, r1)])

    def result(self) -> tuple[Any, Any]:
        """(values float32, coverage weight); uncovered pixels hold NaN."""
        xp = self.xp
        covered = self.coverage > 0
        if self.mode == "average":
            values = xp.where(covered, self.total / xp.maximum(self.coverage, 1e-12), np.nan).astype(np.float32)
        else:
            values = xp.where(covered, self.total, np.nan).astype(np.float32)
        return values, self.coverage


@dataclass(frozen=True)
class Band:
    """Canvas rows ``top .. bottom`` of a banded render, solved over ``lo .. hi`` (the band and its margin)."""

    top: int
    bottom: int
    lo: int
    hi: int


def canvas_bands(height: int, rows: int, margin: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[Band]:
    """A canvas of ``height`` rows cut into bands of ``rows``, each with ``margin`` more rows on both sides
    (within the canvas); ``progress`` is told after each band is done."""
    tops = range(0, height, rows)
    for done, top in enumerate(tops):
        bottom = min(top + rows, height)
        yield Band(top, bottom, max(top - margin, 0), min(bottom + margin, height))
        if progress is not None:
            progress(done + 1, len(tops))


def start_values(plane: np.ndarray, default: float) -> tuple[np.ndarray, np.ndarray]:
    """A banded solve's start, float32: ``plane`` with its NaN (no frame reaches) set to its mean (``default`` if
    all are NaN); and where it is covered."""
    covered = ~np.isnan(plane)
    fill = np.float32(np.nanmean(plane) if covered.any() else default)
    return np.where(covered, plane, fill).astype(np.float32), covered


def median_render(fetch: Callable[[int], Any], placements: Sequence[FramePlacement], width: int, height: int,
                  kernel: str, budget_bytes: int = 512 << 20,
                  progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel median over the frames covering it (lower middle value for an even count).

    ``fetch(i)`` returns frame ``i``'s float32 plane; it is called once per band that the frame
    covers. Bands are as tall as ``budget_bytes`` allows for the frames that can cover them.
    Returns (values with NaN where uncovered, coverage count).
    """
    count = len(placements)
    band = max(8, min(height, budget_bytes // max(1, 4 * width * count)))
    out = np.full((height, width), np.nan, dtype=np.float32)
    coverage = np.zeros((height, width), dtype=np.float32)
    for part in canvas_bands(height, band, progress=progress):
        top, bottom = part.top, part.bottom
        members = [i for i, p in enumerate(placements)
                   if p.rows[0] < bottom and p.rows[1] > top and p.cols[1] > p.cols[0]]
        stack = np.full((len(members), bottom - top, width), np.nan, dtype=np.float32)
        for k, i in enumerate(members):
            p = placements[i]
            r0, r1 = max(p.rows[0], top), min(p.rows[1], bottom)
            stack[k, r0 - top:r1 - top, p.cols[0]:p.cols[1]] = resample(fetch(i), p, (r0, r1), kernel, clamp=True)
        # NaN sorts last, so the k-th valid value of a pixel sits at index (valid - 1) // 2.
        stack.sort(axis=0)
        valid = np.sum(~np.isnan(stack), axis=0)
        index = np.maximum(valid - 1, 0) // 2
        out[top:bottom] = np.take_along_axis(stack, index[None], axis=0)[0]
        coverage[top:bottom] = valid
    return out, coverage
