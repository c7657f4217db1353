import re
import warnings

import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests.pans import pan_frames, park_rgb, random_walk, truth_positions
from vsovermix._vs.frames import clip_from_planes
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce

K, WIDTH, HEIGHT = 2, 200, 144


@pytest.fixture(autouse=True)
def _numpy_backend(monkeypatch):
    monkeypatch.setenv("VSOVERMIX_BACKEND", "numpy")


def pan_clip(n=8, seed=4, fmt=vs.RGB24, noise=0.0):
    offsets = random_walk(n, (16, 6), 6, seed=seed)
    rng = np.random.default_rng(seed)
    frames = []
    for f in pan_frames(K, WIDTH, HEIGHT, offsets):
        f = np.clip(np.floor(f + rng.normal(0, noise, f.shape) + 0.5), 0, 255)
        frames.append([f[:, :, c] for c in range(3)])
    clip = clip_from_planes(frames, vs.RGB24)
    if fmt != vs.RGB24:
        family = vs.core.get_video_format(fmt).color_family
        clip = clip.resize.Point(format=fmt, **({} if family == vs.RGB else {"matrix_s": "709"}))
    return clip, offsets


def scene_for(still_frame, offsets):
    ox, oy = int(still_frame.props["OvrOriginX"]), int(still_frame.props["OvrOriginY"])
    sx, sy = offsets[0][0] + ox * K, offsets[0][1] + oy * K
    image = park_rgb()
    h = min(still_frame.height, (image.shape[0] - sy) // K)
    w = min(still_frame.width, (image.shape[1] - sx) // K)
    return np.stack([box_reduce(np.ascontiguousarray(image[sy:sy + h * K, sx:sx + w * K, c]), K) for c in range(3)])


def test_align_props_and_estimate_pan_agree_with_the_truth():
    clip, offsets = pan_clip()
    pan = vo.estimate_pan(clip)
    truth = truth_positions(offsets, K)
    assert np.abs(pan.x - truth[:, 0]).max() < 0.05 and np.abs(pan.y - truth[:, 1]).max() < 0.05
    aligned = vo.align(clip)
    for n in (5, 0, 7, 2):  # seeking: served from the one solve
        props = aligned.get_frame(n).props
        assert props["OvrOffsetX"] == pytest.approx(pan.x[n]) and props["OvrOffsetY"] == pytest.approx(pan.y[n])
        assert 0 < props["OvrAlignConfidence"] <= 1


def test_stitch_rgb_still_matches_the_scene_and_keeps_props():
    clip, offsets = pan_clip()
    still = vo.stitch(clip)
    assert still.num_frames == 1 and still.format.id == vs.RGB24
    frame = still.get_frame(0)
    scene = scene_for(frame, offsets)
    out = np.stack([np.asarray(frame[p], dtype=np.float32) for p in range(3)])[:, :scene.shape[1], :scene.shape[2]]
    alpha = np.asarray(frame.props["_Alpha"][0])[:scene.shape[1], :scene.shape[2]] > 0
    assert psnr(out[:, alpha], scene[:, alpha]) > 38
    assert frame.props["OvrFrames"] == 8 and frame.props["OvrRender"] == "average"
    assert 0.8 < frame.props["OvrCoverage"] <= 1


def test_averaging_a_noisy_pan_beats_one_frame():
    clip, offsets = pan_clip(n=16, noise=6.0, seed=5)
    frame = vo.stitch(clip).get_frame(0)
    scene = scene_for(frame, offsets)
    out = np.stack([np.asarray(frame[p], dtype=np.float32) for p in range(3)])[:, :scene.shape[1], :scene.shape[2]]
    alpha = np.asarray(frame.props["_Alpha"][0])[:scene.shape[1], :scene.shape[2]] > 0
    still_psnr = psnr(out[:, alpha], scene[:, alpha])
    single = 10 * np.log10(255**2 / 6.0**2)  # one frame: noise sigma 6
    assert still_psnr > single + 4


@pytest.mark.parametrize("fmt", [vs.YUV420P8, vs.YUV422P10, vs.GRAY16, vs.YUV444PS, vs.RGBH])
def test_stitch_keeps_the_format_and_the_luma_of_a_444_still(fmt):
    clip, _ = pan_clip(fmt=fmt)
    still = vo.stitch(clip)
    assert still.format.id == vs.core.get_video_format(fmt).id
    assert still.width % (1 << still.format.subsampling_w) == 0
    frame = still.get_frame(0)
    if still.format.color_family == vs.YUV and still.format.sample_type == vs.INTEGER:
        # Subsampling changes neither the alignment nor the luma: it matches a float 4:4:4 still.
        ref = np.asarray(vo.stitch(pan_clip(fmt=vs.YUV444PS)[0]).get_frame(0)[0])
        luma = np.asarray(frame[0], dtype=np.float32) / (1 << (still.format.bits_per_sample - 8))
        h, w = min(luma.shape[0], ref.shape[0]), min(luma.shape[1], ref.shape[1])
        expected = ref[:h, :w] * 219 + 16
        assert np.median(np.abs(luma[:h, :w] - expected)) < 0.6


@pytest.mark.parametrize("depth", [16, 32])
def test_depth_raises_precision(depth):
    clip, _ = pan_clip()
    still = vo.stitch(clip, depth=depth)
    assert still.format.bits_per_sample == depth
    base = np.asarray(vo.stitch(clip).get_frame(0)[1], dtype=np.float64)
    deep = np.asarray(still.get_frame(0)[1], dtype=np.float64)
    scaled = deep / 257 if depth == 16 else deep * 255
    assert np.abs(scaled - base).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("render", ["median", "min", "max"])
def test_other_renders(render):
    clip, _ = pan_clip()
    frame = vo.stitch(clip, render=render).get_frame(0)
    assert frame.props["OvrRender"] == render


def test_single_thread_core_does_not_deadlock():
    clip, _ = pan_clip(n=4)
    core = vs.core
    threads = core.num_threads
    core.num_threads = 1
    try:
        assert vo.stitch(vo.align(clip), render="median").get_frame(0).props["OvrFrames"] == 4
    finally:
        core.num_threads = threads


def test_bad_input_is_refused():
    clip, _ = pan_clip()
    with pytest.raises(vo.ClipTooShortError, match=r"at least 2 frames"):
        vo.stitch(clip[0])
    with pytest.raises(vo.InvalidArgumentError, match=re.escape("render must be one of")):
        vo.stitch(clip, render="mean")
    with pytest.raises(vo.InvalidArgumentError, match="depth must be None"):
        vo.stitch(clip, depth=8)
    with pytest.raises(vo.UnsupportedFormatError, match="mask must be a GRAY clip of the clip's size"):
        vo.stitch(clip, mask=vs.core.std.BlankClip(format=vs.GRAY8, width=10, height=10))
    with pytest.raises(vo.InvalidArgumentError, match="mask rectangles"):
        vo.estimate_pan(clip, mask=(0, 0, 5000, 10))
    with pytest.raises(vo.InvalidArgumentError, match="pan must be the Pan"):
        vo.stitch(clip[:4], pan=vo.estimate_pan(clip))


def test_flat_frames_raise_an_alignment_error():
    flat = vs.core.std.BlankClip(format=vs.GRAY8, width=120, height=90, length=4, color=[128])
    with pytest.raises(vo.AlignmentError, match=r"frames 1-3 are not connected to frame 0: they are flat"):
        vo.estimate_pan(flat)


def test_nan_in_a_float_clip_is_refused():
    clip, _ = pan_clip(fmt=vs.GRAYS)
    poisoned = clip.std.ModifyFrame(clip, _nan_frame)
    with pytest.raises(vo.UnsupportedFormatError, match="NaN"):
        vo.estimate_pan(poisoned)


def _nan_frame(n, f):
    out = f.copy()
    if n == 3:
        np.asarray(out[0])[5, 5] = np.nan
    return out


def test_mask_rectangle_and_non_translation_errors():
    clip, offsets = pan_clip()
    pan = vo.estimate_pan(clip, mask=[(150, 0, 50, 30)], non_translation="error")
    truth = truth_positions(offsets, K)
    assert np.abs(pan.x - truth[:, 0]).max() < 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vo.estimate_pan(clip, non_translation="warn")  # a pure translation: no warning


def test_steam_following_the_pan_removes_a_moving_bright_puff():
    clip, offsets = pan_clip(n=7, fmt=vs.GRAY8)

    def puff(n, f):
        out = f.copy()
        y, x = 30 + 10 * n, 40 + 15 * n
        plane = np.asarray(out[0])
        plane[y:y + 20, x:x + 20] = np.minimum(255, plane[y:y + 20, x:x + 20].astype(int) + 120)
        return out

    steamy = clip.std.ModifyFrame(clip, puff)
    # The hard-edged puff moves faster than the pan: it once won the coarse vote between phase peaks.
    pan = vo.estimate_pan(steamy)
    truth = truth_positions(offsets, K)
    assert np.abs(np.r_[pan.x - truth[:, 0], pan.y - truth[:, 1]]).max() < 0.02
    cleaned = vo.steam(steamy, tr=2, motion="global")
    static = vo.steam(steamy, tr=2)
    n = 3
    truth = np.asarray(clip.get_frame(n)[0], dtype=np.float32)[20:120, 20:180]
    follow = np.asarray(cleaned.get_frame(n)[0], dtype=np.float32)[20:120, 20:180]
    still_cam = np.asarray(static.get_frame(n)[0], dtype=np.float32)[20:120, 20:180]
    assert np.abs(follow - truth).mean() < 0.5 * np.abs(still_cam - truth).mean()
    assert np.abs(follow - truth)[40:60, 65:85].mean() < 0.25 * 120  # the puff (+120) is gone


def test_backends_agree_on_a_still(cupy):
    clip, _ = pan_clip(n=6, fmt=vs.YUV420P8, noise=2.0)
    reference = vo.stitch(clip, backend="numpy")
    still = vo.stitch(clip, backend="cupy")
    with reference.get_frame(0) as want, still.get_frame(0) as got:
        assert (got.width, got.height) == (want.width, want.height)
        for p in range(3):
            diff = np.abs(np.asarray(got[p], dtype=np.int32) - np.asarray(want[p], dtype=np.int32))
            assert diff.max() <= 1, p  # float sums in another order may round the other way


def test_stitch_steam_render_over_a_pan():
    from tests.steams import rgb_frames, steamy_shot, tuning_images

    shot = steamy_shot(tuning_images()[0], frames=12, size=(320, 180), motion="pan", crf=None)
    pan = vo.estimate_pan(shot.clip, non_translation="ignore")
    stills = {render: vo.stitch(shot.clip, render=render, pan=pan) for render in ("steam", "min")}
    frame = stills["steam"].get_frame(0)
    assert frame.props["OvrRender"] == "steam" and stills["steam"].format.id == shot.clip.format.id
    # the scene: the source reduced 3x from frame 0's crop; every frame covers columns 26..320, rows 8..180
    from tests.steams import _image, _reduced

    source = _image(tuning_images()[0])
    if source.shape[1] < 320 * 3 + 7 * 12:
        source = np.repeat(np.repeat(source, 2, axis=0), 2, axis=1)
    truth = _reduced(source[:180 * 3, :320 * 3], 3)[8:180, 26:320]
    scores = {r: psnr(rgb_frames(still)[0][8:180, 26:320], truth, 255.0) for r, still in stills.items()}
    assert scores["steam"] > scores["min"] + 0.3, scores


def test_stitch_colour_is_for_the_steam_render_only():
    clip, _ = pan_clip()
    with pytest.raises(vo.InvalidArgumentError, match=r"colour is for render='steam' only, got it with "
                                                      r"render='average'"):
        vo.stitch(clip, colour=[255, 255, 255])
