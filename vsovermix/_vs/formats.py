"""Which clip formats vsovermix accepts, and the checks every filter runs when it is called."""

from __future__ import annotations

from collections.abc import Sequence

import vapoursynth as vs

from ..errors import ArgumentTypeError, FuncLike, InvalidArgumentError, UnsupportedFormatError

__all__ = ["ACCEPTED", "check_clip", "check_planes", "plane_dtype", "plane_subsampling"]

ACCEPTED = "constant-format GRAY, YUV (any subsampling) or RGB; 8-16 bit integer or 16/32 bit float"


def check_clip(clip: object, func: FuncLike) -> vs.VideoNode:
    """Refuse anything but a constant-format, constant-size clip of a format listed in ``ACCEPTED``."""
    if not isinstance(clip, vs.VideoNode):
        raise ArgumentTypeError(func, f"clip must be a vapoursynth.VideoNode, got {type(clip).__name__}")
    fmt = clip.format
    if fmt is None or fmt.id == 0 or fmt.color_family == vs.UNDEFINED:
        raise UnsupportedFormatError(func, f"clip must have a constant format ({ACCEPTED}), got a variable format; "
                                           "convert it first, e.g. with core.resize.Bicubic(clip, format=...)")
    if clip.width == 0 or clip.height == 0:
        raise UnsupportedFormatError(func, "clip must have a constant frame size, got a variable size; "
                                           "resize every frame to one size first")
    bits, integer = fmt.bits_per_sample, fmt.sample_type == vs.INTEGER
    if (integer and not 8 <= bits <= 16) or (not integer and bits not in (16, 32)) \
            or fmt.color_family not in (vs.GRAY, vs.YUV, vs.RGB):
        raise UnsupportedFormatError(func, f"clip format must be {ACCEPTED}, got {fmt.name}")
    return clip


def check_planes(planes: int | Sequence[int] | None, clip: vs.VideoNode, func: FuncLike) -> tuple[int, ...]:
    """Normalise ``planes`` (None = all, an int, or a sequence of ints) to a sorted tuple of indices."""
    n = clip.format.num_planes
    if planes is None:
        return tuple(range(n))
    items = [planes] if isinstance(planes, int) and not isinstance(planes, bool) else planes
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise ArgumentTypeError(func, f"planes must be None, an int or a sequence of ints, got {planes!r}")
    for p in items:
        ArgumentTypeError.check(func, "planes", p, int)
    if not items or any(not 0 <= p < n for p in items) or len(set(items)) != len(items):
        raise InvalidArgumentError(func, f"planes must be distinct plane indices in [0, {n - 1}] "
                                         f"({clip.format.name} has {n} plane{'s' * (n > 1)}), got {planes!r}")
    return tuple(sorted(items))


def plane_dtype(fmt: vs.VideoFormat) -> str:
    """NumPy dtype name of a plane's samples: uint8, uint16, float16 or float32."""
    if fmt.sample_type == vs.FLOAT:
        return "float16" if fmt.bits_per_sample == 16 else "float32"
    return "uint8" if fmt.bytes_per_sample == 1 else "uint16"


def plane_subsampling(fmt: vs.VideoFormat, plane: int) -> tuple[int, int]:
    """(log2 horizontal, log2 vertical) subsampling of ``plane``: the format's for chroma, (0, 0) for plane 0."""
    return (fmt.subsampling_w, fmt.subsampling_h) if plane else (0, 0)
