"""The steam model on stacks with a known answer: a still background under two rising value-noise layers."""

import functools

import numpy as np
import pytest

from tests.steams import steam_layers
from vsovermix._png import read_png
from vsovermix._vs.colour import ycbcr_matrix
from vsovermix.demo import PAN_SAMPLE
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.steam import (
    SteamSettings,
    SteamStack,
    estimate_steam_colour,
    steam_background,
    steam_velocities,
)

STEAM = np.array([240.0, 242.0, 246.0], np.float32)
BT709 = ycbcr_matrix(1).astype(np.float32)  # (R, G, B) -> (Y, Cb, Cr)
# the key of a YUV stack (Cb, Cr offset by 128): the mean of R, G, B
YUV_KEY = tuple(float(v) for v in np.linalg.inv(ycbcr_matrix(1)).mean(axis=0))
SIZE = (160, 224)  # height, width


@functools.cache
def background() -> np.ndarray:
    image = read_png(PAN_SAMPLE)[..., :3].astype(np.float32)
    return np.stack([box_reduce(np.ascontiguousarray(image[:SIZE[0] * 4, :SIZE[1] * 4, c]), 4) for c in range(3)],
                    axis=-1)


def steamy(frames=7, seed=0, noise=0.0):
    alpha = steam_layers(*SIZE, frames, seed=seed, cells=(40, 64))
    rng = np.random.default_rng(seed)
    seen = background()[None] * (1 - alpha[..., None]) + STEAM * alpha[..., None]
    seen = np.clip(np.floor(seen + rng.normal(0, noise, seen.shape) + 0.5), 0, 255).astype(np.float32)
    return seen, alpha


def rgb_stack(seen):
    return SteamStack([np.ascontiguousarray(seen[..., c]) for c in range(3)], [(0, 0)] * 3,
                      (1 / 3,) * 3, (0.0,) * 3)


def test_velocities_of_two_layers_rising_3_and_5_px_per_frame():
    _, alpha = steamy(frames=9)
    log_rho = np.log(1 - alpha) - np.log(1 - alpha).max(axis=0)
    found = steam_velocities(log_rho.astype(np.float32), SteamSettings())
    assert abs(found[0][1] - 3) < 0.35 and abs(found[0][0]) < 0.1, found  # the stronger layer first
    assert any(abs(vy - 5) < 0.35 and abs(vx) < 0.1 for vx, vy in found[1:]), found


def test_steam_colour_is_where_the_colour_lines_meet():
    seen, _ = steamy(noise=1.0)
    colour = estimate_steam_colour(rgb_stack(seen), (255.0, 255.0, 255.0))
    np.testing.assert_allclose(colour, STEAM, atol=3.0)


def test_residual_steam_over_every_frame_is_solved_from_the_steam_motion():
    seen, alpha = steamy(noise=1.0)
    never_clear = alpha.min(axis=0) > 0.05
    assert never_clear.mean() > 0.3  # the case the per-pixel minimum cannot solve
    result = steam_background(rgb_stack(seen), STEAM)
    assert len(result.velocities) >= 1
    out = np.clip(np.stack(result.planes, axis=-1), 0, 255)
    truth = background()
    minimum = seen.min(axis=0)
    assert psnr(out, truth, 255.0) > psnr(minimum, truth, 255.0) + 6.0
    # where every frame is steamed the least-steamed frame is de-blended, not left as it is
    assert np.abs(out - truth)[never_clear].mean() < 0.5 * np.abs(minimum - truth)[never_clear].mean()


def test_without_steam_motion_the_key_is_the_least_steamed_frame_and_chroma_follows_it():
    # Three frames, the steam in a different place in each but not moving as a layer: no velocity is used.
    truth = background()
    rng = np.random.default_rng(3)
    alphas = [np.zeros(SIZE, np.float32) for _ in range(3)]
    for k, a in enumerate(alphas):
        a[:, k * 70:k * 70 + 80] = rng.uniform(0.2, 0.6)
    seen = np.stack([truth * (1 - a[..., None]) + STEAM * a[..., None] for a in alphas]).astype(np.float32)
    result = steam_background(rgb_stack(seen), STEAM)
    out = np.stack(result.planes, axis=-1)
    seen_clear = np.stack(alphas).min(axis=0) == 0
    np.testing.assert_allclose(out[seen_clear], truth[seen_clear], atol=0.01)


def test_yuv_chroma_is_de_blended_with_the_key_decision():
    # YUV built from RGB by an affine map (BT.709 weights): the model is the same in any affine colour space.
    seen, _ = steamy(noise=0.0)
    yuv = seen @ BT709.T + np.array([0, 128, 128], np.float32)
    truth = background() @ BT709.T + np.array([0, 128, 128], np.float32)
    colour = STEAM @ BT709.T + np.array([0, 128, 128], np.float32)
    stack = SteamStack([np.ascontiguousarray(yuv[..., 0]),
                        np.ascontiguousarray(yuv[:, ::2, ::2, 1]), np.ascontiguousarray(yuv[:, ::2, ::2, 2])],
                       [(0, 0), (1, 1), (1, 1)], YUV_KEY, (0.0, 128.0, 128.0))
    # chroma subsampled by taking every other sample: compare it with the truth's at the same samples
    out = steam_background(stack, tuple(colour)).planes
    independent_min = [yuv[:, ::2, ::2, c].min(axis=0) for c in (1, 2)]
    for c in (1, 2):
        target = truth[::2, ::2, c]
        assert np.abs(out[c] - target).mean() < 0.5 * np.abs(independent_min[c - 1] - target).mean()


@pytest.mark.parametrize("frames", [1, 2])
def test_tiny_windows(frames):
    seen, _ = steamy(frames=frames)
    out = steam_background(rgb_stack(seen), STEAM).planes
    if frames == 1:
        for c in range(3):
            np.testing.assert_allclose(out[c], seen[0, ..., c], atol=1e-3)
    assert all(np.isfinite(p).all() for p in out)


def test_layers_are_dropped_when_turning_their_velocities_fits_as_well():
    # Steam drifting 0.6 px per frame: its layer explains 98.7 % of the frames, but so does a layer moving
    # sideways (to first order any slow drift is any other), so the motion says nothing: no residual from it.
    import dataclasses

    from scipy.ndimage import shift

    from tests.steams import value_noise
    from vsovermix.ops.steam import _residual_transmission

    height, width = SIZE
    base = np.log(1 - 0.6 * value_noise(height + 20, width + 20, 40, np.random.default_rng(1)))
    slow = np.stack([shift(base, (0.6 * t, 0), order=1)[10:10 + height, 10:10 + width] for t in range(7)])
    weight = np.ones_like(slow)
    settings = SteamSettings()
    assert _residual_transmission(slow, weight, [(0.0, 0.6)], SIZE, settings) is None
    unchecked = dataclasses.replace(settings, max_control_ratio=1e9)
    assert _residual_transmission(slow, weight, [(0.0, 0.6)], SIZE, unchecked) is not None
    # layers that do move as given pass
    rising = np.log(1 - steam_layers(*SIZE, 7, cells=(40, 64)))
    assert _residual_transmission(rising, weight, [(0.0, 3.0), (0.0, 5.0)], SIZE, settings) is not None


def test_yuv_decides_as_rgb_does_where_the_background_differs_from_the_steam_in_blue():
    # A yellowish background under white steam differs from it mostly in blue, which luma weighs by 7 %: the key
    # is the mean of R, G, B in YUV too, so the same noisy frames give the same background either way.
    seen, _ = steamy(noise=2.0)
    tone = np.array([0.25, 0.25, 1.0], np.float32)
    seen = STEAM - (STEAM - seen) * tone  # the distance from the steam shrunk in R and G
    truth = STEAM - (STEAM - background()) * tone
    offset = np.array([0, 128, 128], np.float32)
    yuv = seen @ BT709.T + offset
    yuv_stack = SteamStack([np.ascontiguousarray(yuv[..., c]) for c in range(3)], [(0, 0)] * 3,
                           YUV_KEY, (0.0, 128.0, 128.0))
    yuv_out = steam_background(yuv_stack, tuple(STEAM @ BT709.T + offset)).planes
    yuv_rgb = (np.stack(yuv_out, axis=-1) - offset) @ np.linalg.inv(BT709).T
    rgb_out = np.stack(steam_background(rgb_stack(seen), STEAM).planes, axis=-1)
    yuv_error, rgb_error = np.abs(yuv_rgb - truth).mean(), np.abs(rgb_out - truth).mean()
    assert yuv_error < 1.02 * rgb_error
    luma_only = SteamStack(yuv_stack.planes, yuv_stack.subsampling, (1.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    luma_out = steam_background(luma_only, tuple(STEAM @ BT709.T + offset)).planes
    luma_error = np.abs((np.stack(luma_out, axis=-1) - offset) @ np.linalg.inv(BT709).T - truth).mean()
    assert luma_error > 1.1 * rgb_error  # the test can tell a luma key from the mean of R, G, B
