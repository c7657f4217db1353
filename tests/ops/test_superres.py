import numpy as np
import pytest

from tests.telecine_clips import DETAIL
from vsovermix._png import read_png
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.superres import Psf, SrSettings, adjoint, forward, initial_estimate, super_resolve


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.375, -1.25), (-2.5, 3.125), (7.9, 0.1)])
def test_adjoint_is_the_transpose(scale, offset):
    rng = np.random.default_rng(scale)
    x = rng.random((24 * scale, 30 * scale)).astype(np.float32)
    y = rng.random((24, 30)).astype(np.float32)
    left = float(np.vdot(forward(x, offset, scale).astype(np.float64), y))
    right = float(np.vdot(x.astype(np.float64), adjoint(y, offset, scale)))
    assert left == pytest.approx(right, rel=1e-5)


@pytest.mark.parametrize("psf", [Psf.gaussian(1.5, 0.8), Psf(np.array([[0, 0.1, 0], [0.2, 0.4, 0.1], [0, 0.2, 0]]))])
def test_adjoint_holds_with_a_psf(psf):
    rng = np.random.default_rng(3)
    x = rng.random((48, 60)).astype(np.float32)
    y = rng.random((24, 30)).astype(np.float32)
    offset = (0.375, -1.25)
    left = float(np.vdot(forward(x, offset, 2, psf=psf).astype(np.float64), y))
    right = float(np.vdot(x.astype(np.float64), adjoint(y, offset, 2, psf=psf)))
    assert left == pytest.approx(right, rel=1e-5)
    assert (psf.separable is None) == (psf.kernel[0, 0] == 0)  # the Gaussian runs as two 1-D passes


def test_forward_model_is_the_area_sensor():
    # A frame at offset (1, 2) low-res px is the box reduction of the high-res image moved by (2, 4).
    x = np.random.default_rng(0).random((40, 40)).astype(np.float32)
    expected = box_reduce(np.ascontiguousarray(x[4:, 2:]), 2)
    np.testing.assert_allclose(forward(x, (1.0, 2.0), 2)[:18, :19], expected[:18, :19], atol=1e-6)


def pan(count=12, noise=2.0, outliers=(), soft=0.0, scale=2):
    """Frames box-reduced 8x from the bundled drawing at 1/8 px offsets, and the truth at ``scale``: the
    drawing reduced ``8 / scale`` times.

    ``soft``: the drawing is blurred by a Gaussian of that many frame px before the reduction (the truth
    stays sharp)."""
    rgb = read_png(DETAIL)[:, :, :3].astype(np.float32)
    luma = (rgb[..., 0] + 2 * rgb[..., 1] + rgb[..., 2]) / (4 * 255)
    sharp = luma
    if soft:
        from scipy.ndimage import gaussian_filter

        luma = gaussian_filter(luma, 8 * soft, mode="nearest")
    rng = np.random.default_rng(1)
    offsets = rng.integers(0, 24, (count, 2))
    offsets[0] = 0
    w, h = 96, 72
    frames = []
    for k, (ox, oy) in enumerate(offsets):
        f = box_reduce(np.ascontiguousarray(luma[40 + oy:40 + oy + 8 * h, 40 + ox:40 + ox + 8 * w]), 8)
        f = np.clip(np.floor(f * 255 + rng.normal(0, noise, f.shape) + 0.5), 0, 255) / 255
        if k in outliers:  # a mouth-sized patch that changes in these frames only
            f[30:44, 40:56] = 0.1
        frames.append(f.astype(np.float32))
    truth = box_reduce(np.ascontiguousarray(sharp[40:40 + 8 * h, 40:40 + 8 * w]), 8 // scale)
    return frames, [(ox / 8, oy / 8) for ox, oy in offsets], truth


def inner_psnr(image, truth):
    return psnr(image[8:-8, 8:-8], truth[8:-8, 8:-8], peak=1.0)


def test_sixteen_shifted_frames_beat_bicubic_by_far():
    frames, offsets, truth = pan()
    bicubic = inner_psnr(initial_estimate(frames[0], 2), truth)
    robust = inner_psnr(super_resolve(frames, offsets, 2), truth)
    plain = inner_psnr(super_resolve(frames, offsets, 2, SrSettings(robust=False)), truth)
    assert robust > bicubic + 6 and plain > bicubic + 6
    assert robust > plain - 0.5  # the robust term costs little on clean data


def test_a_psf_recovers_a_soft_source():
    # A source blurred by sigma 0.5 frame px: the box model alone stays soft (35.6 dB when measured), the
    # matching Gaussian gains 4.4 dB.
    frames, offsets, truth = pan(noise=1.0, soft=0.5)
    box = inner_psnr(super_resolve(frames, offsets, 2), truth)
    matched = inner_psnr(super_resolve(frames, offsets, 2, SrSettings(psf=Psf.gaussian(1.0))), truth)
    assert matched > box + 3


def test_robust_term_outvotes_a_local_change():
    frames, offsets, truth = pan(outliers=(3, 7))
    robust = inner_psnr(super_resolve(frames, offsets, 2), truth)
    plain = inner_psnr(super_resolve(frames, offsets, 2, SrSettings(robust=False)), truth)
    assert robust > plain + 2


def test_four_times_keeps_its_gain_and_outvotes_a_local_change():
    # The prior's weight falls with scale^2 (SrSettings.prior_weight); one weight for every scale
    # over-smoothed 4x: +6.9 dB over bicubic here when measured, against +8.5 now.
    frames, offsets, truth = pan(count=16, scale=4)
    bicubic = inner_psnr(initial_estimate(frames[0], 4), truth)
    assert inner_psnr(super_resolve(frames, offsets, 4), truth) > bicubic + 8
    frames, offsets, truth = pan(count=16, outliers=(3, 7), scale=4)
    robust = inner_psnr(super_resolve(frames, offsets, 4), truth)
    plain = inner_psnr(super_resolve(frames, offsets, 4, SrSettings(robust=False)), truth)
    assert robust > plain + 2


@pytest.mark.parametrize("psf", [None, Psf.gaussian(0.4)])
def test_line_art_neither_rings_nor_darkens(psf):
    # Black strokes on white, 16 frames 4x reduced at 1/4 px steps. Unclamped, the descent overshot the
    # truth's local range by up to 69 8-bit values (99.9th percentile 37 with this PSF).
    from scipy.ndimage import maximum_filter, minimum_filter

    art = read_png(DETAIL.parent / "lineart_crop.png")[:, :, 0].astype(np.float32) / 255
    offsets = np.random.default_rng(4).integers(0, 8, (16, 2))
    offsets[0] = 0
    frames = [np.floor(box_reduce(np.ascontiguousarray(art[oy:oy + 480, ox:ox + 640]), 4) * 255 + 0.5) / 255
              for ox, oy in offsets]
    truth = box_reduce(np.ascontiguousarray(art[:480, :640]), 2)
    out = super_resolve(frames, [(ox / 4, oy / 4) for ox, oy in offsets], 2, SrSettings(psf=psf))
    inner = np.s_[8:-8, 8:-8]
    overshoot = (np.maximum(out - maximum_filter(truth, 3), 0) + np.maximum(minimum_filter(truth, 3) - out, 0))[inner]
    assert np.percentile(overshoot, 99.9) * 255 < 16 and overshoot.max() * 255 < 32
    strokes = truth[inner] < 0.5
    assert abs((out[inner] - truth[inner])[strokes].mean()) * 255 < 2  # strokes neither darker nor paler
    assert inner_psnr(out, truth) > 36


@pytest.mark.parametrize("robust", [True, False])
def test_backends_agree(cupy, robust):
    # The CuPy path runs the same iterations as four fused kernels (_cuda/kernels/superres.cu).
    from tests.conftest import to_numpy

    frames, offsets, _ = pan(count=4)
    settings = SrSettings(iterations=5, robust=robust)
    want = super_resolve(frames, offsets, 2, settings)
    got = to_numpy(super_resolve([cupy.asarray(f) for f in frames], offsets, 2, settings))
    np.testing.assert_allclose(got, want, atol=2e-3)
    x = np.random.default_rng(1).random((48, 64)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(forward(cupy.asarray(x), (0.6, -1.3), 2)), forward(x, (0.6, -1.3), 2),
                               atol=1e-5)


@pytest.mark.parametrize(("scale", "psf"), [(3, None), (4, None), (2, Psf.gaussian(1.2)),
                                           (2, Psf(np.array([[0, 0.2, 0], [0.2, 0.2, 0.2], [0, 0.2, 0]])))])
def test_backends_agree_on_frames_of_other_sizes(cupy, scale, psf):
    # As superres_canvas solves a band: a given start, frames of several sizes partly outside it.
    from tests.conftest import to_numpy

    frames, offsets, _ = pan(count=5)
    frames = [f[: 60 - 6 * k, : 90 - 4 * k] for k, f in enumerate(frames)]
    offsets = [(ox - 2.0, oy + 1.5) for ox, oy in offsets]
    start = np.random.default_rng(2).random((50 * scale, 80 * scale)).astype(np.float32)
    settings = SrSettings(iterations=4, psf=psf)
    want = super_resolve(frames, offsets, scale, settings, initial=start)
    got = to_numpy(super_resolve([cupy.asarray(f) for f in frames], offsets, scale, settings,
                                 initial=cupy.asarray(start)))
    np.testing.assert_allclose(got, want, atol=2e-3)


@pytest.mark.parametrize("scale", [2, 3])
def test_batched_kernels_are_the_model_and_its_transpose(cupy, scale):
    # The GPU's forward (sr_residual on zero frames) is the NumPy forward inside each frame's fitted
    # rectangle, and its spread, finished by block_sums_adjoint, is its transpose: <M A x, y> == <x, A^T M y>.
    from tests.conftest import to_numpy
    from vsovermix._cuda.superres import FrameBatch
    from vsovermix.ops.superres import AxisTaps, block_sums, block_sums_adjoint, footprint_bounds

    rng = np.random.default_rng(scale)
    shape = (30 * scale, 40 * scale)
    frame_shapes = [(30, 40), (26, 33), (20, 40)]
    offsets = [(0.0, 0.0), (1.375, -0.5), (-2.25, 3.125)]
    taps = [(AxisTaps.of(o[0], scale), AxisTaps.of(o[1], scale)) for o in offsets]
    bounds = [footprint_bounds(shape, f, o, scale) for f, o in zip(frame_shapes, offsets, strict=True)]
    batch = FrameBatch([cupy.zeros(f, cupy.float32) for f in frame_shapes], taps, bounds, shape, scale)
    x = rng.random(shape).astype(np.float32)
    sums = cupy.empty(batch.sums_shape, cupy.float32)
    batch.block_sums(cupy.asarray(x), sums)
    np.testing.assert_allclose(to_numpy(sums), block_sums(x, scale), rtol=1e-6)
    predicted = cupy.empty_like(batch.stack)
    batch.residual(sums, predicted, 0.0)
    inside = np.zeros(batch.stack.shape, bool)
    for k, ((top, bottom, left, right), size) in enumerate(zip(bounds, frame_shapes, strict=True)):
        inside[k, top:bottom, left:right] = True
        want = np.where(inside[k, :size[0], :size[1]], forward(x, offsets[k], scale, size), 0.0)
        np.testing.assert_allclose(to_numpy(predicted[k, :size[0], :size[1]]), want, atol=1e-5)
    y = np.where(inside, rng.random(inside.shape), 0.0).astype(np.float32)
    spread = cupy.empty(batch.sums_shape, cupy.float32)
    batch.spread(cupy.asarray(y), spread)
    left = float(np.vdot(to_numpy(predicted).astype(np.float64), y))
    right = float(np.vdot(x.astype(np.float64), block_sums_adjoint(to_numpy(spread), scale)))
    assert left == pytest.approx(right, rel=1e-5)


@pytest.mark.parametrize(("frame_shape", "offset"), [((10, 14), (3.25, 2.5)), ((30, 40), (-4.5, 1.0))])
def test_adjoint_holds_for_frames_of_another_size(frame_shape, offset):
    rng = np.random.default_rng(7)
    x = rng.random((40, 50)).astype(np.float32)
    y = rng.random(frame_shape).astype(np.float32)
    left = float(np.vdot(forward(x, offset, 2, frame_shape).astype(np.float64), y))
    right = float(np.vdot(x.astype(np.float64), adjoint(y, offset, 2, x.shape)))
    assert left == pytest.approx(right, rel=1e-5)


def test_canvas_bands_agree_with_one_band():
    from vsovermix.ops.stitch import plan_canvas
    from vsovermix.ops.superres import superres_canvas

    frames, offsets, _ = pan(count=6)
    h, w = frames[0].shape
    canvas = plan_canvas([o[0] for o in offsets], [o[1] for o in offsets], w, h)
    placements = [canvas.placement(x, y, w, h, 0, 0, "cubic") for x, y in offsets]
    initial = np.full((canvas.height, canvas.width), np.nan, np.float32)
    initial[:h, :w] = frames[0]
    settings = SrSettings(iterations=10)
    whole = superres_canvas(lambda i: frames[i], placements, initial, 2, settings, band_rows=1000)
    banded = superres_canvas(lambda i: frames[i], placements, initial, 2, settings, band_rows=16)
    inside = ~np.isnan(whole)
    assert np.isnan(banded).sum() == np.isnan(whole).sum()
    assert np.abs(banded[inside] - whole[inside]).mean() < 2e-3


@pytest.mark.parametrize("psf", [Psf.gaussian(1.3), Psf(np.arange(15, dtype=np.float64).reshape(3, 5) / 105)])
def test_row_bands_on_threads_give_the_same_blur_and_prior(monkeypatch, psf):
    from vsovermix.ops import parallel
    from vsovermix.ops.superres import btv_gradient

    x = np.random.default_rng(3).random((300, 170)).astype(np.float32)
    monkeypatch.setattr(parallel, "WORKERS", 4)
    assert len(parallel.row_bands(0, 300)) == 4
    banded = [psf.apply(x), psf.apply(x, transpose=True), btv_gradient(x, 2, 0.7)]
    monkeypatch.setattr(parallel, "WORKERS", 1)
    whole = [psf.apply(x), psf.apply(x, transpose=True), btv_gradient(x, 2, 0.7)]
    for a, b in zip(banded, whole, strict=True):
        np.testing.assert_array_equal(a, b)
