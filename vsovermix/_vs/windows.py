"""Edge-clamped temporal windows, rendered with several frames in flight.

``map_window`` calls ``render(n, indices, frames)`` for each output frame with the input frames
``clamp(n - radius) .. clamp(n + radius)``. Frame ``n`` depends on nothing else, so random access
and linear rendering give the same output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import vapoursynth as vs

__all__ = ["distinct_frames", "map_window", "shifted", "window_indices"]

RenderFn = Callable[[int, Sequence[int], Sequence[vs.VideoFrame]], vs.VideoFrame]


def window_indices(n: int, radius: int, num_frames: int) -> list[int]:
    """Input frame numbers of output frame ``n``'s window, clamped to the clip (edges repeat)."""
    return [min(max(n + d, 0), num_frames - 1) for d in range(-radius, radius + 1)]


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
