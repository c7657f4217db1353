"""CuPy launch wrapper for ``kernels/temporal.cu`` (per-pixel order statistic over planes)."""

from __future__ import annotations

from collections.abc import Sequence

import cupy as cp
import numpy as np

from . import CTYPES, KERNEL_DIR, kernel_source, temporal_select_name

__all__ = ["temporal_select_cuda"]

MAX_PLANES = 129  # registers: N floats per thread; 2*tr+1 with tr <= 64
_BLOCK = 256


@cp.memoize(for_each_device=True)
def _kernel(ctype: str, count: int, rank: int) -> cp.RawKernel:
    name = temporal_select_name(ctype, count, rank)
    module = cp.RawModule(code=kernel_source("temporal.cu"), options=("-std=c++17", f"-I{KERNEL_DIR}"),
                          name_expressions=[name])
    return module.get_function(name)


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
    _kernel(ctype, len(planes), rank)(((size + _BLOCK - 1) // _BLOCK,), (_BLOCK,),
                                      (table, result, cp.int64(size)))
    if out is not None and result is not out:
        out[...] = result
        return out
    return result
