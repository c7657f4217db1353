"""Frames <-> NumPy arrays: plane views that honour strides, float32 conversion, output frames, clips from arrays."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import vapoursynth as vs

__all__ = [
    "clip_from_planes",
    "luma_of",
    "new_frame",
    "peak_value",
    "plane_to_float",
    "plane_view",
    "store_float",
    "write_float_plane",
]


def plane_view(frame: vs.VideoFrame, plane: int) -> np.ndarray:
    """Zero-copy 2-D view of one plane; rows are padded (not C-contiguous). Do not keep it past the frame."""
    return np.asarray(frame[plane])


def plane_to_float(frame: vs.VideoFrame, plane: int) -> np.ndarray:
    """A contiguous float32 copy of a plane, in the clip's own code values (8-bit 235 stays 235.0)."""
    return plane_view(frame, plane).astype(np.float32, order="C")


def peak_value(fmt: vs.VideoFormat) -> float:
    """The format's white: ``2**bits - 1`` for integers, 1.0 for float."""
    return float((1 << fmt.bits_per_sample) - 1) if fmt.sample_type == vs.INTEGER else 1.0


def luma_of(frame: vs.VideoFrame) -> np.ndarray:
    """Brightness of a frame as float32 in [0, 1]-ish: plane 0 of GRAY/YUV, ``(R + 2G + B) / 4`` of RGB.

    Raises ValueError when a float frame holds NaN or infinity (nothing sensible can be aligned to it).
    """
    fmt = frame.format
    if fmt.color_family == vs.RGB:
        r, g, b = (plane_view(frame, p).astype(np.float32) for p in range(3))
        luma = (r + 2 * g + b) * np.float32(0.25)
    else:
        luma = plane_to_float(frame, 0)
    if fmt.sample_type == vs.FLOAT:
        if not np.isfinite(luma).all():
            raise ValueError("the frame holds NaN or infinite samples")
    else:
        luma *= np.float32(1.0 / peak_value(fmt))
    return luma


def write_float_plane(values: np.ndarray, frame: vs.VideoFrame, plane: int) -> None:
    """Write float values into a writable frame's plane (see ``store_float``)."""
    store_float(values, plane_view(frame, plane), frame.format)


def store_float(values: np.ndarray, out: np.ndarray, fmt: vs.VideoFormat) -> None:
    """Store float code values in ``out`` (a plane or part of one): round half up, clamp to the container.

    Integer formats clamp to [0, 2**bits - 1] (limited-range content is not clipped to its nominal
    range); float formats are stored as they are (float16 rounds to nearest).
    """
    if fmt.sample_type == vs.FLOAT:
        np.copyto(out, values, casting="unsafe")
        return
    rounded = np.floor(values + np.float32(0.5))
    np.clip(rounded, 0, (1 << fmt.bits_per_sample) - 1, out=rounded)
    np.copyto(out, rounded, casting="unsafe")


def new_frame(template: vs.VideoFrame, keep_planes: Sequence[int]) -> vs.VideoFrame:
    """A writable frame with ``template``'s format, size and props, and its ``keep_planes`` content.

    The other planes are left for the caller to overwrite entirely. When planes are kept the frame is
    a copy-on-write copy (kept planes are shared, not copied); otherwise a fresh frame is cheaper.
    """
    if keep_planes:
        return template.copy()
    out = vs.core.create_video_frame(template.format, template.width, template.height)
    out.props.update(template.props)
    return out


def clip_from_planes(frames: Sequence[Sequence[np.ndarray]], fmt: vs.VideoFormat | int,
                     fps: Fraction = Fraction(24000, 1001)) -> vs.VideoNode:
    """A clip whose frame ``n`` holds the arrays ``frames[n][plane]`` (copied, cast to the format's dtype)."""
    fmt = vs.core.get_video_format(fmt)
    height, width = frames[0][0].shape
    blank = vs.core.std.BlankClip(format=fmt.id, width=width, height=height, length=len(frames),
                                  fpsnum=fps.numerator, fpsden=fps.denominator)

    def fill(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        out = f.copy()
        for p in range(fmt.num_planes):
            np.copyto(plane_view(out, p), frames[n][p], casting="unsafe")
        return out

    return blank.std.ModifyFrame(blank, fill)
