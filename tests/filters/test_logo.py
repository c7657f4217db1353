"""vo.estimate_logo and vo.delogo on clips with a known logo: estimates, removal, formats, files, errors."""

import functools
import random
import struct

import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests.logos import logo_clips, pan_offsets, random_offsets, true_alpha
from vsovermix._png import read_png, write_png
from vsovermix._vs.frames import clip_from_planes
from vsovermix.ops.metrics import psnr

SMALL = (320, 180)
SMALL_AT = (180, 12)  # the logo's top-left in the small frames
PAN = (640, 360)
PAN_AT = (500, 16)
LOGO_ROWS, LOGO_COLS = slice(12, 54), slice(180, 300)


@functools.cache
def varied(fmt=vs.RGB24, count=160):
    return logo_clips(random_offsets(count, SMALL), SMALL, SMALL_AT, fmt)


@functools.cache
def varied_logo():
    return vo.estimate_logo(varied()[0])


@functools.cache
def panned():
    return logo_clips(pan_offsets(40), PAN, PAN_AT)


def planes(clip, n):
    f = clip.get_frame(n)
    return np.stack([np.asarray(f[p]) for p in range(f.format.num_planes)], axis=-1).astype(np.float64)


def test_estimate_finds_the_logo_and_its_alpha():
    logo = varied_logo()
    x, y, w, h = logo.box
    assert x <= SMALL_AT[0] + 8 and y <= SMALL_AT[1] + 4 and x + w >= SMALL_AT[0] + 112 and y + h >= SMALL_AT[1] + 38
    truth = true_alpha(SMALL, SMALL_AT)
    error = np.abs(logo.alpha_map() - truth)
    assert error[truth > 0].mean() < 0.02


def test_delogo_restores_the_picture_and_leaves_the_rest_alone():
    clip, truth = varied()
    out = vo.delogo(clip, varied_logo())
    x, y, w, h = varied_logo().box
    for n in (0, 7, 100):
        got, want, before = planes(out, n), planes(truth, n), planes(clip, n)
        assert psnr(got[LOGO_ROWS, LOGO_COLS], want[LOGO_ROWS, LOGO_COLS], 255) > 32.0
        assert psnr(got[LOGO_ROWS, LOGO_COLS], want[LOGO_ROWS, LOGO_COLS], 255) > \
            psnr(before[LOGO_ROWS, LOGO_COLS], want[LOGO_ROWS, LOGO_COLS], 255) + 18
        outside = np.ones(SMALL[::-1], bool)
        outside[y:y + h, x:x + w] = False
        assert np.array_equal(got[outside], before[outside])
    props = out.get_frame(3).props  # the strokes (alpha 0.9) are de-blended by default, filled above max_alpha
    assert props["OvrLogoStrength"] == 1.0 and props["OvrLogoFilled"] == 0.0
    assert 0.0 < vo.delogo(clip, varied_logo(), max_alpha=0.85).get_frame(3).props["OvrLogoFilled"] < 0.3


def test_on_a_pan_frames_that_saw_the_spot_clear_restore_it():
    clip, truth = panned()
    logo = vo.estimate_logo(clip, motion="global")
    truth_alpha = true_alpha(PAN, PAN_AT)
    assert np.abs(logo.alpha_map() - truth_alpha)[truth_alpha > 0].mean() < 0.006
    out = vo.delogo(clip, logo, motion="global", tr=8)
    rows, cols = slice(16, 58), slice(500, 620)
    for n in (12, 20):
        assert psnr(planes(out, n)[rows, cols], planes(truth, n)[rows, cols], 255) > 50.0
    order = [20, 3, 35, 12]
    random.Random(0).shuffle(order)
    seeking = {n: planes(out, n) for n in order}
    linear = vo.delogo(clip, logo, motion="global", tr=8)
    for n in sorted(order):
        assert np.array_equal(seeking[n], planes(linear, n))


def test_delogo_estimating_on_a_pan_measures_the_pan_once(monkeypatch):
    from vsovermix.filters import align, logo

    calls = []
    measure = align.compute_pan

    def counted(*args, **kwargs):
        calls.append(args[0])
        return measure(*args, **kwargs)

    monkeypatch.setattr(align, "compute_pan", counted)
    monkeypatch.setattr(logo, "compute_pan", counted)
    clip, _ = panned()
    out = vo.delogo(clip, motion="global", tr=2, backend="numpy")
    for n in (0, 5):
        out.get_frame(n)
    assert len(calls) == 1


@pytest.mark.parametrize("fmt", [vs.YUV420P8, vs.YUV444P16, vs.GRAY16, vs.RGBS, vs.YUV422PH])
def test_formats(fmt):
    clip, truth = varied(fmt, 96)
    out = vo.delogo(clip)
    assert out.format.id == clip.format.id and out.num_frames == clip.num_frames
    peak = 1.0 if clip.format.sample_type == vs.FLOAT else (1 << clip.format.bits_per_sample) - 1
    for p in range(clip.format.num_planes):
        ss_w, ss_h = (clip.format.subsampling_w, clip.format.subsampling_h) if p else (0, 0)
        region = (slice(LOGO_ROWS.start >> ss_h, LOGO_ROWS.stop >> ss_h),
                  slice(LOGO_COLS.start >> ss_w, LOGO_COLS.stop >> ss_w))
        got, want, before = (np.asarray(c.get_frame(5)[p], np.float64)[region] for c in (out, truth, clip))
        assert psnr(got, want, peak) > psnr(before, want, peak) + 8


def test_saved_logo_reloads_as_rgba_png_and_works_on_another_format(tmp_path):
    logo = varied_logo()
    path = logo.save(tmp_path / "station.png")
    image = read_png(path)
    assert image.shape == (SMALL[1], SMALL[0], 4) and image.dtype == np.uint16
    with pytest.raises(FileExistsError):
        logo.save(path)
    clip, truth = varied(vs.YUV444P16, 96)
    out = vo.delogo(clip, path)
    got, want = planes(out, 4), planes(truth, 4)
    assert psnr(got[LOGO_ROWS, LOGO_COLS, 0], want[LOGO_ROWS, LOGO_COLS, 0], 65535) > 34.0


def test_fade_measures_and_removes_a_half_strength_logo():
    logo = varied_logo()
    half = logo_clips(random_offsets(4, SMALL, seed=9), SMALL, SMALL_AT)
    faded = vs.core.std.Merge(half[1], half[0], 0.5)  # the logo at half strength over new pictures
    out = vo.delogo(faded, logo, fade=True)
    strength = out.get_frame(1).props["OvrLogoStrength"]
    assert strength == pytest.approx(0.5, abs=0.08)
    assert psnr(planes(out, 1)[LOGO_ROWS, LOGO_COLS], planes(half[1], 1)[LOGO_ROWS, LOGO_COLS], 255) > 34.0
    backwards = vo.delogo(faded, logo, fade=True)  # the cached fills must not depend on the render order
    reversed_frames = {n: planes(backwards, n) for n in (3, 2, 1, 0)}
    for n in range(4):
        assert np.array_equal(planes(out, n), reversed_frames[n])


def test_bad_input_is_refused_with_a_fix(tmp_path):
    clip, truth = varied()
    with pytest.raises(vo.InvalidArgumentError, match="region must be"):
        vo.estimate_logo(clip, region=(300, 0, 100, 50))
    with pytest.raises(vo.InvalidArgumentError, match="motion must be"):
        vo.delogo(clip, varied_logo(), motion="pan")
    with pytest.raises(vo.InvalidArgumentError, match="max_alpha"):
        vo.delogo(clip, varied_logo(), max_alpha=1.0)
    with pytest.raises(vo.ClipTooShortError, match="at least 8 frames"):
        vo.estimate_logo(clip[:5])
    with pytest.raises(vo.InvalidArgumentError, match="no static overlay"):
        vo.estimate_logo(truth)
    with pytest.raises(vo.InvalidArgumentError, match=r"does not change|hardly changes|stay put"):
        vo.estimate_logo(clip[0] * 20)
    with pytest.raises(vo.InvalidArgumentError, match="hardly changes"):
        vo.estimate_logo(clip[0] * 20, region=(170, 4, 140, 60))
    small = tmp_path / "small.png"
    write_png(small, np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(vo.InvalidArgumentError, match="frame's size"):
        vo.delogo(clip, small)
    opaque = tmp_path / "rgb.png"
    write_png(opaque, np.zeros((SMALL[1], SMALL[0], 3), np.uint8))
    with pytest.raises(vo.InvalidArgumentError, match="no alpha channel"):
        vo.delogo(clip, opaque)
    with pytest.raises(vo.UnsupportedFormatError, match="estimated on"):
        vo.delogo(varied(vs.YUV420P8, 96)[0], varied_logo())
    with pytest.raises(vo.ArgumentTypeError, match="logo must be"):
        vo.delogo(clip, 3)
    with pytest.raises(vo.InvalidArgumentError, match="pan must be the Pan"):
        vo.estimate_logo(clip, motion="global", pan="measured")


# An AviUtl logo file written by hand from the format (not by vsovermix), for the reader to be checked against.
LGD_AT, LGD_SIZE = (40, 20), (48, 24)


def handmade_lgd(path, version=1, name="station", at=LGD_AT):
    """Two logos: a decoy first in the file only when ``version`` is 2 (name picks); opacities differ per plane."""
    w, h = LGD_SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    inside = (xx >= 4) & (xx < w - 4) & (yy >= 4) & (yy < h - 4)
    dp_y = np.where(inside, 300 + 10 * (xx % 30), 0)  # 30 % .. 59 %
    dp_c = np.where(inside, 250, 0)
    pixels = np.stack([dp_y, np.full_like(dp_y, 3800), dp_c, np.full_like(dp_y, -900), dp_c,
                       np.full_like(dp_y, 700)], axis=-1).astype("<i2")
    name_size, reserved = (32, b"") if version == 1 else (256, bytes(240))
    header = (f"<logo data file ver0.{version}>".encode().ljust(28, b"\0"))

    def one(label):
        return (label.encode().ljust(name_size, b"\0") + struct.pack("<8h", at[0], at[1], h, w, 0, 0, 0, 0)
                + reserved + pixels.tobytes())
    logos = [one(name)] if version == 1 else [one("decoy"), one(name)]
    path.write_bytes(header + struct.pack(">I", len(logos)) + b"".join(logos))
    return dp_y / 1000.0, dp_c / 1000.0, (3800 / 4096, -900 / 4096, 700 / 4096)


def lgd_clip(alpha_y, alpha_c, colour, fmt=vs.YUV444P16, count=6):
    """YUV444 frames of the park (BT.601 limited) with the logo blended as AviUtl's delogo model says."""
    rgb = logo_clips(random_offsets(count, (128, 64), seed=3), (128, 64), (0, 0),
                     logo=(np.zeros((1, 1)), np.zeros((1, 1, 3))))[1]
    truth = rgb.resize.Bicubic(format=fmt, matrix_s="170m")
    x, y = LGD_AT
    h, w = alpha_y.shape
    peak_step = 1 << (vs.core.get_video_format(fmt).bits_per_sample - 8)
    frames = []
    for n in range(count):
        f = truth.get_frame(n)
        planes_ = []
        for p, (alpha, offset, scale) in enumerate(((alpha_y, 16, 219), (alpha_c, 128, 224), (alpha_c, 128, 224))):
            values = np.asarray(f[p], np.float64)
            units = (values[y:y + h, x:x + w] / peak_step - offset) / scale
            units = (1 - alpha) * units + alpha * colour[p]
            values[y:y + h, x:x + w] = np.round((units * scale + offset) * peak_step)
            planes_.append(values)
        frames.append(planes_)
    return clip_from_planes(frames, fmt), truth


@pytest.mark.parametrize("version", [1, 2])
def test_aviutl_lgd_logo_loads_and_comes_off(tmp_path, version):
    path = tmp_path / "station.lgd"
    alpha_y, alpha_c, colour = handmade_lgd(path, version)
    clip, truth = lgd_clip(alpha_y, alpha_c, colour)
    logo = vo.load_logo(clip, path, name="station")
    x, y, w, h = logo.box
    assert x <= LGD_AT[0] + 4 and y <= LGD_AT[1] + 4 and x + w >= LGD_AT[0] + 44 and y + h >= LGD_AT[1] + 20
    assert np.allclose(logo.alpha_map()[LGD_AT[1]:LGD_AT[1] + 24, LGD_AT[0]:LGD_AT[0] + 48], alpha_y)
    out = vo.delogo(clip, logo) if version == 2 else vo.delogo(clip, str(path))
    for p in range(3):
        got, want, before = (np.asarray(c.get_frame(2)[p], np.float64)[20:44, 40:88] for c in (out, truth, clip))
        assert psnr(got, want, 65535) > 70.0 > psnr(before, want, 65535)


def test_logo_saved_as_lgd_reloads_the_same(tmp_path):
    path = tmp_path / "handmade.lgd"
    clip = lgd_clip(*handmade_lgd(path))[0]
    logo = vo.load_logo(clip, path)
    again = vo.load_logo(clip, logo.save(tmp_path / "again.lgd"))
    assert again.box == logo.box
    for p in range(3):
        assert np.abs(again.gain[p] - logo.gain[p]).max() < 0.6e-3
        assert np.abs(again.offset[p] - logo.offset[p]).max() < 0.2e-3
    rgb_logo = varied_logo()  # an RGB logo goes out as BT.601 YCbCr and comes back the same
    rgb_again = vo.load_logo(varied()[0], rgb_logo.save(tmp_path / "rgb.lgd"))
    assert np.abs(rgb_again.alpha_map() - rgb_logo.alpha_map()).max() < 0.6e-3
    seen = rgb_logo.alpha_map() > 0.05  # where the colour is defined well enough to survive 1/4096 steps
    assert np.abs(rgb_again.rgba() - rgb_logo.rgba())[seen].max() < 0.01
    with pytest.raises(FileExistsError):
        logo.save(tmp_path / "again.lgd")


def test_bad_lgd_files_are_refused_with_a_fix(tmp_path):
    path = tmp_path / "station.lgd"
    clip = lgd_clip(*handmade_lgd(path))[0]
    with pytest.raises(vo.InvalidArgumentError, match="no logo named 'other'"):
        vo.load_logo(clip, path, name="other")
    with pytest.raises(vo.InvalidArgumentError, match="another frame size"):
        vo.load_logo(clip.std.Crop(right=60), path)
    damaged = tmp_path / "damaged.lgd"
    damaged.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(vo.InvalidArgumentError, match=r"damaged AviUtl logo file.*truncated"):
        vo.delogo(clip, damaged)
    with pytest.raises(vo.InvalidArgumentError, match="cannot be read"):
        vo.load_logo(clip, tmp_path / "missing.lgd")
    png = varied_logo().save(tmp_path / "station.png")
    with pytest.raises(vo.InvalidArgumentError, match="leave name out"):
        vo.load_logo(varied()[0], png, name="station")
    with pytest.raises(vo.ArgumentTypeError, match="name"):
        vo.load_logo(clip, path, name=3)


def test_backends_agree(cupy):
    clip = varied(vs.YUV420P8, 96)[0]
    logos = {b: vo.estimate_logo(clip, backend=b) for b in ("numpy", "cupy")}
    assert np.abs(logos["cupy"].alpha_map() - logos["numpy"].alpha_map()).max() < 1e-4
    for source, motion in ((clip, None), (panned()[0], "global")):
        logo = logos["numpy"] if motion is None else vo.estimate_logo(source, motion=motion, backend="numpy")
        outs = {b: vo.delogo(source, logo, motion=motion, backend=b) for b in ("numpy", "cupy")}
        for n in (0, 9):
            got, want = planes(outs["cupy"], n), planes(outs["numpy"], n)
            assert np.abs(got - want).max() <= 2 and np.abs(got - want).mean() < 0.05


def test_on_a_pan_a_never_changing_background_gets_the_neighbours_alpha():
    # The regression learnt the pixels around a patch whose background never changed (every frame shows
    # 0.5 there): no spread, so no slope, and the statistics said gain 0 (opaque). The gain comes from
    # around the patch; the offset is fitted to what the other frames saw, so the de-blend gives 0.5 back.
    from vsovermix.filters.logo import _pool_estimates

    patch = (slice(4, 8), slice(4, 8))
    backgrounds = np.broadcast_to(np.linspace(0.2, 0.8, 10)[:, None, None], (10, 12, 12)).copy()
    backgrounds[(slice(None), *patch)] = 0.5
    observed = 0.6 * backgrounds + 0.2
    slope_error = np.full((12, 12), 0.003)
    slope_error[patch] = np.inf
    gain, offset = np.full((12, 12), 0.6), np.full((12, 12), 0.2)
    gain[patch], offset[patch] = 0.0, 0.45  # the statistics' guess where the spread is zero
    pooled_gain, pooled_offset = _pool_estimates(gain, slope_error, gain, offset, observed, backgrounds)
    assert np.allclose(pooled_gain, 0.6, atol=1e-6) and np.allclose(pooled_offset, 0.2, atol=1e-6)
    backgrounds[(slice(0, 8), *patch)] = np.nan  # seen in too few frames: the offset is interpolated as well
    assert np.allclose(_pool_estimates(gain, slope_error, gain, offset, observed, backgrounds)[1], 0.2, atol=1e-6)


def test_pooled_gains_are_closer_to_the_truth_and_keep_the_logo_edge():
    # Two regions of one alpha each (a stroke in a badge), gains regressed with noise of known standard
    # error. Pooling by precision along the guide's regions cuts the noise; the edge between them stays.
    from vsovermix.ops.logo import smooth_gain

    rng = np.random.default_rng(3)
    truth = np.full((30, 40), 0.65)
    truth[:, 20:] = 0.1
    guide = 0.3 + 0.5 * (1 - truth)  # the box's temporal mean shows the stroke
    slope_error = rng.uniform(0.005, 0.02, truth.shape)
    noisy = truth + rng.normal(0, 1, truth.shape) * slope_error
    pooled = smooth_gain(noisy, slope_error, guide, np.zeros_like(truth))
    assert np.abs(pooled - truth).mean() < 0.4 * np.abs(noisy - truth).mean()
    assert np.abs(pooled[:, 19] - 0.65).max() < 0.02 and np.abs(pooled[:, 20] - 0.1).max() < 0.02


def test_a_subpixel_noisy_x264_pan_gives_the_logo_and_the_picture_back():
    # The demo's pan (frames at thirds of a pixel, noise, 4:2:0, x264) over flat drawn areas: behind most
    # logo pixels the background changes little, so each pixel's own regression is noisy (alpha error
    # 0.12 before its gains were pooled with their neighbours).
    from vsovermix._logo_art import make_logo
    from vsovermix.demo import logo_pan_clip

    clip, truth, (x, y, w, h) = logo_pan_clip(frames=40)
    logo = vo.estimate_logo(clip, motion="global")
    alpha = np.zeros(logo.alpha.shape)
    alpha[y - logo.box[1]:y - logo.box[1] + h, x - logo.box[0]:x - logo.box[0] + w] = make_logo(w, h)[0]
    assert np.abs(logo.alpha - alpha).mean() < 0.025
    out = vo.delogo(clip, logo, motion="global")
    box = (slice(None), slice(y, y + h), slice(x, x + w))
    got = np.stack([np.asarray(out.get_frame(n)[0], np.float64) for n in (5, 20, 35)])[box]
    want = np.stack([np.asarray(truth.get_frame(n)[0], np.float64) for n in (5, 20, 35)])[box]
    assert psnr(got, want, 255) > 39  # the frames' own noise (sigma 2) stays: 33 dB before pooling
