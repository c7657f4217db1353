"""YCbCr and RGB in units (Y, R, G, B 0..1; Cb, Cr -0.5..0.5), by the ``_Matrix`` prop's luma weights."""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["BT601", "KR_KB", "rgb_to_ycbcr", "ycbcr_matrix", "ycbcr_to_rgb"]

BT601 = 6  # H.273 matrix coefficients of BT.601 (JFIF and AviUtl use its weights)
# BT.709 / 601 / 2020 luma weights (Kr, Kb) by the _Matrix prop; 709 where it is unset or unknown.
KR_KB = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}


@functools.cache
def ycbcr_matrix(matrix: int) -> np.ndarray:
    """The 3x3 matrix taking (R, G, B) to (Y, Cb, Cr), ``Cb = (B - Y) / (2 (1 - Kb))``, likewise Cr."""
    kr, kb = KR_KB.get(matrix, KR_KB[1])
    luma = np.array([kr, 1.0 - kr - kb, kb])
    out = np.stack([luma, (np.array([0.0, 0.0, 1.0]) - luma) / (2.0 * (1.0 - kb)),
                    (np.array([1.0, 0.0, 0.0]) - luma) / (2.0 * (1.0 - kr))])
    out.flags.writeable = False
    return out


def _in_dtype_of(values: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return matrix.astype(values.dtype) if values.dtype == np.float32 else matrix


def rgb_to_ycbcr(rgb: np.ndarray, matrix: int) -> np.ndarray:
    """(..., 3) RGB to (..., 3) YCbCr; float32 stays float32."""
    return rgb @ _in_dtype_of(rgb, ycbcr_matrix(matrix)).T


def ycbcr_to_rgb(ycc: np.ndarray, matrix: int) -> np.ndarray:
    """(..., 3) YCbCr to (..., 3) RGB; float32 stays float32."""
    return ycc @ _in_dtype_of(ycc, np.linalg.inv(ycbcr_matrix(matrix))).T
