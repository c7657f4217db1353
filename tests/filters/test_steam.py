import hashlib
import random

import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests.conftest import FORMAT_MATRIX
from vsovermix._vs.frames import plane_view
from vsovermix.backend import probe_cupy


def odd_size(fmt: vs.VideoFormat, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    return rng.randrange(13, 41, 2) << fmt.subsampling_w, rng.randrange(9, 31, 2) << fmt.subsampling_h


def brute_force(frames, n, tr, plane, mode):
    """Sort the clamped window at every pixel: the definition, with no cleverness."""
    idx = [min(max(n + d, 0), len(frames) - 1) for d in range(-tr, tr + 1)]
    stack = np.sort(np.stack([frames[i][plane] for i in idx]), axis=0)
    return stack[{"min": 0, "max": -1, "median": tr}[mode]]


def digest(frame: vs.VideoFrame) -> str:
    h = hashlib.sha256()
    for p in range(frame.format.num_planes):
        h.update(np.ascontiguousarray(plane_view(frame, p)).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("fmt", FORMAT_MATRIX, ids=lambda f: f.name)
@pytest.mark.parametrize("mode", ["min", "max", "median"])
def test_steam_equals_brute_force_in_every_format_and_mode(make_clip, fmt, mode, backend_name):
    width, height = odd_size(fmt, fmt.id)
    tr = 2
    clip, frames = make_clip(fmt, width=width, height=height, length=6, seed=fmt.id % 977)
    out = vo.steam(clip, tr, mode=mode, backend=backend_name)
    assert (out.format.id, out.width, out.height, out.num_frames) == (fmt.id, width, height, 6)
    for n in (0, 2, 5):
        frame = out.get_frame(n)
        for p in range(fmt.num_planes):
            np.testing.assert_array_equal(plane_view(frame, p), brute_force(frames, n, tr, p, mode),
                                          err_msg=f"frame {n} plane {p}")


@pytest.mark.parametrize("tr", [1, 3, 32])
def test_steam_radius_range(make_clip, tr):
    clip, frames = make_clip(vs.GRAY16, width=17, height=11, length=2 * tr + 1, seed=tr)
    out = vo.steam(clip, tr, mode="median", backend="numpy")
    for n in (0, tr, 2 * tr):
        np.testing.assert_array_equal(plane_view(out.get_frame(n), 0), brute_force(frames, n, tr, 0, "median"))


def test_unprocessed_planes_are_copied_unchanged(make_clip):
    clip, frames = make_clip(vs.YUV420P10, length=7, seed=5)
    out = vo.steam(clip, 1, mode="min", planes=0, backend="numpy")
    frame = out.get_frame(3)
    np.testing.assert_array_equal(plane_view(frame, 0), brute_force(frames, 3, 1, 0, "min"))
    for p in (1, 2):
        np.testing.assert_array_equal(plane_view(frame, p), frames[3][p])


def test_frame_props_are_kept(make_clip):
    clip, _ = make_clip(vs.YUV420P8, length=5)
    clip = clip.std.SetFrameProps(_Matrix=1, _Range=vs.Range.RANGE_LIMITED, Custom="kept")
    clip = vs.core.std.FrameEval(clip, lambda n, c=clip: c.std.SetFrameProps(Index=n), clip_src=clip)
    out = vo.steam(clip, 2, backend="numpy")
    for n in range(5):
        props = out.get_frame(n).props
        assert (props["_Matrix"], props["_Range"], props["Custom"], props["Index"]) == (1, 0, "kept", n)
    assert out.fps == clip.fps


@pytest.mark.parametrize("mode", ["min", "median"])
def test_random_access_equals_linear_render_and_runs_repeat(make_clip, mode, backend_name):
    clip, _ = make_clip(vs.YUV420P16, width=64, height=48, length=16, seed=11)
    linear = [digest(f) for f in vo.steam(clip, 3, mode=mode, backend=backend_name).frames()]
    order = list(range(16))
    random.Random(1).shuffle(order)
    seeking = vo.steam(clip, 3, mode=mode, backend=backend_name)  # a new node: no shared output cache
    shuffled = {n: digest(seeking.get_frame(n)) for n in order}
    assert [shuffled[n] for n in range(16)] == linear
    again = [digest(f) for f in vo.steam(clip, 3, mode=mode, backend=backend_name).frames()]
    assert again == linear


@pytest.mark.skipif(not probe_cupy().usable, reason=f"CuPy backend not usable here: {probe_cupy().reason}")
@pytest.mark.parametrize("fmt", FORMAT_MATRIX, ids=lambda f: f.name)
def test_cupy_and_numpy_give_identical_frames(make_clip, fmt):
    width, height = odd_size(fmt, 3)
    clip, _ = make_clip(fmt, width=width, height=height, length=9, seed=2)
    for mode in ("min", "max", "median"):
        a = [digest(f) for f in vo.steam(clip, 3, mode=mode, backend="numpy").frames()]
        b = [digest(f) for f in vo.steam(clip, 3, mode=mode, backend="cupy").frames()]
        assert a == b, mode


def test_steam_removes_a_moving_bright_layer():
    # A static background with a bright square that moves 6 px per frame: each pixel is covered in at
    # most one frame of any 3-frame window, so the temporal minimum is exactly the background.
    rng = np.random.default_rng(0)
    background = rng.integers(20, 120, (32, 96)).astype(np.uint8)
    frames = []
    for n in range(12):
        f = background.copy()
        f[8:24, 6 * n:6 * n + 6] = np.minimum(f[8:24, 6 * n:6 * n + 6].astype(int) + 120, 255)
        frames.append([f])
    from vsovermix._vs.frames import clip_from_planes

    out = vo.steam(clip_from_planes(frames, vs.GRAY8), 1, mode="min", backend="numpy")
    for n in range(12):
        np.testing.assert_array_equal(plane_view(out.get_frame(n), 0), background)


# --- bad input: a clear error when the function is called, before any graph is built -----------------

@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"tr": 65}, vo.InvalidArgumentError,
     r"^\(vsovermix\.steam\) tr must be in \[1, 64\], got 65; or tr=None for every frame of a still shot$"),
    ({"tr": 0}, vo.InvalidArgumentError, r"tr must be in \[1, 64\], got 0"),
    ({"tr": 2.0}, vo.ArgumentTypeError, r"tr must be int, got float 2.0"),
    ({"tr": True}, vo.ArgumentTypeError, r"tr must be int, got bool"),
    ({"mode": "mean"}, vo.InvalidArgumentError,
     r"mode must be one of 'model', 'min', 'max', 'median', got 'mean'"),
    ({"colour": [235, 128]}, vo.InvalidArgumentError,
     r"colour must be 3 value\(s\), one per plane of YUV420P8, within \[0, 255\], \[0, 255\], \[0, 255\], "
     r"got \[235, 128\]; e.g. colour=\[235.0, 128.0, 128.0\] for white"),
    ({"colour": [300, 128, 128]}, vo.InvalidArgumentError, r"one per plane of YUV420P8, within \[0, 255\]"),
    ({"colour": "white"}, vo.ArgumentTypeError, r"colour must be a number or a sequence of numbers, got 'white'"),
    ({"colour": [235, 128, 128], "mode": "min"}, vo.InvalidArgumentError,
     r"colour is for mode='model' only, got it with mode='min'"),
    ({"planes": 3}, vo.InvalidArgumentError, r"planes must be distinct plane indices in \[0, 2\]"),
    ({"motion": "local"}, vo.InvalidArgumentError, r"motion must be None \(static camera\) or 'global'"),
    ({"backend": "opencl"}, vo.InvalidArgumentError, r"backend must be one of 'auto', 'cupy', 'numpy'"),
])
def test_bad_arguments_raise_at_call_time(make_clip, kwargs, error, message):
    clip, _ = make_clip(vs.YUV420P8, length=9)
    with pytest.raises(error, match=message):
        vo.steam(clip, **kwargs)


def test_clip_shorter_than_window(make_clip):
    clip, _ = make_clip(vs.GRAY8, length=4)
    with pytest.raises(vo.ClipTooShortError, match=r"at least 2 \* tr \+ 1 = 5 frames, got 4; use tr <= 1 or a "
                                                   r"longer clip \(or tr=None for every frame of it\)"):
        vo.steam(clip, 2)


def test_variable_format_is_refused_before_building_a_graph():
    a = vs.core.std.BlankClip(format=vs.YUV420P8, width=16, height=16, length=5)
    b = vs.core.std.BlankClip(format=vs.GRAY8, width=16, height=16, length=5)
    with pytest.raises(vo.UnsupportedFormatError, match=r"\(vsovermix\.steam\) clip must have a constant format"):
        vo.steam(vs.core.std.Splice([a, b], mismatch=True), 1)


@pytest.mark.skipif(probe_cupy().usable, reason="this machine has a usable GPU")
def test_explicit_cupy_without_a_gpu_raises_with_the_install_line(make_clip):
    clip, _ = make_clip(vs.GRAY8, length=5)
    message = r'backend=.cupy. was asked for.*pip install "vsovermix\[cuda1'
    with pytest.raises(vo.BackendUnavailableError, match=message):
        vo.steam(clip, 2, backend="cupy")
