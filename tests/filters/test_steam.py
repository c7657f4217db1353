import hashlib
import random

import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests.conftest import FORMAT_MATRIX
from vsovermix._vs.frames import plane_view
from vsovermix.backend import probe_cupy
from vsovermix.ops.metrics import psnr


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


# --- mode="model" ------------------------------------------------------------------------------------------

def steamy_clip(fmt=vs.RGB24, frames=7, noise=1.0):
    """The background of tests/ops/test_steam.py under two rising layers, in ``fmt``; truth as RGB."""
    from tests.ops.test_steam import background, steamy
    from vsovermix._vs.frames import clip_from_planes

    seen, alpha = steamy(frames=frames, noise=noise)
    clip = clip_from_planes([[f[..., c] for c in range(3)] for f in seen], vs.RGB24)
    clip = clip.std.SetFrameProps(_Matrix=vs.MATRIX_RGB, _Range=vs.Range.RANGE_FULL)
    if fmt != vs.RGB24:
        family = vs.core.get_video_format(fmt).color_family
        clip = clip.resize.Bicubic(format=fmt, **({"matrix_s": "709"} if family == vs.YUV else {}))
    return clip, background(), alpha


def as_rgb(frame_clip):
    fmt = frame_clip.format
    if fmt.color_family == vs.YUV:
        frame_clip = frame_clip.resize.Bicubic(format=vs.RGBS, matrix_in_s="709")
    elif fmt.id != vs.RGBS:
        frame_clip = frame_clip.resize.Point(format=vs.RGBS)
    f = frame_clip.get_frame(0)
    return np.stack([np.array(plane_view(f, c)) for c in range(3)], axis=-1) * 255.0


@pytest.mark.parametrize("fmt", [vs.RGB24, vs.RGB48, vs.RGBS, vs.YUV420P8, vs.YUV444P16, vs.YUV422P10, vs.YUV420PS],
                         ids=lambda f: vs.core.get_video_format(f).name)
def test_model_removes_steam_in_every_colour_format(fmt):
    clip, truth, _ = steamy_clip(fmt)
    out = vo.steam(clip, 3, backend="numpy")
    assert out.format.id == clip.format.id and out.num_frames == clip.num_frames
    frame = out.get_frame(3)
    assert frame.props["OvrSteamLayers"] >= 1 and len(frame.props["OvrSteamColour"]) == 3
    minimum = vo.steam(clip, 3, mode="min", backend="numpy")
    model_db = psnr(as_rgb(out[3]), truth, 255.0)
    assert model_db > psnr(as_rgb(minimum[3]), truth, 255.0) + 4.0, model_db


@pytest.mark.parametrize("fmt", [vs.GRAY8, vs.GRAYS])
def test_model_on_gray(fmt):
    clip, truth, _ = steamy_clip(vs.RGB24)
    gray = clip.std.ShufflePlanes(1, vs.GRAY).std.SetFrameProps(_Matrix=vs.MATRIX_UNSPECIFIED)
    if fmt == vs.GRAYS:
        gray = gray.resize.Point(format=vs.GRAYS)
    out = vo.steam(gray, 3, backend="numpy", colour=242 if fmt == vs.GRAY8 else 242 / 255)
    scale = 255.0 if fmt == vs.GRAYS else 1.0
    got = np.array(plane_view(out.get_frame(3), 0), np.float64) * scale
    low = np.array(plane_view(vo.steam(gray, 3, mode="min", backend="numpy").get_frame(3), 0), np.float64) * scale
    assert psnr(got, truth[..., 1], 255.0) > psnr(low, truth[..., 1], 255.0) + 2.5


def test_yuv_model_is_not_tinted():
    # The same shot as RGB and as 4:2:0: the mean colour error where steam covered every frame is no worse in YUV.
    rgb, truth, alpha = steamy_clip(vs.RGB24)
    yuv, _, _ = steamy_clip(vs.YUV420P8)
    steamed = alpha.min(axis=0) > 0.1
    errors = {}
    for name, clip in (("rgb", rgb), ("yuv", yuv)):
        out = as_rgb(vo.steam(clip, 3, backend="numpy")[3])
        errors[name] = float(np.abs(out - truth)[steamed].mean())
    independent = as_rgb(vo.steam(yuv, 3, mode="min", backend="numpy")[3])
    # 4:2:0 holds a quarter of the chroma samples, which costs some error against an RGB truth by itself
    assert errors["yuv"] <= 1.15 * errors["rgb"], errors
    assert errors["yuv"] < 0.5 * float(np.abs(independent - truth)[steamed].mean())


def test_whole_shot_is_computed_once_and_is_every_frame(monkeypatch):
    import vsovermix.filters.steam as steam_filter

    calls = []
    real = steam_filter.steam_background
    monkeypatch.setattr(steam_filter, "steam_background", lambda *a, **k: calls.append(1) or real(*a, **k))
    clip, truth, _ = steamy_clip(vs.RGB24, frames=9)
    clip = vs.core.std.FrameEval(clip, lambda n, c=clip: c.std.SetFrameProps(Index=n), clip_src=clip)
    out = vo.steam(clip, None, backend="numpy")
    digests = [digest(out.get_frame(n)) for n in (8, 0, 4)]
    assert len(set(digests)) == 1 and len(calls) == 1
    assert [out.get_frame(n).props["Index"] for n in (2, 7)] == [2, 7]  # each frame keeps its own props
    darkest = vo.steam(clip, None, mode="min", backend="numpy")
    assert psnr(as_rgb(out[0]), truth, 255.0) > psnr(as_rgb(darkest[0]), truth, 255.0) + 3.0


def test_model_random_access_equals_linear_render():
    clip, _, _ = steamy_clip(vs.YUV420P8, frames=12)
    linear = [digest(f) for f in vo.steam(clip, 3, backend="numpy").frames()]
    order = list(range(12))
    random.Random(2).shuffle(order)
    seeking = vo.steam(clip, 3, backend="numpy")
    assert [digest(seeking.get_frame(n)) for n in order] == [linear[n] for n in order]


def test_a_given_colour_is_used():
    clip, _, _ = steamy_clip(vs.RGB24)
    frame = vo.steam(clip, 3, colour=[240, 242, 246], backend="numpy").get_frame(3)
    assert list(frame.props["OvrSteamColour"]) == [240.0, 242.0, 246.0]


def test_whole_shot_that_does_not_fit_in_memory_says_how_much(monkeypatch):
    import vsovermix.filters.steam as steam_filter

    monkeypatch.setattr(steam_filter, "available_host_bytes", lambda: 1 << 20)
    clip = vs.core.std.BlankClip(format=vs.YUV420P8, width=1920, height=1080, length=200)
    with pytest.raises(vo.InsufficientMemoryError,
                       match=r"\(vsovermix\.steam\) tr=None over 200 frames of 1920x1080 needs about [\d.]+ GiB of "
                             r"host memory, 1 MiB is available; pass a radius instead"):
        vo.steam(clip, None)
