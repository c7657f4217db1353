import numpy as np
import vapoursynth as vs

from vsovermix._vs.frames import plane_view
from vsovermix._vs.windows import distinct_frames, map_window, shifted, window_indices


def numbered_clip(length: int) -> vs.VideoNode:
    """Frame n is filled with the value n."""
    blank = vs.core.std.BlankClip(format=vs.GRAY8, width=8, height=4, length=length)
    return vs.core.std.Splice([blank[n].std.BlankClip(color=n, length=1) for n in range(length)])


def test_window_indices_clamp_at_both_ends():
    assert window_indices(0, 2, 10) == [0, 0, 0, 1, 2]
    assert window_indices(5, 2, 10) == [3, 4, 5, 6, 7]
    assert window_indices(9, 2, 10) == [7, 8, 9, 9, 9]


def test_shifted_repeats_edge_frames():
    clip = numbered_clip(6)
    for delta in (-9, -6, -3, -1, 0, 2, 5, 6, 9):  # a window may be wider than the clip
        moved = shifted(clip, delta)
        assert moved.num_frames == 6
        got = [int(plane_view(moved.get_frame(n), 0)[0, 0]) for n in range(6)]
        assert got == [min(max(n + delta, 0), 5) for n in range(6)]


def test_map_window_hands_each_frame_its_clamped_window():
    clip = numbered_clip(7)
    seen = {}

    def render(n, indices, frames):
        seen[n] = (list(indices), [int(plane_view(f, 0)[0, 0]) for f in frames])
        return frames[len(frames) // 2]

    out = map_window(clip, 2, render)
    for n in (6, 0, 3):  # out of order on purpose
        assert np.asarray(out.get_frame(n)[0])[0, 0] == n
    for n, (indices, values) in seen.items():
        assert indices == values == window_indices(n, 2, 7)


def test_distinct_frames_keeps_each_input_frame_once_in_order():
    frames = ["a", "a", "a", "b", "c"]  # frames 0, 0, 0, 1, 2 of an edge-clamped window
    assert distinct_frames([0, 0, 0, 1, 2], frames) == [(0, "a"), (1, "b"), (2, "c")]
    assert distinct_frames([7, 8, 9, 9, 9], ["x", "y", "z", "z", "z"]) == [(7, "x"), (8, "y"), (9, "z")]


def test_map_window_renders_into_another_format_and_size():
    clip = numbered_clip(4)
    base = vs.core.std.BlankClip(clip, format=vs.GRAYS, width=16, height=8)

    def render(n, indices, frames):
        out = vs.core.create_video_frame(base.format, base.width, base.height)
        np.asarray(plane_view(out, 0))[...] = sum(int(plane_view(f, 0)[0, 0]) for _, f in distinct_frames(indices,
                                                                                                           frames))
        return out

    out = map_window(clip, 1, render, base)
    assert (out.format.id, out.width, out.height) == (vs.GRAYS, 16, 8)
    assert [float(np.asarray(out.get_frame(n)[0])[0, 0]) for n in (3, 0, 1)] == [2 + 3, 0 + 1, 0 + 1 + 2]
