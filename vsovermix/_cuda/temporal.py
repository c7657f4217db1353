"""CuPy launch wrapper for ``kernels/temporal.cu`` (per-pixel order statistic over planes)."""

from __future__ import annotations

from collections.abc import Sequence

import cupy as cp
import numpy as np

from . import CTYPES, temporal_select_name
from .launch import THREADS, kernel

__all__ = ["temporal_select_cuda"]

MAX_PLANES = 129  # registers: N floats per thread; 2*tr+1 with tr <= 64


def temporal_select_cuda(planes: Sequence[cp.ndarray], rank: int, out: cp.ndarray | None = None) -> cp.ndarray:
    """CuPy twin of ``ops.temporal.temporal_select``; bit-identical results."""
    first = planes[0]
    if len(planes) > MAX_PLANES:
        raise ValueError(f"temporal_select_cuda takes at most {MAX_PLANES} planes, got {len(planes)}")
    if any(p.shape != first.shape or p.dtype != first.dtype for p in planes):
        raise ValueError("temporal_select_cuda needs planes of one shape and dtype")
    if first.dtype == np.float16:  # widening and narrowing are exact; the kernel works on float32
        wide = temporal_select_cuda([p.astype(cp.float32) for p in planes], rank)
        if out is None:
            return wide.astype(cp.float16)
        out[...] = wide
        return out
    ctype = CTYPES[np.dtype(first.dtype)]
    contiguous = [cp.ascontiguousarray(p) for p in planes]
    table = cp.asarray(np.array([p.data.ptr for p in contiguous], dtype=np.uint64))
    result = out if out is not None and out.flags.c_contiguous else cp.empty(first.shape, first.dtype)
    size = first.size
    select = kernel("temporal.cu", temporal_select_name(ctype, len(planes), rank), templated=True)
    select(((size + THREADS - 1) // THREADS,), (THREADS,), (table, result, cp.int64(size)))
    if out is not None and result is not out:
        out[...] = result
        return out
    return result
