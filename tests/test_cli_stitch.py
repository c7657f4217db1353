import numpy as np
import pytest

from tests.pans import pan_frames, random_walk
from vsovermix._png import read_png, write_png
from vsovermix.cli import main


@pytest.fixture
def frames_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VSOVERMIX_BACKEND", "numpy")
    folder = tmp_path / "frames"
    folder.mkdir()
    for n, frame in enumerate(pan_frames(2, 160, 112, random_walk(6, (14, 4), 4, seed=7))):
        write_png(folder / f"{n:03d}.png", np.clip(np.floor(frame + 0.5), 0, 255).astype(np.uint8))
    return folder


def test_stitch_images_to_png_and_refuse_to_overwrite(frames_dir, tmp_path, capsys):
    out = tmp_path / "scene.png"
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(out)]) == 0
    image = read_png(out)
    assert image.shape[2] == 3 and image.shape[1] > 160 and image.dtype == np.uint8
    before = out.read_bytes()
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(out), "--render", "median"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(out), "--force", "--bits", "16",
                 "--start", "1", "--end", "5"]) == 0
    assert read_png(out).dtype == np.uint16


def test_stitch_bad_inputs_write_nothing(frames_dir, tmp_path, capsys):
    out = tmp_path / "scene.png"
    assert main(["stitch", str(tmp_path / "missing.mkv"), "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert main(["stitch", str(broken), str(broken), "-o", str(out)]) == 2
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(out), "--start", "5", "--end", "3"]) == 2
    assert "--start/--end" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".scene.png*"))


def test_stitch_a_vpy_script(frames_dir, tmp_path):
    script = tmp_path / "pan.vpy"
    script.write_text("import vapoursynth as vs\n"
                      f"clip = vs.core.imgseqs.Read(sorted(__import__('glob').glob({str(frames_dir / '*.png')!r})))\n"
                      "clip.set_output()\n")
    out = tmp_path / "scene.png"
    assert main(["stitch", str(script), "-o", str(out)]) == 0
    assert read_png(out).shape[1] > 160


def test_stitch_render_sr_doubles_the_still(frames_dir, tmp_path):
    plain, big = tmp_path / "scene.png", tmp_path / "scene2x.png"
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(plain)]) == 0
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(big), "--render", "sr", "--scale", "2"]) == 0
    assert read_png(big).shape[:2] == tuple(2 * s for s in read_png(plain).shape[:2])


def test_stitch_render_jpeg_reads_the_tables_from_the_files(frames_dir, tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "jpegs"
    folder.mkdir()
    for png in sorted(frames_dir.glob("*.png")):
        Image.fromarray(read_png(png)).save(folder / f"{png.stem}.jpg", quality=40)
    out = tmp_path / "scene.png"
    assert main(["stitch", str(folder / "*.jpg"), "-o", str(out), "--render", "jpeg"]) == 0
    assert "(jpeg)" in capsys.readouterr().out
    assert read_png(out).shape[1] > 160
    assert main(["stitch", str(frames_dir / "*.png"), "-o", str(tmp_path / "not.png"), "--render", "jpeg"]) == 2
    assert "do not look like decoded JPEGs" in capsys.readouterr().err
