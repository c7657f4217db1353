import numpy as np
import pytest
import vapoursynth as vs

from tests.conftest import FORMAT_MATRIX
from vsovermix._vs.formats import plane_dtype
from vsovermix._vs.frames import new_frame, plane_to_float, plane_view, write_float_plane


def odd_size(fmt: vs.VideoFormat) -> tuple[int, int]:
    """A width/height that is odd in luma where the subsampling allows, never a multiple of 64."""
    return 37 << fmt.subsampling_w, 23 << fmt.subsampling_h


@pytest.mark.parametrize("fmt", FORMAT_MATRIX, ids=lambda f: f.name)
def test_every_format_round_trips_bit_exact_through_float32(make_clip, fmt):
    width, height = odd_size(fmt)
    clip, frames = make_clip(fmt, width=width, height=height, length=2, seed=fmt.id % 1000)
    src = clip.get_frame(1)
    dst = vs.core.create_video_frame(src.format, src.width, src.height)
    for p in range(fmt.num_planes):
        values = plane_to_float(src, p)
        assert values.dtype == np.float32 and values.flags.c_contiguous
        assert values.shape == frames[1][p].shape
        np.testing.assert_array_equal(values, frames[1][p].astype(np.float32))
        write_float_plane(values, dst, p)
        view = plane_view(dst, p)
        assert view.dtype == np.dtype(plane_dtype(fmt))
        np.testing.assert_array_equal(view, frames[1][p])


def test_planes_honour_padded_strides(make_clip):
    clip, frames = make_clip(vs.GRAY8, width=37, height=5, length=1)
    frame = clip.get_frame(0)
    assert frame.get_stride(0) > 37  # rows are padded
    np.testing.assert_array_equal(plane_view(frame, 0), frames[0][0])


@pytest.mark.parametrize(("bits", "values", "expected"), [
    (8, [-3.0, 0.49, 0.5, 1.5, 2.5, 254.5, 300.0], [0, 0, 1, 2, 3, 255, 255]),
    (10, [1000.4, 1000.5, 1023.7, -0.5], [1000, 1001, 1023, 0]),
    (16, [65534.5, 70000.0], [65535, 65535]),
])
def test_write_back_rounds_half_up_and_clamps_to_the_container(bits, values, expected):
    fmt = vs.core.query_video_format(vs.GRAY, vs.INTEGER, bits, 0, 0)
    frame = vs.core.create_video_frame(fmt, len(values), 1)
    write_float_plane(np.array([values], np.float32), frame, 0)
    np.testing.assert_array_equal(plane_view(frame, 0)[0], expected)


def test_limited_range_content_is_not_clipped_to_the_limited_range():
    # 8-bit limited range nominally spans 16-235; super-whites and sub-blacks must survive.
    fmt = vs.core.get_video_format(vs.GRAY8)
    frame = vs.core.create_video_frame(fmt, 3, 1)
    frame.props["_Range"] = vs.Range.RANGE_LIMITED
    write_float_plane(np.array([[4.0, 240.0, 255.0]], np.float32), frame, 0)
    np.testing.assert_array_equal(plane_view(frame, 0)[0], [4, 240, 255])


def test_new_frame_keeps_props_and_kept_planes(make_clip):
    clip, frames = make_clip(vs.YUV420P10, length=1)
    src = clip.std.SetFrameProps(Custom=7, _Matrix=1).get_frame(0)
    fresh = new_frame(src, keep_planes=())
    assert fresh.props["Custom"] == 7 and fresh.props["_Matrix"] == 1
    kept = new_frame(src, keep_planes=(1, 2))
    assert kept.props["Custom"] == 7
    np.testing.assert_array_equal(plane_view(kept, 2), frames[0][2])
    plane_view(kept, 0)[:] = 0  # writable, and the source frame is untouched
    np.testing.assert_array_equal(plane_view(src, 0), frames[0][0])
