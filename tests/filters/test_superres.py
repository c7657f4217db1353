import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests.filters.test_stitch import pan_clip
from tests.pans import park_rgb
from vsovermix.ops.metrics import psnr


@pytest.fixture(autouse=True)
def _numpy_backend(monkeypatch):
    monkeypatch.setenv("VSOVERMIX_BACKEND", "numpy")


def test_superres_recovers_detail_no_single_frame_has():
    clip, offsets = pan_clip(n=7, fmt=vs.RGB24)
    clip = clip.std.SetFrameProps(_SARNum=1, _SARDen=1, Mark=7)
    big = vo.superres(clip, 2, tr=3)
    assert (big.width, big.height, big.num_frames, big.format.id) == (400, 288, 7, vs.RGB24)
    n = 3
    ox, oy = offsets[n]
    truth = park_rgb()[oy:oy + 288, ox:ox + 400].astype(np.float64)  # the frames are 2x box reductions of it

    def rgb(c, k):
        with c.get_frame(k) as f:
            return np.stack([np.asarray(f[p], dtype=np.float64) for p in range(3)], axis=-1), dict(f.props)

    ours, props = rgb(big, n)
    bicubic, _ = rgb(clip.resize.Bicubic(400, 288), n)
    inner = np.s_[8:-8, 8:-8]
    assert psnr(ours[inner], truth[inner]) > psnr(bicubic[inner], truth[inner]) + 5
    assert props["Mark"] == 7 and (props["_SARNum"], props["_SARDen"]) == (1, 1)


def test_psf_0_is_the_area_sensor_alone_which_an_exact_box_reduction_fits_best():
    # The default (0.2 px besides the area) suits encoded sources; frames that are exact 2x box reductions
    # have no such blur, and psf=0 models them exactly.
    clip, offsets = pan_clip(n=5, fmt=vs.RGB24)
    ox, oy = offsets[2]
    truth = park_rgb()[oy:oy + 288, ox:ox + 400].astype(np.float64)
    inner = np.s_[8:-8, 8:-8]
    scores = []
    for psf in (None, 0):
        with vo.superres(clip, 2, tr=2, psf=psf).get_frame(2) as f:
            ours = np.stack([np.asarray(f[p], dtype=np.float64) for p in range(3)], axis=-1)
        scores.append(psnr(ours[inner], truth[inner]))
    assert scores[1] > scores[0] + 0.1  # 3 dB in benchmarks/bench_superres.py (16 frames); less on 5


@pytest.mark.parametrize("fmt", [vs.RGB24, vs.YUV420P8])
def test_a_psf_sharpens_a_soft_source(fmt):
    clip, _ = pan_clip(n=3, fmt=vs.RGB24)
    soft = clip.std.Convolution([1, 2, 1, 2, 4, 2, 1, 2, 1])  # ~0.85 px Gaussian
    if fmt != vs.RGB24:  # the sigma is in luma px: subsampled chroma gets half of it
        soft = soft.resize.Bicubic(format=fmt, matrix_s="709")
    box = vo.superres(soft, 2, tr=1, iterations=10, psf=0)
    ours = vo.superres(soft, 2, tr=1, iterations=10, psf=0.8)
    with box.get_frame(1) as a, ours.get_frame(1) as b:
        for p in range(1 if fmt == vs.YUV420P8 else 3):  # a soft model puts back contrast the box leaves out
            sharpness = [np.abs(np.diff(np.asarray(f[p], dtype=np.float64), axis=1)).mean() for f in (a, b)]
            assert sharpness[1] > 1.05 * sharpness[0], p
        chroma = [np.asarray(f[2], dtype=np.float64) for f in (a, b)]
        assert chroma[1].shape == (clip.height * 2 >> (fmt == vs.YUV420P8), clip.width * 2 >> (fmt == vs.YUV420P8))
        assert np.abs(chroma[1] - chroma[0]).mean() > 0.1  # the last plane is solved with its PSF too


def test_frames_are_the_same_rendered_alone():
    clip, _ = pan_clip(n=5, fmt=vs.YUV420P8)
    in_order = [np.asarray(f[1]).copy() for f in vo.superres(clip, 2, tr=1, iterations=5).frames(close=True)]
    alone = vo.superres(clip, 2, tr=1, iterations=5)
    for n in (4, 0, 2):
        with alone.get_frame(n) as f:
            assert np.asarray(f[1]).shape == (clip.height, clip.width)  # 4:2:0 chroma at its own resolution, 2x
            np.testing.assert_array_equal(np.asarray(f[1]), in_order[n])


def test_a_frame_that_cannot_be_aligned_is_upscaled_alone_and_says_so():
    # A white frame in the middle of the pan: it cannot be aligned (before, the whole clip raised), so its
    # neighbours are solved without it and it is upscaled alone.
    from vsovermix.ops.superres import initial_estimate

    clip, _ = pan_clip(n=7, fmt=vs.GRAY8)
    clip = clip[:3] + clip.std.BlankClip(color=255, length=1) + clip[4:]
    big = vo.superres(clip, 2, tr=2, iterations=3)
    used = []
    for n in range(7):
        with big.get_frame(n) as f:
            used.append(f.props["OvrSrFrames"])
            if n == 3:
                alone = np.asarray(f[0], dtype=np.float64)
    assert used == [3, 3, 4, 1, 4, 3, 3]
    with clip.get_frame(3) as f:
        cubic = initial_estimate(np.asarray(f[0], dtype=np.float32) / 255, 2) * 255
    np.testing.assert_allclose(alone, np.clip(np.floor(cubic + 0.5), 0, 255), atol=1)


def test_backends_agree(cupy):
    clip, _ = pan_clip(n=4, fmt=vs.YUV420P16, noise=2.0)
    reference = vo.superres(clip, 2, tr=1, iterations=5, backend="numpy")
    ours = vo.superres(clip, 2, tr=1, iterations=5, backend="cupy")
    with reference.get_frame(1) as want, ours.get_frame(1) as got:
        assert got.props["OvrSrFrames"] == want.props["OvrSrFrames"] == 3
        for p in range(3):
            diff = np.abs(np.asarray(got[p], dtype=np.int32) - np.asarray(want[p], dtype=np.int32))
            assert diff.max() <= 2 * 257, p  # 2e-3 of the peak: float sums in another order


def test_a_solve_that_cannot_fit_is_refused_when_called(monkeypatch):
    from vsovermix.filters import superres as module

    clip, _ = pan_clip(n=3, fmt=vs.GRAY8)
    monkeypatch.setattr(module, "available_host_bytes", lambda: 10 << 20)
    vo.superres(clip, 2, tr=1)  # 200x144 at 2x from 3 frames: about 6 MB
    message = r"one 800x576 frame at 4x from 3 frames needs about 2\d\d MiB of host memory, 10 MiB is available"
    with pytest.raises(vo.InsufficientMemoryError, match=message + "; lower scale or tr"):
        vo.superres(clip.resize.Bicubic(800, 576), 4, tr=1)


def test_bad_arguments_are_refused():
    clip, _ = pan_clip(n=3, fmt=vs.GRAY8)
    with pytest.raises(vo.InvalidArgumentError, match=r"scale must be in \[2, 4\], got 5"):
        vo.superres(clip, 5)
    with pytest.raises(vo.InvalidArgumentError, match="tr must be in"):
        vo.superres(clip, 2, tr=0)
    with pytest.raises(vo.ArgumentTypeError, match="robust must be bool"):
        vo.superres(clip, 2, robust="yes")
    with pytest.raises(vo.ClipTooShortError, match="at least 2 frames"):
        vo.superres(clip[0], 2)
    with pytest.warns(RuntimeWarning, match=r"tr=4 reaches beyond both ends of a 3-frame clip: .* pass tr=2 or less"
                      ) as caught:
        wide = vo.superres(clip, 2, iterations=2)
    assert caught[0].filename == __file__  # it points at the user's call
    with wide.get_frame(2) as f:  # the window wider than the clip (a VapourSynth Trim error before)
        assert f.props["OvrSrFrames"] == 3
    with pytest.raises(vo.InvalidArgumentError, match=r"psf as a Gaussian sigma must be in \[0, 3\] input px, got -1"):
        vo.superres(clip, 2, psf=-1)
    with pytest.raises(vo.InvalidArgumentError, match="psf must be None, a Gaussian sigma in input px, or a 2-D"):
        vo.superres(clip, 2, psf=[[1, 1], [1, 1]])
    with pytest.raises(vo.InvalidArgumentError, match="psf is for render='sr' only"):
        vo.stitch(clip, psf=0.5)


def test_stitch_render_sr_super_resolves_the_whole_scene():
    clip, offsets = pan_clip(n=6, fmt=vs.RGB24)
    pan = vo.estimate_pan(clip)
    sr = vo.stitch(clip, render="sr", pan=pan)
    average = vo.stitch(clip, render="average", pan=pan)
    assert (sr.width, sr.height) == (2 * average.width, 2 * average.height)
    with sr.get_frame(0) as f:
        ours, props = np.asarray(f[1], dtype=np.float64), dict(f.props)
        covered = np.asarray(props["_Alpha"][0]) > 0
    with average.resize.Bicubic(sr.width, sr.height).get_frame(0) as f:
        upscaled = np.asarray(f[1], dtype=np.float64)
    assert props["OvrScale"] == 2 and props["OvrRender"] == "sr"
    ox, oy = offsets[0] + 2 * np.array([int(props["OvrOriginX"]), int(props["OvrOriginY"])])
    truth = park_rgb()[oy:oy + sr.height, ox:ox + sr.width, 1].astype(np.float64)  # green, 2x the frames
    h, w = truth.shape
    from scipy.ndimage import binary_erosion

    inside = binary_erosion(covered[:h, :w], iterations=10)

    assert psnr(ours[:h, :w][inside], truth[inside]) > psnr(upscaled[:h, :w][inside], truth[inside]) + 5
    with pytest.raises(vo.InvalidArgumentError, match=r"scale must be in \[2, 4\]"):
        vo.stitch(clip, render="sr", scale=8, pan=pan)
