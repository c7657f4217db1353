import numpy as np
import pytest
import vapoursynth as vs

import vsovermix as vo
from tests import telecine_clips as tc
from vsovermix._vs.frames import plane_view

W, H = 320, 240


@pytest.fixture(autouse=True)
def numpy_unless_asked(monkeypatch):
    monkeypatch.setenv("VSOVERMIX_BACKEND", "numpy")  # "auto" would warn once where there is no GPU


@pytest.fixture(scope="module")
def films():
    return tc.film(40, W, H), tc.film(40, W, H, step=(3, 4), flip=True)


def test_clean_telecine_gives_back_every_film_frame_in_order(films):
    film, _ = films
    out = vo.detelecine(tc.telecine(film))
    assert out.num_frames == film.num_frames and out.fps == film.fps
    got = tc.classify(tc.luma_frames(out), tc.luma_frames(film))
    assert got["exact"] == film.num_frames and got["nearest"] == list(range(film.num_frames))
    props = [dict(f.props) for f in out.frames(close=True)]
    assert all(p["_FieldBased"] == 0 and "_Field" not in p for p in props)
    assert all((p["_DurationNum"], p["_DurationDen"]) == (1001, 24000) for p in props)
    assert {p["OvrMatch"] for p in props} <= {"c", "p"} and not any(p["OvrInterpolated"] for p in props)
    # One frame of every five dropped: the repeat, the third frame of each cycle in this pattern.
    assert [p["OvrDropped"] for p in props[:8]] == [2, 2, 2, 2, 7, 7, 7, 7]
    assert [p["OvrSourceFrame"] for p in props[:8]] == [0, 1, 3, 4, 5, 6, 8, 9]


@pytest.mark.parametrize("orphans", ["drop", "rebuild"])
@pytest.mark.parametrize(("cut_a", "cut_b"), [(23, 7), (22, 13), (20, 8)])
def test_a_splice_mid_cycle_leaves_no_combed_and_no_duplicate_frame(films, orphans, cut_a, cut_b):
    # Anime is edited after telecine: a cut mid-cycle leaves orphan fields. VFM + VDecimate leave one
    # combed or duplicate frame per orphan here (benchmarks/bench_detelecine.py).
    a, b = films
    spliced = tc.telecine(a)[:cut_a] + tc.telecine(b)[cut_b:]
    out = vo.detelecine(spliced, orphans=orphans)
    got = tc.classify(tc.luma_frames(out), np.concatenate([tc.luma_frames(a), tc.luma_frames(b)]))
    interpolated = [int(f.props["OvrInterpolated"]) for f in out.frames(close=True)]
    assert got["duplicates"] == 0 and tc.combed_frames(out) == 0
    assert got["exact"] + sum(interpolated) == out.num_frames  # every other frame is a film frame
    assert all(p > 30 for p, i in zip(got["psnr"], interpolated, strict=True) if i)


def test_deleted_frames_and_a_crossfade(films):
    a, b = films
    clean = tc.telecine(a)
    out = vo.detelecine(clean[:17] + clean[18:31] + clean[32:])
    got = tc.classify(tc.luma_frames(out), tc.luma_frames(a))
    assert got["duplicates"] == 0 and tc.combed_frames(out) == 0
    faded = tc.crossfade(a, b, 10, 12)
    got = tc.classify(tc.luma_frames(vo.detelecine(tc.telecine(faded))), tc.luma_frames(faded))
    assert got["exact"] == faded.num_frames and got["duplicates"] == 0


def test_30p_credits_keep_the_film_phase_and_no_frame_combs(films):
    # 30p bars over the middle half of a 24p pan change every frame, so no cycle under them shows its repeat
    # by change; the phase of the cycles around them places the drop. Nothing combs, no frame is rebuilt
    # whole, and the frames outside the credits are the film's, exactly.
    film, _ = films
    clip = tc.with_30p_credits(tc.telecine(film), 10, 30)
    out = vo.detelecine(clip)
    props = [dict(f.props) for f in out.frames(close=True)]
    assert tc.combed_frames(out) == 0 and not any(p["OvrInterpolated"] for p in props)
    assert {p["OvrDropped"] % 5 for p in props} == {2}  # the repeat of this telecine pattern, in every cycle
    got = tc.classify(tc.luma_frames(out), tc.luma_frames(film))
    assert got["exact"] == len(out) - 16  # input frames 10-29 (16 kept) show the credits


def test_static_shot_keeps_its_frames(films):
    still = tc.film(16, W, H, step=(0, 0))
    out = vo.detelecine(tc.telecine(still))
    assert out.num_frames == 16 and tc.classify(tc.luma_frames(out), tc.luma_frames(still))["exact"] == 16


def test_seeking_gives_the_frames_an_in_order_render_gives(films):
    a, b = films
    clip = tc.telecine(a)[:23] + tc.telecine(b)[7:]
    in_order = tc.luma_frames(vo.detelecine(clip))
    fresh = vo.detelecine(clip)  # a new instance: nothing cached from the in-order run
    for n in (37, 3, 18, 0, 22, 17, 19):
        with fresh.get_frame(n) as f:
            np.testing.assert_array_equal(np.asarray(plane_view(f, 0)), in_order[n])


def test_bottom_field_first_and_every_plane_at_full_depth():
    film = tc.film(20, W, H).resize.Point(format=vs.YUV422P16)
    fields = film.std.SeparateFields(tff=False).std.SelectEvery(8, [0, 1, 2, 3, 2, 5, 4, 7, 6, 7])
    bff = fields.std.DoubleWeave(tff=False)[::2].std.AssumeFPS(fpsnum=30000, fpsden=1001).std.SetFieldBased(1)
    out = vo.detelecine(bff)
    assert out.format.id == vs.YUV422P16 and out.num_frames == 20
    for n in (0, 5, 13):
        with out.get_frame(n) as got, film.get_frame(n) as want:
            for p in range(3):
                np.testing.assert_array_equal(np.asarray(got[p]), np.asarray(want[p]))


def _bff_telecine(film: vs.VideoNode) -> vs.VideoNode:
    fields = film.std.SeparateFields(tff=False).std.SelectEvery(8, [0, 1, 2, 3, 2, 5, 4, 7, 6, 7])
    return fields.std.DoubleWeave(tff=False)[::2].std.AssumeFPS(fpsnum=30000, fpsden=1001)


def test_field_order_from_the_content_where_props_are_missing_or_wrong(films):
    film, _ = films
    clip = tc.telecine(film)
    unmarked = vo.detelecine(clip.std.RemoveFrameProps("_FieldBased"))
    props = [dict(f.props) for f in unmarked.frames(close=True)]
    assert {(p["OvrFieldOrder"], p["OvrFieldOrderFrom"]) for p in props} == {("tff", "content")}
    assert tc.classify(tc.luma_frames(unmarked), tc.luma_frames(film))["exact"] == film.num_frames
    with pytest.warns(RuntimeWarning, match="_FieldBased says top field first, the content bottom first"):
        mislabelled = vo.detelecine(_bff_telecine(film).std.SetFieldBased(vs.FIELD_TOP))
    props = [dict(f.props) for f in mislabelled.frames(close=True)]
    assert {(p["OvrFieldOrder"], p["OvrFieldOrderFrom"]) for p in props} == {("bff", "content")}
    assert tc.classify(tc.luma_frames(mislabelled), tc.luma_frames(film))["exact"] == film.num_frames
    forced = vo.detelecine(clip, tff=True).get_frame(0).props
    assert (forced["OvrFieldOrder"], forced["OvrFieldOrderFrom"]) == ("tff", "tff")


def test_a_field_order_that_flips_mid_way_is_reported_per_frame(films):
    # The first half telecined top field first, the second bottom first, marked top first throughout.
    film, _ = films
    clip = (tc.telecine(film[:20]) + _bff_telecine(film[20:])).std.SetFieldBased(vs.FIELD_TOP)
    out = vo.detelecine(clip, tff=True)
    seen = [int(f.props["OvrFieldOrderSeen"]) for f in out.frames(close=True)]
    assert seen[:20].count(1) >= 8 and 0 not in seen[:20]  # top first, where the frames tell
    assert seen[20:].count(0) >= 12 and 1 not in seen[20:]
    got = tc.classify(tc.luma_frames(out), tc.luma_frames(film))
    assert got["duplicates"] == 0 and tc.combed_frames(out) == 0


@pytest.mark.parametrize("fmt", [vs.GRAY8, vs.RGB24, vs.YUV420PS])
def test_other_formats(fmt):
    film = tc.film(10, W, H).resize.Bicubic(format=fmt, matrix_in_s="709" if fmt == vs.RGB24 else None)
    out = vo.detelecine(tc.telecine(film))
    assert out.format.id == fmt and out.num_frames == 10
    with out.get_frame(6) as got, film.get_frame(6) as want:
        np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(want[0]))


def test_bad_input_is_refused_with_the_fix(films):
    film, _ = films
    clip = tc.telecine(film)
    with pytest.raises(vo.InvalidArgumentError, match=r"field order is unknown.*does not tell.*tff=True"):
        vo.detelecine(film.std.RemoveFrameProps("_FieldBased"))  # progressive: no field order to see
    with pytest.raises(vo.InvalidArgumentError, match=r"_FieldBased is 0 \(progressive\)"):
        vo.detelecine(film.std.SetFieldBased(0))
    assert vo.detelecine(film, tff=True).num_frames == 32  # forced: progressive frames weave as "c"
    with pytest.raises(vo.UnsupportedFormatError, match="height must be even"):
        vo.detelecine(clip.resize.Point(format=vs.GRAY8).std.Crop(bottom=1))
    with pytest.raises(vo.ClipTooShortError, match="at least 5 frames"):
        vo.detelecine(clip[:4])
    with pytest.raises(vo.InvalidArgumentError, match="orphans must be one of"):
        vo.detelecine(clip, orphans="keep")
    with pytest.raises(vo.ArgumentTypeError, match="tff must be bool"):
        vo.detelecine(clip, tff=1)


def test_output_count_for_a_partial_last_cycle(films):
    film, _ = films
    clip = tc.telecine(film)
    assert [vo.detelecine(clip[:n]).num_frames for n in (5, 6, 7, 11, 13)] == [4, 5, 5, 9, 10]


def test_panning_line_art_is_not_taken_for_combing():
    # Thin strokes and hatching look like combing in a single frame; VFM flagged half of such frames
    # in research/vapoursynth.md §2.3. None may be interpolated, and every frame must come back exact.
    from vsovermix._png import read_png

    gray = read_png(tc.DETAIL.parent / "lineart_crop.png")
    film = tc.film(20, 640, 480, step=(2, 5), image=np.repeat(gray.reshape(*gray.shape[:2], 1), 3, axis=2))
    out = vo.detelecine(tc.telecine(film))
    assert not any(int(f.props["OvrInterpolated"]) for f in out.frames(close=True))
    assert tc.classify(tc.luma_frames(out), tc.luma_frames(film))["exact"] == film.num_frames


def test_ffmpeg_telecine_through_mpeg2_and_bestsource(films, tmp_path):
    # The broadcast path end to end: ffmpeg's telecine filter, interlaced MPEG-2, a source plugin.
    if not hasattr(vs.core, "bs"):
        pytest.skip("needs vapoursynth-bestsource (the peers extra)")
    film, _ = films
    clip = tc.ffmpeg_telecine(film, tmp_path)
    # BestSource marks this top-field-first stream bottom-first: tff= overrides props (VFM needs order= too).
    out = vo.detelecine(clip, tff=True)
    got = tc.classify(tc.luma_frames(out), tc.luma_frames(film))
    assert out.num_frames == film.num_frames and got["duplicates"] == 0 and tc.combed_frames(out) == 0
    assert got["nearest"] == list(range(film.num_frames)) and min(got["psnr"]) > 35


def test_backends_agree_on_every_frame(films, cupy):
    a, b = films
    clip = tc.telecine(a)[:23] + tc.telecine(b)[7:]
    want = vo.detelecine(clip, backend="numpy")
    got = vo.detelecine(clip, backend="cupy")
    for n in range(want.num_frames):
        with want.get_frame(n) as w, got.get_frame(n) as g:
            assert g.props["OvrSourceFrame"] == w.props["OvrSourceFrame"]
            assert g.props["OvrInterpolated"] == w.props["OvrInterpolated"]
            np.testing.assert_array_equal(np.asarray(g[0]), np.asarray(w[0]))


def test_rolling_credits_over_telecine_are_rebuilt_and_the_film_beside_them_stays_exact():
    # White names rising 2 px per field over the left 128 of 480 columns (60i): that column combs in every
    # frame whatever the match. VFM + VDecimate lose a film frame here and leave the column combed. (Where
    # the credits cover 40 % of the frame, a repeat is still missed now and then.)
    film = tc.film(40, 480, H)
    clip = tc.telecine(film)
    credits = tc.FieldCredits(480, H, 2 * clip.num_frames, columns=128)
    out = vo.detelecine(credits.apply(clip))
    got = tc.score_field_credits(out, film, credits)
    assert got["distinct_film_frames"] == film.num_frames and got["duplicates"] == 0
    assert got["background_worst_psnr_rgb"] == float("inf")  # right of the credits: the film frame, exactly
    assert got["credits_comb_share"] < 0.01 and got["credits_median_psnr_rgb"] > 23  # VIVTC: 0.065, 20.5 dB
    props = [dict(f.props) for f in out.frames(close=True)]
    assert not any(p["OvrInterpolated"] for p in props)
    rects = [p["OvrCombedRect"] for p in props]
    assert all(w > 0 and x + w <= 128 + 32 for x, _, w, _ in rects)  # treated: the credits, a block beyond at most
    in_order = [np.array(plane_view(f, 0)) for f in out.frames(close=True)]
    sought = vo.detelecine(credits.apply(clip))
    for n in (33, 7, 21, 0, 38):  # a fresh filter, frames asked for out of order
        with sought.get_frame(n) as f:
            np.testing.assert_array_equal(np.asarray(plane_view(f, 0)), in_order[n])


def test_a_progressive_stretch_passes_through_untouched_and_says_so(films):
    # 30 frames of 29.97p video between two telecined stretches: woven as they stand, no pixel rebuilt, one
    # frame in five dropped to keep the rate, and flagged OvrProgressive.
    film, other = films
    video = other[:30].std.AssumeFPS(fpsnum=30000, fpsden=1001).std.SetFieldBased(vs.FIELD_TOP)
    clip = tc.telecine(film[:20]) + video + tc.telecine(film[20:])
    out = vo.detelecine(clip)
    truth = np.concatenate([tc.luma_frames(film[:20]), tc.luma_frames(video), tc.luma_frames(film[20:])])
    got = tc.classify(tc.luma_frames(out), truth)
    assert got["exact"] == out.num_frames and got["duplicates"] == 0
    props = [dict(f.props) for f in out.frames(close=True)]
    progressive = [p["OvrProgressive"] for p in props]
    assert progressive[20:44] == [1] * 24 and not any(progressive[:20]) and not any(progressive[44:])
    assert all(p["OvrCombedRect"] == [0, 0, 0, 0] and not p["OvrInterpolated"] for p in props[20:44])
