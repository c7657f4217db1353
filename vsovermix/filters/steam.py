"""``vo.steam``: per-pixel temporal min / max / median over a window of frames."""

from __future__ import annotations

from collections.abc import Sequence

import vapoursynth as vs

from .._vs.formats import check_clip, check_planes
from .._vs.frames import new_frame, plane_view
from .._vs.windows import map_window
from ..backend import Backend, plane_io, resolve_backend
from ..errors import ClipTooShortError, InvalidArgumentError
from ..ops.temporal import MODES, rank_for_mode, temporal_select

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
        motion: ``None`` (default): a static camera, co-located pixels are compared. A motion-compensated
            window that follows a camera pan comes with ``vo.align``.
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
        Min, max and median only select values, so the result is exact in the clip's own sample
        type, whatever the backend, and frame ``n`` depends only on frames ``n - tr .. n + tr``:
        seeking and linear rendering give bit-identical frames. Moving foreground objects are eroded
        (min) or dilated (max): use it on still shots, or on pans with a motion-compensated window.
    """
    func = steam
    clip = check_clip(clip, func)
    tr = InvalidArgumentError.check_int(func, "tr", tr, 1, MAX_TR)
    mode = InvalidArgumentError.check_choice(func, "mode", mode, MODES)
    processed = check_planes(planes, clip, func)
    if motion not in (None, "none"):
        raise InvalidArgumentError(func, f"motion must be None (static camera), got {motion!r}; a motion-compensated "
                                         "window needs the pan alignment (vo.align), which is not in this version")
    window = 2 * tr + 1
    if clip.num_frames < window:
        raise ClipTooShortError(func, f"clip must have at least 2 * tr + 1 = {window} frames, got {clip.num_frames}; "
                                      f"use tr <= {max((clip.num_frames - 1) // 2, 0)} or a longer clip")
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
