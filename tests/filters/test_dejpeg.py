import dataclasses
import warnings

import numpy as np
import pytest
import vapoursynth as vs
from PIL import Image
from scipy import ndimage

import vsovermix as vo
from tests.jpegs import jpeg_pan, luma
from tests.pans import park_rgb
from vsovermix.ops.metrics import psnr

core = vs.core


@pytest.fixture(autouse=True)
def _numpy_backend(monkeypatch):
    monkeypatch.setenv("VSOVERMIX_BACKEND", "numpy")


def rgb_of(clip: vs.VideoNode, n: int) -> np.ndarray:
    with clip.get_frame(n) as f:
        return np.stack([np.asarray(f[p], dtype=np.float64) for p in range(3)], axis=-1)


def test_tables_come_from_the_files_and_the_pan_beats_every_single_decode(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=5, quality=25)
    clip = core.imgseqs.Read(paths, mismatch=False).std.SetFrameProps(Mark=3)
    tables = vo.jpeg_tables(paths[0])
    assert tables.subsampling == (1, 1) and tables.size == (160, 120) and len(tables.tables) == 3
    clean = vo.dejpeg(clip, tr=2, iterations=40)
    assert clean.format.id == vs.RGB24 and clean.num_frames == 5
    ours, decoded = rgb_of(clean, 0), rgb_of(clip, 0)
    inner = np.s_[:-20, :-20]  # frame 0's area that the other frames also saw
    assert psnr(luma(ours)[inner], luma(truth)[inner]) > psnr(luma(decoded)[inner], luma(truth)[inner]) + 2.0
    assert psnr(ours[inner], truth[inner]) > psnr(decoded[inner], truth[inner]) + 1.5
    with clean.get_frame(0) as f:
        assert f.props["Mark"] == 3


def test_frames_are_the_same_rendered_alone(tmp_path):
    paths, _, _ = jpeg_pan(tmp_path, n=4, quality=30, width=160, height=120)
    clip = core.imgseqs.Read(paths, mismatch=False)
    rendered = vo.dejpeg(clip, tr=1, iterations=10)
    in_order = [np.stack([np.asarray(f[p], dtype=np.float64) for p in range(3)], axis=-1)
                for f in rendered.frames(close=True)]
    alone = vo.dejpeg(clip, tr=1, iterations=10)
    for n in (3, 0, 2):
        np.testing.assert_array_equal(rgb_of(alone, n), in_order[n])


def test_single_image_mode_on_a_grey_jpeg_with_given_tables(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=1, quality=20, width=192, height=128, grey=True)
    grey = core.imgseqs.Read(paths, mismatch=False)  # RGB of a grey JPEG: take one plane as GRAY8
    grey = core.std.ShufflePlanes(grey, 0, vs.GRAY)
    out = vo.dejpeg(grey, tr=0, quant=paths[0])
    assert out.format.id == vs.GRAY8
    with out.get_frame(0) as f, grey.get_frame(0) as g:
        ours, decoded = np.asarray(f[0], dtype=np.float64), np.asarray(g[0], dtype=np.float64)
    assert psnr(ours, truth) > psnr(decoded, truth) + 0.3


def test_yuv_as_decoded_and_estimated_tables(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=1, quality=25, width=192, height=128)
    yuv = core.bs.VideoSource(paths[0])  # the decoder's own 4:2:0 planes, no props with tables
    assert yuv.format.id == vs.YUV420P8
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a sure estimate (quality 25) warns of nothing
        out = vo.dejpeg(yuv, tr=0)
    assert out.format.id == vs.YUV420P8
    with out.get_frame(0) as f, yuv.get_frame(0) as g:
        ours, decoded = np.asarray(f[0], dtype=np.float64), np.asarray(g[0], dtype=np.float64)
    assert psnr(ours, luma(truth)) > psnr(decoded, luma(truth)) + 0.3
    full_chroma = tmp_path / "444.jpg"
    Image.fromarray(truth).save(full_chroma, quality=25, subsampling=0)
    with pytest.raises(vo.UnsupportedFormatError, match=r"chroma \(YUV420P8\) is reduced more than the JPEG's"):
        vo.dejpeg(yuv, tr=0, quant=full_chroma)


def test_tables_travel_as_props(tmp_path):
    paths, _, _ = jpeg_pan(tmp_path, n=1, quality=40, width=64, height=64)
    tables = vo.jpeg_tables(paths[0])
    clip = core.bs.VideoSource(paths[0])
    with tables.attach(clip).get_frame(0) as f:
        back = vo.JpegTables.from_props(f.props)
    assert back.subsampling == tables.subsampling and back.size == tables.size
    assert all((a == b).all() for a, b in zip(back.tables, tables.tables, strict=True))


def test_bad_input_is_refused(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=2, quality=25, width=128, height=96)
    clip = core.imgseqs.Read(paths, mismatch=False)
    png = tmp_path / "clean.png"
    Image.fromarray(truth).save(png)
    not_jpeg = core.imgseqs.Read([str(png)], mismatch=False)
    with pytest.raises(vo.UnsupportedFormatError, match="do not look like decoded JPEGs"):
        vo.dejpeg(not_jpeg, tr=0)
    other = vo.JpegTables(tuple(vo.jpeg_tables(paths[0]).tables), (1, 1), (640, 480))
    with pytest.raises(vo.UnsupportedFormatError, match="tables are of a 640x480 image"):
        vo.dejpeg(clip, tr=1, quant=other)
    wrong = vo.JpegTables(tuple(np.full((3, 8, 8), 7, np.int32)), (1, 1))
    with pytest.raises(vo.UnsupportedFormatError, match="do not sit on its JPEG tables' lattice"):
        vo.dejpeg(clip, tr=1, quant=wrong)
    grey_tables = vo.JpegTables((np.full((8, 8), 16, np.int32),), (0, 0))
    with pytest.raises(vo.UnsupportedFormatError, match="tables are for a grey image"):
        vo.dejpeg(clip, tr=1, quant=grey_tables)
    with pytest.raises(vo.InvalidArgumentError, match=r"tr must be in \[0, 16\]"):
        vo.dejpeg(clip, tr=17)
    with pytest.warns(RuntimeWarning, match=r"tr=4 reaches beyond both ends of a 2-frame clip: .* pass tr=1 or less"):
        vo.dejpeg(clip)
    with pytest.raises(vo.ArgumentTypeError, match="quant must be None"):
        vo.dejpeg(clip, tr=1, quant=25)
    with pytest.raises(vo.InvalidArgumentError, match="one JpegTables per frame"):
        vo.dejpeg(clip, tr=1, quant=[vo.jpeg_tables(paths[0])])
    with pytest.raises(vo.InvalidArgumentError, match="must be a JPEG file"):
        vo.jpeg_tables(png)


def known_pan(clip: vs.VideoNode, offsets) -> vo.Pan:
    """The pan the frames were cut at (the test is of the render, not of the alignment on 160x120 Q25 frames)."""
    measured = vo.estimate_pan(clip)
    return dataclasses.replace(measured, x=np.array([x for x, _ in offsets], float),
                               y=np.array([y for _, y in offsets], float))


def test_stitch_jpeg_beats_the_average_over_the_whole_pan(tmp_path):
    paths, _, offsets = jpeg_pan(tmp_path, n=6, quality=25)
    clip = core.imgseqs.Read(paths, mismatch=False)
    pan = known_pan(clip, offsets)
    average, jpeg = (vo.stitch(clip, render=r, pan=pan) for r in ("average", "jpeg"))
    assert jpeg.format.id == vs.RGB24 and (jpeg.width, jpeg.height) == (average.width, average.height)
    with jpeg.get_frame(0) as f:
        assert f.props["OvrRender"] == "jpeg" and f.props["OvrFrames"] == 6
        covered = np.asarray(f.props["_Alpha"][0]) > 0
    ours, mean = rgb_of(jpeg, 0), rgb_of(average, 0)
    scene = np.clip(np.rint(park_rgb()), 0, 255)[40:40 + jpeg.height, 60:60 + jpeg.width]
    seen = ndimage.binary_erosion(covered, iterations=4)
    assert psnr(luma(ours)[seen], luma(scene)[seen]) > psnr(luma(mean)[seen], luma(scene)[seen]) + 1.0
    assert psnr(ours[seen], scene[seen]) > psnr(mean[seen], scene[seen]) + 2.0  # joint TV keeps colour in the lines
    assert (ours[~covered] == 0).all()


def test_stitch_jpeg_on_the_decoders_yuv_with_estimated_tables(tmp_path):
    paths, _, offsets = jpeg_pan(tmp_path, n=5, quality=30, width=128, height=96)
    clip = core.std.Splice([core.bs.VideoSource(p) for p in paths])  # YUV420P8 as coded, no tables anywhere
    pan = known_pan(clip, offsets)
    still = vo.stitch(clip, render="jpeg", pan=pan)
    average = vo.stitch(clip, render="average", pan=pan)
    assert still.format.id == vs.YUV420P8
    with still.get_frame(0) as f, average.get_frame(0) as g:
        ours, mean = np.asarray(f[0], dtype=np.float64), np.asarray(g[0], dtype=np.float64)
        covered = np.asarray(f.props["_Alpha"][0]) > 0
    scene = luma(np.clip(np.rint(park_rgb()), 0, 255)[40:40 + still.height, 60:60 + still.width])
    common = np.s_[max(y for _, y in offsets):96, max(x for x, _ in offsets):128]  # every frame saw it
    assert covered[common].all()
    assert psnr(ours[common], scene[common]) > psnr(mean[common], scene[common]) + 1.0


def test_stitch_jpeg_refuses_what_is_not_a_jpeg_pan(tmp_path):
    paths, truth, _ = jpeg_pan(tmp_path, n=2, quality=25, width=128, height=96)
    clip = core.imgseqs.Read(paths, mismatch=False)
    with pytest.raises(vo.InvalidArgumentError, match="quant is for render='jpeg' only"):
        vo.stitch(clip, quant=paths[0])
    pngs = []
    for k, shift in enumerate((0, 5)):
        pngs.append(str(tmp_path / f"clean{k}.png"))
        Image.fromarray(np.ascontiguousarray(truth[:, shift:shift + 100])).save(pngs[-1])
    with pytest.raises(vo.UnsupportedFormatError, match="do not look like decoded JPEGs"):
        vo.stitch(core.imgseqs.Read(pngs, mismatch=False), render="jpeg")


def test_cupy_backend_gives_the_numpy_frames(cupy, tmp_path):
    paths, _, _ = jpeg_pan(tmp_path, n=3, quality=25, width=128, height=96)
    clip = core.imgseqs.Read(paths, mismatch=False)
    pan = vo.estimate_pan(clip, backend="numpy")  # the solvers are compared, not the alignments
    on_gpu, on_cpu = (rgb_of(vo.dejpeg(clip, tr=1, iterations=20, pan=pan, backend=b), 1) for b in ("cupy", "numpy"))
    assert np.abs(on_gpu - on_cpu).max() <= 1 and np.abs(on_gpu - on_cpu).mean() < 0.05
    still_gpu, still_cpu = (rgb_of(vo.stitch(clip, render="jpeg", pan=pan, backend=b), 0) for b in ("cupy", "numpy"))
    assert np.abs(still_gpu - still_cpu).max() <= 1 and np.abs(still_gpu - still_cpu).mean() < 0.05
