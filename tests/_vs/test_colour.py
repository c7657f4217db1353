"""YCbCr <-> RGB by the _Matrix prop's weights."""

import numpy as np

from tests.jpegs import JFIF
from vsovermix._vs.colour import BT601, rgb_to_ycbcr, ycbcr_matrix, ycbcr_to_rgb


def test_bt601_is_jfifs_matrix_and_the_conversions_invert_each_other():
    np.testing.assert_allclose(ycbcr_matrix(BT601), JFIF, atol=1e-6)
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    for matrix in (1, 5, 9, 2):  # 2 (unspecified) falls back to BT.709
        ycc = rgb_to_ycbcr(rgb, matrix)
        assert ycc.dtype == np.float32 and np.abs(ycc[..., 1:]).max() <= 0.5
        np.testing.assert_allclose(ycbcr_to_rgb(ycc, matrix), rgb, atol=1e-5)
    np.testing.assert_array_equal(ycbcr_matrix(2), ycbcr_matrix(1))
