import numpy as np
import pytest

from vsovermix.ops.telecine import (
    COMBED_SHARE,
    REPEAT_FLOOR,
    FrameMetrics,
    comb_map,
    decide_cycle,
    field_proxy,
    woven_combing,
)


def fields_of(frame):
    return field_proxy(frame, 255.0, True)


def test_thin_lines_do_not_comb_but_woven_motion_does():
    frame = np.full((64, 64), 200, np.uint8)
    frame[20, :] = 20  # a one-row line: one vertical extreme, not two in a row
    frame[40:42, :] = 20  # a two-row line
    f = fields_of(frame)
    assert not comb_map(f.first, f.second, True).any()
    moved = np.full((64, 64), 200, np.uint8)
    moved[:, 30:] = 20  # an edge that moved 10 px between the fields
    frame2 = np.full((64, 64), 200, np.uint8)
    frame2[:, 40:] = 20
    woven = moved.copy()
    woven[1::2] = frame2[1::2]
    assert woven_combing(woven, 255.0, True) > COMBED_SHARE


def metrics(change, combed=0.0):
    return FrameMetrics("c", (0.0, 0.0, 0.0), combed, change)


def test_cycle_drops_the_repeat():
    decision = decide_cycle(10, [metrics(9), metrics(8), metrics(0.2), metrics(7), metrics(9)], "drop")
    assert decision.dropped == 12 and decision.kept == (10, 11, 13, 14) and not any(decision.interpolated)


def test_cycle_with_an_orphan_and_no_repeat_drops_the_orphan():
    cycle = [metrics(9), metrics(8), metrics(8, combed=0.5), metrics(7), metrics(9)]
    assert decide_cycle(0, cycle, "drop").dropped == 2
    rebuilt = decide_cycle(0, cycle, "rebuild")  # keeps it, interpolated; drops the least-changed other frame
    assert rebuilt.dropped == 3 and rebuilt.interpolated == (False, False, True, False)


def test_cycle_with_an_orphan_and_a_repeat_drops_the_repeat_and_rebuilds_the_orphan():
    cycle = [metrics(9), metrics(REPEAT_FLOOR / 3), metrics(8, combed=0.5), metrics(7), metrics(9)]
    for mode in ("drop", "rebuild"):
        decision = decide_cycle(0, cycle, mode)
        assert decision.dropped == 1 and decision.interpolated == (False, True, False, False)


def test_a_small_change_among_small_changes_is_no_clear_repeat():
    # A flat drawing panning slowly: every frame changes little in mean; none is a repeat.
    cycle = [metrics(1.0), metrics(0.8), metrics(0.9, combed=0.5), metrics(1.1), metrics(0.9)]
    assert decide_cycle(0, cycle, "drop").dropped == 2


def test_a_one_frame_cycle_drops_nothing():
    assert decide_cycle(20, [metrics(3)], "drop").kept == (20,)


def test_backends_agree_on_the_metrics(cupy):
    from tests.telecine_clips import film as make_film
    from tests.telecine_clips import luma_frames, telecine
    from vsovermix.ops.telecine import frame_metrics

    frames = luma_frames(telecine(make_film(8, 160, 120)))
    host = [field_proxy(f, 255.0, True) for f in frames]
    device = [field_proxy(cupy.asarray(f), 255.0, True) for f in frames]
    for n in range(1, len(frames) - 1):
        want = frame_metrics(host[n - 1], host[n], host[n + 1], True)
        got = frame_metrics(device[n - 1], device[n], device[n + 1], True)
        assert (got.match, got.costs, got.combed) == (want.match, want.costs, want.combed)
        assert abs(got.change - want.change) < 1e-4


@pytest.mark.parametrize("tff", [True, False])
def test_comb_maps_from_field_differences_equal_the_woven_frame_test(tff):
    from vsovermix.ops.telecine import COMB_THRESHOLD, _pair_extremes, _weave

    rng = np.random.default_rng(1)
    for _ in range(20):
        rows, cols = int(rng.integers(3, 30)), int(rng.integers(1, 9))
        first, second = ((rng.integers(0, 6, (rows, cols)) * 12).astype(np.float32) for _ in range(2))
        woven = _weave(first, second, tff)
        sensitive, strict = comb_map(first, second, tff), comb_map(first, second, tff, strict=True)
        threshold = np.float32(2 * COMB_THRESHOLD)
        np.testing.assert_array_equal(sensitive, _pair_extremes(woven, threshold, False)[1:-1][:-1])
        np.testing.assert_array_equal(strict, _pair_extremes(woven, threshold, True)[1:-1][:-1])


def _slanted_edge(height: int = 40, width: int = 40) -> np.ndarray:
    """Dark left of a line one column per row to the right, bright right of it (8-bit)."""
    y, x = np.mgrid[:height, :width]
    return np.where(x > 5 + y, 200.0, 40.0).astype(np.float32)


def test_edge_directed_rows_keep_a_slanted_edge_a_line():
    from vsovermix.ops.telecine import edge_directed_rows

    picture = _slanted_edge()
    rebuilt = edge_directed_rows(picture, keep=0)
    truth = picture[1::2]
    line_double = picture[0::2]  # what a line doubler shows
    assert np.abs(rebuilt - truth).mean() < 0.5 * np.abs(line_double - truth).mean()


def test_pixel_combing_finds_combs_not_one_row_lines():
    from vsovermix.ops.telecine import pixel_combing

    plane = np.full((24, 16), 100.0, np.float32)
    plane[10] = 220.0  # a thin horizontal line: one extreme, no comb
    assert not pixel_combing(plane, 0, 1.0).any()
    plane[12:20:2] = 220.0  # alternating rows: combing
    assert pixel_combing(plane, 0, 1.0).any()


def test_a_rolling_overlay_is_followed_back_into_place():
    # Bars rising two rows per field: the second field shows them two rows higher; taken from two rows up
    # (shift -2), they sit where the first field's rows say they are.
    from vsovermix.ops.telecine import clamped_between_rows, overlay_shift, shifted_second_field

    def bars(top: int) -> np.ndarray:
        out = np.full((64, 8), 30.0, np.float32)
        for start in range(top, 64, 12):
            out[start:start + 5] = 230.0
        return out

    at_first, at_second = bars(10), bars(8)
    woven = at_first.copy()
    woven[1::2] = at_second[1::2]
    mask = np.abs(woven[1::2] - at_first[1::2]) > 0
    assert overlay_shift(woven, 0, mask, 1.0) == -2
    followed = clamped_between_rows(woven, 0, shifted_second_field(woven, 0, -2))
    np.testing.assert_array_equal(followed[2:-2], at_first[1::2][2:-2])
