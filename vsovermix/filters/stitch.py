"""``vo.stitch``: a camera-pan clip collapses into one still of the whole scene."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import vapoursynth as vs

from .._memory import available_host_bytes, check_fits
from .._progress import progress_callback
from .._vs.depth import black_value, is_full_range, rescale_values
from .._vs.formats import check_clip, plane_subsampling
from .._vs.frames import peak_value, plane_to_float, write_float_plane
from ..backend import array_module
from ..errors import InvalidArgumentError, UnsupportedFormatError
from ..ops.resample import KERNELS, to_numpy
from ..ops.steam import SteamStack, estimate_steam_colour, mask_at_key_resolution, steam_background
from ..ops.stitch import (
    DEFAULT_FEATHER,
    DEFAULT_KERNEL,
    STITCH_RENDERS,
    Canvas,
    StreamingRender,
    median_render,
    plan_canvas,
    resample,
)
from ..ops.superres import SrSettings, superres_canvas
from .align import DEFAULT_BORDER, DEFAULT_NEIGHBOURS, MaskLike, Pan, check_align_args, check_pan, compute_pan
from .dejpeg import TableSource, jpeg_still
from .steam import ColourLike, check_colour, steam_key, white_colour
from .superres import PsfLike, check_psf, plane_psf

__all__ = ["stitch"]

DEPTHS = (None, 16, 32)
MAX_FEATHER = 256


def stitch(clip: vs.VideoNode, *, render: str = "average", pan: Pan | None = None, kernel: str = DEFAULT_KERNEL,
           feather: int = DEFAULT_FEATHER, depth: int | None = None, scale: int = 2, psf: PsfLike = None,
           neighbours: int = DEFAULT_NEIGHBOURS, quant: Any = None, colour: ColourLike = None, mask: MaskLike = None,
           border: int = DEFAULT_BORDER,
           non_translation: str = "warn", backend: str = "auto", progress: bool | None = None) -> vs.VideoNode:
    """Stitch the frames of a camera pan into one still of the whole scene (a 1-frame clip).

    Each frame is placed at its sub-pixel position (``vo.estimate_pan``) and resampled there, never
    rounded to whole pixels; the still is the union of all frames. ``render`` decides how the frames
    that cover a pixel combine:

    - ``"average"``: noise and compression artefacts average away. Each frame's edge is feathered
      (``feather`` px) so borders leave no seam, and frames whose pixels fall nearer the still's grid
      count more (they carry less interpolation error).
    - ``"median"``: robust to what moves in fewer than half the frames (mouths, flashes, birds).
    - ``"min"``: the darkest value: steam, smoke and light leaks vanish over the whole pan.
    - ``"max"``: the brightest value.
    - ``"steam"``: ``vo.steam``'s steam model over the whole pan: every scene point from the frames that saw
      it least steamed, chroma following luma, de-blended, the residual of steam that covers a point in every
      frame solved from the steam's motion in scene coordinates (a pan at a steady speed). Holds every frame
      resampled onto the still in memory (checked when ``stitch`` is called).
    - ``"sr"``: multi-frame super-resolution of the whole scene, ``scale`` times larger (``vo.superres``'s
      solver, started from the average and run in bands of the canvas, so memory holds one band's
      frames whatever their number).
    - ``"jpeg"``: for frames that are JPEG decodes (screenshots, Motion-JPEG): the smoothest still whose
      8x8 DCT coefficients, seen on every frame's own block grid, lie in that frame's quantisation
      intervals (``vo.dejpeg``'s solver, started from the average and run in bands of the canvas). Tables
      come from ``quant`` or the frames, as for ``vo.dejpeg``.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        pan = core.bs.VideoSource("ep01.mkv")[1200:1290]
        still = vo.stitch(pan)                         # 1 frame, as large as the whole scene
        still = vo.stitch(pan, render="median", depth=16)
        still = vo.stitch(core.imgseqs.Read(sorted(glob.glob("caps/*.jpg"))), render="jpeg")
        still.set_output()

    The alignment runs when ``stitch`` is called (it fixes the still's size); the compositing runs when
    the still's frame is requested, reading the frames one by one (average, min, max: memory does not
    grow with the number of frames; median: in bands of at most 512 MiB).

    Args:
        clip: A constant-format GRAY, YUV (any subsampling) or RGB clip, 8-16 bit integer or 16/32 bit
            float, of at least 2 frames: one shot of a translating camera.
        render: ``"average"`` (default), ``"median"``, ``"min"``, ``"max"``, ``"steam"``, ``"sr"`` or ``"jpeg"``.
        pan: A ``Pan`` from ``vo.estimate_pan`` for this clip, to reuse it; default None measures it.
        kernel: Resampling kernel: ``"lanczos3"`` (default), ``"lanczos4"`` or ``"cubic"``.
        feather: Width in px (of each plane) over which a frame's weight ramps up from its edge, in
            [0, 256], default 8. Average render, and the average that ``"sr"`` and ``"jpeg"`` start from.
        depth: Output sample type: None (default) = the clip's; 16 = 16-bit integer; 32 = 32-bit float
            (keeps the precision that averaging gains).
        scale: For ``render="sr"`` only: the factor in [2, 4], default 2.
        psf: For ``render="sr"`` only: the source's softness, as ``vo.superres``'s ``psf`` (default None:
            a Gaussian of 0.2 input px; 0: the area sensor alone).
        quant: For ``render="jpeg"`` only: the quantisation tables, as ``vo.dejpeg``'s ``quant`` (default None:
            from the frames' props or files, else estimated from frame 0).
        colour: For ``render="steam"`` only: the steam's colour, as ``vo.steam``'s ``colour`` (default None:
            estimated from the frames).
        neighbours, mask, border, non_translation, backend: as for ``vo.estimate_pan``.
        progress: Progress bars on stderr: None (default) when stderr is a terminal, True, False.

    Returns:
        A 1-frame clip of the still, in the clip's family and subsampling, sized to hold every frame (a
        multiple of the subsampling; times ``scale`` for ``"sr"``). Pixels no frame covers are black
        (neutral chroma) and transparent in the ``_Alpha`` frame attached as a prop (GRAY, same depth:
        white where covered). Props: those of frame 0, plus ``OvrFrames``, ``OvrRender``, ``OvrKernel``,
        ``OvrOriginX`` / ``OvrOriginY`` (scene position of the still's top-left pixel, frame 0 at 0, 0, in
        the frames' px), ``OvrOffsetMinX`` ...
        ``OvrOffsetMaxY``, ``OvrCoverage`` (share of the still that some frame covers) and ``OvrScale``.

    Raises:
        InvalidArgumentError: an argument out of range, or a ``pan`` of another clip.
        AlignmentError, ClipTooShortError, UnsupportedFormatError: as for ``vo.estimate_pan``; for ``"jpeg"``
            also as for ``vo.dejpeg`` (frames that are not JPEG decodes, tables that do not describe them).
    """
    func = stitch
    clip = check_clip(clip, func)
    render = InvalidArgumentError.check_choice(func, "render", render, STITCH_RENDERS)
    scale = InvalidArgumentError.check_int(func, "scale", scale, 2, 4) if render == "sr" else 1
    if quant is not None and render != "jpeg":
        raise InvalidArgumentError(func, f"quant is for render='jpeg' only, got it with render={render!r}")
    if psf is not None and render != "sr":
        raise InvalidArgumentError(func, f"psf is for render='sr' only, got it with render={render!r}")
    blur = check_psf(func, psf)
    if colour is not None and render != "steam":
        raise InvalidArgumentError(func, f"colour is for render='steam' only, got it with render={render!r}")
    steam_colour = check_colour(func, colour, clip.format, "model")
    kernel = InvalidArgumentError.check_choice(func, "kernel", kernel, KERNELS)
    feather = InvalidArgumentError.check_int(func, "feather", feather, 0, MAX_FEATHER)
    if depth not in DEPTHS:
        raise InvalidArgumentError(func, f"depth must be None (the clip's), 16 (integer) or 32 (float), got {depth!r}")
    settings = check_align_args(func, clip, neighbours, mask, border, non_translation, backend)
    tables = TableSource(func, clip, quant) if render == "jpeg" else None  # refuses non-JPEG frames before aligning
    pan = check_pan(func, pan, clip)
    if pan is None:
        pan = compute_pan(func, clip, settings, progress_callback(progress, "aligning"))
    fmt = clip.format
    out_fmt = fmt if depth is None else vs.core.query_video_format(
        fmt.color_family, vs.INTEGER if depth == 16 else vs.FLOAT, depth, fmt.subsampling_w, fmt.subsampling_h)
    canvas = plan_canvas(pan.x, pan.y, clip.width, clip.height, fmt.subsampling_w, fmt.subsampling_h)
    if render == "steam":
        _check_steam_stack_fits(func, clip, canvas)
    fps = Fraction(clip.fps.numerator, clip.fps.denominator) if clip.fps.numerator else Fraction(24000, 1001)
    blank = vs.core.std.BlankClip(format=out_fmt.id, width=canvas.width * scale, height=canvas.height * scale,
                                  length=1, fpsnum=fps.numerator, fpsden=fps.denominator, keep=True)
    xp = np if render == "median" else array_module(settings.backend)

    all_planes = range(fmt.num_planes)
    canvas_sizes = [(canvas.width >> plane_subsampling(fmt, p)[0], canvas.height >> plane_subsampling(fmt, p)[1])
                    for p in all_planes]

    def fetch(n: int, planes: Sequence[int]) -> list[np.ndarray]:
        """Frame ``n``'s ``planes`` as float32 code values."""
        with clip.get_frame(n) as frame:
            arrays = [plane_to_float(frame, p) for p in planes]
        if fmt.sample_type == vs.FLOAT and not all(np.isfinite(a).all() for a in arrays):
            raise UnsupportedFormatError(func, f"frame {n} holds NaN or infinite samples; replace them first, e.g. "
                                               "core.std.Expr(clip, 'x x = x 0 ?')")
        return arrays

    def placement(n: int, plane: int) -> Any:
        ssw, ssh = plane_subsampling(fmt, plane)
        h, w = clip.height >> ssh, clip.width >> ssw
        return canvas.placement(float(pan.x[n]), float(pan.y[n]), w, h, ssw, ssh, kernel)

    def composite(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        with clip.get_frame(0) as first:
            props = dict(first.props)
        full = is_full_range(fmt, props)
        results: list[tuple[np.ndarray, np.ndarray]] = []
        if tables is not None:
            results = jpeg_still(clip, tables, canvas, pan, kernel, feather, xp, progress)
        elif render == "steam":
            results = _steam_still(fmt, clip.num_frames, lambda i: fetch(i, all_planes), placement, canvas_sizes,
                                   kernel, steam_colour, full, props, progress)
        elif render == "median":  # bands re-read the frames: read only the plane being reduced
            for p in all_planes:
                results.append(median_render(lambda i, p=p: fetch(i, (p,))[0],
                                             [placement(i, p) for i in range(clip.num_frames)], *canvas_sizes[p],
                                             kernel, progress=progress_callback(progress, f"median plane {p}")))
        else:
            bar = progress_callback(progress, "stitching")
            accumulators = [StreamingRender("average" if render == "sr" else render, *canvas_sizes[p], xp)
                            for p in all_planes]
            for i in range(clip.num_frames):
                for p, plane in enumerate(fetch(i, all_planes)):
                    accumulators[p].add(xp.asarray(plane), placement(i, p), feather, kernel)
                if bar is not None:
                    bar(i + 1, clip.num_frames)
            for acc in accumulators:
                values, cover = acc.result()
                results.append((to_numpy(values), to_numpy(cover)))
        if render == "sr":  # the average is where the solve starts; bands re-read one plane at a time
            peak = np.float32(peak_value(fmt))
            for p in all_planes:
                values, cover = results[p]
                solved = superres_canvas(lambda i, p=p: fetch(i, (p,))[0] / peak,
                                         [placement(i, p) for i in range(clip.num_frames)], values / peak, scale,
                                         SrSettings(psf=plane_psf(blur, scale, *plane_subsampling(fmt, p))),
                                         progress=progress_callback(progress, f"super-resolving plane {p}"), xp=xp)
                results[p] = (solved * peak, np.repeat(np.repeat(cover, scale, axis=0), scale, axis=1))
        out = f.copy()
        for p, (values, _) in enumerate(results):
            values = rescale_values(values, p, fmt, out_fmt, full)
            values = np.where(np.isnan(values), np.float32(black_value(out_fmt, p, full)), values)
            write_float_plane(values, out, p)
        covered = results[0][1] > 0
        alpha = vs.core.create_video_frame(vs.core.query_video_format(vs.GRAY, out_fmt.sample_type,
                                                                      out_fmt.bits_per_sample, 0, 0),
                                           canvas.width * scale, canvas.height * scale)
        write_float_plane(np.where(covered, np.float32(1.0 if out_fmt.sample_type == vs.FLOAT else
                                                       (1 << out_fmt.bits_per_sample) - 1), 0).astype(np.float32),
                          alpha, 0)
        props.update(OvrFrames=clip.num_frames, OvrRender=render, OvrKernel=kernel, OvrOriginX=canvas.origin_x,
                     OvrOriginY=canvas.origin_y, OvrOffsetMinX=float(pan.x.min()), OvrOffsetMaxX=float(pan.x.max()),
                     OvrOffsetMinY=float(pan.y.min()), OvrOffsetMaxY=float(pan.y.max()),
                     OvrCoverage=float(covered.mean()), OvrScale=scale, _Alpha=alpha)
        if depth is not None:
            props["_Range"] = vs.Range.RANGE_FULL if full else vs.Range.RANGE_LIMITED
        out.props.clear()
        out.props.update(props)
        return out

    return blank.std.ModifyFrame(blank, composite)


def _check_steam_stack_fits(func: Any, clip: vs.VideoNode, canvas: Canvas) -> None:
    fmt = clip.format
    samples = sum((canvas.width >> plane_subsampling(fmt, p)[0]) * (canvas.height >> plane_subsampling(fmt, p)[1])
                  for p in range(fmt.num_planes))
    # every frame on the still as float32, and about eight still-sized working arrays per frame at the key's size
    needed = clip.num_frames * 4 * (samples + 8 * canvas.width * canvas.height)
    check_fits(func, needed, available_host_bytes(), "host", f"render='steam' over {clip.num_frames} frames on a "
               f"{canvas.width}x{canvas.height} still", "stitch fewer frames (e.g. clip[::2]) or use render='min'")


def _steam_still(fmt: vs.VideoFormat, count: int, fetch: Any, placement: Any, canvas_sizes: list[tuple[int, int]],
                 kernel: str, colour: tuple[float, ...] | None, full: bool, props: dict,
                 progress: bool | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The steam model over every frame placed on the still: (values with NaN where uncovered, coverage) per plane."""
    planes = [np.zeros((count, h, w), np.float32) for w, h in canvas_sizes]
    width, height = canvas_sizes[0]
    valid = np.zeros((count, height, width), bool)
    bar = progress_callback(progress, "placing frames")
    for i in range(count):
        for p, plane in enumerate(fetch(i)):
            place = placement(i, p)
            (r0, r1), (c0, c1) = place.rows, place.cols
            if r1 <= r0 or c1 <= c0:
                continue
            planes[p][i, r0:r1, c0:c1] = resample(plane, place, (r0, r1), kernel, clamp=True)
            seen = np.zeros(planes[p].shape[1:], bool)
            seen[r0:r1, c0:c1] = True
            if p > 0:  # a pixel counts where every plane reached it (chroma's reach is a little shorter)
                seen = valid[i] & mask_at_key_resolution(seen, *plane_subsampling(fmt, p), valid.shape[1:])
            valid[i] = seen
        if bar is not None:
            bar(i + 1, count)
    stack = SteamStack(planes, [plane_subsampling(fmt, p) for p in range(fmt.num_planes)],
                       *steam_key(fmt, props, full), valid)
    used = colour if colour is not None else estimate_steam_colour(stack, white_colour(fmt, full))
    background = steam_background(stack, used, black=black_value(fmt, 0, full)).planes
    covered = valid.any(axis=0)
    results = []
    for p, values in enumerate(background):
        ssw, ssh = plane_subsampling(fmt, p)
        h, w = values.shape
        seen = covered[:h << ssh:1 << ssh, :w << ssw:1 << ssw] if (ssw or ssh) else covered
        seen = seen[:h, :w]
        results.append((np.where(seen, values, np.nan).astype(np.float32), seen.astype(np.float32)))
    results[0] = (results[0][0], valid.sum(axis=0).astype(np.float32))
    return results
