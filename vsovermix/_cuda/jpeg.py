"""CuPy launch wrapper for ``kernels/jpeg_project.cu`` (the JPEG constraint's dual step, fused per 8x8 block)."""

from __future__ import annotations

import cupy as cp
import numpy as np

from .launch import kernel

__all__ = ["jpeg_dual_step_cuda"]


def jpeg_dual_step_cuda(coded: cp.ndarray, dual: cp.ndarray, low: cp.ndarray, high: cp.ndarray, mask: cp.ndarray,
                        sigma: float) -> tuple[cp.ndarray, cp.ndarray]:
    """CuPy twin of ``ops.jpeg.jpeg_dual_step``: the updated dual and its back-projection ``IDCT(dual)``."""
    planes = [cp.ascontiguousarray(a, dtype=cp.float32) for a in (coded, dual, low, high, mask)]
    height, width = coded.shape
    if height % 8 or width % 8 or any(p.shape != coded.shape for p in planes):
        raise ValueError(f"jpeg_dual_step_cuda needs planes of one size in whole 8x8 blocks, got {coded.shape}")
    updated = planes[1].copy()
    back = cp.empty_like(updated)
    step = kernel("jpeg_project.cu", "jpeg_dual_step")
    step((width // 8, height // 8), (64,),  # one thread block per 8x8 block, one thread per sample
         (planes[0], updated, planes[2], planes[3], planes[4], back, np.int32(width), np.float32(sigma)))
    return updated, back
