"""Sampling a plane at a constant sub-pixel shift: separable interpolation kernels and box reduction.

Every pixel of a translated frame has the same fractional phase, so resampling is two 1-D
filters with one fixed set of taps each (no per-pixel weights), which is what makes sub-pixel
alignment and stitching cheap. Works on NumPy and CuPy arrays (``scipy.ndimage`` or
``cupyx.scipy.ndimage`` does the filtering).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["KERNELS", "box_reduce", "fit_to_shape", "kernel_taps", "ndimage_of", "sample_bounds", "sample_shifted",
           "snap_shift", "to_numpy", "xp_of"]

# name -> support radius in pixels (taps = 2 * radius)
KERNELS = {"cubic": 2, "lanczos3": 3, "lanczos4": 4}
SNAP = 1e-6  # px: a shift this close to a whole number is that whole number


def snap_shift(shift: float) -> float:
    """``shift``, or the whole number within ``SNAP`` of it. A solve's -1.7e-16 must not count as a phase of
    0.9999999999999998: ``floor`` would put the taps a pixel left of the bounds computed for it."""
    nearest = round(shift)
    return float(nearest) if abs(shift - nearest) < SNAP else float(shift)


def xp_of(array: Any) -> Any:
    """The array module (numpy or cupy) that ``array`` belongs to."""
    if isinstance(array, np.ndarray):
        return np
    import cupy

    return cupy.get_array_module(array)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array of ``array``'s values (copied to the host when it is a CuPy array)."""
    return array if isinstance(array, np.ndarray) else np.asarray(array.get())


def ndimage_of(xp: Any) -> Any:
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy (imported on first use)."""
    if xp is np:
        import scipy.ndimage

        return scipy.ndimage
    import cupyx.scipy.ndimage

    return cupyx.scipy.ndimage


def kernel_taps(kernel: str, frac: float) -> np.ndarray:
    """Weights of the ``2 * radius`` taps at offsets ``1 - radius .. radius`` from ``floor(position)``.

    ``frac`` is the position's fractional part in [0, 1). Weights sum to 1 (Lanczos is normalised),
    and ``frac = 0`` gives the identity (one tap of 1).
    """
    radius = KERNELS[kernel]
    offsets = np.arange(1 - radius, radius + 1, dtype=np.float64)
    distance = offsets - frac
    if kernel == "cubic":  # Keys, a = -0.5 (Catmull-Rom)
        d = np.abs(distance)
        weights = np.where(d <= 1, (1.5 * d - 2.5) * d * d + 1,
                           np.where(d < 2, ((-0.5 * d + 2.5) * d - 4) * d + 2, 0.0))
    else:
        weights = np.sinc(distance) * np.sinc(distance / radius)
    return weights / weights.sum()


def sample_shifted(plane: Any, shift_x: float, shift_y: float, rows: tuple[int, int], cols: tuple[int, int],
                   kernel: str = "cubic", step: int = 1) -> Any:
    """``plane`` sampled at ``(y + shift_y, x + shift_x)`` for ``y in range(*rows, step)``, ``x in range(*cols, step)``.

    The caller keeps every tap inside the plane: ``floor(rows[0] + shift_y) - radius + 1 >= 0`` and
    ``floor(rows[1] - 1 + shift_y) + radius <= height - 1`` (``sample_bounds`` gives that range), the
    same for columns. Float32 in, float32 out, on the array's own device.
    """
    xp = xp_of(plane)
    ndi = ndimage_of(xp)
    radius = KERNELS[kernel]
    out = plane
    for axis, shift, (lo, hi) in ((0, snap_shift(shift_y), rows), (1, snap_shift(shift_x), cols)):
        whole = math.floor(shift)
        frac = shift - whole
        start, stop = lo + whole, hi + whole
        if frac == 0.0:
            out = out[start:stop:step] if axis == 0 else out[:, start:stop:step]
            continue
        taps = kernel_taps(kernel, frac).astype(np.float32)
        if step > 1:  # only every step-th output: sum the taps over strided slices
            count = len(range(start, stop, step))
            acc = None
            for k, tap in enumerate(taps):
                first = start - radius + 1 + k
                part = (out[first:first + step * (count - 1) + 1:step] if axis == 0
                        else out[:, first:first + step * (count - 1) + 1:step])
                acc = part * tap if acc is None else acc + part * tap
            out = acc
            continue
        # Filter a slab one support wider on each side, then keep the rows whose taps all fell inside.
        slab = out[start - radius + 1:stop + radius] if axis == 0 else out[:, start - radius + 1:stop + radius]
        # correlate1d centres an even-length filter on tap len // 2; origin -1 moves it to tap radius - 1.
        filtered = ndi.correlate1d(slab, xp.asarray(taps), axis=axis, mode="nearest", origin=-1)
        out = filtered[radius - 1:radius - 1 + stop - start] if axis == 0 else \
            filtered[:, radius - 1:radius - 1 + stop - start]
    return out


def sample_bounds(length: int, shift: float, kernel: str = "cubic") -> tuple[int, int]:
    """The widest ``range(lo, hi)`` of output coordinates whose taps at ``coordinate + shift`` stay inside."""
    shift = snap_shift(shift)
    if math.floor(shift) == shift:  # no interpolation: every in-range sample is usable
        return math.ceil(-shift), math.ceil(length - shift)
    radius = KERNELS[kernel]
    # floor(x + shift) - radius + 1 >= 0  and  floor(x + shift) + radius <= length - 1
    return math.ceil(radius - 1 - shift), math.ceil(length - radius - shift)


def box_reduce(plane: Any, factor: int) -> Any:
    """Mean of ``factor x factor`` blocks (the trailing rows/columns that do not fill a block are dropped)."""
    if factor == 1:
        return plane
    h, w = plane.shape[0] // factor, plane.shape[1] // factor
    # Strided sums (one pass each) are several times faster than a reshape + mean over two axes.
    total = None
    for dy in range(factor):
        for dx in range(factor):
            part = plane[dy:h * factor:factor, dx:w * factor:factor]
            total = part.astype(np.float32) if total is None else total + part
    total *= np.float32(1.0 / (factor * factor))
    return total


def fit_to_shape(image: Any, shape: tuple[int, int]) -> Any:
    """``image`` cropped or zero-padded at the bottom and right to ``shape`` (itself when it already fits)."""
    if image.shape == tuple(shape):
        return image
    xp = xp_of(image)
    out = xp.zeros(shape, dtype=image.dtype)
    h, w = min(shape[0], image.shape[0]), min(shape[1], image.shape[1])
    out[:h, :w] = image[:h, :w]
    return out
