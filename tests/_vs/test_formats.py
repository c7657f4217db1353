import pytest
import vapoursynth as vs

from tests.conftest import FORMAT_MATRIX
from vsovermix._vs.formats import check_clip, check_planes
from vsovermix.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedFormatError


@pytest.mark.parametrize("fmt", FORMAT_MATRIX, ids=lambda f: f.name)
def test_every_promised_format_is_accepted(fmt):
    clip = vs.core.std.BlankClip(format=fmt.id, width=16, height=16, length=1)
    assert check_clip(clip, "steam") is clip


def test_variable_format_is_refused():
    a = vs.core.std.BlankClip(format=vs.YUV420P8, width=16, height=16, length=1)
    b = vs.core.std.BlankClip(format=vs.GRAY8, width=16, height=16, length=1)
    mixed = vs.core.std.Splice([a, b], mismatch=True)
    with pytest.raises(UnsupportedFormatError, match=r"^\(vsovermix\.steam\) clip must have a constant format"):
        check_clip(mixed, "steam")


def test_variable_size_is_refused():
    a = vs.core.std.BlankClip(format=vs.GRAY8, width=16, height=16, length=1)
    b = vs.core.std.BlankClip(format=vs.GRAY8, width=32, height=16, length=1)
    with pytest.raises(UnsupportedFormatError, match="constant frame size, got a variable size"):
        check_clip(vs.core.std.Splice([a, b], mismatch=True), "steam")


def test_32_bit_integer_is_refused_naming_what_is_accepted():
    clip = vs.core.std.BlankClip(format=vs.GRAY32, width=16, height=16, length=1)
    with pytest.raises(UnsupportedFormatError, match=r"8-16 bit integer or 16/32 bit float, got Gray32"):
        check_clip(clip, "steam")


def test_non_clip_is_a_type_error():
    with pytest.raises(ArgumentTypeError, match=r"clip must be a vapoursynth\.VideoNode, got int"):
        check_clip(3, "steam")


def test_planes_are_normalised_and_validated():
    clip = vs.core.std.BlankClip(format=vs.YUV420P8, width=16, height=16, length=1)
    assert check_planes(None, clip, "steam") == (0, 1, 2)
    assert check_planes(0, clip, "steam") == (0,)
    assert check_planes([2, 1], clip, "steam") == (1, 2)
    for bad in (3, [0, 0], [], [-1]):
        with pytest.raises(InvalidArgumentError, match=r"planes must be distinct plane indices in \[0, 2\]"):
            check_planes(bad, clip, "steam")
    for bad in ("0", 1.0, [True]):
        with pytest.raises(ArgumentTypeError, match="planes"):
            check_planes(bad, clip, "steam")
