"""Edge-clamped temporal windows, rendered with several frames in flight.

``map_window`` calls ``render(n, indices, frames)`` for each output frame with the input frames
``clamp(n - radius) .. clamp(n + radius)``. Frame ``n`` depends on nothing else, so random access
and linear rendering give the same output.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import vapoursynth as vs

from ..errors import FuncLike, func_name

__all__ = ["distinct_frames", "map_window", "shifted", "warn_window_longer_than_clip", "window_indices"]

RenderFn = Callable[[int, Sequence[int], Sequence[vs.VideoFrame]], vs.VideoFrame]


def window_indices(n: int, radius: int, num_frames: int) -> list[int]:
    """Input frame numbers of output frame ``n``'s window, clamped to the clip (edges repeat)."""
    return [min(max(n + d, 0), num_frames - 1) for d in range(-radius, radius + 1)]


def warn_window_longer_than_clip(func: FuncLike, tr: int, num_frames: int) -> None:
    """A ``RuntimeWarning`` (pointing at the user's call of ``func``) when ``tr`` reaches beyond both ends of
    the clip from every frame: each frame's window is then the whole clip, and a smaller ``tr`` does the
    same, so the ``tr`` asked for is not what runs."""
    if num_frames > 1 and tr > num_frames - 1:
        warnings.warn(f"(vsovermix.{func_name(func)}) tr={tr} reaches beyond both ends of a {num_frames}-frame "
                      f"clip: every frame is estimated from all {num_frames}; pass tr={num_frames - 1} or less to "
                      "silence this", RuntimeWarning, stacklevel=3)


def distinct_frames(indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> list[tuple[int, vs.VideoFrame]]:
    """Each input frame of a window once, as ``(frame number, frame)`` in frame order: an edge-clamped window
    repeats the first or last frame, which must not count twice in an estimate."""
    return sorted(dict(zip(indices, frames, strict=True)).items(), key=lambda item: item[0])


def shifted(clip: vs.VideoNode, delta: int) -> vs.VideoNode:
    """``clip`` whose frame ``n`` is input frame ``clamp(n + delta)``; same length, whatever ``delta``."""
    if delta == 0:
        return clip
    if abs(delta) >= clip.num_frames:  # a window wider than the clip: every frame is the edge frame
        return (clip[-1] if delta > 0 else clip[0]) * clip.num_frames
    if delta > 0:
        return clip[delta:] + clip[-1] * delta
    return clip[0] * -delta + clip[:delta]


def map_window(clip: vs.VideoNode, radius: int, render: RenderFn, base: vs.VideoNode | None = None) -> vs.VideoNode:
    """Apply ``render`` over a ``2 * radius + 1`` frame window around every frame of ``clip``.

    VapourSynth fetches the window (never ``get_frame`` inside a callback). Each output frame gets its
    own ModifyFrame node inside a FrameEval, so callbacks of different frames can run concurrently
    (one ModifyFrame node runs its callbacks one at a time, even with several threads). ``base`` (default
    ``clip``) gives the output's format and size, for a render that changes them; it must be as long.
    """
    base = clip if base is None else base
    window = [shifted(clip, d) for d in range(-radius, radius + 1)]
    num_frames = clip.num_frames

    def call(n: int, f: vs.VideoFrame | Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        frames = [f] if isinstance(f, vs.VideoFrame) else f  # a one-clip list comes back as a bare frame
        return render(n, window_indices(n, radius, num_frames), frames)

    def per_frame(n: int) -> vs.VideoNode:
        return base.std.ModifyFrame(window, call)

    return base.std.FrameEval(per_frame, clip_src=window)
