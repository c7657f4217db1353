"""Code values across bit depths and sample types, following VapourSynth's resize (zimg) conventions."""

from __future__ import annotations

import numpy as np
import vapoursynth as vs

from .frames import plane_view

__all__ = ["black_value", "is_full_range", "plane_units", "rescale_values", "unit_transform"]


def is_full_range(fmt: vs.VideoFormat, props: vs.FrameProps | dict) -> bool:
    """``_Range`` if set (H.273: 0 = limited, 1 = full); else RGB and GRAY are full, YUV limited."""
    value = props.get("_Range")
    if value is not None:
        return int(value) == vs.Range.RANGE_FULL
    return fmt.color_family != vs.YUV


def unit_transform(fmt: vs.VideoFormat, plane: int, full: bool) -> tuple[float, float]:
    """``code = unit * scale + offset``, where unit is luma/RGB 0..1 and YUV chroma -0.5..0.5."""
    if fmt.sample_type == vs.FLOAT:
        return 0.0, 1.0
    bits = fmt.bits_per_sample
    chroma = fmt.color_family == vs.YUV and plane > 0
    if full:
        return float(1 << (bits - 1)) if chroma else 0.0, float((1 << bits) - 1)
    step = 1 << (bits - 8)
    return (128.0 * step, 224.0 * step) if chroma else (16.0 * step, 219.0 * step)


def plane_units(frame: vs.VideoFrame, plane: int, full: bool,
                box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Plane ``plane`` of ``frame`` (over ``box`` = ``(x, y, width, height)`` in plane pixels, when given) in
    float32 units: luma/RGB 0..1, YUV chroma -0.5..0.5 (``unit_transform``)."""
    offset, scale = unit_transform(frame.format, plane, full)
    values = plane_view(frame, plane)
    if box is not None:
        x, y, w, h = box
        values = values[y:y + h, x:x + w]
    return (values.astype(np.float32) - np.float32(offset)) * np.float32(1.0 / scale)


def rescale_values(values: np.ndarray, plane: int, source: vs.VideoFormat, target: vs.VideoFormat,
                   full: bool) -> np.ndarray:
    """Float code values of ``source``'s plane expressed in ``target``'s code values (same family)."""
    if source.sample_type == target.sample_type and source.bits_per_sample == target.bits_per_sample:
        return values
    (offset_in, scale_in), (offset_out, scale_out) = (unit_transform(f, plane, full) for f in (source, target))
    return ((values - offset_in) * np.float32(scale_out / scale_in) + np.float32(offset_out)).astype(np.float32)


def black_value(fmt: vs.VideoFormat, plane: int, full: bool) -> float:
    """The code value of black (neutral grey for chroma)."""
    return unit_transform(fmt, plane, full)[0]
