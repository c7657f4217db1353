"""The image behind JPEG blocks: every frame's quantised DCT coefficients, one estimate that agrees with all.

A JPEG encoder splits each component (Y, Cb, Cr of JFIF's full-range BT.601; chroma usually reduced
2x2 by averaging) into 8x8 blocks on the frame's own grid, takes the orthonormal 2-D DCT of each
block (after subtracting 128) and keeps ``k = round(c / q)`` for its table's step ``q``. A decoded
frame therefore says: the true image, seen on *my* grid, has each coefficient in
``[(k - 1/2) q, (k + 1/2) q]``. Frames of a pan see the scene on grids that move against it, so
together they pin it down far more tightly than one frame (research/overmix.md §2e).

The estimate solves

    min_x  TV(x)   subject to   DCT_j(W_j x) in box_j  for every frame j  and  0 <= x <= 255

by Chambolle and Pock's primal-dual algorithm (2011): the constraint sets are boxes in each frame's
orthonormal block-DCT domain, so their proximal steps are clamps; TV (isotropic, the line-art prior
jpeg2png uses) keeps lines sharp and removes ringing and blocking inside what the coefficients allow.
``W_j`` places the estimate on frame ``j``'s coded grid: a sub-pixel shift (separable Catmull-Rom,
the super-resolution forward model of ``ops.superres``) and, for subsampled chroma estimated at full
resolution, the encoder's 2x2 average. The padding an encoder adds to fill partial edge blocks is left
free (extra unknowns), which keeps every operator's norm at most 1 and the steps fixed.

Values are in 8-bit code units (what JPEG quantises), level-shifted by 128 inside the solver.
Works on NumPy and CuPy arrays alike (the block DCT is two batched matmuls).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .parallel import parallel_map
from .resample import fit_to_shape, to_numpy, xp_of
from .stitch import canvas_bands, start_values
from .superres import shift

__all__ = [
    "BLOCK",
    "CodedPlane",
    "CodedView",
    "DejpegSettings",
    "area_any",
    "block_any",
    "block_dct",
    "block_idct",
    "coded_from_upsampled",
    "coded_view",
    "dejpeg_canvas",
    "dejpeg_estimate",
    "estimate_quality",
    "ijg_table",
    "jpeg_dual_step",
    "lattice_fit",
    "place",
    "place_adjoint",
    "quantised_indices",
]

BLOCK = 8
LEVEL = 128.0
PEAK8 = 255.0

# ITU-T T.81 Annex K.1: the example tables that libjpeg (and Pillow, ffmpeg, most cameras) scale by quality.
STANDARD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.int32).reshape(8, 8)
STANDARD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, dtype=np.int32).reshape(8, 8)


def ijg_table(quality: int, chroma: bool = False) -> np.ndarray:
    """The 8x8 table libjpeg writes for ``quality`` in [1, 100] (baseline: steps clamped to 1..255)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    base = STANDARD_CHROMA if chroma else STANDARD_LUMA
    return np.clip((base * scale + 50) // 100, 1, 255).astype(np.int32)


def _dct_matrix() -> np.ndarray:
    """The orthonormal 8-point DCT-II matrix: ``coefficients = D @ samples``."""
    k = np.arange(BLOCK)
    matrix = np.sqrt(2.0 / BLOCK) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK))
    matrix[0] /= np.sqrt(2.0)
    return matrix.astype(np.float32)


DCT = _dct_matrix()


def _separable(plane: Any, left: np.ndarray, right: np.ndarray) -> Any:
    """``left @ block @ right`` for every 8x8 block, as two large batched matmuls (SciPy's ``dctn`` over the
    blocks' axes gives the same to float rounding, at half the speed: tested)."""
    xp = xp_of(plane)
    h, w = plane.shape
    blocks = xp.matmul(plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK), xp.asarray(right))
    return xp.matmul(xp.asarray(left), blocks.reshape(h // BLOCK, BLOCK, w)).reshape(h, w)


def block_dct(plane: Any) -> Any:
    """Orthonormal 2-D DCT-II of every 8x8 block (JPEG's FDCT), coefficients laid out where their block is.

    ``plane``'s height and width are multiples of 8."""
    return _separable(plane.astype(np.float32, copy=False), DCT, DCT.T)


def block_idct(coefficients: Any) -> Any:
    """The inverse of ``block_dct`` (its transpose: the transform is orthonormal)."""
    return _separable(coefficients.astype(np.float32, copy=False), DCT.T, DCT)


def padded_size(length: int) -> int:
    return -(-length // BLOCK) * BLOCK


def pad_to_blocks(plane: Any) -> Any:
    """``plane`` extended to whole blocks by repeating its last row and column, as JPEG encoders do."""
    xp = xp_of(plane)
    h, w = plane.shape
    return xp.pad(plane, ((0, padded_size(h) - h), (0, padded_size(w) - w)), mode="edge")


def tile_table(table: Any, shape: tuple[int, int]) -> Any:
    xp = xp_of(table)
    return xp.tile(table, (shape[0] // BLOCK, shape[1] // BLOCK))


def _coefficients(coded: Any) -> Any:
    """A decoded plane's (8-bit units) JPEG coefficients: level-shifted, padded as an encoder pads, block DCT."""
    return block_dct(pad_to_blocks(coded.astype(np.float32) - np.float32(LEVEL)))


def quantised_indices(coded: Any, table: np.ndarray) -> tuple[Any, Any]:
    """The coefficient indices ``k`` a decoded plane (8-bit units) was made from, and each coefficient's
    distance from its lattice point ``c - k q`` (code values: rounding noise for a true decode)."""
    xp = xp_of(coded)
    coefficients = _coefficients(coded)
    steps = tile_table(xp.asarray(table, dtype=np.float32), coefficients.shape)
    indices = xp.rint(coefficients / steps)
    return indices, coefficients - indices * steps


NOISE = 0.75  # code values: the spread of a decode's coefficients around their lattice points (rounding, RGB)
OUTLIERS = 0.05  # share of coefficients the lattice model lets lie anywhere (clipped pixels, edits)


def area_any(mask: Any, area: tuple[int, int]) -> Any:
    """Per ``area`` (``(x, y)``) of a pixel mask, padded to whole areas with False: does any pixel hold?"""
    ax, ay = area
    h, w = mask.shape
    padded = fit_to_shape(mask, (-(-h // ay) * ay, -(-w // ax) * ax))
    return padded.reshape(padded.shape[0] // ay, ay, padded.shape[1] // ax, ax).any(axis=(1, 3))


def block_any(mask: Any) -> Any:
    """Per 8x8 block of a pixel mask (padded to whole blocks with False): does any pixel hold?"""
    return area_any(mask, (BLOCK, BLOCK))


def _block_coefficients(coded: Any, untrusted: Any = None) -> Any:
    """Every block's 64 coefficients, ``(blocks, 8, 8)``, leaving out blocks with an ``untrusted`` pixel."""
    coefficients = _coefficients(coded)
    h, w = coefficients.shape
    blocks = coefficients.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    if untrusted is not None:
        blocks = blocks[~block_any(untrusted)]
    return blocks.reshape(-1, BLOCK, BLOCK)


def _lattice_score(blocks: Any, table: np.ndarray) -> tuple[float, int]:
    """Sum over the informative coefficients of the log-likelihood ratio "on ``table``'s lattice, with
    rounding noise" against "anywhere", and their count.

    Informative: AC coefficients (a decode's rounding is often the same over a flat block, which moves
    DC by up to 8x as much), step >= 3 (finer lattices cannot be told from noise) and ``|c| > 3`` code
    values (every lattice holds 0, and a coarser one would be rewarded for the zeros). Per coefficient the ratio is
    ``log(q p(r))`` with ``r`` the distance to the nearest lattice point and ``p`` a normal of ``NOISE``
    mixed with ``OUTLIERS`` spread over the step: about ``log(q / 1.9)`` for a decode on this lattice, at
    most 0 on average for anything else, and ``log 2`` less for a table of half the steps."""
    xp = xp_of(blocks)
    steps = xp.asarray(table, dtype=np.float32)
    usable = steps >= 3
    usable[0, 0] = False
    informative = (xp.abs(blocks) > 3.0) & usable[None]
    count = int(informative.sum())
    if count == 0:
        return 0.0, 0
    q = xp.broadcast_to(steps, blocks.shape)[informative]
    c = blocks[informative]
    r = c - xp.rint(c / q) * q
    density = (1.0 - OUTLIERS) * xp.exp(-0.5 * (r / NOISE) ** 2) / (NOISE * math.sqrt(2 * math.pi)) + OUTLIERS / q
    return float(xp.log(q * density).sum()), count


def lattice_fit(coded: Any, table: np.ndarray, untrusted: Any = None) -> float:
    """Mean log-likelihood ratio (nats per informative coefficient) that a decoded plane (8-bit units) was
    quantised with ``table`` rather than not at all: about 2-3 for a JPEG decoded with it, at most about 0
    for x264 frames, a resized image or another table. NaN for a flat plane. Blocks with an ``untrusted``
    pixel (clipped by an RGB decode) are left out."""
    total, count = _lattice_score(_block_coefficients(coded, untrusted), table)
    return total / count if count else float("nan")


def coded_from_upsampled(plane: Any, reduce: tuple[int, int], model: str) -> Any:
    """The coded chroma plane a decoder upsampled by ``reduce`` (``(x, y)``, 1 or 2) into ``plane``.

    ``model`` is how it upsampled: ``"box"`` (sample repetition, or anything whose 2x2 mean gives the
    sample back) or ``"fancy"`` (libjpeg's default triangle filter, 3/4 near + 1/4 far, whose 2x2 mean is
    ``[1, 6, 1] / 8`` of the coded samples, inverted here). Odd trailing rows/columns belong to a last
    coded sample of their own."""
    xp = xp_of(plane)
    out = plane.astype(np.float32)
    for axis, factor in ((1, reduce[0]), (0, reduce[1])):
        if factor == 1:
            continue
        length = out.shape[axis]
        if length % 2:  # the last coded sample covers one pixel: repeat it so pairs line up
            out = xp.concatenate([out, out.take([length - 1], axis=axis)], axis=axis)
        first = out.take(xp.arange(0, out.shape[axis], 2), axis=axis)
        second = out.take(xp.arange(1, out.shape[axis], 2), axis=axis)
        mean = (first + second) * np.float32(0.5)
        if model == "fancy":
            mean = _unblur_161(mean, axis)
        out = mean
    return out


def _unblur_161(mean: Any, axis: int, sweeps: int = 12) -> Any:
    """Solve ``mean = [1, 6, 1] / 8 * coded`` (edges repeated) for ``coded`` by Jacobi sweeps
    (diagonally dominant: each sweep shrinks the error by 3x)."""
    xp = xp_of(mean)
    moved = xp.moveaxis(mean, axis, 0)
    coded = moved.copy()
    for _ in range(sweeps):
        left = xp.concatenate([coded[:1], coded[:-1]])
        right = xp.concatenate([coded[1:], coded[-1:]])
        coded = (np.float32(8.0) * moved - left - right) * np.float32(1.0 / 6.0)
    return xp.moveaxis(coded, 0, axis)


def estimate_quality(coded: Any, chroma: bool = False, untrusted: Any = None) -> tuple[int, float]:
    """The libjpeg quality whose table best explains a decoded plane (8-bit units), and its ``lattice_fit``.

    Only libjpeg-scaled tables (Pillow, libjpeg, ffmpeg and most software) are tried. The fit is the
    confidence: below about 1 the plane does not look like a JPEG decode at any quality. Qualities whose
    steps fall below 3 (about 85 and above) cannot be told apart from rounding noise."""
    blocks = _block_coefficients(coded, untrusted)
    best, best_quality, best_count = -math.inf, 100, 0
    for quality in range(1, 101):
        total, count = _lattice_score(blocks, ijg_table(quality, chroma))
        if count and total > best:
            best, best_quality, best_count = total, quality, count
    return best_quality, (best / best_count if best_count else float("nan"))


@dataclass
class CodedView:
    """One frame's coded plane of one component, as the solver sees it.

    Coded pixel ``(r, c)`` is the mean of the estimate over the ``reduce[1] x reduce[0]`` area at
    ``reduce * ((c, r) + offset)`` (``offset`` and ``reduce`` as ``(x, y)``, offset in coded px; fractional
    offsets interpolate).
    ``indices`` are the quantised coefficients (``quantised_indices``) on the coded plane padded to
    whole blocks."""

    indices: Any
    table: np.ndarray
    offset: tuple[float, float]
    size: tuple[int, int]
    reduce: tuple[int, int] = (1, 1)


def coded_view(coded: Any, table: np.ndarray, offset: tuple[float, float] = (0.0, 0.0),
               reduce: tuple[int, int] = (1, 1)) -> CodedView:
    """A ``CodedView`` of a decoded plane (8-bit units, its own coded resolution)."""
    indices, _ = quantised_indices(coded, table)
    return CodedView(indices, np.asarray(table, dtype=np.float32), offset, coded.shape, reduce)


@dataclass(frozen=True)
class DejpegSettings:
    """Solver settings, tuned on benchmarks/bench_dejpeg.py's material.

    ``tv`` is the radius of TV's dual ball: with hard constraints it does not change the solution, only how
    fast smoothing moves (code values per iteration); ``slack`` widens every interval (coefficient units)
    for what the decoder's rounding and clamping, and interpolation between grids, add."""

    iterations: int = 60
    tv: float = 8.0
    slack: float = 0.5
    tolerance: float = 0.005  # stop when the mean change of an iteration falls below (8-bit code values)


def _view_pixel_mask(view: CodedView, shape: tuple[int, int], xp: Any) -> Any:
    """True on coded pixels whose whole footprint (with the interpolation's reach) lies on the estimate."""
    masks = []
    for axis, length in ((1, shape[0]), (0, shape[1])):
        offset = view.offset[axis]
        reduce = view.reduce[axis]
        start = (np.arange(view.size[1 - axis]) + offset) * reduce
        if offset * reduce == math.floor(offset * reduce):
            inside = (start >= 0) & (start + reduce <= length)
        else:  # Catmull-Rom reads one sample before and two after
            inside = (start >= 1) & (start + reduce + 2 <= length)
        masks.append(inside)
    return xp.asarray(masks[0][:, None] & masks[1][None, :])


@dataclass
class _Constraint:
    """The solver's hold on one view: its intervals, the blocks it constrains, its dual variable and the
    encoder's padding of its partial edge blocks (free unknowns, started at edge repetition)."""

    component: int
    view: CodedView
    low: Any
    high: Any
    mask: Any  # 1 on the blocks whose every real pixel lies on the estimate
    pad: Any  # 1 on the padding
    dual: Any
    free: Any
    free_bar: Any


def _constraint(component: int, view: CodedView, x: Any, settings: DejpegSettings) -> _Constraint:
    xp = xp_of(x)
    h, w = view.size
    hp, wp = padded_size(h), padded_size(w)
    steps = tile_table(xp.asarray(view.table, dtype=np.float32), (hp, wp))
    indices = xp.asarray(view.indices, dtype=np.float32)
    slack = np.float32(settings.slack)
    pad = xp.ones((hp, wp), dtype=np.float32)
    pad[:h, :w] = 0
    outside = xp.zeros((hp, wp), dtype=bool)
    outside[:h, :w] = ~_view_pixel_mask(view, x.shape, xp)
    block_ok = ~block_any(outside)
    free = pad_to_blocks(place(x, view)) * pad
    return _Constraint(component, view, (indices - np.float32(0.5)) * steps - slack,
                       (indices + np.float32(0.5)) * steps + slack,
                       xp.repeat(xp.repeat(block_ok, BLOCK, axis=0), BLOCK, axis=1).astype(np.float32), pad,
                       xp.zeros((hp, wp), dtype=np.float32), free, free)


def place(x: Any, view: CodedView) -> Any:
    """``W x``: the view's coded plane (its real size) that the estimate ``x`` predicts; zero outside ``x``."""
    rx, ry = view.reduce
    h, w = view.size
    moved = fit_to_shape(shift(x, rx * view.offset[0], ry * view.offset[1]), (h * ry, w * rx))
    if rx == ry == 1:
        return moved
    return moved.reshape(h, ry, w, rx).mean(axis=(1, 3), dtype=np.float32)


def place_adjoint(coded: Any, view: CodedView, shape: tuple[int, int]) -> Any:
    """``W^T coded``: each coded value spread over its area and shifted back onto an estimate of ``shape``."""
    xp = xp_of(coded)
    rx, ry = view.reduce
    if rx != 1 or ry != 1:
        coded = xp.repeat(xp.repeat(coded, ry, axis=0), rx, axis=1) * np.float32(1.0 / (rx * ry))
    return shift(fit_to_shape(coded, shape), rx * view.offset[0], ry * view.offset[1], transpose=True)


def _coded(view: CodedView, x: Any, free: Any) -> Any:
    """The view's coded plane (level-shifted), padded to whole blocks with ``free``."""
    return fit_to_shape(place(x, view), free.shape) + free


def jpeg_dual_step(coded: Any, dual: Any, low: Any, high: Any, mask: Any, sigma: float) -> tuple[Any, Any]:
    """One dual step of the constraint ``DCT(coded) in [low, high]`` (coefficient planes of ``coded``'s
    size, whole blocks): ``v = dual + sigma DCT(coded)``, the new dual ``mask (v - sigma clip(v / sigma,
    low, high))`` and its back-projection ``IDCT(new dual)``. On CuPy one fused kernel per block
    (``_cuda/kernels/jpeg_project.cu``)."""
    xp = xp_of(coded)
    if xp is not np:
        from .._cuda.jpeg import jpeg_dual_step_cuda

        return jpeg_dual_step_cuda(coded, dual, low, high, mask, sigma)
    step = np.float32(sigma)
    moved = dual + step * block_dct(coded)
    updated = (moved - step * xp.clip(moved / step, low, high)) * mask
    return updated, block_idct(updated)


def _coverage(views: Sequence[CodedView], shape: tuple[int, int]) -> float:
    """The most any pixel of an estimate of ``shape`` is seen by ``views`` (each counting ``1 / reduce``
    area), with the interpolation's reach: a long pan's views each cover a part of a canvas, and the
    step sizes follow what overlaps, not how many views there are."""
    seen = np.zeros(shape, dtype=np.float32)
    for view in views:
        (rx, ry), (h, w) = view.reduce, view.size
        r0, c0 = math.floor(ry * view.offset[1]) - 1, math.floor(rx * view.offset[0]) - 1
        r1, c1 = math.ceil(ry * (view.offset[1] + h)) + 2, math.ceil(rx * (view.offset[0] + w)) + 2
        seen[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] += np.float32(1.0 / (rx * ry))
    return float(seen.max()) if seen.size else 0.0


def _grad(x: Any) -> tuple[Any, Any]:
    xp = xp_of(x)
    gx = xp.zeros_like(x)
    gy = xp.zeros_like(x)
    gx[:, :-1] = x[:, 1:] - x[:, :-1]
    gy[:-1] = x[1:] - x[:-1]
    return gx, gy


def _grad_adjoint(px: Any, py: Any) -> Any:
    """``grad^T (px, py)`` (minus the divergence)."""
    xp = xp_of(px)
    out = xp.zeros_like(px)
    out[:, :-1] -= px[:, :-1]
    out[:, 1:] += px[:, :-1]
    out[:-1] -= py[:-1]
    out[1:] += py[:-1]
    return out


def dejpeg_estimate(initial: Sequence[Any], views: Sequence[Sequence[CodedView]],
                    settings: DejpegSettings = DejpegSettings()) -> list[Any]:
    """The smoothest image whose every view's coefficients fall in their quantisation intervals.

    ``initial[c]`` is component ``c``'s starting estimate (8-bit units, e.g. the motion-compensated mean
    of the decodes), all of one size, which is the output's; ``views[c]`` are the frames' coded planes of
    component ``c``. The components share one vectorial TV (the norm of all their gradients together),
    so a chroma edge costs little where luma has one: colour stays inside the line art. Returns float32
    8-bit units in [0, 255], one plane per component.
    """
    xp = xp_of(initial[0])
    shape = initial[0].shape
    xs = [xp.array(plane, dtype=np.float32) - np.float32(LEVEL) for plane in initial]
    constraints = [_constraint(c, view, xs[c], settings) for c, component in enumerate(views) for view in component]
    # Step sizes: ||K||^2 <= 8 (gradient) + the most any pixel is seen (sum of ||W_j||^2 <= 1 / reduce^2).
    cover = max(1.0, max(_coverage(component, shape) for component in views))
    tau = sigma = np.float32(0.99 / math.sqrt(8.0 + 1.1 * cover))
    lam = np.float32(settings.tv)
    duals = [(xp.zeros_like(x), xp.zeros_like(x)) for x in xs]
    bars = list(xs)
    run = parallel_map if xp is np else (lambda fn, items: [fn(i) for i in items])

    def data_update(con: _Constraint) -> Any:
        con.dual, back = jpeg_dual_step(_coded(con.view, bars[con.component], con.free_bar), con.dual, con.low,
                                        con.high, con.mask, float(sigma))
        h, w = con.view.size
        return place_adjoint(back[:h, :w], con.view, shape), back * con.pad

    for _ in range(settings.iterations):
        norm = None
        for (px, py), bar in zip(duals, bars, strict=True):
            gx, gy = _grad(bar)
            px += sigma * gx
            py += sigma * gy
            norm = px * px + py * py if norm is None else norm + px * px + py * py
        scale = xp.maximum(np.float32(1.0), xp.sqrt(norm) / lam)
        steps = []
        for px, py in duals:
            px /= scale
            py /= scale
            steps.append(_grad_adjoint(px, py))
        for con, (back, back_free) in zip(constraints, run(data_update, constraints), strict=True):
            steps[con.component] += back
            free = con.free - tau * back_free
            con.free_bar = 2 * free - con.free
            con.free = free
        change = 0.0
        for c, x in enumerate(xs):
            x_new = xp.clip(x - tau * steps[c], np.float32(-LEVEL), np.float32(PEAK8 - LEVEL))
            change = max(change, float(xp.abs(x_new - x).mean()))
            bars[c] = 2 * x_new - x
            xs[c] = x_new
        if change < settings.tolerance:
            break
    return [x + np.float32(LEVEL) for x in xs]


BAND_MARGIN = 32  # rows solved on both sides of a band (at least a block and the interpolation's reach)


@dataclass(frozen=True)
class CodedPlane:
    """A whole frame's decoded plane of one component at its coded resolution (8-bit units), its table and
    ``reduce`` (as ``CodedView``): what ``dejpeg_canvas`` cuts each band's views from."""

    coded: Any
    table: np.ndarray
    reduce: tuple[int, int] = (1, 1)


def dejpeg_canvas(fetch: Callable[[int], Sequence[CodedPlane]], placements: Sequence[Any],
                  initial: Sequence[np.ndarray], settings: DejpegSettings = DejpegSettings(), band_rows: int = 256,
                  xp: Any = np,
                  progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """``dejpeg_estimate`` of a whole stitched canvas, in bands of ``band_rows`` canvas rows.

    ``initial[c]`` is component ``c``'s canvas to start from (8-bit units, NaN where no frame reaches; all
    of one size), ``placements[i]`` frame ``i``'s ``ops.stitch.FramePlacement`` on it (canvas pixel ``X``
    shows frame pixel ``X + shift``) and ``fetch(i)`` frame ``i``'s ``CodedPlane`` s, one per component,
    called once per band the frame reaches (only the block rows that reach the band are transformed). A
    band is solved on its rows and ``BAND_MARGIN`` more on both sides, from every frame's blocks that lie
    whole inside them, so the blocks that constrain the band's own rows all take part (bands match one
    solve closely: tested); memory holds one band's blocks whatever the number of frames. Each band is solved on
    ``xp`` (NumPy or CuPy). Returns one NumPy canvas per component, NaN where ``initial`` is NaN."""
    height, width = initial[0].shape
    starts = [start_values(plane, LEVEL)[0] for plane in initial]
    covered = ~np.isnan(initial[0])
    outs = [np.full((height, width), np.nan, dtype=np.float32) for _ in initial]
    for band in canvas_bands(height, band_rows, BAND_MARGIN, progress):
        top, bottom, lo, hi = band.top, band.bottom, band.lo, band.hi
        views: list[list[CodedView]] = [[] for _ in initial]
        for i, place in enumerate(placements):
            if place.rows[0] >= hi or place.rows[1] <= lo:
                continue
            for c, plane in enumerate(fetch(i)):
                rx, ry = plane.reduce
                # Coded block row b shows frame rows 8 b ry .. 8 (b + 1) ry, that is canvas rows minus shift_y;
                # blocks not whole inside the solve's rows are left out by its mask.
                first = max(0, math.floor((lo + place.shift_y) / (BLOCK * ry)))
                end = min(padded_size(plane.coded.shape[0]) // BLOCK, math.ceil((hi + place.shift_y) / (BLOCK * ry)))
                if end > first:
                    views[c].append(coded_view(plane.coded[first * BLOCK:end * BLOCK], plane.table,
                                               (-place.shift_x / rx, first * BLOCK - (place.shift_y + lo) / ry),
                                               plane.reduce))
        if all(views):
            solved = dejpeg_estimate([xp.asarray(start[lo:hi]) for start in starts], views, settings)
            for out, plane in zip(outs, solved, strict=True):
                out[top:bottom] = np.where(covered[top:bottom], to_numpy(plane[top - lo:bottom - lo]), np.nan)
    return outs
