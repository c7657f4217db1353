"""``vo.steam``: the background behind moving steam (a steam model), or a per-pixel temporal min / max / median."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import vapoursynth as vs

from .._memory import available_host_bytes, check_fits
from .._vs.colour import ycbcr_matrix
from .._vs.depth import black_value, is_full_range, unit_transform
from .._vs.formats import check_clip, check_planes, plane_subsampling
from .._vs.frames import new_frame, peak_value, plane_to_float, plane_view, write_float_plane
from .._vs.windows import distinct_frames, map_window
from ..backend import Backend, plane_io, resolve_backend
from ..errors import ArgumentTypeError, ClipTooShortError, FuncLike, InvalidArgumentError
from ..ops.resample import sample_bounds, sample_shifted
from ..ops.steam import SteamStack, estimate_steam_colour, mask_at_key_resolution, steam_background
from ..ops.temporal import MODES, rank_for_mode, temporal_select
from .align import LazyPan, check_align_args

__all__ = ["STEAM_MODES", "ColourLike", "check_colour", "steam", "steam_key", "white_colour"]

MAX_TR = 64
STEAM_MODES = ("model", *MODES)
ColourLike = float | Sequence[float] | None


def steam(clip: vs.VideoNode, tr: int | None = 2, *, mode: str = "model", colour: ColourLike = None,
          planes: int | Sequence[int] | None = None, motion: str | None = None,
          backend: str = "auto") -> vs.VideoNode:
    """The background behind steam, smoke or light drifting over a still shot or a pan, from the frames around it.

    ``mode="model"`` (default) models steam as what it is: ``observed = (1 - a) * background + a * steam``,
    with the opacity ``a`` varying per pixel and frame. Each pixel's least-steamed frame (farthest from the
    steam colour in luma, or in the mean of R, G, B) decides for every plane, so chroma follows luma and
    nothing is tinted; every frame is de-blended and weighted by how little steam it saw; and where steam
    covers a pixel in every frame of the window, the residual steam is found from the steam's own motion
    (layers rising at constant velocities, a layer seen clear somewhere fixes every pixel it passed over)
    and de-blended. See ``vsovermix.ops.steam`` for the maths.

    ``mode="min"`` keeps the darkest value of each pixel and plane, ``"max"`` the brightest (dark drifting
    shadows, dust), ``"median"`` the middle one (anything that covers a pixel in fewer than half the frames):
    exact selections in the clip's own sample type, each plane on its own.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        clip = vo.steam(clip, tr=3)                       # steam model over 7 frames
        clip = vo.steam(clip, tr=None)                    # a still shot: every frame from the whole shot
        clip = vo.steam(clip, tr=3, colour=[235, 128, 128])   # YUV 8-bit: the steam is this white
        clip = vo.steam(clip, tr=2, mode="median")

    Args:
        clip: Constant-format GRAY, YUV (any subsampling) or RGB clip, 8-16 bit integer or 16/32 bit
            float, at least ``2 * tr + 1`` frames long.
        tr: Temporal radius in [1, 64], default 2: each output frame reads frames ``n - tr .. n + tr``,
            clamped at the clip's ends (an edge frame counts once). None: every frame of the clip (a still
            shot: the result is computed once and is the same picture on every frame; memory is checked).
        mode: ``"model"`` (default), ``"min"``, ``"max"`` or ``"median"``.
        colour: ``mode="model"`` only: the steam's colour in the clip's code values, one value per plane
            (e.g. ``[235, 128, 128]`` for white in 8-bit limited YUV, ``[1.0, 1.0, 1.0]`` in float RGB); each
            within the format's range. Default None: estimated from each window (where the frames' colour
            lines meet; GRAY: the window's brightest values), reported in ``OvrSteamColour``.
        planes: Planes to write (an index or a sequence; default None = all). Other planes are copied
            unchanged from the centre frame. The model reads every plane it needs for its decision
            whatever ``planes`` says; ``min`` / ``max`` / ``median`` reduce each written plane on its own.
        motion: ``None`` (default): a still camera, co-located pixels are compared. ``"global"``: the window
            follows a camera pan: the pan is measured as by ``vo.align`` (once, when the first frame is
            requested) and each neighbour is resampled onto the frame's own position (Lanczos-3) before the
            estimate; where a neighbour does not reach, the model leaves it out (the selections use the
            frame's own pixel). Computes in float32.
        backend: ``"auto"`` (default; CuPy when a GPU is usable, else NumPy with one warning), ``"cupy"`` or
            ``"numpy"``. ``min`` / ``max`` / ``median`` give bit-identical output on both; the model runs on
            the host (NumPy and SciPy) on either.

    Returns:
        A clip of the same format, size, length and frame rate; every frame keeps its props. The model adds
        ``OvrSteamColour`` (the colour used, per plane) and ``OvrSteamLayers`` (steam layers whose motion was
        found; 0: only the per-pixel decision ran).

    Raises:
        InvalidArgumentError: ``tr``, ``mode``, ``colour``, ``planes``, ``motion`` or ``backend`` out of range.
        UnsupportedFormatError: variable format or size, or an unsupported sample type.
        ClipTooShortError: the clip is shorter than the window.
        InsufficientMemoryError: ``tr=None`` on a clip whose frames do not fit in memory.
        BackendUnavailableError: ``backend="cupy"`` where CuPy or a GPU cannot run.

    Notes:
        Frame ``n`` depends only on its window (``tr=None``: the whole clip), so seeking and linear rendering
        give bit-identical frames, run after run. Min, max and median without motion are exact selections.
        Moving foreground objects are not steam: the model and ``min`` darken what moves over a still
        background; use the filter on shots whose only motion is the steam (and the camera, with ``motion``).
    """
    func = steam
    clip = check_clip(clip, func)
    if tr is not None:
        tr = InvalidArgumentError.check_int(func, "tr", tr, 1, MAX_TR,
                                            "or tr=None for every frame of a still shot")
    mode = InvalidArgumentError.check_choice(func, "mode", mode, STEAM_MODES)
    processed = check_planes(planes, clip, func)
    if motion not in (None, "none", "global"):
        raise InvalidArgumentError(func, f"motion must be None (static camera) or 'global' (follow a camera pan), "
                                         f"got {motion!r}")
    steam_colour = check_colour(func, colour, clip.format, mode)
    if tr is not None and clip.num_frames < 2 * tr + 1:
        raise ClipTooShortError(func, f"clip must have at least 2 * tr + 1 = {2 * tr + 1} frames, got "
                                      f"{clip.num_frames}; use tr <= {max((clip.num_frames - 1) // 2, 0)} or a "
                                      "longer clip (or tr=None for every frame of it)")
    if tr is None:
        _check_whole_clip_fits(func, clip)
    follow = motion == "global"
    lazy = LazyPan(func, clip, check_align_args(func, clip, backend=backend)) if follow else None
    if mode == "model" or follow or tr is None:
        if not follow:
            resolve_backend(backend, func)  # an explicit "cupy" without a GPU still fails here
        estimate = _model_estimate(clip, processed, steam_colour) if mode == "model" else \
            _selection_estimate(clip, processed, mode)
        return _windowed(clip, tr, processed, estimate, lazy)
    return _selection_on_backend(func, clip, tr, mode, processed, backend)


def check_colour(func: FuncLike, colour: ColourLike, fmt: vs.VideoFormat, mode: str) -> tuple[float, ...] | None:
    if colour is None:
        return None
    if mode != "model":
        raise InvalidArgumentError(func, f"colour is for mode='model' only, got it with mode={mode!r}")
    values = [colour] if isinstance(colour, int | float) and not isinstance(colour, bool) else colour
    if not isinstance(values, Sequence) or isinstance(values, str) or \
            not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ArgumentTypeError(func, f"colour must be a number or a sequence of numbers, got {colour!r}")
    ranges = [_plane_range(fmt, p) for p in range(fmt.num_planes)]
    if len(values) != fmt.num_planes or not all(lo <= v <= hi for v, (lo, hi) in zip(values, ranges, strict=True)):
        limits = ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in ranges)
        white = [round(v, 4) for v in white_colour(fmt, fmt.color_family != vs.YUV)]
        raise InvalidArgumentError(func, f"colour must be {fmt.num_planes} value(s), one per plane of {fmt.name}, "
                                         f"within {limits}, got {list(values)!r}; e.g. colour={white!r} for white")
    return tuple(float(v) for v in values)


def steam_key(fmt: vs.VideoFormat, props: vs.FrameProps | dict, full: bool) -> tuple[tuple[float, ...],
                                                                                   tuple[float, ...]]:
    """``SteamStack``'s key weights and offsets for ``fmt``: the mean of R, G, B (YUV by ``_Matrix``, 709 unset)."""
    if fmt.color_family != vs.YUV:
        return (1.0 / fmt.num_planes,) * fmt.num_planes, (0.0,) * fmt.num_planes
    # the mean of the rows of the YCbCr -> RGB matrix: the weights of Y, Cb, Cr in (R + G + B) / 3, in units
    y, cb, cr = np.linalg.inv(ycbcr_matrix(int(props.get("_Matrix", 1)))).mean(axis=0)
    luma_scale = unit_transform(fmt, 0, full)[1]
    chroma_offset, chroma_scale = unit_transform(fmt, 1, full)
    gain = luma_scale / chroma_scale  # the key in luma's code values
    return (float(y), float(cb * gain), float(cr * gain)), (0.0, chroma_offset, chroma_offset)


def white_colour(fmt: vs.VideoFormat, full: bool) -> list[float]:
    """White in the format's code values, per plane (YUV: peak luma, neutral chroma)."""
    out = []
    for p in range(fmt.num_planes):
        offset, scale = unit_transform(fmt, p, full)
        out.append(offset if fmt.color_family == vs.YUV and p > 0 else offset + scale)
    return out


def _plane_range(fmt: vs.VideoFormat, plane: int) -> tuple[float, float]:
    """The values a plane's samples can take: the integer container, or float's nominal range."""
    if fmt.sample_type == vs.INTEGER:
        return 0.0, peak_value(fmt)
    return (-0.5, 0.5) if fmt.color_family == vs.YUV and plane > 0 else (0.0, 1.0)


def _check_whole_clip_fits(func: FuncLike, clip: vs.VideoNode) -> None:
    fmt = clip.format
    samples = sum((clip.width >> plane_subsampling(fmt, p)[0]) * (clip.height >> plane_subsampling(fmt, p)[1])
                  for p in range(fmt.num_planes))
    # The frames as float32, plus about eight key-sized working arrays per frame (distances, weights, spectra).
    needed = clip.num_frames * 4 * (samples + 8 * clip.width * clip.height)
    check_fits(func, needed, available_host_bytes(), "host", f"tr=None over {clip.num_frames} frames of "
               f"{clip.width}x{clip.height}", "pass a radius instead (e.g. tr=16) or a shorter clip")


# (planes of every window frame, where each frame reaches or None, centre frame) -> (written planes, props to set)
Estimate = tuple[dict[int, np.ndarray], dict[str, object]]
EstimateFn = Callable[[list[list[np.ndarray]], list[np.ndarray] | None, vs.VideoFrame], Estimate]


def _model_estimate(clip: vs.VideoNode, processed: tuple[int, ...], colour: tuple[float, ...] | None) -> EstimateFn:
    fmt = clip.format
    subsampling = [plane_subsampling(fmt, p) for p in range(fmt.num_planes)]

    def estimate(planes: list[list[np.ndarray]], valid: list[np.ndarray] | None, centre: vs.VideoFrame) -> Estimate:
        full = is_full_range(fmt, centre.props)
        stack = SteamStack([np.stack(p) for p in planes], subsampling, *steam_key(fmt, centre.props, full),
                           None if valid is None else np.stack(valid))
        used = colour if colour is not None else estimate_steam_colour(stack, white_colour(fmt, full))
        result = steam_background(stack, used, black=black_value(fmt, 0, full))
        return ({p: _clamp(result.planes[p], fmt, p) for p in processed},
                {"OvrSteamColour": [float(v) for v in used], "OvrSteamLayers": len(result.velocities)})

    return estimate


def _clamp(values: np.ndarray, fmt: vs.VideoFormat, plane: int) -> np.ndarray:
    lo, hi = _plane_range(fmt, plane)
    return np.clip(values, np.float32(lo), np.float32(hi))


def _selection_estimate(clip: vs.VideoNode, processed: tuple[int, ...], mode: str) -> EstimateFn:
    def estimate(planes: list[list[np.ndarray]], valid: list[np.ndarray] | None, centre: vs.VideoFrame) -> Estimate:
        rank = rank_for_mode(mode, len(planes[0]))
        return {p: temporal_select(planes[p], rank) for p in processed}, {}

    return estimate


def _windowed(clip: vs.VideoNode, tr: int | None, processed: tuple[int, ...], estimate: EstimateFn,
              lazy: LazyPan | None) -> vs.VideoNode:
    """``estimate`` over each frame's window of distinct frames (``tr=None``: the whole clip, computed once
    unless the window follows a pan), written into a copy of the centre frame."""
    fmt = clip.format
    kept = tuple(p for p in range(fmt.num_planes) if p not in processed)
    num_frames = clip.num_frames
    needs = sorted(set(processed) | set(range(fmt.num_planes)))
    once: dict[str, Estimate] = {}
    lock = threading.Lock()

    def gather(n: int, members: list[tuple[int, vs.VideoFrame]]) -> tuple[list[list[np.ndarray]],
                                                                          list[np.ndarray] | None]:
        if lazy is None:
            return [[plane_to_float(f, p) for _, f in members] for p in needs], None
        return _follow_pan(fmt, lazy, n, members, needs)

    def finish(n: int, centre: vs.VideoFrame, result: Estimate) -> vs.VideoFrame:
        values, props = result
        out = new_frame(centre, kept)
        for p in processed:
            write_float_plane(values[p], out, p)
        out.props.update(props)
        return out

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        members = distinct_frames(indices, frames)
        centre = frames[len(frames) // 2]
        return finish(n, centre, estimate(*gather(n, members), centre))

    if tr is not None:
        return map_window(clip, tr, render)

    everything = [clip[i] * num_frames for i in range(num_frames)]

    def render_all(n: int, f: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        frames = list(f)
        centre, members = frames[0], list(enumerate(frames[1:]))
        if lazy is not None:  # each frame of a pan sees the scene at its own position: no sharing
            return finish(n, centre, estimate(*gather(n, members), centre))
        with lock:  # the computing thread needs no other frame from VapourSynth: waiting here cannot deadlock
            if "all" not in once:
                once["all"] = estimate(*gather(n, members), members[0][1])
        return finish(n, centre, once["all"])

    return clip.std.ModifyFrame([clip, *everything], render_all)


def _follow_pan(fmt: vs.VideoFormat, lazy: LazyPan, n: int, members: list[tuple[int, vs.VideoFrame]],
                needs: Sequence[int]) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """Each window frame's planes resampled onto frame ``n``'s position, and where it reaches (key resolution)."""
    pan = lazy.get()
    centre_frame = dict(members)[n]
    planes: list[list[np.ndarray]] = [[] for _ in needs]
    valid: list[np.ndarray] = []
    for i, frame in members:
        for k, p in enumerate(needs):
            ssw, ssh = plane_subsampling(fmt, p)
            # Pixel x of frame n shows the scene point that frame i holds at x + (p_n - p_i).
            shift_x = float(pan.x[n] - pan.x[i]) / (1 << ssw)
            shift_y = float(pan.y[n] - pan.y[i]) / (1 << ssh)
            own = plane_to_float(centre_frame, p)
            if i == n:
                planes[k].append(own)
                if p == 0:
                    valid.append(np.ones(own.shape, bool))
                continue
            h, w = own.shape
            rows, cols = sample_bounds(h, shift_y, "lanczos3"), sample_bounds(w, shift_x, "lanczos3")
            rows, cols = (max(rows[0], 0), min(rows[1], h)), (max(cols[0], 0), min(cols[1], w))
            moved, seen = own.copy(), np.zeros(own.shape, bool)
            if rows[1] > rows[0] and cols[1] > cols[0]:
                moved[rows[0]:rows[1], cols[0]:cols[1]] = sample_shifted(
                    plane_to_float(frame, p), shift_x, shift_y, rows, cols, "lanczos3")
                seen[rows[0]:rows[1], cols[0]:cols[1]] = True
            planes[k].append(moved)
            # a pixel counts where every plane reached it (chroma's reach is a little shorter)
            if p == 0:
                valid.append(seen)
            else:
                valid[-1] &= mask_at_key_resolution(seen, ssw, ssh, valid[-1].shape)
    return planes, valid


def _selection_on_backend(func: FuncLike, clip: vs.VideoNode, tr: int, mode: str, processed: tuple[int, ...],
                          backend: str) -> vs.VideoNode:
    """min / max / median of a still camera's window in the clip's own sample type, on CuPy or NumPy."""
    resolved = resolve_backend(backend, func)
    window = 2 * tr + 1
    num_planes = clip.format.num_planes
    io = plane_io(resolved, cache_planes=len(processed) * (window + vs.core.num_threads + 2), func=func)
    if resolved is Backend.CUPY:
        vs.register_on_destroy(io.release)
    kept = tuple(p for p in range(num_planes) if p not in processed)
    rank = rank_for_mode(mode, window)

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        out = new_frame(frames[tr], kept)
        for p in processed:
            inputs = [io.to_array((i, p), plane_view(f, p)) for i, f in zip(indices, frames, strict=True)]
            target = plane_view(out, p)
            io.to_host(temporal_select(inputs, rank, out=io.output_for(target)), target)
        return out

    return map_window(clip, tr, render)
