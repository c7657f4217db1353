import numpy as np
import pytest

from tests.pans import luma, pan_frames, park_rgb, random_walk, truth_positions
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce
from vsovermix.ops.stitch import StreamingRender, median_render, plan_canvas

K, WIDTH, HEIGHT = 2, 200, 144


def test_average_of_a_sub_pixel_pan_matches_the_scene():
    offsets = random_walk(12, (14, 6), 6, seed=2)
    frames = [luma(f) for f in pan_frames(K, WIDTH, HEIGHT, offsets)]
    pos = truth_positions(offsets, K)
    canvas = plan_canvas(pos[:, 0], pos[:, 1], WIDTH, HEIGHT)
    acc = StreamingRender("average", canvas.width, canvas.height)
    for frame, (x, y) in zip(frames, pos, strict=True):
        acc.add(frame.astype(np.float32), canvas.placement(x, y, WIDTH, HEIGHT, 0, 0, "lanczos3"), 8, "lanczos3")
    values, coverage = acc.result()
    image = park_rgb()
    sx, sy = offsets[0] + np.array([canvas.origin_x, canvas.origin_y], dtype=int) * K
    scene = luma(np.stack([box_reduce(np.ascontiguousarray(image[sy:sy + canvas.height * K,
                                                                 sx:sx + canvas.width * K, c]), K)
                           for c in range(3)], -1))
    h, w = scene.shape
    covered = coverage[:h, :w] > 0
    assert covered.mean() > 0.9
    assert np.isnan(values[~(coverage > 0)]).all()
    assert psnr(values[:h, :w][covered], scene[covered]) > 38  # aliased line art: interpolation limits it


@pytest.mark.parametrize("mode", ["min", "max"])
def test_min_max_at_whole_pixel_positions_select_input_values(mode):
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (40, 60)).astype(np.float32)
    frames = [scene[y:y + 30, x:x + 40] + rng.integers(0, 9, (30, 40)) for x, y in [(0, 0), (5, 3), (12, 7)]]
    canvas = plan_canvas([0, 5, 12], [0, 3, 7], 40, 30)
    acc = StreamingRender(mode, canvas.width, canvas.height)
    for frame, (x, y) in zip(frames, [(0, 0), (5, 3), (12, 7)], strict=True):
        acc.add(frame.astype(np.float32), canvas.placement(x, y, 40, 30, 0, 0, "lanczos3"), 0, "lanczos3")
    values, _ = acc.result()
    reduce = np.minimum if mode == "min" else np.maximum
    assert values[10, 15] == reduce.reduce([frames[0][10, 15], frames[1][7, 10], frames[2][3, 3]])


def test_median_in_bands_equals_a_stacked_median():
    rng = np.random.default_rng(1)
    pos = [(0, 0), (3, 1), (6, 2), (9, 4), (12, 5)]
    frames = [rng.random((30, 40)).astype(np.float32) for _ in pos]
    canvas = plan_canvas([p[0] for p in pos], [p[1] for p in pos], 40, 30)
    places = [canvas.placement(x, y, 40, 30, 0, 0, "lanczos3") for x, y in pos]
    values, count = median_render(lambda i: frames[i], places, canvas.width, canvas.height, "lanczos3",
                                  budget_bytes=4 * canvas.width * len(pos) * 8)  # forces 8-row bands
    stack = np.full((len(pos), canvas.height, canvas.width), np.nan, np.float32)
    for k, (x, y) in enumerate(pos):
        stack[k, y:y + 30, x:x + 40] = frames[k]
    ordered = np.sort(stack, axis=0)
    valid = (~np.isnan(stack)).sum(axis=0)
    expected = np.take_along_axis(ordered, (np.maximum(valid - 1, 0) // 2)[None], 0)[0]
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(count, valid)


@pytest.mark.parametrize("mode", ["average", "min"])
def test_row_bands_on_threads_give_the_same_canvas(monkeypatch, mode):
    from vsovermix.ops import parallel

    rng = np.random.default_rng(2)
    frames = [rng.uniform(0, 255, (300, 200)).astype(np.float32) for _ in range(3)]
    positions = [(0.0, 0.0), (13.25, 7.5), (29.6, -4.3)]
    canvas = plan_canvas([p[0] for p in positions], [p[1] for p in positions], 200, 300)

    def render():
        acc = StreamingRender(mode, canvas.width, canvas.height)
        for f, (x, y) in zip(frames, positions, strict=True):
            acc.add(f, canvas.placement(x, y, 200, 300, 0, 0, "lanczos3"), 8, "lanczos3")
        return acc.result()

    threaded = render()
    monkeypatch.setattr(parallel, "WORKERS", 1)
    inline = render()
    assert parallel.row_bands(0, 300) == [(0, 300)]
    for a, b in zip(threaded, inline, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["average", "min", "max"])
def test_backends_agree_on_a_canvas(cupy, mode):
    from tests.conftest import to_numpy

    rng = np.random.default_rng(3)
    frames = [rng.uniform(0, 255, (120, 160)).astype(np.float32) for _ in range(3)]
    positions = [(0.0, 0.0), (11.3, 4.75), (23.5, -6.2)]
    canvas = plan_canvas([p[0] for p in positions], [p[1] for p in positions], 160, 120)

    def render(lib):
        acc = StreamingRender(mode, canvas.width, canvas.height, lib)
        for f, (x, y) in zip(frames, positions, strict=True):
            acc.add(lib.asarray(f), canvas.placement(x, y, 160, 120, 0, 0, "lanczos3"), 8, "lanczos3")
        return [to_numpy(a) for a in acc.result()]

    for got, want in zip(render(cupy), render(np), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("mode", ["min", "max", "median"])
def test_selecting_renders_never_pick_a_lanczos_overshoot(mode):
    # A hard step (50 | 200) at fractional positions: Lanczos rings to ~40 and ~210 beside it, and a
    # min or max over frames would keep exactly those halos.
    scene = np.where(np.arange(200)[None, :] % 50 < 25, 50.0, 200.0).repeat(80, axis=0).astype(np.float32)
    positions = [(0.0, 0.0), (5.3, 1.5), (10.7, 2.25), (16.45, 3.6)]
    frames = []
    for x, y in positions:  # frame = scene shifted by (x, y), linear interpolation keeps values in range
        ix, fx = int(np.floor(x)), x - np.floor(x)
        shifted = (1 - fx) * scene[:, ix:ix + 150] + fx * scene[:, ix + 1:ix + 151]
        iy = int(np.floor(y))
        frames.append(np.ascontiguousarray(shifted[iy:iy + 60]))
    canvas = plan_canvas([p[0] for p in positions], [p[1] for p in positions], 150, 60)
    placements = [canvas.placement(x, y, 150, 60, 0, 0, "lanczos3") for x, y in positions]
    if mode == "median":
        values, _ = median_render(lambda i: frames[i], placements, canvas.width, canvas.height, "lanczos3")
    else:
        acc = StreamingRender(mode, canvas.width, canvas.height)
        for f, p in zip(frames, placements, strict=True):
            acc.add(f, p, 8, "lanczos3")
        values, _ = acc.result()
    covered = values[~np.isnan(values)]
    assert covered.min() >= 50.0 - 1e-3 and covered.max() <= 200.0 + 1e-3
