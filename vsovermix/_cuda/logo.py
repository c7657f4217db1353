"""CuPy launch wrappers for ``kernels/logo.cu`` (the logo filters' per-pixel estimation and removal)."""

from __future__ import annotations

import cupy as cp
import numpy as np

from .launch import launch

__all__ = ["combine_estimates_cuda", "deblend_trusted_cuda", "edge_sums_cuda"]


def edge_sums_cuda(frames: cp.ndarray, first: np.ndarray, second: np.ndarray, inverse_gain: np.ndarray,
                   offset_ratio: np.ndarray, cutoff: float) -> list[np.ndarray]:
    """CuPy twin of ``ops.logo._edge_sums``' loop: the six robust sums per pair, returned on the host."""
    frames = cp.ascontiguousarray(frames.reshape(frames.shape[0], -1), dtype=cp.float32)
    count, pixels = frames.shape
    pairs = first.size
    sums = cp.empty((6, pairs), cp.float64)
    launch("logo.cu", "logo_edge_sums", pairs,
           (frames, cp.asarray(first, cp.int32), cp.asarray(second, cp.int32), cp.asarray(inverse_gain, cp.float64),
            cp.asarray(offset_ratio, cp.float64), sums, np.int64(pixels), np.int32(count), np.int64(pairs),
            np.float64(cutoff)))
    return list(cp.asnumpy(sums))


def deblend_trusted_cuda(observed: cp.ndarray, gain: cp.ndarray, offset: cp.ndarray, strength: float,
                         min_gain: float) -> cp.ndarray:
    """CuPy twin of ``ops.logo.deblend_trusted``."""
    planes = [cp.ascontiguousarray(cp.asarray(a), dtype=cp.float32) for a in (observed, gain, offset)]
    out = cp.empty_like(planes[0])
    launch("logo.cu", "logo_deblend", out.size,
           (*planes, out, np.int64(out.size), np.float32(strength), np.float32(min_gain)))
    return out


def combine_estimates_cuda(own: cp.ndarray, own_variance: cp.ndarray, other: cp.ndarray, other_variance: cp.ndarray,
                           agreement: float) -> cp.ndarray:
    """CuPy twin of ``ops.logo.combine_estimates``."""
    planes = [cp.ascontiguousarray(cp.asarray(a), dtype=cp.float32) for a in (own, own_variance, other, other_variance)]
    out = cp.empty_like(planes[0])
    launch("logo.cu", "logo_combine", out.size, (*planes, out, np.int64(out.size), np.float32(agreement)))
    return out
