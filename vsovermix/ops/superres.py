"""Multi-frame super-resolution: the image that, shifted, area-sampled and decimated, gives every frame.

Forward model of frame ``k`` (Farsiu et al. 2004, for pure translations): its pixel ``(i, j)`` is the
mean of the high-resolution image ``x`` over the ``scale x scale`` block at ``scale * ((i, j) + d_k)``
(an area-sampling sensor; box reduction is also what reducing a drawing for a release does), where
``d_k`` is the frame's offset from the reference frame in low-resolution px. ``A_k x`` is a sub-pixel
shift of ``x`` by ``scale * d_k`` (separable Catmull-Rom, zero outside the image) followed by the block
mean. Both are convolutions, so they commute: the block sums of ``x`` (``block_sums``) are formed once per
iteration for all frames, and each frame only reads its 4 x 4 taps of them at its own pixels
(``AxisTaps.gather``). ``A_k^T`` scatters each residual back onto those taps and spreads the sums over
their blocks (``AxisTaps.scatter``, ``block_sums_adjoint``). Both are written out, so
``<A x, y> == <x, A^T y>`` holds to rounding (tested), and no sparse matrix is ever built.

The estimate minimises ``sum_k rho(m_k (A_k x - y_k)) + lam * BTV(x)`` by steepest descent with
heavy-ball momentum, where ``m_k`` keeps the pixels whose footprint lies inside the estimated image,
``rho`` is the Charbonnier penalty (robust: quadratic up to the noise level, then linear, so a mouth
that moves in a few frames is outvoted, while clean data converge as with L2; Farsiu's pure L1
converged 2.6 dB short here) or plain L2, and BTV is Farsiu's bilateral total variation
``sum_{l,m} alpha^(|l|+|m|) |x - S_x^l S_y^m x|_1``, which keeps line art sharp without ringing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np

from .parallel import by_row_bands, parallel_map, row_bands
from .resample import kernel_taps, ndimage_of, to_numpy, xp_of
from .stitch import canvas_bands, start_values

__all__ = ["AxisTaps", "Psf", "SrSettings", "adjoint", "block_sums", "block_sums_adjoint", "btv_gradient",
           "clamp_to_frames", "forward", "solve_bytes", "super_resolve", "superres_canvas"]

KERNEL = "cubic"  # Catmull-Rom: 4 taps, interpolating
FRAME_GROUP = 4  # frames whose residuals the NumPy path spreads at once (each holds 1 / scale of the estimate)


@dataclass(frozen=True, eq=False)
class Psf:
    """A blur of the high-resolution image before the area sensor: the source's softness (the optics, a
    soft scaler), on top of the box. ``kernel`` is odd-sized, in high-resolution px, and sums to 1."""

    kernel: np.ndarray

    @classmethod
    def gaussian(cls, sigma: float, sigma_y: float | None = None) -> Psf:
        """A Gaussian of standard deviation ``sigma`` high-resolution px across (``sigma_y`` down, default
        the same), cut at 3 sigma."""

        def taps(deviation: float) -> np.ndarray:
            radius = max(1, math.ceil(3 * deviation))
            weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / deviation) ** 2)
            return weights / weights.sum()

        return cls(np.outer(taps(sigma if sigma_y is None else sigma_y), taps(sigma)))

    @property
    def reach(self) -> int:
        """How far (high-resolution px) the blur reads from a pixel."""
        return max(self.kernel.shape) // 2

    @cached_property
    def separable(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(column, row)`` 1-D kernels whose outer product is ``kernel``, when it is one (a Gaussian)."""
        u, s, vt = np.linalg.svd(self.kernel.astype(np.float64))
        if s.size > 1 and s[1] > 1e-7 * s[0]:
            return None
        return u[:, 0] * math.sqrt(s[0]), vt[0] * math.sqrt(s[0])

    def apply(self, x, transpose: bool = False):
        """The blurred image (zero outside), or the transpose of that operator (the flipped kernel). On
        NumPy, in row bands on the host threads."""
        return by_row_bands(partial(self._blur, transpose=transpose), x, self.reach)

    def _blur(self, x, transpose: bool):
        xp = xp_of(x)
        ndimage = ndimage_of(xp)
        if self.separable is None:
            kernel = self.kernel[::-1, ::-1] if transpose else self.kernel
            return ndimage.correlate(x, xp.asarray(kernel, dtype=np.float32), mode="constant")
        column, row = (f[::-1] if transpose else f for f in self.separable)
        x = ndimage.correlate1d(x, xp.asarray(column, dtype=np.float32), axis=0, mode="constant")
        return ndimage.correlate1d(x, xp.asarray(row, dtype=np.float32), axis=1, mode="constant")


@dataclass(frozen=True)
class SrSettings:
    """Solver settings. BTV radius and decay follow research/anchors.md §2; step, weight, knee and momentum
    were tuned on benchmarks/bench_superres.py's material (2x: +15.6 dB over bicubic, clean)."""

    iterations: int = 30
    robust: bool = True  # Charbonnier data term: L2 near the noise level, L1 beyond (outliers outvoted)
    lam: float = 0.001  # weight of the BTV prior at 2x (values in units of the format's peak); see prior_weight
    radius: int = 2  # BTV neighbourhood P
    alpha: float = 0.7  # BTV decay per pixel of distance
    step: float = 1.0  # steepest-descent step (scaled by 1 / number of frames)
    momentum: float = 0.7  # heavy-ball momentum in [0, 1): 30 iterations reach what 60 plain ones did
    noise: float = 0.02  # robust data term at 2x: residuals beyond this (peak units, ~5 8-bit values) count as L1
    psf: Psf | None = None  # a blur before the area sensor; None: the box alone

    def prior_weight(self, scale: int) -> float:
        """The BTV prior's weight at ``scale``: ``lam * (2 / scale)^2``. The data term's step grows with
        ``scale^2`` (each high-resolution pixel is ``1 / scale^2`` of a frame pixel), so this keeps the
        prior's own step the same at every scale. A fixed ``lam`` over-smoothed 4x: on
        benchmarks/bench_superres.py's cases, lam / 4 there gains 1.1-1.2 dB (clean, x264)."""
        return self.lam * (2 / scale) ** 2

    def knee(self, scale: int) -> float:
        """The robust term's knee at ``scale``: ``noise`` at 2x, growing with the scale (at 4x, 2 * noise
        gained 0.3-0.6 dB on benchmarks/bench_superres.py's cases and still outvotes the local change)."""
        return self.noise * scale / 2


def block_sums(x, scale: int):
    """Sums of every ``scale x scale`` block of ``x`` (zero outside), at every position: the full correlation.

    ``out[p + scale - 1, q + scale - 1]`` is the sum over ``x[p:p + scale, q:q + scale]``, for ``p, q`` from
    ``1 - scale``. A frame's pixel is a weighted sum of a few of these (``AxisTaps``), so the blocks are
    summed once per iteration for all frames, not once per frame."""
    xp = xp_of(x)
    h, w = x.shape
    rows = xp.zeros((h, w + scale - 1), dtype=np.float32)
    for j in range(scale):
        rows[:, j:j + w] += x
    out = xp.zeros((h + scale - 1, w + scale - 1), dtype=np.float32)
    for j in range(scale):
        out[j:j + h] += rows
    return out


def block_sums_adjoint(g, scale: int):
    """The transpose of ``block_sums``: ``out[p, q]`` sums ``g`` over the blocks that contain ``(p, q)``."""
    h, w = g.shape[0] - scale + 1, g.shape[1] - scale + 1
    rows = g[0:h].copy()
    for j in range(1, scale):
        rows += g[j:j + h]
    out = rows[:, 0:w].copy()
    for j in range(1, scale):
        out += rows[:, j:j + w]
    return out


@dataclass(frozen=True)
class AxisTaps:
    """How a frame's pixels along one axis read the ``block_sums`` of the high-resolution image.

    The frame at ``offset`` low-resolution px has its pixel ``i``'s block at high-resolution coordinate
    ``scale * (i + offset)``; moving ``x`` there by Catmull-Rom and averaging the block equals the same
    taps applied to the block sums at ``scale * i + start + t``: the shift and the box commute."""

    weights: np.ndarray  # float32, divided by ``scale`` (the block's mean, one axis)
    start: int  # index, in the block sums along this axis, of pixel 0's first tap

    @classmethod
    def of(cls, offset: float, scale: int) -> AxisTaps:
        moved = scale * offset
        whole = math.floor(moved)
        frac = moved - whole
        if frac == 0.0:
            weights, first = np.array([1.0]), whole
        else:
            weights, first = kernel_taps(KERNEL, frac), whole - 1
        return cls((weights / scale).astype(np.float32), first + scale - 1)

    def _spans(self, scale: int, count: int, length: int):
        """``(weight, lo, hi, sums)``: pixels ``lo:hi`` read the block sums at the strided slice ``sums``."""
        for t, weight in enumerate(self.weights):
            base = self.start + t
            lo, hi = max(0, -(base // scale)), min(count, (length - 1 - base) // scale + 1)
            if hi > lo:
                yield weight, lo, hi, slice(base + scale * lo, base + scale * (hi - 1) + 1, scale)

    def gather(self, sums, scale: int, count: int, axis: int):
        """``count`` frame pixels along ``axis`` from the block sums (zero where the taps fall outside)."""
        shape = list(sums.shape)
        shape[axis] = count
        out = xp_of(sums).zeros(shape, dtype=np.float32)
        for weight, lo, hi, src in self._spans(scale, count, sums.shape[axis]):
            if axis == 0:
                out[lo:hi] += weight * sums[src]
            else:
                out[:, lo:hi] += weight * sums[:, src]
        return out

    def scatter(self, values, scale: int, length: int, axis: int, out=None):
        """The transpose of ``gather``: frame pixels spread back onto ``length`` block sums (added to ``out``)."""
        if out is None:
            shape = list(values.shape)
            shape[axis] = length
            out = xp_of(values).zeros(shape, dtype=np.float32)
        for weight, lo, hi, dst in self._spans(scale, values.shape[axis], length):
            if axis == 0:
                out[dst] += weight * values[lo:hi]
            else:
                out[:, dst] += weight * values[:, lo:hi]
        return out


def shift(x, dx: float, dy: float, transpose: bool = False):
    """``x`` (2-D) sampled at ``(y + dy, x + dx)`` by Catmull-Rom, zero outside, or the transpose of that
    operator: the taps of a frame at scale 1 (``AxisTaps.of(d, 1)``), gathered or scattered."""
    down, across = AxisTaps.of(dy, 1), AxisTaps.of(dx, 1)
    h, w = x.shape
    if transpose:
        return across.scatter(down.scatter(x, 1, h, 0), 1, w, 1)
    return across.gather(down.gather(x, 1, h, 0), 1, w, 1)


def forward(x, offset: tuple[float, float], scale: int, frame_shape: tuple[int, int] | None = None,
            psf: Psf | None = None):
    """``A_k x``: the low-resolution frame at ``offset`` (low-resolution px) that ``x`` predicts.

    ``frame_shape`` (default: ``x``'s size / ``scale``) is the frame's size: its pixels whose blocks
    reach beyond the high-resolution image read zeros there (and are masked out of the fit). ``psf``
    blurs ``x`` first."""
    h, w = frame_shape or (x.shape[0] // scale, x.shape[1] // scale)
    if psf is not None:
        x = psf.apply(x)
    rows = AxisTaps.of(offset[1], scale).gather(block_sums(x, scale), scale, h, 0)
    return AxisTaps.of(offset[0], scale).gather(rows, scale, w, 1)


def adjoint(residual, offset: tuple[float, float], scale: int, shape: tuple[int, int] | None = None,
            psf: Psf | None = None):
    """``A_k^T residual``, on a high-resolution image of ``shape`` (default: ``scale`` x the residual's)."""
    h, w = shape or (residual.shape[0] * scale, residual.shape[1] * scale)
    cols = AxisTaps.of(offset[0], scale).scatter(residual, scale, w + scale - 1, 1)
    spread = block_sums_adjoint(AxisTaps.of(offset[1], scale).scatter(cols, scale, h + scale - 1, 0), scale)
    return spread if psf is None else psf.apply(spread, transpose=True)


def footprint_bounds(shape: tuple[int, int], frame_shape: tuple[int, int], offset: tuple[float, float],
                     scale: int, reach: int = 0) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)``: the frame pixels ``[top:bottom, left:right]`` (of a frame of
    ``frame_shape`` at ``offset``) whose footprint, with the filter's reach and the PSF's ``reach``, lies
    inside the high-resolution image of ``shape``. Only those take part in the fit (empty: none)."""

    def inside(count: int, position: float, length: int) -> tuple[int, int]:
        starts = (np.arange(count) + position) * scale
        keep = np.nonzero((starts >= 1 + reach) & (starts + scale + 2 + reach <= length))[0]
        return (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)

    return (*inside(frame_shape[0], offset[1], shape[0]), *inside(frame_shape[1], offset[0], shape[1]))


def solve_bytes(frame_shape: tuple[int, int], count: int, scale: int, on_gpu: bool) -> int:
    """About the most memory ``super_resolve`` holds for ``count`` frames of ``frame_shape`` at ``scale``,
    besides the frames themselves (measured with tracemalloc: 7.4-11.7 estimates' worth on the host)."""
    high = frame_shape[0] * frame_shape[1] * scale * scale * 4
    if on_gpu:  # estimate, next estimate, velocity, block sums, spread; the frames' stack and residuals
        return 5 * high + 2 * count * frame_shape[0] * frame_shape[1] * 4
    return int((8 + FRAME_GROUP / scale) * high)


def _btv_slab(x, radius: int, alpha: float):
    xp = xp_of(x)
    grad = xp.zeros_like(x)
    diff = xp.empty_like(x)
    h, w = x.shape
    for dx in range(-radius, radius + 1):
        for dy in range(0, radius + 1):
            if dy == 0 and dx <= 0:
                continue  # each pair once: (dx, dy) and (-dx, -dy) give the same term
            # d = x[r, c] - x[r + dy, c + dx] over the overlap; its sign pulls both ends.
            ys, yd = slice(0, h - dy), slice(dy, h)
            xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
            sign = diff[ys, xs]
            xp.subtract(x[ys, xs], x[yd, xd], out=sign)
            xp.sign(sign, out=sign)
            sign *= np.float32(alpha ** (abs(dx) + abs(dy)))
            grad[ys, xs] += sign
            grad[yd, xd] -= sign
    return grad


def btv_gradient(x, radius: int, alpha: float):
    """Gradient (a subgradient) of Farsiu's bilateral TV ``sum alpha^(|l|+|m|) |x - S^(l,m) x|_1``.

    On NumPy, row bands run on the host threads: a band with ``radius`` rows of halo sees every pair
    that touches its own rows, so the result is the same as one pass."""
    return by_row_bands(partial(_btv_slab, radius=radius, alpha=alpha), x, radius)


def initial_estimate(reference, scale: int):
    """Cubic upscale of the reference frame on the area-sampling grid (pixel centres line up)."""
    ndimage = ndimage_of(xp_of(reference))
    return ndimage.zoom(reference, scale, order=3, mode="nearest", grid_mode=True).astype(np.float32)


def super_resolve(frames: Sequence, offsets: Sequence[tuple[float, float]], scale: int,
                  settings: SrSettings = SrSettings(), reference: int = 0, initial=None):
    """High-resolution estimate (``scale`` x the frames' size) of frame ``reference`` from all ``frames``.

    ``frames`` are float32 planes (NumPy or CuPy), ``offsets[k]`` frame ``k``'s position minus the
    reference's, in low-resolution px (``vo.estimate_pan`` gives positions). ``initial``, when given, is
    the starting high-resolution image and fixes the output size (frames may then be of any size and
    lie partly outside it: only their pixels that fall inside count); else the reference frame upscaled.

    The estimate is clamped to the range of the frames' values (``clamp_to_frames``). Where the model
    cannot explain the frames exactly (high-contrast line art, encoded frames) the descent rings: on
    benchmarks/bench_superres.py's line art it overshot the truth's local range by up to 69 8-bit values
    (99.9th percentile 37.5), clamped by up to 27.5 (12.0). A sub-pixel line is still free to come out
    darker than the frames show it, down to the darkest value any frame holds.
    """
    return clamp_to_frames(_descend(frames, offsets, scale, settings, reference, initial), frames)


def clamp_to_frames(estimate, frames: Sequence):
    """``estimate`` clipped to the range of values the ``frames`` hold: what no frame shows, ringing is."""
    return estimate.clip(min(float(f.min()) for f in frames), max(float(f.max()) for f in frames))


def _descend(frames: Sequence, offsets: Sequence[tuple[float, float]], scale: int, settings: SrSettings,
             reference: int, initial):
    """``super_resolve``'s iterations, unclamped."""
    xp = xp_of(frames[reference])
    x = initial_estimate(frames[reference], scale) if initial is None else xp.array(initial, dtype=np.float32)
    height, width = x.shape
    padded = (height + scale - 1, width + scale - 1)  # the block sums' size
    psf = settings.psf
    reach = 0 if psf is None else psf.reach
    bounds = [footprint_bounds(x.shape, f.shape, o, scale, reach) for f, o in zip(frames, offsets, strict=True)]
    taps = [(AxisTaps.of(o[0], scale), AxisTaps.of(o[1], scale)) for o in offsets]
    if xp is not np:  # the same iterations, fused into four kernels (vsovermix/_cuda/kernels/superres.cu)
        from .._cuda.superres import super_resolve_cuda

        return super_resolve_cuda(frames, taps, bounds, scale, settings, x)
    step = np.float32(settings.step * scale * scale / len(frames))
    eps = np.float32(settings.knee(scale))
    # Frames' residuals are spread back along rows in column bands on the host threads, each band adding
    # the frames in order: the same sums on any core count.
    column_bands = [slice(*cols) for cols in row_bands(0, padded[1])]

    def residual_by_columns(k: int):
        """Frame k's (robustly weighted) residual, spread back along its columns: ``h x padded width``."""
        cols, rows = taps[k]
        h, w = frames[k].shape
        residual = cols.gather(rows.gather(sums, scale, h, 0), scale, w, 1)
        residual -= frames[k]
        top, bottom, left, right = bounds[k]
        residual[:top] = 0.0
        residual[bottom:] = 0.0
        residual[:, :left] = 0.0
        residual[:, right:] = 0.0
        if settings.robust:  # eps * r / sqrt(r^2 + eps^2): r for small residuals, +-eps for outliers
            residual *= eps / np.sqrt(residual * residual + eps * eps)
        return cols.scatter(residual, scale, padded[1], 1)

    def spread_rows(group: range, parts: Sequence, spread, band: slice) -> None:
        """The ``group``'s ``residual_by_columns`` spread back along rows into ``spread``'s columns ``band``."""
        for k, part in zip(group, parts, strict=True):
            taps[k][1].scatter(part[:, band], scale, padded[0], 0, out=spread[:, band])

    # Frames in fixed groups: the partial spreads held at once are one group's, however many frames.
    groups = [range(k, min(k + FRAME_GROUP, len(frames))) for k in range(0, len(frames), FRAME_GROUP)]
    velocity = np.zeros_like(x)
    for _ in range(settings.iterations):
        sums = block_sums(x if psf is None else psf.apply(x), scale)
        spread = np.zeros(padded, dtype=np.float32)
        for group in groups:
            parts = parallel_map(residual_by_columns, group)
            parallel_map(partial(spread_rows, group, parts, spread), column_bands)
        grad = block_sums_adjoint(spread, scale)
        if psf is not None:
            grad = psf.apply(grad, transpose=True)
        if settings.lam:
            grad += np.float32(settings.prior_weight(scale)) * btv_gradient(x, settings.radius, settings.alpha)
        grad *= step
        if settings.momentum:
            velocity *= np.float32(settings.momentum)
            velocity -= grad
            x += velocity
        else:
            x -= grad
    return x


def superres_canvas(fetch: Callable[[int], Any], placements: Sequence[Any], initial: np.ndarray, scale: int,
                    settings: SrSettings = SrSettings(), band_rows: int = 128, margin: int = 8,
                    progress: Callable[[int, int], None] | None = None, xp: Any = np) -> np.ndarray:
    """Super-resolve a whole stitched canvas, ``scale`` x its size, in bands of ``band_rows`` canvas rows.

    ``placements`` are ``ops.stitch.FramePlacement`` s (canvas pixel ``X`` reads frame pixel ``X + shift``),
    ``fetch(i)`` returns frame ``i``'s plane (float32, peak 1), called once per band the frame reaches,
    and ``initial`` is the low-resolution canvas to start from (NaN where no frame reaches). Each band
    is solved with ``margin`` extra rows on both sides, so its own rows see every frame that constrains
    them; memory holds one band's frames, whatever their number. Each band is solved with ``xp``
    (NumPy or CuPy). Returns NaN where ``initial`` is NaN (on the host).
    """
    height, width = initial.shape
    start, covered = start_values(initial, 0.0)
    out = np.full((height * scale, width * scale), np.nan, dtype=np.float32)
    for band in canvas_bands(height, band_rows, margin, progress):
        top, bottom, lo, hi = band.top, band.bottom, band.lo, band.hi
        crops, offsets = [], []
        for i, place in enumerate(placements):
            if place.rows[0] >= hi or place.rows[1] <= lo or place.cols[1] <= place.cols[0]:
                continue
            plane = fetch(i)
            # Canvas row Y shows frame row Y + shift_y: the frame rows that reach this band.
            first = max(0, math.floor(lo + place.shift_y))
            last = min(plane.shape[0], math.ceil(hi + place.shift_y) + 1)
            if last <= first:
                continue
            crops.append(xp.asarray(np.ascontiguousarray(plane[first:last])))
            offsets.append((-place.shift_x, first - place.shift_y - lo))
        if crops:
            band = to_numpy(super_resolve(crops, offsets, scale, settings,
                                          initial=initial_estimate(xp.asarray(start[lo:hi]), scale)))
            solved = band[(top - lo) * scale:(bottom - lo) * scale]
            out[top * scale:bottom * scale] = np.where(
                np.repeat(np.repeat(covered[top:bottom], scale, axis=0), scale, axis=1), solved, np.nan)
    return out
