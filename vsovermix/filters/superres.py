"""``vo.superres``: multi-frame super-resolution of a camera pan, every frame from its aligned neighbours."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import vapoursynth as vs

from .._memory import available_host_bytes, check_fits
from .._vs.formats import check_clip, plane_subsampling
from .._vs.frames import peak_value, plane_to_float, write_float_plane
from .._vs.windows import distinct_frames, map_window, warn_window_longer_than_clip
from ..backend import array_module, probe_cupy
from ..errors import ArgumentTypeError, FuncLike, InvalidArgumentError
from ..ops.resample import to_numpy
from ..ops.superres import Psf, SrSettings, clamp_to_frames, initial_estimate, solve_bytes, super_resolve
from .align import LazyPan, Pan, check_align_args

__all__ = ["superres"]

MAX_TR = 16
# Alignment confidence (share of textured pixels the frame's measured offsets explain) below which a frame
# is left out: aligned frames score above it and a white, flashed or unrelated frame below it in
# tests/ops/test_align.py (test_a_frame_unlike_its_neighbours_does_not_cut_the_pan).
MIN_CONFIDENCE = 0.7
PsfLike = float | Sequence[Sequence[float]] | np.ndarray | None
MAX_PSF_SIGMA = 3.0
# psf=None: a Gaussian of this sigma (input px) besides the pixels' area. Real sources are encoded (x264
# takes off the finest detail much as a small blur would: +1 dB there in benchmarks/bench_superres.py) or
# softer still; only an exact box reduction has no such blur (-2.6 dB there, still +13 over bicubic at 2x).
DEFAULT_PSF_SIGMA = 0.2


def superres(clip: vs.VideoNode, scale: int = 2, *, tr: int = 4, robust: bool = True, iterations: int = 30,
             psf: PsfLike = None, backend: str = "auto") -> vs.VideoNode:
    """Multi-frame super-resolution: each frame ``scale`` times larger, recovered from ``2 * tr + 1`` frames.

    A camera pan shows every part of the scene at sub-pixel offsets, so the frames together hold detail
    no single frame has. Each output frame is the image that, shifted to every neighbour's position
    (measured as by ``vo.estimate_pan``, once per clip), area-sampled and decimated, best explains all
    the neighbours, with Farsiu's bilateral-TV prior keeping lines sharp without ringing. See
    ``vsovermix/ops/superres.py``.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        pan = vs.core.bs.VideoSource("ep01.mkv")[1200:1290]
        big = vo.superres(pan, 2)               # 2x, each frame from 9 aligned frames
        big = vo.superres(pan, 4, tr=6)

    Args:
        clip: One shot of a translating camera: constant-format GRAY, YUV (any subsampling) or RGB,
            8-16 bit integer or 16/32 bit float, at least 2 frames.
        scale: Integer factor in [2, 4], default 2. Chroma planes are super-resolved at their own
            resolution (4:2:0 stays 4:2:0).
        tr: Temporal radius in [1, 16], default 4: each frame uses frames ``n - tr .. n + tr`` (clipped to
            the clip, not repeated). A ``tr`` of the clip's length or more gives a warning (every frame
            then uses the whole clip).
        robust: True (default): a Charbonnier data term, L2 near the noise level and L1 beyond, so a
            mouth that moves in a few frames is outvoted. False: plain L2.
        iterations: Descent iterations (with momentum) in [1, 500], default 30.
        psf: How soft the source is besides its pixels' area: a Gaussian sigma in input px in [0, 3],
            default None: 0.2, which suits encoded sources (x264 takes off what a small blur would); 0: the
            area sensor alone, for exact box reductions; soft anime sources: try 0.3-0.8 (on
            benchmarks/bench_superres.py's source blurred by 0.5 px, psf=0.5 gains 3.8 dB). Or a 2-D kernel
            (odd sizes up to 31, non-negative, normalised here) in output px of each plane.
        backend: ``"auto"`` (default), ``"cupy"`` or ``"numpy"``, for the alignment and the solver (on
            CuPy, four fused kernels per iteration).

    Returns:
        A clip of the same format and length, ``scale`` times the width and height, props kept
        (``_SARNum/_SARDen`` unchanged: the pixels are smaller, not reshaped), each plane within the range
        of the frames it was solved from (ringing is clamped there). ``OvrSrFrames`` says how
        many frames each output frame was solved from. Frames whose alignment is not trusted (confidence
        below 0.7: a flash, a frame unlike its neighbours, one across a cut) are left out of their
        neighbours' solves; such a frame itself is upscaled alone (cubic, ``OvrSrFrames`` = 1).

    Raises:
        InvalidArgumentError: an argument out of range.
        InsufficientMemoryError: one frame's solve needs more memory than is available (the message says
            how much; one 1080p frame from 9 frames allocates about 0.3 GiB at 2x, 1 GiB at 4x).
        ClipTooShortError: fewer than 2 frames.
        AlignmentError, UnsupportedFormatError: as for ``vo.estimate_pan``.
    """
    func = superres
    clip = check_clip(clip, func)
    scale = InvalidArgumentError.check_int(func, "scale", scale, 2, 4)
    tr = InvalidArgumentError.check_int(func, "tr", tr, 1, MAX_TR)
    ArgumentTypeError.check(func, "robust", robust, bool)
    iterations = InvalidArgumentError.check_int(func, "iterations", iterations, 1, 500)
    blur = check_psf(func, psf)
    warn_window_longer_than_clip(func, tr, clip.num_frames)
    settings = check_align_args(func, clip, backend=backend)
    lazy = LazyPan(func, clip, settings, partial=True)
    xp = array_module(settings.backend)
    _check_memory(func, clip, scale, tr, xp is not np)
    fmt = clip.format
    solvers = [SrSettings(iterations=iterations, robust=robust, psf=plane_psf(blur, scale, *plane_subsampling(fmt, p)))
               for p in range(fmt.num_planes)]
    peak = peak_value(fmt)
    base = vs.core.std.BlankClip(clip, width=clip.width * scale, height=clip.height * scale, keep=True)

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        pan = lazy.get()
        window = distinct_frames(indices, frames)
        centre = dict(window)[n]
        members = trusted_members(pan, n, window)
        out = vs.core.create_video_frame(fmt, base.width, base.height)
        out.props.update(centre.props)
        out.props["OvrSrFrames"] = len(members)
        reference = [i for i, _ in members].index(n)
        for p in range(fmt.num_planes):
            ssw, ssh = plane_subsampling(fmt, p)
            planes = [xp.asarray(plane_to_float(frame, p) * np.float32(1.0 / peak)) for _, frame in members]
            # Frame i's pixel (r, c) shows what frame n shows at (r, c) + (p_i - p_n).
            offsets = [(float(pan.x[i] - pan.x[n]) / (1 << ssw), float(pan.y[i] - pan.y[n]) / (1 << ssh))
                       for i, _ in members]
            if len(members) > 1:
                estimate = super_resolve(planes, offsets, scale, solvers[p], reference)
            else:  # alone: cubic, clamped as a solve is
                estimate = clamp_to_frames(initial_estimate(planes[0], scale), planes)
            write_float_plane(to_numpy(estimate) * np.float32(peak), out, p)
        return out

    return map_window(clip, tr, render, base)


def check_psf(func: FuncLike, psf: PsfLike) -> float | np.ndarray | None:
    """``psf``: None (DEFAULT_PSF_SIGMA), a Gaussian sigma (input px) in [0, 3] (0: none, returned as None),
    or an odd-sized 2-D non-negative kernel."""
    if psf is None:
        return DEFAULT_PSF_SIGMA
    if isinstance(psf, (int, float)) and not isinstance(psf, bool):
        if not 0 <= psf <= MAX_PSF_SIGMA:
            raise InvalidArgumentError(func, f"psf as a Gaussian sigma must be in [0, {MAX_PSF_SIGMA:g}] input px, "
                                             f"got {psf!r}; 0 for the area sensor alone")
        return float(psf) or None
    try:
        kernel = np.array(psf, dtype=np.float64)
    except (TypeError, ValueError):
        kernel = np.zeros(0)
    if (kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0 or not np.isfinite(kernel).all()
            or (kernel < 0).any() or kernel.sum() <= 0 or max(kernel.shape) > 31):
        raise InvalidArgumentError(func, f"psf must be None, a Gaussian sigma in input px, or a 2-D kernel of odd "
                                         f"sizes up to 31, non-negative with a positive sum (in output px), "
                                         f"got {psf!r:.80}")
    return kernel / kernel.sum()


def plane_psf(psf: float | np.ndarray | None, scale: int, ssw: int, ssh: int) -> Psf | None:
    """The solver's ``Psf`` for a plane subsampled by ``(ssw, ssh)``: a sigma in input luma px becomes one
    in that plane's output px; a kernel is used as given."""
    if psf is None:
        return None
    if isinstance(psf, float):
        return Psf.gaussian(psf * scale / (1 << ssw), psf * scale / (1 << ssh))
    return Psf(psf)


def _check_memory(func: FuncLike, clip: vs.VideoNode, scale: int, tr: int, on_gpu: bool) -> None:
    """Refuse, when called, a frame size, scale and ``tr`` whose solve cannot fit (one frame at a time)."""
    count = min(2 * tr + 1, clip.num_frames)
    frames = count * clip.width * clip.height * 4  # the window's planes, as float32, on the host
    needed = solve_bytes((clip.height, clip.width), count, scale, on_gpu)
    what = f"one {clip.width}x{clip.height} frame at {scale}x from {count} frames"
    fix = "lower scale or tr, or split the frame into pieces (std.Crop) and join them (std.StackHorizontal)"
    if on_gpu:
        check_fits(func, needed, probe_cupy().device_memory, "GPU", what, fix)
        needed = 0
    check_fits(func, needed + frames, available_host_bytes(), "host", what, fix)


def trusted_members(pan: Pan, n: int, members: Sequence[tuple[int, vs.VideoFrame]]) -> list[tuple[int, vs.VideoFrame]]:
    """The window's frames whose position relative to frame ``n`` is trusted; only ``n`` itself when its own
    is not (a flash, a frame that matches none around it): that frame is then upscaled alone."""
    def trusted(i: int) -> bool:
        return bool(pan.confidence[i] >= MIN_CONFIDENCE and pan.segment[i] == pan.segment[n])

    if not trusted(n):
        return [(i, f) for i, f in members if i == n]
    return [(i, f) for i, f in members if trusted(i)]
