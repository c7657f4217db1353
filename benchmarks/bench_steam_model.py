"""vo.steam's steam model against the selections people use today, on steam it was not tuned on, in one run.

    .venv/bin/python benchmarks/bench_steam_model.py [--frames 48] [--samples 8]

Material (tests/steams.py): two value-noise steam layers rising 3 and 5 px per frame (peak opacity 0.68),
blended in 8-bit RGB over a still shot and over a pan (7/3, 2/3 px per frame), converted to 4:2:0 and
encoded with x264 crf 16. The model's constants were chosen on ``park_detail.png`` (the tuning set);
``room.png`` and ``tiger.png`` from ../shared/data were never looked at while choosing them (the validation
set). PSNR is RGB over every plane and the whole frame, against the clean frames; YUV results are converted
with BT.709. Peers in the same run: ``core.std.Expr`` min over the shifted clips, ``vo.steam(mode="min")``,
the per-pixel median (``vo.steam(mode="median")``); for the pan, ``vo.stitch`` with ``render="min"`` and
``"median"``. Speed: 1080p YUV420P8, tr=3, frames per second of the model and of ``std.Expr`` min on the
same steamy clip, in-process. Writes benchmarks/results/steam-model.json and prints the README's tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import vapoursynth as vs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import metadata, write_result
from tests.steams import _image, _reduced, rgb_frames, steam_layers, steamy_shot, tuning_images, validation_images
from vsovermix import steam, stitch
from vsovermix._vs.frames import clip_from_planes
from vsovermix._vs.windows import shifted
from vsovermix.ops.metrics import psnr

core = vs.core
TR = 3


def expr_min(clip: vs.VideoNode, tr: int) -> vs.VideoNode:
    """The native peer: the darkest of the 2 tr + 1 shifted clips, per plane, in one std.Expr."""
    names = "xyzabcdefghijklmnopqrstuvw"[:2 * tr + 1]
    expression = " ".join([names[0]] + [f"{v} min" for v in names[1:]])
    return core.std.Expr([shifted(clip, d) for d in range(-tr, tr + 1)], expression)


def frame_scores(clip: vs.VideoNode, clean: list[np.ndarray], frames: list[int]) -> float:
    got = rgb_frames(core.std.Splice([clip[n] for n in frames]))
    return float(statistics.mean(psnr(g, clean[n], 255.0) for g, n in zip(got, frames, strict=True)))


def tint(clip: vs.VideoNode, clean: list[np.ndarray], alpha: np.ndarray, frames: list[int], tr: int | None) -> float:
    """Mean |RGB error| over the pixels that steam covered (opacity > 0.1) in every frame of the window."""
    got = rgb_frames(core.std.Splice([clip[n] for n in frames]))
    errors = []
    for g, n in zip(got, frames, strict=True):
        window = alpha if tr is None else alpha[max(n - tr, 0):n + tr + 1]
        steamed = window.min(axis=0) > 0.1
        if steamed.any():
            errors.append(float(np.abs(g - clean[n])[steamed].mean()))
    return float(statistics.mean(errors)) if errors else 0.0


def static_case(image: Path, frames: int, samples: int) -> dict[str, object]:
    sampled = [round(v) for v in np.linspace(TR, frames - 1 - TR, samples)]
    row: dict[str, object] = {"image": image.name}
    for family in ("yuv", "rgb"):
        shot = steamy_shot(image, frames=frames, rgb=family == "rgb")
        clip, clean = shot.clip, shot.clean
        start = time.perf_counter()
        model = steam(clip, TR, backend="numpy")
        scores = {"input": frame_scores(clip, clean, sampled), "model": frame_scores(model, clean, sampled)}
        row[f"{family}_model_s_per_frame"] = (time.perf_counter() - start) / len(sampled)
        scores["expr_min"] = frame_scores(expr_min(clip, TR), clean, sampled)
        scores["steam_min"] = frame_scores(steam(clip, TR, mode="min", backend="numpy"), clean, sampled)
        scores["median"] = frame_scores(steam(clip, TR, mode="median", backend="numpy"), clean, sampled)
        whole = steam(clip, None, backend="numpy")
        scores["model_whole_shot"] = frame_scores(whole, clean, sampled[:2])
        scores["min_whole_shot"] = frame_scores(steam(clip, None, mode="min", backend="numpy"), clean, sampled[:2])
        scores["tint_model"] = tint(model, clean, shot.alpha, sampled, TR)
        scores["tint_min"] = tint(steam(clip, TR, mode="min", backend="numpy"), clean, shot.alpha, sampled, TR)
        scores["layers"] = int(model.get_frame(sampled[0]).props["OvrSteamLayers"])
        row[family] = scores
        print(f"{image.name} {family}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()), file=sys.stderr)
    return row


def pan_case(image: Path, frames: int) -> dict[str, object]:
    shot = steamy_shot(image, frames=frames, motion="pan")
    start = time.perf_counter()
    stills = {render: stitch(shot.clip, render=render, non_translation="ignore", backend="numpy")
              for render in ("steam", "min", "median")}
    source = _image(image)
    width, height = shot.clip.width, shot.clip.height
    if source.shape[1] < width * 3 + 7 * frames or source.shape[0] < height * 3 + 2 * frames:
        source = np.repeat(np.repeat(source, 2, axis=0), 2, axis=1)
    still_w, still_h = stills["min"].width, stills["min"].height
    truth = _reduced(source[:still_h * 3, :still_w * 3], 3)
    # the part every frame covers: frame 0 starts at 0, the last at (7/3, 2/3) (frames - 1)
    x0, y0 = int(np.ceil(7 * (frames - 1) / 3)), int(np.ceil(2 * (frames - 1) / 3))
    row: dict[str, object] = {"image": image.name}
    for render, still in stills.items():
        begin = time.perf_counter()
        got = rgb_frames(still)[0]
        row[f"{render}_s"] = time.perf_counter() - begin
        row[render] = psnr(got[y0:height, x0:width], truth[y0:height, x0:width], 255.0)
    followed = steam(shot.clip, TR, motion="global", backend="numpy")
    followed_min = steam(shot.clip, TR, mode="min", motion="global", backend="numpy")
    sampled = [frames // 4, frames // 2, 3 * frames // 4]
    row["frame_input"] = frame_scores(shot.clip, shot.clean, sampled)
    row["frame_model_global"] = frame_scores(followed, shot.clean, sampled)
    row["frame_min_global"] = frame_scores(followed_min, shot.clean, sampled)
    row["seconds"] = time.perf_counter() - start
    print(f"{image.name} pan: " + ", ".join(f"{k} {v}" for k, v in row.items()), file=sys.stderr)
    return row


def speed_case(count: int = 12) -> dict[str, float]:
    """fps at 1080p YUV420P8, tr=3, on a steamy still shot (no encode: the work does not depend on it)."""
    source = _image(tuning_images()[0])
    background = source[:1080, :1920]
    alpha = steam_layers(1080, 1920, count + 2 * TR)[..., None]
    frames = [np.clip(background * (1 - a) + 242.0 * a + 0.5, 0, 255) for a in alpha]
    rgb = clip_from_planes([[f[..., c] for c in range(3)] for f in frames], vs.RGB24)
    yuv = rgb.resize.Bicubic(format=vs.YUV420P8, matrix_s="709")
    # converted once, so every shifted clip of either side reads copies of ready planes
    clip = clip_from_planes([[np.array(f[p]) for p in range(3)] for f in yuv.frames(close=True)], vs.YUV420P8)
    out = {}
    for name, node in (("expr_min", expr_min(clip, TR)), ("steam_min", steam(clip, TR, mode="min", backend="numpy")),
                       ("model", steam(clip, TR, backend="numpy"))):
        part = node[TR:TR + count]
        start = time.perf_counter()
        for _ in part.frames(close=True):
            pass
        out[f"{name}_fps"] = count / (time.perf_counter() - start)
    out["model_over_expr"] = out["model_fps"] / out["expr_min_fps"]
    out["min_over_expr"] = out["steam_min_fps"] / out["expr_min_fps"]
    print("1080p speed: " + ", ".join(f"{k} {v:.3f}" for k, v in out.items()), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--samples", type=int, default=8, help="frames scored per static case")
    args = parser.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)  # the steam reads as a non-translation to the pan's check
    sets = {"tuning": tuning_images(), "validation": [p for p in validation_images() if p.exists()]}
    if not sets["validation"]:
        print("validation set missing (needs ../shared/data/room.png and tiger.png)", file=sys.stderr)
    static = {name: [static_case(p, args.frames, args.samples) for p in paths] for name, paths in sets.items()}
    pans = {name: [pan_case(p, args.frames) for p in paths] for name, paths in sets.items()}
    speed = speed_case()
    payload = {"benchmark": "steam-model", "tr": TR, "frames": args.frames, "size": "854x480",
               "material": "tests/steams.py: two value-noise layers rising 3 and 5 px/frame, peak 0.68, x264 crf 16",
               "meta": metadata(), "static": static, "pan": pans, "speed_1080p": speed}
    path = write_result("steam-model", payload)
    print("| set | image | input | Expr min | vo.steam min | median | **model** | model gain over Expr min "
          "| min, whole shot | **model, whole shot** |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in static.items():
        for row in rows:
            for family in ("yuv", "rgb"):
                s = row[family]
                print(f"| {name} | {row['image']} {family.upper()} | {s['input']:.2f} | {s['expr_min']:.2f} | "
                      f"{s['steam_min']:.2f} | {s['median']:.2f} | **{s['model']:.2f}** | "
                      f"{s['model'] - s['expr_min']:+.2f} | {s['min_whole_shot']:.2f} | "
                      f"**{s['model_whole_shot']:.2f}** |")
    print("\n| set | image | tint YUV model | tint RGB model | tint YUV min | tint RGB min |")
    print("|---|---|---|---|---|---|")
    for name, rows in static.items():
        for row in rows:
            print(f"| {name} | {row['image']} | {row['yuv']['tint_model']:.2f} | {row['rgb']['tint_model']:.2f} | "
                  f"{row['yuv']['tint_min']:.2f} | {row['rgb']['tint_min']:.2f} |")
    print("\n| set | image | still min | still median | **still steam** | frame input | frame min (global) "
          "| **frame model (global)** |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in pans.items():
        for row in rows:
            print(f"| {name} | {row['image']} | {row['min']:.2f} | {row['median']:.2f} | **{row['steam']:.2f}** | "
                  f"{row['frame_input']:.2f} | {row['frame_min_global']:.2f} | **{row['frame_model_global']:.2f}** |")
    print(f"\n1080p YUV420P8 tr=3: Expr min {speed['expr_min_fps']:.1f} fps, vo.steam min {speed['steam_min_fps']:.1f} "
          f"fps ({speed['min_over_expr']:.2f}x), model {speed['model_fps']:.2f} fps ({speed['model_over_expr']:.3f}x)")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
