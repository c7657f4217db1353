"""Code values across bit depths and sample types, following VapourSynth's resize (zimg) conventions."""

from __future__ import annotations

import numpy as np
import vapoursynth as vs

__all__ = ["black_value", "is_full_range", "rescale_values"]


def is_full_range(fmt: vs.VideoFormat, props: vs.FrameProps | dict) -> bool:
    """``_Range`` if set (H.273: 0 = limited, 1 = full); else RGB and GRAY are full, YUV limited."""
    value = props.get("_Range")
    if value is not None:
        return int(value) == vs.Range.RANGE_FULL
    return fmt.color_family != vs.YUV


def _chroma(fmt: vs.VideoFormat, plane: int) -> bool:
    return fmt.color_family == vs.YUV and plane > 0


def _to_unit(values: np.ndarray, fmt: vs.VideoFormat, plane: int, full: bool) -> np.ndarray:
    """Code values to the float convention: luma/RGB 0..1, YUV chroma -0.5..0.5."""
    if fmt.sample_type == vs.FLOAT:
        return values
    bits = fmt.bits_per_sample
    if full:
        peak = (1 << bits) - 1
        return (values - (1 << (bits - 1))) / peak if _chroma(fmt, plane) else values / peak
    step = 1 << (bits - 8)
    if _chroma(fmt, plane):
        return (values - 128 * step) / (224 * step)
    return (values - 16 * step) / (219 * step)


def _from_unit(values: np.ndarray, fmt: vs.VideoFormat, plane: int, full: bool) -> np.ndarray:
    if fmt.sample_type == vs.FLOAT:
        return values
    bits = fmt.bits_per_sample
    if full:
        peak = (1 << bits) - 1
        return values * peak + (1 << (bits - 1)) if _chroma(fmt, plane) else values * peak
    step = 1 << (bits - 8)
    if _chroma(fmt, plane):
        return values * (224 * step) + 128 * step
    return values * (219 * step) + 16 * step


def rescale_values(values: np.ndarray, plane: int, source: vs.VideoFormat, target: vs.VideoFormat,
                   full: bool) -> np.ndarray:
    """Float code values of ``source``'s plane expressed in ``target``'s code values (same family)."""
    if source.sample_type == target.sample_type and source.bits_per_sample == target.bits_per_sample:
        return values
    return _from_unit(_to_unit(values, source, plane, full), target, plane, full).astype(np.float32)


def black_value(fmt: vs.VideoFormat, plane: int, full: bool) -> float:
    """The code value of black (neutral grey for chroma)."""
    return float(_from_unit(np.float32(0.0), fmt, plane, full))
