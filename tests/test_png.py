import numpy as np
import pytest
from PIL import Image

from vsovermix._png import read_png, write_png


@pytest.mark.parametrize(("shape", "dtype", "mode"), [
    ((17, 23), np.uint8, "L"), ((17, 23, 3), np.uint8, "RGB"), ((9, 31, 4), np.uint8, "RGBA"),
    ((13, 7), np.uint16, "I;16"),
])
def test_written_png_reads_back_here_and_in_pillow(tmp_path, shape, dtype, mode):
    rng = np.random.default_rng(0)
    image = rng.integers(0, np.iinfo(dtype).max + 1, shape).astype(dtype)
    path = write_png(tmp_path / "a.png", image)
    back = read_png(path)
    np.testing.assert_array_equal(back.reshape(shape), image)
    with Image.open(path) as pil:
        np.testing.assert_array_equal(np.asarray(pil).reshape(shape), image)


def test_reads_pillow_pngs_with_every_filter_type(tmp_path):
    # Pillow picks adaptive filters per row (Paeth, Average, Up, Sub, None) on a smooth-plus-noise image.
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:40, 0:50]
    image = np.stack([(xx * 5) % 256, (yy * 6) % 256, rng.integers(0, 256, (40, 50))], -1).astype(np.uint8)
    path = tmp_path / "pil.png"
    Image.fromarray(image).save(path, optimize=False)
    np.testing.assert_array_equal(read_png(path), image)


def test_write_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path):
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        write_png(path, np.zeros((2, 2), np.uint8))
    assert path.read_bytes() == b"precious"
    write_png(path, np.zeros((2, 2), np.uint8), overwrite=True)
    assert read_png(path).shape == (2, 2, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_failed_encode_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="uint8/uint16"):
        write_png(tmp_path / "bad.png", np.zeros((2, 2), np.float32))
    assert list(tmp_path.iterdir()) == []
