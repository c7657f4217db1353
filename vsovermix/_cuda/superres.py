"""CuPy launch wrapper for ``kernels/superres.cu``: ``ops.superres.super_resolve``'s iterations on the GPU."""

from __future__ import annotations

from collections.abc import Sequence

import cupy as cp
import numpy as np

from ..ops.superres import block_sums_adjoint
from . import KERNEL_DIR, kernel_source

__all__ = ["super_resolve_cuda"]

_THREADS = 256


@cp.memoize(for_each_device=True)
def _kernel(name: str) -> cp.RawKernel:
    module = cp.RawModule(code=kernel_source("superres.cu"), options=("-std=c++17", f"-I{KERNEL_DIR}"))
    return module.get_function(name)


def _blocks(size: int) -> tuple[int]:
    return ((size + _THREADS - 1) // _THREADS,)


def super_resolve_cuda(frames: Sequence[cp.ndarray], taps: Sequence[tuple], bounds: Sequence[tuple[int, int, int, int]],
                       scale: int, settings, x: cp.ndarray) -> cp.ndarray:
    """``settings.iterations`` descent steps from ``x``, four launches each; the frames may differ in size.

    ``taps[k]`` is frame ``k``'s ``(columns, rows)`` ``ops.superres.AxisTaps`` and ``bounds[k]`` its
    ``footprint_bounds``; ``settings`` an ``ops.superres.SrSettings``."""
    count = len(frames)
    rows, cols = max(f.shape[0] for f in frames), max(f.shape[1] for f in frames)
    stack = cp.zeros((count, rows, cols), cp.float32)  # smaller frames padded (outside their bounds)
    weights = np.zeros((count, 8), np.float32)
    geometry = np.zeros((count, 8), np.int32)
    for k, (frame, (across, down), rect) in enumerate(zip(frames, taps, bounds, strict=True)):
        stack[k, :frame.shape[0], :frame.shape[1]] = frame
        weights[k, :across.weights.size] = across.weights
        weights[k, 4:4 + down.weights.size] = down.weights
        geometry[k] = (across.start, down.start, across.weights.size, down.weights.size, *rect)
    weights, geometry = cp.asarray(weights), cp.asarray(geometry)
    x = cp.ascontiguousarray(x, dtype=cp.float32)
    height, width = x.shape
    sums_h, sums_w = height + scale - 1, width + scale - 1
    sums = cp.empty((sums_h, sums_w), cp.float32)
    spread = cp.empty_like(sums)
    residual = cp.empty_like(stack)
    velocity = cp.zeros_like(x)
    out = cp.empty_like(x)
    step = np.float32(settings.step * scale * scale / count)
    eps = np.float32(settings.knee(scale) if settings.robust else 0.0)
    shape = (np.int32(rows), np.int32(cols), np.int32(sums_h), np.int32(sums_w), np.int32(scale))
    psf = settings.psf
    for _ in range(settings.iterations):
        seen = x if psf is None else cp.ascontiguousarray(psf.apply(x))
        _kernel("sr_block_sums")(_blocks(sums.size), (_THREADS,),
                                 (seen, sums, np.int32(height), np.int32(width), np.int32(scale)))
        _kernel("sr_residual")(_blocks(residual.size), (_THREADS,),
                               (sums, stack, residual, weights, geometry, np.int32(count), *shape, eps))
        _kernel("sr_spread")(_blocks(spread.size), (_THREADS,),
                             (residual, spread, weights, geometry, np.int32(count), *shape))
        data, blocks = spread, scale
        if psf is not None:  # the data gradient summed over blocks and blurred back here; sr_update adds 1 x 1
            data, blocks = cp.ascontiguousarray(psf.apply(block_sums_adjoint(spread, scale), transpose=True)), 1
        _kernel("sr_update")(_blocks(x.size), (_THREADS,),
                             (x, data, velocity, out, np.int32(height), np.int32(width), np.int32(blocks),
                              np.float32(settings.lam), np.float64(settings.alpha), np.int32(settings.radius),
                              step, np.float32(settings.momentum)))
        x, out = out, x
    return x
