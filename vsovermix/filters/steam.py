"""``vo.steam``: per-pixel temporal min / max / median over a window of frames."""

from __future__ import annotations

from collections.abc import Sequence

import vapoursynth as vs

from .._vs.formats import check_clip, check_planes, plane_subsampling
from .._vs.frames import new_frame, plane_to_float, plane_view, write_float_plane
from .._vs.windows import map_window
from ..backend import Backend, plane_io, resolve_backend
from ..errors import ClipTooShortError, FuncLike, InvalidArgumentError
from ..ops.resample import sample_bounds, sample_shifted
from ..ops.temporal import MODES, rank_for_mode, temporal_select
from .align import LazyPan, check_align_args

__all__ = ["steam"]

MAX_TR = 32


def steam(clip: vs.VideoNode, tr: int = 2, *, mode: str = "min", planes: int | Sequence[int] | None = None,
          motion: str | None = None, backend: str = "auto") -> vs.VideoNode:
    """Per-pixel temporal minimum (or maximum, or median) over the ``2 * tr + 1`` frames around each frame.

    Steam, smoke, light leaks and flashes that drift across a still background are brighter than
    what they cover and move: the darkest value a pixel takes over the window is the background.
    ``mode="max"`` keeps the brightest instead (dark drifting shadows, dust), ``mode="median"`` the
    middle one (anything that covers a pixel in fewer than half the frames: birds, rain, noise).

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        clip = vo.steam(clip, tr=3)                  # darkest of 7 frames: removes moving steam
        clip = vo.steam(clip, tr=2, mode="median")

    Args:
        clip: Constant-format GRAY, YUV (any subsampling) or RGB clip, 8-16 bit integer or 16/32 bit
            float, at least ``2 * tr + 1`` frames long.
        tr: Temporal radius in [1, 32], default 2. Each output frame reads ``2 * tr + 1`` input
            frames; windows are clamped at the clip's ends (the first and last frames repeat).
        mode: ``"min"`` (default), ``"max"`` or ``"median"``.
        planes: Planes to process (an index or a sequence; default None = all). Other planes are
            copied unchanged from the centre frame. In YUV the minimum of chroma is not "darker";
            ``planes=0`` processes luma only.
        motion: ``None`` (default): a static camera, co-located pixels are compared. ``"global"``: the
            window follows a camera pan: the pan is measured as by ``vo.align`` (once, when the first frame
            is requested) and each neighbour is resampled onto the frame's own position (Lanczos-3) before
            the selection; where a neighbour does not reach, the frame's own pixel stands in. This mode
            computes in float32 (resampled values are not the clip's code values) on NumPy.
        backend: ``"auto"`` (default; CuPy when a GPU is usable, else NumPy with one warning),
            ``"cupy"`` or ``"numpy"``. Both give bit-identical output.

    Returns:
        A clip of the same format, size, length and frame rate; every frame keeps its props.

    Raises:
        InvalidArgumentError: ``tr``, ``mode``, ``planes``, ``motion`` or ``backend`` out of range.
        UnsupportedFormatError: variable format or size, or an unsupported sample type.
        ClipTooShortError: the clip is shorter than the window.
        BackendUnavailableError: ``backend="cupy"`` where CuPy or a GPU cannot run.

    Notes:
        Without motion, min, max and median only select values, so the result is exact in the clip's
        own sample type, whatever the backend, and frame ``n`` depends only on frames ``n - tr .. n + tr``:
        seeking and linear rendering give bit-identical frames. Moving foreground objects are eroded
        (min) or dilated (max): use it on still shots, or on pans with a motion-compensated window.
    """
    func = steam
    clip = check_clip(clip, func)
    tr = InvalidArgumentError.check_int(func, "tr", tr, 1, MAX_TR)
    mode = InvalidArgumentError.check_choice(func, "mode", mode, MODES)
    processed = check_planes(planes, clip, func)
    if motion not in (None, "none", "global"):
        raise InvalidArgumentError(func, f"motion must be None (static camera) or 'global' (follow a camera pan), "
                                         f"got {motion!r}")
    window = 2 * tr + 1
    if clip.num_frames < window:
        raise ClipTooShortError(func, f"clip must have at least 2 * tr + 1 = {window} frames, got {clip.num_frames}; "
                                      f"use tr <= {max((clip.num_frames - 1) // 2, 0)} or a longer clip")
    if motion == "global":
        return _steam_following_pan(func, clip, tr, mode, processed, backend)
    resolved = resolve_backend(backend, func)
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


def _steam_following_pan(func: FuncLike, clip: vs.VideoNode, tr: int, mode: str, processed: tuple[int, ...],
                         backend: str) -> vs.VideoNode:
    """Steam over a window whose neighbours are shifted onto each frame's position in the pan."""
    settings = check_align_args(func, clip, backend=backend)
    lazy = LazyPan(func, clip, settings)
    fmt = clip.format
    kept = tuple(p for p in range(fmt.num_planes) if p not in processed)
    rank = rank_for_mode(mode, 2 * tr + 1)

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        pan = lazy.get()
        out = new_frame(frames[tr], kept)
        for p in processed:
            ssw, ssh = plane_subsampling(fmt, p)
            centre = plane_to_float(frames[tr], p)
            h, w = centre.shape
            stack = []
            for i, frame in zip(indices, frames, strict=True):
                # Pixel x of frame n shows the scene point that frame i holds at x + (p_n - p_i).
                shift_x = float(pan.x[n] - pan.x[i]) / (1 << ssw)
                shift_y = float(pan.y[n] - pan.y[i]) / (1 << ssh)
                if i == n or (shift_x == 0.0 and shift_y == 0.0):
                    stack.append(centre if i == n else plane_to_float(frame, p))
                    continue
                moved = centre.copy()
                rows, cols = sample_bounds(h, shift_y, "lanczos3"), sample_bounds(w, shift_x, "lanczos3")
                rows, cols = (max(rows[0], 0), min(rows[1], h)), (max(cols[0], 0), min(cols[1], w))
                if rows[1] > rows[0] and cols[1] > cols[0]:
                    moved[rows[0]:rows[1], cols[0]:cols[1]] = sample_shifted(
                        plane_to_float(frame, p), shift_x, shift_y, rows, cols, "lanczos3")
                stack.append(moved)
            write_float_plane(temporal_select(stack, rank), out, p)
        return out

    return map_window(clip, tr, render)
