import numpy as np
import pytest
import scipy.fft
from PIL import Image

from tests.jpegs import jpeg_pan
from tests.pans import park_rgb
from vsovermix.ops import jpeg
from vsovermix.ops.metrics import psnr
from vsovermix.ops.stitch import Canvas


def grey_decode(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32)


def test_block_dct_is_orthonormal_and_inverted():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(16, 24)).astype(np.float32)
    coefficients = jpeg.block_dct(plane)
    np.testing.assert_allclose(jpeg.block_idct(coefficients), plane, atol=1e-5)
    np.testing.assert_allclose((coefficients ** 2).sum(), (plane ** 2).sum(), rtol=1e-5)
    blocks = plane.reshape(2, 8, 3, 8)
    reference = scipy.fft.dctn(blocks, type=2, norm="ortho", axes=(1, 3)).reshape(16, 24)
    np.testing.assert_allclose(coefficients, reference, atol=1e-4)
    # A flat block has only DC, 8x its level (JPEG's FDCT scaling).
    assert jpeg.block_dct(np.full((8, 8), 2.0, np.float32))[0, 0] == pytest.approx(16.0)


@pytest.mark.parametrize("quality", [10, 25, 50])
def test_quality_of_a_pillow_jpeg_is_recovered(tmp_path, quality):
    paths, _, _ = jpeg_pan(tmp_path, n=1, quality=quality, width=256, height=192, grey=True)
    assert jpeg.ijg_table(quality).tolist() == np.asarray(list(Image.open(paths[0]).quantization[0])).reshape(8, 8)\
        .tolist()
    found, fit = jpeg.estimate_quality(grey_decode(paths[0]))
    assert found == quality and fit > 1.5


def test_lattice_fit_tells_a_decode_from_anything_else(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=1, quality=30, width=256, height=192, grey=True)
    decoded = grey_decode(paths[0])
    assert jpeg.lattice_fit(decoded, jpeg.ijg_table(30)) > 1.5
    assert jpeg.lattice_fit(truth.astype(np.float32), jpeg.ijg_table(30)) < 0.5  # the PNG it came from
    assert jpeg.lattice_fit(decoded, jpeg.ijg_table(45)) < 0.5  # another table
    assert jpeg.lattice_fit(decoded, jpeg.ijg_table(15)) < 0.5


def test_placement_and_its_adjoint_agree():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 56)).astype(np.float32)
    for offset, reduce in (((3.0, 5.0), (1, 1)), ((1.25, -0.5), (1, 1)), ((2.0, 1.5), (2, 2)), ((0.5, 0.0), (2, 1))):
        view = jpeg.CodedView(None, np.ones((8, 8)), offset, (14, 20), reduce)
        y = rng.normal(size=(14, 20)).astype(np.float32)
        forward = jpeg.place(x, view)
        assert forward.shape == (14, 20)
        np.testing.assert_allclose((forward * y).sum(), (x * jpeg.place_adjoint(y, view, x.shape)).sum(), rtol=1e-4)


def test_fancy_upsampling_is_undone():
    rng = np.random.default_rng(2)
    coded = rng.uniform(0, 255, size=(12, 10)).astype(np.float32)
    # libjpeg's triangle filter: each output sample 3/4 of its own coded sample, 1/4 of the next one out.
    def up(a, axis):
        a = np.moveaxis(a, axis, 0)
        before = np.concatenate([a[:1], a[:-1]])
        after = np.concatenate([a[1:], a[-1:]])
        out = np.empty((2 * a.shape[0], *a.shape[1:]), np.float32)
        out[0::2] = 0.75 * a + 0.25 * before
        out[1::2] = 0.75 * a + 0.25 * after
        return np.moveaxis(out, 0, axis)
    upsampled = up(up(coded, 0), 1)
    np.testing.assert_allclose(jpeg.coded_from_upsampled(upsampled, (2, 2), "fancy"), coded, atol=1e-3)
    np.testing.assert_allclose(jpeg.coded_from_upsampled(np.repeat(coded, 2, axis=1), (2, 1), "box"), coded)


def test_single_image_estimate_keeps_every_coefficient_in_its_interval_and_beats_the_decode(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=1, quality=25, width=256, height=192, grey=True)
    decoded = grey_decode(paths[0])
    table = jpeg.ijg_table(25)
    view = jpeg.coded_view(decoded, table)
    settings = jpeg.DejpegSettings(iterations=100, tolerance=0.0)
    (estimate,) = jpeg.dejpeg_estimate([decoded], [[view]], settings)
    indices, _ = jpeg.quantised_indices(decoded, table)
    coefficients = jpeg.block_dct(estimate - np.float32(128))
    steps = jpeg.tile_table(table.astype(np.float32), coefficients.shape)
    outside = np.abs(coefficients - indices * steps) - (steps / 2 + settings.slack)
    assert outside.max() < 1.0 and np.maximum(outside, 0).mean() < 0.01  # on the constraint set, nearly
    truth = truth.astype(np.float64)
    assert psnr(estimate, truth) > psnr(decoded, truth) + 0.3  # dense detail here; cels gain more (bench)


def test_frames_on_other_grids_pin_the_image_down_beyond_their_mean(tmp_path):
    paths, truth, offsets = jpeg_pan(tmp_path, n=6, quality=25, width=160, height=120, grey=True)
    decoded = [grey_decode(p) for p in paths]
    table = jpeg.ijg_table(25)
    views = [[jpeg.coded_view(d, table, (float(x), float(y))) for d, (x, y) in zip(decoded, offsets, strict=True)]]
    aligned = np.full((len(paths), 120, 160), np.nan, np.float32)
    for k, (d, (x, y)) in enumerate(zip(decoded, offsets, strict=True)):
        aligned[k, y:, x:] = d[:120 - y, :160 - x]
    mean = np.nanmean(aligned, axis=0)
    (estimate,) = jpeg.dejpeg_estimate([mean], views, jpeg.DejpegSettings(iterations=60))
    common = np.s_[max(y for _, y in offsets):, max(x for x, _ in offsets):]
    truth = truth.astype(np.float64)
    assert psnr(estimate[common], truth[common]) > psnr(mean[common], truth[common]) + 1.0


def test_a_canvas_solved_in_bands_matches_one_solve_and_beats_the_mean(tmp_path):
    paths, _, offsets = jpeg_pan(tmp_path, n=6, quality=25, width=160, height=120, grey=True)
    decoded = [grey_decode(p) for p in paths]
    table = jpeg.ijg_table(25)
    width, height = 160 + max(x for x, _ in offsets), 120 + max(y for _, y in offsets)
    canvas = Canvas(width, height, 0.0, 0.0)
    placements = [canvas.placement(float(x), float(y), 160, 120, 0, 0, "lanczos3") for x, y in offsets]
    stack = np.full((len(paths), height, width), np.nan, np.float32)
    for k, (d, (x, y)) in enumerate(zip(decoded, offsets, strict=True)):
        stack[k, y:y + 120, x:x + 160] = d
    counts = (~np.isnan(stack)).sum(axis=0)
    mean = np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan).astype(np.float32)
    fetched = []

    def fetch(i):
        fetched.append(i)
        return [jpeg.CodedPlane(decoded[i], table)]

    settings = jpeg.DejpegSettings(iterations=60)
    (whole,) = jpeg.dejpeg_canvas(fetch, placements, [mean], settings, band_rows=1000)
    (banded,) = jpeg.dejpeg_canvas(fetch, placements, [mean], settings, band_rows=24)
    assert len(fetched) > 2 * len(paths)  # bands re-read the frames that reach them
    np.testing.assert_array_equal(np.isnan(whole), np.isnan(mean))
    seen = ~np.isnan(mean)
    difference = np.abs(banded[seen] - whole[seen])
    assert difference.mean() < 0.02 and difference.max() < 0.5  # code values: no seams between bands
    scene = np.asarray(Image.fromarray(np.clip(np.rint(park_rgb()), 0, 255).astype(np.uint8)).convert("L"),
                       dtype=np.float64)[40:40 + height, 60:60 + width]
    common = counts == len(paths)
    assert psnr(banded[common], scene[common]) > psnr(mean[common], scene[common]) + 1.0


def test_dual_step_and_solver_agree_across_backends(cupy, tmp_path):
    from tests.conftest import to_numpy

    rng = np.random.default_rng(4)
    coded = rng.uniform(-128, 127, size=(24, 40)).astype(np.float32)
    steps = jpeg.tile_table(jpeg.ijg_table(30).astype(np.float32), coded.shape)
    indices = np.rint(jpeg.block_dct(coded) / steps) + rng.integers(-1, 2, size=coded.shape)
    low, high = (indices - 0.5) * steps, (indices + 0.5) * steps
    dual = rng.normal(scale=5.0, size=coded.shape).astype(np.float32)
    mask = np.repeat(np.repeat(rng.integers(0, 2, size=(3, 5)), 8, axis=0), 8, axis=1).astype(np.float32)
    want = jpeg.jpeg_dual_step(coded, dual, low, high, mask, 0.3)
    got = jpeg.jpeg_dual_step(*(cupy.asarray(a, dtype=cupy.float32) for a in (coded, dual, low, high, mask)), 0.3)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(to_numpy(g), w, atol=2e-3)
    paths, _, offsets = jpeg_pan(tmp_path, n=3, quality=25, width=96, height=64, grey=True)
    views = [[jpeg.coded_view(grey_decode(p), jpeg.ijg_table(25), (float(x) + 0.5, float(y)))
              for p, (x, y) in zip(paths, offsets, strict=True)]]
    start = grey_decode(paths[0])
    settings = jpeg.DejpegSettings(iterations=10, tolerance=0.0)
    (want_x,) = jpeg.dejpeg_estimate([start], views, settings)
    (got_x,) = jpeg.dejpeg_estimate([cupy.asarray(start)], views, settings)
    np.testing.assert_allclose(to_numpy(got_x), want_x, atol=0.05)
