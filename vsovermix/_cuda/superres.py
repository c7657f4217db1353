"""CuPy launch wrappers for ``kernels/superres.cu``: ``ops.superres.super_resolve``'s iterations on the GPU."""

from __future__ import annotations

from collections.abc import Sequence

import cupy as cp
import numpy as np

from ..ops.superres import block_sums_adjoint
from .launch import launch

__all__ = ["FrameBatch", "super_resolve_cuda"]

SOURCE = "superres.cu"


class FrameBatch:
    """The frames of one solve in one padded stack, with their taps and fitted rectangles, for an estimate
    of ``shape`` at ``scale``: the batched forward model (``residual``) and its adjoint (``spread``).

    ``taps[k]`` is frame ``k``'s ``(columns, rows)`` ``ops.superres.AxisTaps`` and ``bounds[k]`` its
    ``footprint_bounds``; frames may differ in size (smaller ones are padded outside their bounds)."""

    def __init__(self, frames: Sequence[cp.ndarray], taps: Sequence[tuple], bounds: Sequence[tuple[int, int, int, int]],
                 shape: tuple[int, int], scale: int):
        self.count, self.scale = len(frames), scale
        rows, cols = max(f.shape[0] for f in frames), max(f.shape[1] for f in frames)
        self.stack = cp.zeros((self.count, rows, cols), cp.float32)
        weights = np.zeros((self.count, 8), np.float32)
        geometry = np.zeros((self.count, 8), np.int32)
        for k, (frame, (across, down), rect) in enumerate(zip(frames, taps, bounds, strict=True)):
            self.stack[k, :frame.shape[0], :frame.shape[1]] = frame
            weights[k, :across.weights.size] = across.weights
            weights[k, 4:4 + down.weights.size] = down.weights
            geometry[k] = (across.start, down.start, across.weights.size, down.weights.size, *rect)
        self.weights, self.geometry = cp.asarray(weights), cp.asarray(geometry)
        self.height, self.width = shape
        self.sums_shape = (self.height + scale - 1, self.width + scale - 1)
        self._dims = (np.int32(rows), np.int32(cols), np.int32(self.sums_shape[0]), np.int32(self.sums_shape[1]),
                      np.int32(scale))

    def block_sums(self, x: cp.ndarray, out: cp.ndarray) -> None:
        """``ops.superres.block_sums`` of ``x`` (contiguous float32 of the estimate's shape) into ``out``."""
        launch(SOURCE, "sr_block_sums", out.size,
               (x, out, np.int32(self.height), np.int32(self.width), np.int32(self.scale)))

    def residual(self, sums: cp.ndarray, out: cp.ndarray, knee: float, frames: cp.ndarray | None = None) -> None:
        """Every frame's ``forward`` of the estimate whose block sums are ``sums``, minus ``frames`` (default:
        the batch's own), zero outside its rectangle, Charbonnier-weighted when ``knee`` > 0, into ``out``."""
        launch(SOURCE, "sr_residual", out.size,
               (sums, self.stack if frames is None else frames, out, self.weights, self.geometry,
                np.int32(self.count), *self._dims, np.float32(knee)))

    def spread(self, residual: cp.ndarray, out: cp.ndarray) -> None:
        """The transpose of ``residual`` (``knee`` 0) up to the block sums: every frame's residual spread
        back onto the block sums it was read from, into ``out`` (``block_sums_adjoint`` finishes ``A^T``)."""
        launch(SOURCE, "sr_spread", out.size,
               (residual, out, self.weights, self.geometry, np.int32(self.count), *self._dims))


def super_resolve_cuda(frames: Sequence[cp.ndarray], taps: Sequence[tuple], bounds: Sequence[tuple[int, int, int, int]],
                       scale: int, settings, x: cp.ndarray) -> cp.ndarray:
    """``settings.iterations`` descent steps from ``x``, four launches each (``settings``: an
    ``ops.superres.SrSettings``; ``taps``, ``bounds`` as for ``FrameBatch``)."""
    x = cp.ascontiguousarray(x, dtype=cp.float32)
    batch = FrameBatch(frames, taps, bounds, x.shape, scale)
    sums = cp.empty(batch.sums_shape, cp.float32)
    spread = cp.empty_like(sums)
    residual = cp.empty_like(batch.stack)
    velocity = cp.zeros_like(x)
    out = cp.empty_like(x)
    step = np.float32(settings.step * scale * scale / batch.count)
    knee = settings.knee(scale) if settings.robust else 0.0
    psf = settings.psf
    for _ in range(settings.iterations):
        batch.block_sums(x if psf is None else cp.ascontiguousarray(psf.apply(x)), sums)
        batch.residual(sums, residual, knee)
        batch.spread(residual, spread)
        data, blocks = spread, scale
        if psf is not None:  # the data gradient summed over blocks and blurred back here; sr_update adds 1 x 1
            data, blocks = cp.ascontiguousarray(psf.apply(block_sums_adjoint(spread, scale), transpose=True)), 1
        launch(SOURCE, "sr_update", x.size,
               (x, data, velocity, out, np.int32(batch.height), np.int32(batch.width), np.int32(blocks),
                np.float32(settings.prior_weight(scale)), np.float64(settings.alpha), np.int32(settings.radius), step,
                np.float32(settings.momentum)))
        x, out = out, x
    return x
