"""Image quality metrics (the demo reports PSNR before and after)."""

from __future__ import annotations

import numpy as np

__all__ = ["psnr"]


def psnr(image: np.ndarray, reference: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all samples (inf for identical inputs)."""
    diff = np.asarray(image, np.float64) - np.asarray(reference, np.float64)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0.0 else 10.0 * np.log10(peak * peak / mse)
