"""Overlay maths on arrays: detection, the two estimators, de-blending, the smooth fill, the strength fit."""

import numpy as np
import pytest

from tests.logos import logo_at, scene
from vsovermix.ops import logo as ops


def _backgrounds(count, size=(200, 90), seed=0):
    rng = np.random.default_rng(seed)
    image = scene().mean(axis=2) / 255.0
    h, w = image.shape
    return np.stack([image[y:y + size[1], x:x + size[0]]
                     for x, y in zip(rng.integers(0, w - size[0], count), rng.integers(0, h - size[1], count),
                                     strict=True)])


def _blend(backgrounds, at=(40, 20), strength=1.0):
    alpha, colour = logo_at()
    out = backgrounds.copy()
    a = strength * alpha.astype(np.float64)
    c = colour.mean(axis=2) / 255.0
    y, x = at[1], at[0]
    region = out[:, y:y + alpha.shape[0], x:x + alpha.shape[1]]
    out[:, y:y + alpha.shape[0], x:x + alpha.shape[1]] = (1 - a) * region + a * c
    return np.round(out * 255) / 255


def _truth(shape, at=(40, 20)):
    """The true gain and offset of ``_blend``'s logo over frames of ``shape``."""
    alpha, colour = logo_at()
    gain = np.ones(shape, np.float32)
    offset = np.zeros(shape, np.float32)
    box = (slice(at[1], at[1] + alpha.shape[0]), slice(at[0], at[0] + alpha.shape[1]))
    gain[box] = 1 - alpha
    offset[box] = alpha * colour.mean(axis=2) / 255
    return gain, offset


def test_find_overlay_boxes_the_logo_and_finds_nothing_without_one():
    frames = _backgrounds(48)
    box = ops.find_overlay(_blend(frames).astype(np.float32))
    assert box is not None
    assert box.x <= 40 + 8 and box.y <= 20 + 4 and box.x + box.width >= 40 + 112 and box.y + box.height >= 20 + 38
    assert box.width <= 120 + 2 * ops.BOX_MARGIN and box.height <= 42 + 2 * ops.BOX_MARGIN
    assert ops.find_overlay(frames.astype(np.float32)) is None


def test_statistics_estimate_learns_alpha_from_varied_backgrounds():
    frames = _blend(_backgrounds(400))
    gain, offset, variation = ops.estimate_from_statistics(frames[:, 14:68, 34:166].astype(np.float32))
    gain, offset = ops.finish_estimate(gain, offset, 0.0, 1.0)
    truth = _truth(frames.shape[1:])[0][14:68, 34:166]
    assert variation > ops.MIN_VARIATION
    assert np.abs(gain - truth).mean() < 0.02


def test_regression_on_known_backgrounds_is_exact_and_ignores_a_local_change():
    backgrounds = _backgrounds(40)
    frames = _blend(backgrounds)
    rng = np.random.default_rng(3)
    frames[rng.choice(40, 4, replace=False), 30:50, 60:90] = 0.9  # something covers part of the logo in 10 %
    gain, _, slope_error, noise = ops.estimate_from_backgrounds(frames, backgrounds)
    truth = _truth(frames.shape[1:])[0]
    assert np.abs(gain - truth).mean() < 0.003
    assert np.abs(gain - truth)[30:50, 60:90].max() < 0.02
    assert np.isfinite(slope_error).all() and noise < 2 / 255


def test_deblend_inverts_the_blend():
    backgrounds = _backgrounds(2)
    gain, offset = _truth(backgrounds.shape[1:])
    observed = gain * backgrounds[0] + offset
    assert np.allclose(ops.deblend(observed, gain, offset), backgrounds[0], atol=1e-5)
    half = (1 - 0.5 * (1 - gain)) * backgrounds[0] + 0.5 * offset
    assert np.allclose(ops.deblend(half, gain, offset, 0.5), backgrounds[0], atol=1e-5)


def test_smooth_fill_reproduces_a_plane_and_meets_its_border():
    yy, xx = np.mgrid[0:40, 0:60]
    ramp = 0.2 + 0.01 * xx + 0.005 * yy
    fill = np.zeros((40, 60), bool)
    fill[10:30, 15:45] = True
    solver = ops.SmoothFill(fill, np.zeros((40, 60)))
    out = solver(np.where(fill, 0.0, ramp), np.zeros((40, 60)))
    assert np.abs(out - ramp).max() < 1e-9
    # With weight, the data pulls the fill.
    pulled = ops.SmoothFill(fill, np.full((40, 60), 1e6))(np.where(fill, 0.0, ramp), ramp + 0.1 * fill)
    assert np.abs(pulled[fill] - (ramp + 0.1)[fill]).max() < 1e-3


def test_combine_prefers_the_precise_estimate_and_keeps_the_frame_where_they_disagree():
    own = np.array([1.0, 1.0, np.nan, 1.0], np.float32)
    own_var = np.array([1.0, 1e-6, np.inf, 1.0])
    other = np.array([1.2, 1.2, 0.5, 9.0], np.float32)
    other_var = np.array([1e-4, 1.0, 1.0, 1e-4])
    out = ops.combine_estimates(own, own_var, other, other_var)
    assert out[0] == pytest.approx(1.2, abs=1e-3) and out[1] == pytest.approx(1.0, abs=1e-3)
    assert out[2] == pytest.approx(0.5) and out[3] == pytest.approx(1.0)


@pytest.mark.parametrize("strength", [0.0, 0.4, 1.0])
def test_overlay_strength_measures_a_fade(strength):
    backgrounds = _backgrounds(1)
    gain, offset = _truth(backgrounds.shape[1:])
    frame = _blend(backgrounds, strength=strength)[0].astype(np.float32)
    assert ops.overlay_strength(frame, gain, offset) == pytest.approx(strength, abs=0.05)


def _alpha_error(gain, truth_gain):
    inside = truth_gain < 1
    return float(np.abs(gain - truth_gain)[inside].mean())


@pytest.mark.parametrize("count", [24, 300])
def test_refining_by_smooth_steps_sharpens_the_statistics_estimate(count):
    # 24 pictures: the statistics are off by 0.039; asking for small background steps instead of predicting
    # each pixel from its neighbour left 0.015 (it prefers a fainter logo), the prediction leaves 0.003.
    frames = _blend(_backgrounds(count))
    truth_gain, truth_offset = _truth(frames.shape[1:])
    box = (slice(14, 68), slice(34, 166))  # the logo and 6 px of background around it
    stack = frames[(slice(None), *box)].astype(np.float32)
    gain, offset, _ = ops.estimate_from_statistics(stack)
    refined_gain, refined_offset = ops.refine_by_edges(stack, gain, offset)
    before, after = _alpha_error(gain, truth_gain[box]), _alpha_error(refined_gain, truth_gain[box])
    assert after < 0.3 * before and after < 0.005
    assert np.abs(refined_offset - truth_offset[box])[truth_gain[box] < 1].mean() < 0.003
    again = ops.refine_by_edges(stack, gain, offset)  # deterministic
    assert np.array_equal(again[0], refined_gain)


def test_deblend_trusted_leaves_out_what_the_logo_hides():
    gain = np.array([[1.0, 0.5, 0.2, 0.04]], np.float32)
    offset = np.array([[0.0, 0.25, 0.4, 0.5]], np.float32)
    background = np.array([[0.3, 0.6, 0.1, 0.9]], np.float32)
    observed = gain * background + offset
    got = ops.deblend_trusted(observed, gain, offset, 1.0, 0.85)
    assert np.allclose(got[0, :3], background[0, :3], atol=1e-6) and np.isnan(got[0, 3])
    half = ops.deblend_trusted(observed, gain, offset, 0.5, 0.85)  # at half strength alpha 0.96 -> 0.48
    assert np.isfinite(half).all()


def test_logo_kernels_match_the_numpy_reference(cupy):
    rng = np.random.default_rng(3)
    stack = rng.random((40, 12, 16)).astype(np.float32)
    index = np.arange(12 * 16).reshape(12, 16)
    first = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    second = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    inverse_gain = 1.0 + rng.random(12 * 16)
    offset_ratio = 0.3 * rng.random(12 * 16)
    sample = stack.reshape(40, -1).astype(np.float64)
    want = ops._edge_sums(stack, sample, first, second, inverse_gain, offset_ratio)
    got = ops._edge_sums(cupy.asarray(stack), sample, first, second, inverse_gain, offset_ratio)
    for g, w in zip(got, want, strict=True):
        assert np.allclose(g, w, rtol=1e-9, atol=1e-9)
    gain = rng.random((12, 16)).astype(np.float32)
    offset = (0.5 * rng.random((12, 16))).astype(np.float32)
    observed = rng.random((12, 16)).astype(np.float32)
    want = ops.deblend_trusted(observed, gain, offset, 0.8, 0.85)
    got = cupy.asnumpy(ops.deblend_trusted(*(cupy.asarray(a) for a in (observed, gain, offset)), 0.8, 0.85))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-5, atol=1e-6)
    own, other = observed, rng.random((12, 16)).astype(np.float32)
    own_variance = np.where(rng.random((12, 16)) < 0.2, np.inf, 1e-4 * rng.random((12, 16))).astype(np.float32)
    other_variance = np.where(rng.random((12, 16)) < 0.2, np.inf, 1e-4 * rng.random((12, 16))).astype(np.float32)
    want = ops.combine_estimates(own, own_variance, other, other_variance)
    got = cupy.asnumpy(ops.combine_estimates(*(cupy.asarray(a) for a in (own, own_variance, other, other_variance))))
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=1e-5, atol=1e-6)
