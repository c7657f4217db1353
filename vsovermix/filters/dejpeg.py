"""``vo.dejpeg`` and ``vo.jpeg_tables``: the image behind JPEG blocks, from every shifted frame that saw it."""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import vapoursynth as vs

from .._progress import progress_callback
from .._vs.colour import BT601, rgb_to_ycbcr, ycbcr_to_rgb
from .._vs.depth import is_full_range, plane_units, unit_transform
from .._vs.formats import check_clip, plane_subsampling
from .._vs.frames import new_frame, write_float_plane
from .._vs.windows import distinct_frames, map_window, warn_window_longer_than_clip
from ..backend import array_module, resolve_backend
from ..errors import ArgumentTypeError, FuncLike, InvalidArgumentError, UnsupportedFormatError, func_name
from ..ops.jpeg import (
    BLOCK,
    CodedPlane,
    CodedView,
    DejpegSettings,
    area_any,
    coded_from_upsampled,
    coded_view,
    dejpeg_canvas,
    dejpeg_estimate,
    estimate_quality,
    ijg_table,
    lattice_fit,
)
from ..ops.resample import to_numpy
from ..ops.stitch import DEFAULT_FEATHER, DEFAULT_KERNEL, Canvas, FramePlacement, StreamingRender
from .align import LazyPan, Pan, check_align_args, check_pan

__all__ = ["JpegTables", "dejpeg", "jpeg_tables"]

MAX_TR = 16
SINGLE_IMAGE_ITERATIONS = 150
# lattice_fit (nats per coefficient) below which frames are refused as not made with the tables, and
# below which an estimated table comes with a warning.
MIN_FIT = 0.5
WARN_FIT = 1.5
PROP_QUANT = "OvrJpegQuant"
PROP_SUBSAMPLING = "OvrJpegSubsampling"
PROP_SIZE = "OvrJpegSize"
UPSAMPLING_MODELS = ("box", "fancy")


@dataclass(frozen=True)
class JpegTables:
    """The quantisation tables of a JPEG (or a guess at them), and its chroma subsampling.

    ``tables`` holds one 8x8 table (natural order, rows = vertical frequency) per component: Y, or Y, Cb,
    Cr. ``subsampling`` is the chroma's ``(log2 w, log2 h)`` reduction (``(1, 1)`` for 4:2:0).
    ``size`` is the image's ``(width, height)`` when known. ``quality`` and ``confidence`` are set when
    the tables were estimated from decoded frames (libjpeg quality; ``lattice_fit`` in nats per
    coefficient, about 2-3 for a sure match, below 1.5 doubtful)."""

    tables: tuple[np.ndarray, ...]
    subsampling: tuple[int, int] = (1, 1)
    size: tuple[int, int] | None = None
    quality: int | None = None
    confidence: float | None = None

    def props(self) -> dict[str, Any]:
        """Frame props that carry these tables (``OvrJpegQuant``, ``OvrJpegSubsampling``, ``OvrJpegSize``)."""
        out: dict[str, Any] = {PROP_QUANT: [int(v) for t in self.tables for v in np.asarray(t).ravel()],
                               PROP_SUBSAMPLING: list(self.subsampling)}
        if self.size is not None:
            out[PROP_SIZE] = list(self.size)
        return out

    def attach(self, clip: vs.VideoNode) -> vs.VideoNode:
        """``clip`` with these tables as props on every frame."""
        return clip.std.SetFrameProps(**self.props())

    @classmethod
    def from_props(cls, props: Any) -> JpegTables | None:
        values = props.get(PROP_QUANT)
        if values is None:
            return None
        flat = np.asarray(list(values), dtype=np.int32)
        if flat.size not in (64, 192) or (flat < 1).any():
            raise ValueError(f"{PROP_QUANT} must hold 64 or 192 steps >= 1, got {flat.size} values")
        sub = tuple(int(v) for v in props.get(PROP_SUBSAMPLING, (1, 1)))
        size = props.get(PROP_SIZE)
        return cls(tuple(flat.reshape(-1, 8, 8)), (sub[0], sub[1]),
                   None if size is None else (int(size[0]), int(size[1])))


def jpeg_tables(path: str | os.PathLike) -> JpegTables:
    """The quantisation tables, chroma subsampling and size of a JPEG file (read with Pillow).

    Usage Example::

        clean = vo.dejpeg(clip, quant=vo.jpeg_tables("frame0001.jpg"))

    Raises:
        InvalidArgumentError: the file is missing, not a JPEG, or not 1- or 3-component.
    """
    return _read_tables(os.fspath(path))


@functools.lru_cache(maxsize=256)
def _read_tables(path: str) -> JpegTables:
    func = jpeg_tables
    try:
        from PIL import Image, JpegImagePlugin
    except ImportError as error:  # pragma: no cover - pillow is a dependency
        raise InvalidArgumentError(func, "reading JPEG tables needs Pillow; pip install pillow") from error
    if not Path(path).is_file():
        raise InvalidArgumentError(func, f"path must be an existing JPEG file, got {path!r}")
    try:
        with Image.open(path) as image:
            if not isinstance(image, JpegImagePlugin.JpegImageFile):
                raise InvalidArgumentError(func, f"path must be a JPEG file, got {path!r} ({image.format})")
            quant = {k: np.asarray(list(v), dtype=np.int32).reshape(8, 8) for k, v in image.quantization.items()}
            layers = list(image.layer)  # (component id, h sampling, v sampling, table id)
            size = image.size
    except OSError as error:
        raise InvalidArgumentError(func, f"path must be a readable JPEG file, got {path!r}: {error}") from error
    if len(layers) not in (1, 3):
        raise InvalidArgumentError(func, f"only 1- and 3-component (grey or YCbCr) JPEGs are supported, got "
                                         f"{len(layers)} components in {path!r}")
    tables = tuple(quant[tq] for _, _, _, tq in layers)
    subsampling = (0, 0)
    if len(layers) == 3:
        h0, v0 = layers[0][1], layers[0][2]
        subsampling = (int(math.log2(h0 // layers[1][1])), int(math.log2(v0 // layers[1][2])))
    return JpegTables(tables, subsampling, size)


@dataclass(frozen=True)
class _Layout:
    """How a clip's planes relate to JPEG components: the estimate is made per component, at the clip's own
    plane resolution (RGB: full-resolution YCbCr), and ``reduce[c]`` (``(x, y)``) takes it to the coded
    resolution; ``upsampling`` is how a decoder brought coded chroma up to the clip's (when reduce > 1)."""

    reduce: tuple[tuple[int, int], ...]
    upsampling: str


@dataclass
class _Decoded:
    """A decoded frame as JPEG components (Y, Cb, Cr or Y; 8-bit code values at the clip's plane sizes), and
    the pixels its decoder may have clipped to 0 or 255, where what it decoded is lost: any channel of
    RGB, the luma of GRAY and YUV (a white page's ringing, a black line's undershoot). Clipped pixels are
    left out of the lattice checks; the solver still uses them (widening their intervals cost 4 dB of
    luma on saturated cels)."""

    components: list[np.ndarray]
    clipped: np.ndarray
    rgb: bool

    def untrusted(self, component: int, reduce: tuple[int, int]) -> np.ndarray | None:
        """The clipped pixels that reach ``component``'s coded plane, ``reduce`` times coarser."""
        if component and not self.rgb:  # YUV chroma was decoded as it is: luma clipping says nothing of it
            return None
        return self.clipped if reduce == (1, 1) else area_any(self.clipped, reduce)


def _decode(frame: vs.VideoFrame, fmt: vs.VideoFormat, full: bool) -> _Decoded:
    units = [plane_units(frame, p, full) * np.float32(255.0) for p in range(fmt.num_planes)]
    if fmt.color_family == vs.RGB:
        rgb = np.stack(units, axis=-1)
        clipped = ((rgb <= 0.5) | (rgb >= 254.5)).any(axis=-1)
        ycc = rgb_to_ycbcr(rgb, BT601)  # JFIF: full-range BT.601
        components = [np.ascontiguousarray(ycc[..., 0]), np.ascontiguousarray(ycc[..., 1] + 128),
                      np.ascontiguousarray(ycc[..., 2] + 128)]
        return _Decoded(components, clipped, True)
    components = [u + np.float32(128.0 if p else 0.0) for p, u in enumerate(units)]
    return _Decoded(components, (components[0] <= 0.5) | (components[0] >= 254.5), False)


def _component_planes(components: Sequence[np.ndarray], fmt: vs.VideoFormat, full: bool) -> list[np.ndarray]:
    """JPEG components (8-bit units) back as the clip's planes (its float code values; NaN stays NaN)."""
    if fmt.color_family == vs.RGB:
        ycc = np.stack([components[0], components[1] - 128, components[2] - 128], axis=-1)
        units = list(np.moveaxis(ycbcr_to_rgb(ycc, BT601) * np.float32(1.0 / 255.0), -1, 0))
    else:
        units = [(c - np.float32(128.0 if p else 0.0)) * np.float32(1.0 / 255.0) for p, c in enumerate(components)]
    planes = []
    for p, u in enumerate(units):
        offset, scale = unit_transform(fmt, p, full)
        planes.append(u * np.float32(scale) + np.float32(offset))
    return planes


def _own_subsampling(fmt: vs.VideoFormat) -> tuple[int, int]:
    """The clip's chroma subsampling (log2): RGB is estimated as full-resolution YCbCr."""
    return (0, 0) if fmt.color_family == vs.RGB else (fmt.subsampling_w, fmt.subsampling_h)


def _chroma_reduce(own: tuple[int, int], coded: tuple[int, int]) -> tuple[int, int]:
    return 1 << (coded[0] - own[0]), 1 << (coded[1] - own[1])


def _layout(func: FuncLike, fmt: vs.VideoFormat, tables: JpegTables, upsampling: str) -> _Layout:
    if fmt.color_family == vs.GRAY:
        return _Layout(((1, 1),), upsampling)
    if len(tables.tables) != 3:
        raise UnsupportedFormatError(func, f"the JPEG tables are for a grey image, but the clip is "
                                           f"{fmt.name}; convert it to GRAY first")
    own = _own_subsampling(fmt)
    if own[0] > tables.subsampling[0] or own[1] > tables.subsampling[1]:
        raise UnsupportedFormatError(func, f"the clip's chroma ({fmt.name}) is reduced more than the JPEG's "
                                           f"(subsampling {tables.subsampling}); give the decoder's own output")
    chroma = _chroma_reduce(own, tables.subsampling)
    return _Layout(((1, 1), chroma, chroma), upsampling)


def _chroma_model(decoded: _Decoded, table: np.ndarray, own: tuple[int, int],
                  subsamplings: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], str]:
    """The JPEG chroma subsampling (of ``subsamplings``) and decoder upsampling that best put the frame's Cb on
    ``table``'s lattice; on a tie (within 0.05 nats) the first, simpler one."""
    best, best_fit = (subsamplings[0], "box"), -math.inf
    for sub in subsamplings:
        reduce = _chroma_reduce(own, sub)
        for model in UPSAMPLING_MODELS if reduce != (1, 1) else ("box",):
            coded = coded_from_upsampled(decoded.components[1], reduce, model)
            fit = lattice_fit(coded, table, decoded.untrusted(1, reduce))
            if not math.isnan(fit) and fit > best_fit + 0.05:
                best, best_fit = (sub, model), fit
    return best


def _estimate_tables(func: FuncLike, decoded: _Decoded, fmt: vs.VideoFormat) -> tuple[JpegTables, str]:
    """libjpeg-scaled tables that best explain a decoded frame, with the chroma subsampling and upsampling."""
    quality, fit = estimate_quality(decoded.components[0], untrusted=decoded.untrusted(0, (1, 1)))
    if math.isnan(fit) or fit < MIN_FIT:
        found = "no texture to tell" if math.isnan(fit) else f"best fit {fit:.2f} nats at quality {quality}"
        raise UnsupportedFormatError(func, f"the frames do not look like decoded JPEGs ({found}); pass "
                                           "quant=vo.jpeg_tables('file.jpg') if they are, or leave them alone")
    if len(decoded.components) == 1:
        return JpegTables((ijg_table(quality),), (0, 0), None, quality, fit), "box"
    chroma = ijg_table(quality, chroma=True)
    own = _own_subsampling(fmt)
    candidates = list(dict.fromkeys((sw, sh) for sw in (own[0], 1) for sh in (own[1], 1)
                                    if sw >= own[0] and sh >= own[1]))
    sub, model = _chroma_model(decoded, chroma, own, candidates)
    return JpegTables((ijg_table(quality), chroma, chroma), sub, None, quality, fit), model


def _check_quant(func: FuncLike, quant: object, num_frames: int) -> JpegTables | list[JpegTables] | None:
    if quant is None or isinstance(quant, JpegTables):
        return quant
    if isinstance(quant, (str, os.PathLike)):
        return _read_tables(os.fspath(quant))
    if isinstance(quant, (list, tuple)) and all(isinstance(q, JpegTables) for q in quant):
        if len(quant) != num_frames:
            raise InvalidArgumentError(func, f"quant as a list must hold one JpegTables per frame "
                                             f"({num_frames}), got {len(quant)}")
        return list(quant)
    raise ArgumentTypeError(func, f"quant must be None (from the frames), a JpegTables, a JPEG file's path or "
                                  f"a list of JpegTables, got {quant!r:.80}")


def _path_prop(props: Any) -> str | None:
    value = props.get("ImgSeqPath")
    if value is None:
        return None
    path = value.decode() if isinstance(value, bytes) else str(value)
    return path if path.lower().endswith((".jpg", ".jpeg", ".jfif", ".jpe")) else None


class TableSource:
    """Frame ``n``'s tables: ``quant=``, else its ``OvrJpegQuant`` props, else the JPEG its ``ImgSeqPath``
    prop names, else the tables estimated from frame 0 at call time."""

    def __init__(self, func: FuncLike, clip: vs.VideoNode, quant: Any):
        self.func = func
        self.quant = _check_quant(func, quant, clip.num_frames)
        self.fmt = clip.format
        with clip.get_frame(0) as first:
            self.full = is_full_range(self.fmt, first.props)
            decoded = _decode(first, self.fmt, self.full)
            found = self._given(0, first.props)
            size = (first.width, first.height)
        self.estimated: JpegTables | None = None
        if found is None:
            self.estimated, upsampling = _estimate_tables(func, decoded, self.fmt)
            if self.estimated.confidence < WARN_FIT:
                warnings.warn(f"(vsovermix.{func_name(func)}) the JPEG tables were estimated from frame 0 with "
                              f"low confidence (quality {self.estimated.quality}, fit "
                              f"{self.estimated.confidence:.2f} nats, 2-3 is sure); pass quant= if you know them",
                              RuntimeWarning, stacklevel=3)
            self.layout = _layout(func, self.fmt, self.estimated, upsampling)
        else:
            self.layout = _layout(func, self.fmt, found, "box")  # refuses tables that do not fit the clip
            if len(self.layout.reduce) == 3 and self.layout.reduce[1] != (1, 1):
                _, upsampling = _chroma_model(decoded, found.tables[1], _own_subsampling(self.fmt),
                                              [found.subsampling])
                self.layout = replace(self.layout, upsampling=upsampling)
            self.check(0, found, decoded, size)

    def _given(self, n: int, props: Any) -> JpegTables | None:
        if isinstance(self.quant, JpegTables):
            return self.quant
        if isinstance(self.quant, list):
            return self.quant[n]
        try:
            tables = JpegTables.from_props(props)
        except ValueError as error:
            raise InvalidArgumentError(self.func, f"frame {n}: {error}") from None
        if tables is None and (path := _path_prop(props)) is not None:
            tables = _read_tables(path)
        return tables

    def tables(self, n: int, props: Any) -> JpegTables:
        found = self._given(n, props)
        return self.estimated if found is None else found

    def check(self, n: int, tables: JpegTables, decoded: _Decoded, size: tuple[int, int]) -> None:
        """Refuse frames that the tables do not describe (another size, or coefficients off their lattice)."""
        if tables.size is not None and tables.size != size:
            raise UnsupportedFormatError(self.func, f"frame {n} is {size[0]}x{size[1]}, but its JPEG tables are "
                                                    f"of a {tables.size[0]}x{tables.size[1]} image; dejpeg the "
                                                    "frames as decoded, before any crop or resize")
        fit = lattice_fit(decoded.components[0], tables.tables[0], decoded.untrusted(0, (1, 1)))
        if not math.isnan(fit) and fit < MIN_FIT:
            raise UnsupportedFormatError(self.func, f"frame {n}'s coefficients do not sit on its JPEG tables' "
                                                    f"lattice (fit {fit:.2f} nats; a decode made with them "
                                                    "scores 2-3): it was re-encoded, resized or is not a JPEG "
                                                    "decode; pass the decoder's own frames or the right quant=")


def _coded_planes(components: Sequence[np.ndarray], layout: _Layout, tables: JpegTables,
                  which: Sequence[int]) -> list[CodedPlane]:
    """One frame's components ``which`` at their coded resolution (the decoder's upsampling undone)."""
    planes = []
    for c in which:
        reduce = layout.reduce[c]
        coded = components[c] if reduce == (1, 1) else coded_from_upsampled(components[c], reduce, layout.upsampling)
        planes.append(CodedPlane(coded, tables.tables[c], reduce))
    return planes


def _views(components: Sequence[np.ndarray], layout: _Layout, tables: JpegTables,
           offset: tuple[float, float], subsampling: Sequence[tuple[int, int]]) -> list[CodedView]:
    """One frame's coded views, one per component; ``offset`` in luma px, ``subsampling`` per estimated
    component (log2)."""
    views = []
    for c, plane in enumerate(_coded_planes(components, layout, tables, range(len(components)))):
        (rx, ry), (ssw, ssh) = plane.reduce, subsampling[c]
        offset_coded = (offset[0] / ((1 << ssw) * rx), offset[1] / ((1 << ssh) * ry))
        views.append(coded_view(plane.coded, plane.table, offset_coded, plane.reduce))
    return views


def _average_components(canvas: Canvas, frames: Iterable[tuple[float, float, Sequence[np.ndarray]]],
                        subsampling: Sequence[tuple[int, int]], kernel: str = DEFAULT_KERNEL,
                        feather: int = DEFAULT_FEATHER) -> list[tuple[np.ndarray, np.ndarray]]:
    """The decodes' components averaged on ``canvas`` as ``vo.stitch``'s average render does, frame by frame:
    ``frames`` yields each frame's scene position ``(x, y)`` and components. Per component ``(values,
    cover)``, values NaN where no frame reaches. This is where the solver starts."""
    accumulators = [StreamingRender("average", canvas.width >> ssw, canvas.height >> ssh, np)
                    for ssw, ssh in subsampling]
    for x, y, components in frames:
        for c, plane in enumerate(components):
            ssw, ssh = subsampling[c]
            place = canvas.placement(x, y, plane.shape[1], plane.shape[0], ssw, ssh, kernel)
            accumulators[c].add(plane, place, feather, kernel)
    return [acc.result() for acc in accumulators]


def _estimated_subsampling(fmt: vs.VideoFormat) -> list[tuple[int, int]]:
    """Each estimated component's subsampling against the clip's luma (log2): RGB is full-resolution YCbCr."""
    if fmt.color_family == vs.GRAY:
        return [(0, 0)]
    return [(0, 0) if fmt.color_family == vs.RGB else plane_subsampling(fmt, p) for p in range(3)]


def _tv_groups(shapes: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Components of one size share one TV (RGB, 4:4:4, GRAY); subsampled chroma is solved on its own."""
    return [[c for c, s in enumerate(shapes) if s == shape] for shape in dict.fromkeys(shapes)]


def jpeg_still(clip: vs.VideoNode, source: TableSource, canvas: Canvas, pan: Pan, kernel: str, feather: int,
               xp: Any, progress: bool | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``vo.stitch(render="jpeg")``: the still of a pan of JPEG decodes, as ``(values, cover)`` per clip plane
    (the clip's float code values, NaN where no frame reaches); the solve runs on ``xp``.

    The average of the decodes on the canvas (as ``render="average"``) is where ``ops.jpeg.dejpeg_canvas``
    starts; each frame is checked against its tables as it is averaged."""
    fmt = clip.format
    subsampling = _estimated_subsampling(fmt)
    sizes = [(canvas.height >> ssh, canvas.width >> ssw) for ssw, ssh in subsampling]

    def placement(i: int, c: int) -> FramePlacement:
        ssw, ssh = subsampling[c]
        return canvas.placement(float(pan.x[i]), float(pan.y[i]), clip.width >> ssw, clip.height >> ssh, ssw, ssh,
                                kernel)

    def decode(i: int) -> tuple[JpegTables, _Decoded]:
        with clip.get_frame(i) as frame:
            return source.tables(i, frame.props), _decode(frame, fmt, source.full)

    bar = progress_callback(progress, "averaging")

    def checked_frames() -> Iterator[tuple[float, float, list[np.ndarray]]]:
        for i in range(clip.num_frames):
            tables, decoded = decode(i)
            if tables is not source.estimated:
                source.check(i, tables, decoded, (clip.width, clip.height))
            yield float(pan.x[i]), float(pan.y[i]), decoded.components
            if bar is not None:
                bar(i + 1, clip.num_frames)

    averages = _average_components(canvas, checked_frames(), subsampling, kernel, feather)
    solved: list[Any] = [None] * len(subsampling)
    for group in _tv_groups(sizes):
        def fetch(i: int, group: list[int] = group) -> list[CodedPlane]:
            tables, decoded = decode(i)
            return _coded_planes(decoded.components, source.layout, tables, group)

        planes = dejpeg_canvas(fetch, [placement(i, group[0]) for i in range(clip.num_frames)],
                               [averages[c][0] for c in group], DejpegSettings(), xp=xp,
                               progress=progress_callback(progress, f"estimating component {group[0]}"))
        for c, plane in zip(group, planes, strict=True):
            solved[c] = plane
    covers = [averages[0 if fmt.color_family == vs.RGB else p][1] for p in range(fmt.num_planes)]
    return list(zip(_component_planes(solved, fmt, source.full), covers, strict=True))


def dejpeg(clip: vs.VideoNode, tr: int = 4, *, quant: JpegTables | str | Sequence[JpegTables] | None = None,
           iterations: int | None = None, tolerance: float = 0.005, pan: Pan | None = None,
           backend: str = "auto") -> vs.VideoNode:
    """Estimate the image behind JPEG blocks: each frame from every frame of its window that saw it.

    Each decoded frame says which quantisation interval each of its 8x8 DCT coefficients lies in, on its
    own block grid; on a pan the grids move against the scene, so ``2 * tr + 1`` frames together pin the
    image down far more tightly than one. The output is the smoothest image (total variation, which keeps
    line art sharp) that agrees with all of them, found by a primal-dual solver (``vsovermix/ops/jpeg.py``).
    ``tr=0`` is single-image mode (the constraint and the prior, like jpeg2png).

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        shots = vs.core.imgseqs.Read(sorted(glob.glob("caps/*.jpg")))   # tables read from the files
        clean = vo.dejpeg(shots, tr=4)
        clean = vo.dejpeg(clip, quant=vo.jpeg_tables("frame0001.jpg"))  # frames from elsewhere
        single = vo.dejpeg(one_jpeg, tr=0)

    Best input is the decoder's own YCbCr (``core.bs.VideoSource("x.jpg")`` gives YUV420P8 as coded):
    RGB decodes lose what was clipped to 0 or 255, and their chroma went through the decoder's upsampling
    (undone here, "box" or libjpeg's "fancy", whichever fits frame 0).

    Args:
        clip: Decoded JPEG frames (one shot of a translating camera when ``tr > 0``): constant-format GRAY,
            YUV (its chroma no more reduced than the JPEG's) or RGB, 8-16 bit integer or 16/32 bit float.
        tr: Temporal radius in [0, 16], default 4: frame ``n`` is estimated from frames ``n - tr .. n + tr``
            (clipped to the clip), aligned as by ``vo.estimate_pan``. 0: each frame alone. A ``tr`` of the
            clip's length or more gives a warning (every frame then uses the whole clip).
        quant: The quantisation tables. None (default): each frame's ``OvrJpegQuant`` props
            (``JpegTables.attach``), else the JPEG file its ``ImgSeqPath`` prop names (``imgseqs.Read``),
            else libjpeg-scaled tables estimated from frame 0 (a warning when unsure, an error when the
            frames do not look like JPEG decodes). A ``JpegTables`` or a JPEG file's path: for every frame.
            A list of ``JpegTables``: one per frame.
        iterations: Solver iterations in [1, 1000]. Default None: 60, or 150 when ``tr=0`` (one frame's
            intervals leave more to the prior, which converges slower; the single-image rows of
            benchmarks/bench_dejpeg.py gained from it).
        tolerance: Stop early when an iteration changes the image by less than this on average (8-bit code
            values), in [0, 1], default 0.005.
        pan: A ``Pan`` from ``vo.estimate_pan`` for this clip, to reuse it; default None measures it on first
            use (only when ``tr > 0``).
        backend: ``"auto"`` (default), ``"cupy"`` or ``"numpy"``: where the alignment and the solver run.

    Returns:
        A clip of the same format, size and length, props kept.

    Raises:
        InvalidArgumentError, ArgumentTypeError: an argument out of range or of the wrong type.
        UnsupportedFormatError: frames that are not JPEG decodes, or tables that do not describe them.
        AlignmentError: as for ``vo.estimate_pan``.
    """
    func = dejpeg
    clip = check_clip(clip, func)
    tr = InvalidArgumentError.check_int(func, "tr", tr, 0, MAX_TR)
    if iterations is not None:
        iterations = InvalidArgumentError.check_int(func, "iterations", iterations, 1, 1000)
    ArgumentTypeError.check(func, "tolerance", tolerance, (int, float))
    if not 0.0 <= float(tolerance) <= 1.0:
        raise InvalidArgumentError(func, f"tolerance must be in [0, 1] (8-bit code values), got {tolerance!r}")
    if clip.width < BLOCK or clip.height < BLOCK:
        raise UnsupportedFormatError(func, f"frames must be at least 8x8 (one JPEG block), got "
                                           f"{clip.width}x{clip.height}")
    warn_window_longer_than_clip(func, tr, clip.num_frames)
    tr = min(tr, clip.num_frames - 1)  # the same windows, cut at the clip's ends
    if iterations is None:
        iterations = SINGLE_IMAGE_ITERATIONS if tr == 0 else DejpegSettings.iterations
    pan = check_pan(func, pan, clip)
    lazy = LazyPan(func, clip, check_align_args(func, clip, backend=backend), pan) if tr > 0 else None
    source = TableSource(func, clip, quant)
    xp = array_module(resolve_backend(backend, func))
    fmt = clip.format
    settings = DejpegSettings(iterations=iterations, tolerance=float(tolerance))
    est_subsampling = _estimated_subsampling(fmt)
    num_planes = len(est_subsampling)

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        members = distinct_frames(indices, frames)
        position = None if lazy is None else lazy.get()
        components, views = [], []
        for i, frame in members:
            tables = source.tables(i, frame.props)
            decoded = _decode(frame, fmt, source.full)
            if i == n and tables is not source.estimated:  # each frame is checked once, as its window's centre
                source.check(i, tables, decoded, (frame.width, frame.height))
            comps = decoded.components
            offset = (0.0, 0.0) if position is None else (float(position.x[i] - position.x[n]),
                                                          float(position.y[i] - position.y[n]))
            components.append((comps, offset))
            views.append(_views(comps, source.layout, tables, offset, est_subsampling))
        if len(members) > 1:  # the solver starts from the decodes averaged on frame n's own grid
            own_grid = Canvas(clip.width, clip.height, 0.0, 0.0)
            initials = [values for values, _ in _average_components(
                own_grid, ((dx, dy, comps) for comps, (dx, dy) in components), est_subsampling)]
        else:
            initials = components[0][0]
        out_components: list[Any] = [None] * num_planes
        for group in _tv_groups([i.shape for i in initials]):
            solved = dejpeg_estimate([xp.asarray(initials[c]) for c in group], [[v[c] for v in views] for c in group],
                                     settings)
            for c, plane in zip(group, solved, strict=True):
                out_components[c] = to_numpy(plane)
        out = new_frame(dict(members)[n], ())
        for p, plane in enumerate(_component_planes(out_components, fmt, source.full)):
            write_float_plane(plane, out, p)
        return out

    return map_window(clip, tr, render)
