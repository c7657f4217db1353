"""vo.detelecine vs VIVTC (VFM + VDecimate) and TIVTC (TFM + TDecimate), on the same clips, in one run.

Clips (tests/telecine_clips.py): a 720x480 pan over the bundled public-domain drawing, 96 film
frames, hard 3:2 telecine made with std; cases: clean, a cross-fade, a splice of two telecined clips
mid-cycle, two telecined frames deleted (orphan fields), 30p credits over frames 40-79, a static
shot, and the clean clip through interlaced MPEG-2 (ffmpeg). False combed flags on a clean 1080p
telecine of line art with hatching (../shared/data/lineart.png). Speed: input frames per second at
720x480 and 1920x1080 YUV420P8, source frames held in memory.

    .venv/bin/python benchmarks/bench_detelecine.py      # writes benchmarks/results/detelecine.json
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import vapoursynth as vs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import metadata, write_result
from tests import telecine_clips as tc
from vsovermix import detelecine
from vsovermix._png import read_png
from vsovermix.ops.metrics import psnr
from vsovermix.ops.resample import box_reduce

core = vs.core
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "park.png"
CHAINS = {
    # The peers are told the field order (order=1); so is ours, where the source's props are wrong.
    "vsovermix": lambda c: detelecine(c, tff=True),
    "vivtc": lambda c: c.vivtc.VFM(order=1).vivtc.VDecimate(),
    "tivtc": lambda c: c.tivtc.TFM(order=1).tivtc.TDecimate(),
}


def cases(folder: Path) -> dict[str, tuple[vs.VideoNode, vs.VideoNode | None]]:
    """name -> (telecined clip, the film frames it was made of; None where there is no single truth)."""
    a = tc.film(96, 720, 480)
    b = tc.film(96, 720, 480, step=(3, 4), flip=True)
    clean = tc.telecine(a)
    deleted = clean[:57] + clean[58:88] + clean[89:]
    return {
        "clean": (clean, a),
        "crossfade": (tc.telecine(tc.crossfade(a, b, 40, 24)), tc.crossfade(a, b, 40, 24)),
        "splice": (clean[:53] + tc.telecine(b)[27:], a + b),
        "deleted_frames": (deleted, a),
        "credits_30p": (tc.with_30p_credits(clean, 40, 80), None),
        "static": (tc.telecine(tc.film(40, 720, 480, step=(0, 0))), tc.film(40, 720, 480, step=(0, 0))),
        "mpeg2": (tc.mpeg2(clean), a),
        # ffmpeg's telecine filter, interlaced MPEG-2, decoded by BestSource (which marks it _FieldBased=1,
        # bottom first, though the stream is top field first).
        "ffmpeg_telecine_mpeg2_bestsource": (tc.ffmpeg_telecine(a, folder), a),
    }


def accuracy(results: dict) -> None:
    rows = {}
    with tempfile.TemporaryDirectory(prefix="vsovermix-bench-") as folder:
        for name, (clip, film) in cases(Path(folder)).items():
            rows[name] = accuracy_row(name, clip, film)
    results["accuracy"] = rows


def accuracy_row(name: str, clip: vs.VideoNode, film: vs.VideoNode | None) -> dict:
    """Every tool on one clip: frames out, exact film frames, duplicates, combed frames, PSNR."""
    truth = None if film is None else tc.luma_frames(film)
    row = {}
    for tool, chain in CHAINS.items():
        out = chain(clip)
        entry: dict[str, object] = {"frames_out": out.num_frames, "combed": tc.combed_frames(out)}
        if truth is not None:
            got = tc.classify(tc.luma_frames(out), truth)
            scores = np.array(got["psnr"])
            entry.update(exact=int(got["exact"]), duplicates=int(got["duplicates"]),
                         worst_psnr=float(scores.min()), median_psnr=float(np.median(scores)))
        if tool == "vsovermix":
            props = [(int(f.props["OvrInterpolated"]), float(f.props["OvrCombed"])) for f in out.frames(close=True)]
            entry["interpolated"] = sum(i for i, _ in props)
            entry["largest_combed_score_shown_woven"] = max((c for i, c in props if not i), default=0.0)
        row[tool] = entry
    print(f"{name} (in {clip.num_frames}): " + "; ".join(
        f"{tool} out {e['frames_out']} exact {e.get('exact', '-')} dup {e.get('duplicates', '-')} "
        f"combed {e['combed']} worst {e.get('worst_psnr', float('nan')):.1f} dB"
        + (f" interp {e['interpolated']}" if "interpolated" in e else "")
        for tool, e in row.items()))
    return row


def credits(results: dict) -> None:
    """Credits blended on per field (white names rising 2 px per field over the left 300 columns) over a
    telecined pan, through 8 Mb/s interlaced MPEG-2 and BestSource: the park drawing's detail (the
    material the regional constants were tuned on), hatched cels (validation, looked at while building)
    and the tiger's line art at half size (held out until the constants were fixed); and the tiger at
    1920x1080 with credits over its left 800 columns rising 4 px per field, 18 Mb/s."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="vsovermix-bench-") as folder:
        # label -> film, credits' columns and speed (px per field), MPEG-2 bit rate
        films = {"park_detail": (tc.film(48, 720, 480), 300, 2, "8M"),
                 "hatched_cels": (tc.hatched_cels(48, 720, 480), 300, 2, "8M")}
        tiger = SHARED.parent / "tiger.png"
        if tiger.exists():
            films["tiger_half"] = (tc.film(48, 720, 480, image=_half(tiger)), 300, 2, "8M")
            films["tiger_1080i"] = (tc.film(48, 1920, 1080, image=read_png(tiger)[:, :, :3]), 800, 4, "18M")
        for label, (film, columns, speed, bitrate) in films.items():
            clip = tc.telecine(film)
            overlay = tc.FieldCredits(film.width, film.height, 2 * clip.num_frames, columns=columns, speed=speed)
            for sub in ("credits", "ideal"):
                (Path(folder) / label / sub).mkdir(parents=True)
            source = tc.mpeg2_source(overlay.apply(clip), Path(folder) / label / "credits", bitrate=bitrate)
            # The ideal pictures through the same codec: the comb share a perfect tool's output would have.
            ideal = tc.film_frames_of_telecine(tc.mpeg2_source(tc.telecine(tc.ideal_film(film, overlay)),
                                                               Path(folder) / label / "ideal", bitrate=bitrate))
            row = {tool: tc.score_field_credits(chain(source), film, overlay, reference=ideal)
                   for tool, chain in CHAINS.items()}
            # The median over the film frames every tool shows (a tool that drops the worst frame and shows
            # another twice would gain on the plain median).
            common = set.intersection(*(set(e["background_psnr_by_film_frame"]) for e in row.values()))
            for e in row.values():
                by_frame = e.pop("background_psnr_by_film_frame")
                e["background_median_psnr_rgb_common_frames"] = float(np.median([by_frame[f] for f in common]))
            ceiling = [psnr(tc.rgb_of_yuv420(i)[:, :overlay.columns],
                                tc.rgb_of_yuv420(overlay.ideal(f, tc.first_field_times(n)[0]))[:, :overlay.columns])
                       for n, (i, f) in enumerate(zip(ideal, tc.planes_of(film), strict=True))]
            row["ideal_through_codec_credits_median_psnr_rgb"] = float(np.median(ceiling))
            rows[label] = row
            print(f"credits over {label}: " + "; ".join(
                f"{tool} {e['distinct_film_frames']}/{film.num_frames} dup {e['duplicates']} "
                f"bg {e['background_median_psnr_rgb']:.2f} dB (common frames "
                f"{e['background_median_psnr_rgb_common_frames']:.2f}) credits {e['credits_median_psnr_rgb']:.2f} dB "
                f"comb {e['credits_comb_share']:.4f} (ideal {e['ideal_comb_share']:.4f})"
                for tool, e in row.items() if tool in CHAINS)
                + f"; the ideal through the codec: credits {row['ideal_through_codec_credits_median_psnr_rgb']:.2f} dB")
    results["credits_over_telecine"] = rows


def cadence_break(results: dict) -> None:
    """An edit after telecine that leaves orphan fields on both sides of the cut (A's last frame holds a lone
    second field, B's first a lone first field), through interlaced MPEG-2: every complete film frame once,
    no duplicate, and how far each frame falls under its shot's median (RGB PSNR), orphans rebuilt and
    flagged apart. 720x480 over the park drawing's detail; 1920x1080 over the whole park drawing."""
    rows = {}
    sizes = {"720x480": (720, 480, 96, None)}
    if SHARED.exists():
        sizes["1920x1080"] = (1920, 1080, 48, read_png(SHARED)[:, :, :3])
    for label, (w, h, frames, image) in sizes.items():
        a = tc.film(frames, w, h, image=image)
        b = tc.film(frames, w, h, step=(3, 4), flip=True, image=image)
        cut_a, cut_b = 5 * (frames // 8) + 3, 5 * (frames // 16) + 2  # mid-cycle on both sides
        clip = tc.mpeg2(tc.telecine(a)[:cut_a] + tc.telecine(b)[cut_b:])
        complete_b = [frames + f for f in sorted(tc.complete_film_frames(cut_b, 5 * frames // 4))]
        complete = sorted(tc.complete_film_frames(0, cut_a)) + complete_b
        films = tc.planes_of(a) + tc.planes_of(b)
        truth = np.stack([f[0].astype(np.float32) for f in films])
        row = {}
        for tool, chain in CHAINS.items():
            out = chain(clip)
            shown = tc.planes_of(out)
            flags = [bool(f.props.get("OvrInterpolated", 0)) for f in out.frames(close=True)]
            nearest, _ = tc.nearest_film_frames(np.stack([s[0] for s in shown]), truth)
            scores = [psnr(tc.rgb_of_yuv420(s), tc.rgb_of_yuv420(films[f]))
                    for s, f in zip(shown, nearest, strict=True)]
            shots = [int(f >= frames) for f in nearest]
            # The cut: film frames within 6 of it on either side (the stream's first frames fall short of the
            # median through the codec alone, in every tool alike).
            last_a, first_b = max(complete[:len(complete) - len(complete_b)]), min(complete_b)
            near_cut = [last_a - 6 < f <= last_a + 1 or first_b - 1 <= f < first_b + 6 for f in nearest]
            medians = [float(np.median([p for p, s in zip(scores, shots, strict=True) if s == shot]))
                       for shot in (0, 1)]
            deficit = [medians[s] - p if near else 0.0 for p, s, near in zip(scores, shots, near_cut, strict=True)]
            row[tool] = {
                "frames_out": len(shown), "complete_film_frames": len(complete),
                "complete_shown": len(set(complete) & set(nearest)),
                "duplicates": sum(x == y for x, y in itertools.pairwise(nearest)),
                "shot_median_psnr_rgb": medians,
                "frames_near_cut_over_3db_under_median": sum(
                    d > 3 for d, fl in zip(deficit, flags, strict=True) if not fl),
                "flagged_rebuilt": sum(flags),
                "flagged_deficits_db": [round(float(d), 2) for d, fl in zip(deficit, flags, strict=True) if fl],
                "worst_deficit_db_near_cut_unflagged": max(d for d, fl in zip(deficit, flags, strict=True) if not fl)}
        rows[label] = row
        print(f"cadence break {label} (in {clip.num_frames}, {len(complete)} complete film frames): " + "; ".join(
            f"{tool} out {e['frames_out']} complete {e['complete_shown']} dup {e['duplicates']} "
            f"near the cut >3 dB under {e['frames_near_cut_over_3db_under_median']} "
            f"(worst {e['worst_deficit_db_near_cut_unflagged']:.1f} dB) "
            f"flagged {e['flagged_rebuilt']} {e['flagged_deficits_db']}" for tool, e in row.items()))
    results["cadence_break_mpeg2"] = rows


def _half(path: Path) -> np.ndarray:
    """RGB of a PNG at half size (2x2 box), as uint8."""
    return np.clip(np.rint(box_reduce(read_png(path)[:, :, :3], 2)), 0, 255).astype(np.uint8)


def false_flags(label: str, film: vs.VideoNode) -> dict:
    """Every tool on a clean telecine of ``film``: exact frames, and frames flagged combed (our
    OvrInterpolated; the matchers' _Combed before decimation)."""
    clip = tc.telecine(film)
    truth = tc.luma_frames(film)
    row = {}
    for tool, chain in CHAINS.items():
        out = chain(clip)
        if tool == "vsovermix":
            flags = sum(int(f.props["OvrInterpolated"]) for f in out.frames(close=True))
        else:
            matched = clip.vivtc.VFM(order=1) if tool == "vivtc" else clip.tivtc.TFM(order=1, PP=1)
            flags = sum(int(f.props.get("_Combed", 0)) for f in matched.frames(close=True))
        got = tc.classify(tc.luma_frames(out), truth)
        row[tool] = {"frames_out": out.num_frames, "exact": int(got["exact"]), "flagged_combed": flags}
    print(f"{label} (clean telecine, {clip.num_frames} frames): " + "; ".join(
        f"{tool} exact {e['exact']}/{e['frames_out']}, flagged combed {e['flagged_combed']}"
        for tool, e in row.items()))
    return row


def line_art(results: dict) -> None:
    """False combed flags at 1080p: the research's cel pan with hatching (research/vapoursynth.md §2.3: VFM
    flagged 120 of 240 bit-exact frames), and a real line-art drawing with hatching."""
    results["hatched_cels_1080p"] = false_flags("hatched cels 1080p", tc.hatched_cels(48, 1920, 1080))
    path = SHARED.parent / "lineart.png"
    if not path.exists():
        print("line art: skipped (needs ../shared/data/lineart.png)")
        return
    gray = read_png(path)
    image = np.repeat(gray.reshape(*gray.shape[:2], 1), 3, axis=2)
    results["line_art_1080p"] = false_flags("line art 1080p", tc.film(40, 1920, 1080, step=(2, 5), image=image))


def speed(results: dict) -> None:
    rows = {}
    for label, (w, h) in {"720x480": (720, 480), "1920x1080": (1920, 1080)}.items():
        image = read_png(SHARED)[:, :, :3] if SHARED.exists() else None
        if h > 1000 and image is None:
            print("1080p speed: skipped (needs ../shared/data/park.png)")
            continue
        film = tc.film(40, w, h, step=(5, 2), image=image)
        clip = tc.telecine(film)
        held = [clip.get_frame(n) for n in range(clip.num_frames)]
        blank = core.std.BlankClip(clip, length=clip.num_frames * 8)
        source = blank.std.ModifyFrame(blank, lambda n, f, held=held: held[n % len(held)])
        row = {}
        for tool, chain in {"source": lambda c: c, **CHAINS}.items():
            best = 0.0
            for _ in range(3):
                out = chain(source)
                start = time.perf_counter()
                for _frame in out.frames(close=True):
                    pass
                best = max(best, source.num_frames / (time.perf_counter() - start))
            row[tool] = best
        row["ratio_to_vivtc"] = row["vsovermix"] / row["vivtc"]
        row["ratio_to_tivtc"] = row["vsovermix"] / row["tivtc"]
        rows[label] = row
        print(f"{label}: input fps, best of 3: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    results["speed_input_fps"] = rows


PARTS = {"accuracy": accuracy, "credits": credits, "cadence": cadence_break, "line_art": line_art, "speed": speed}


def main() -> None:
    """All parts by default; ``--only NAME[,NAME]`` runs some and prints them (nothing written)."""
    results = {"meta": metadata()}
    only = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
    for name, part in PARTS.items():
        if only is None or name in only:
            part(results)
    if only is not None:
        return
    print(write_result("detelecine", results))


if __name__ == "__main__":
    main()
