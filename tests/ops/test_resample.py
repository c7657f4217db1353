import math

import numpy as np
import pytest

from vsovermix.ops.resample import KERNELS, box_reduce, kernel_taps, sample_bounds, sample_shifted


def reference_1d(values: np.ndarray, shift: float, kernel: str, lo: int, hi: int) -> np.ndarray:
    radius = KERNELS[kernel]
    out = []
    for x in range(lo, hi):
        base = math.floor(x + shift)
        frac = x + shift - base
        if frac == 0:
            out.append(values[base])
        else:
            out.append(kernel_taps(kernel, frac) @ values[base - radius + 1:base + radius + 1])
    return np.array(out)


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize(("sx", "sy"), [(0.3, -1.7), (2.0, 0.5), (-3.25, 4.0), (0.0, 0.0)])
def test_sample_shifted_is_the_separable_kernel_sum(kernel, sx, sy):
    image = np.random.default_rng(1).random((40, 50)).astype(np.float32)
    rows, cols = sample_bounds(40, sy, kernel), sample_bounds(50, sx, kernel)
    out = sample_shifted(image, sx, sy, rows, cols, kernel)
    by_rows = np.stack([reference_1d(image[:, j], sy, kernel, *rows) for j in range(50)], axis=1)
    expected = np.stack([reference_1d(row, sx, kernel, *cols) for row in by_rows])
    np.testing.assert_allclose(out, expected, atol=2e-6)
    np.testing.assert_allclose(sample_shifted(image, sx, sy, rows, cols, kernel, step=2), out[::2, ::2], atol=2e-6)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_kernels_keep_linear_ramps_and_sum_to_one(kernel):
    ramp = np.tile(np.arange(60, dtype=np.float32), (10, 1))
    cols = sample_bounds(60, 0.3, kernel)
    out = sample_shifted(ramp, 0.3, 0.0, (0, 10), cols, kernel)
    # Keys' cubic reproduces ramps exactly; Lanczos only nearly.
    np.testing.assert_allclose(out[0], np.arange(*cols) + 0.3, atol=0.05 if kernel != "cubic" else 1e-5)
    for frac in (0.1, 0.5, 0.9):
        assert kernel_taps(kernel, frac).sum() == pytest.approx(1.0)


def test_box_reduce_means_blocks_and_drops_the_remainder():
    plane = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    out = box_reduce(plane, 3)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(plane[3:6, 6:9].mean())


@pytest.mark.parametrize("shift", [-1.7e-16, 3e-15, 2.0 - 1e-12])
def test_a_shift_a_rounding_error_off_a_whole_pixel_is_that_pixel(shift):
    # A pan solve gives frame 0 at -1.7e-16: floor() saw a phase of 0.9999999999999998 and read taps a pixel left of
    # the bounds computed for it (a 0-column result, caught on a YUV422P10 stitch).
    plane = np.arange(40 * 30, dtype=np.float32).reshape(30, 40)
    rows, cols = sample_bounds(30, shift, "lanczos3"), sample_bounds(40, shift, "lanczos3")
    out = sample_shifted(plane, shift, shift, rows, cols, "lanczos3")
    whole = round(shift)
    assert out.shape == (rows[1] - rows[0], cols[1] - cols[0])
    np.testing.assert_array_equal(out, plane[rows[0] + whole:rows[1] + whole, cols[0] + whole:cols[1] + whole])
