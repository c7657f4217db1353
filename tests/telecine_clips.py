"""Telecined test clips with known film frames, for tests/filters/test_detelecine.py and
benchmarks/bench_detelecine.py.

Film: a progressive 23.976p camera pan over a public-domain drawing, every frame different. Hard
3:2 telecine is the demo's (``vsovermix.demo.hard_telecine``), as are ``luma_frames`` and the
nearest-film-frame match behind ``classify``.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import vapoursynth as vs

from vsovermix._png import read_png
from vsovermix._vs.colour import ycbcr_to_rgb
from vsovermix._vs.frames import clip_from_planes, plane_view
from vsovermix.demo import hard_telecine as telecine
from vsovermix.demo import luma_frames, nearest_film_frames
from vsovermix.ops.metrics import psnr
from vsovermix.ops.telecine import COMBED_SHARE, comb_map, field_proxy, woven_combing

__all__ = ["classify", "combed_frames", "crossfade", "ffmpeg_telecine", "film", "hatched_cels", "luma_frames",
           "mpeg2", "telecine", "with_30p_credits"]

DETAIL = Path(__file__).resolve().parents[1] / "vsovermix" / "data" / "park_detail.png"
FILM_FPS = Fraction(24000, 1001)


def film(frames: int, width: int, height: int, step: tuple[int, int] = (5, 2), flip: bool = False,
         image: np.ndarray | None = None) -> vs.VideoNode:
    """YUV420P8 pan: frame ``t`` is the crop at ``(10 + step_x * t, 10 + step_y * t)``."""
    source = read_png(DETAIL)[:, :, :3] if image is None else image
    if flip:
        source = source[:, ::-1]
    planes = []
    for t in range(frames):
        x, y = 10 + step[0] * t, 10 + step[1] * t
        crop = source[y:y + height, x:x + width]
        if crop.shape[:2] != (height, width):
            raise ValueError(f"the pan leaves the image at frame {t}; use fewer frames or a smaller step")
        planes.append([crop[:, :, c] for c in range(3)])
    rgb = clip_from_planes(planes, vs.RGB24, FILM_FPS)
    return rgb.resize.Bicubic(format=vs.YUV420P8, matrix_s="709").std.SetFrameProps(_Matrix=1)


def hatched_cels(frames: int, width: int, height: int, seed: int = 1) -> vs.VideoNode:
    """YUV420P8 cel-like pan as in research/vapoursynth.md §2.1 (where VFM flagged half the frames of a
    clean 1080p telecine combed): flat ellipses with dark outlines, thin near-horizontal hatching in
    some (vertical detail that looks like combing), a sky gradient, a 3 px/frame pan and a character
    moving on its own."""
    rng = np.random.default_rng(seed)
    scale = height / 1080
    canvas_w, canvas_h = width + 3 * frames + 8, height + frames // 2 + 8
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w]
    label = np.ones((canvas_h, canvas_w), np.int32)
    outline = np.zeros((canvas_h, canvas_w), bool)
    for _ in range(int(220 * canvas_w * canvas_h / (4000 * 1300)) + 40):
        cx, cy = rng.uniform(0, canvas_w), rng.uniform(0, canvas_h)
        rx, ry = rng.uniform(30, 260) * scale, rng.uniform(30, 200) * scale
        d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
        label[d <= 1.0] = rng.integers(2, 64)
        outline |= (d <= 1.0) & (d >= (1 - 2.5 / min(rx, ry)) ** 2)
    shades = rng.integers(40, 230, 64).astype(np.float32)
    luma = shades[label]
    sky = yy < canvas_h * 0.25
    luma[sky] = 200 - 60 * yy[sky] / (canvas_h * 0.25)
    luma[(((yy + xx // 7) % max(3, int(9 * scale))) == 0) & (label % 5 == 0)] *= 0.6
    luma[outline] = 16
    chroma = (rng.integers(70, 190, 64).astype(np.float32)[label], rng.integers(70, 190, 64).astype(np.float32)[label])
    planes = []
    for t in range(frames):
        ox, oy = 3 * t, t // 2
        y = luma[oy:oy + height, ox:ox + width].copy()
        u, v = (c[oy:oy + height:2, ox:ox + width:2].copy() for c in chroma)
        cy, cx = np.ogrid[0:height, 0:width]
        d = ((cx - (width * 0.8 - 5 * scale * t)) / (90 * scale)) ** 2 + \
            ((cy - (height * 0.55 + 40 * scale * np.sin(t / 9))) / (160 * scale)) ** 2
        y[d <= 1] = 180
        y[(d <= 1) & (d >= 0.93)] = 16
        planes.append([np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, u, v)])
    return clip_from_planes(planes, vs.YUV420P8, FILM_FPS).std.SetFrameProps(_Matrix=1)


def crossfade(a: vs.VideoNode, b: vs.VideoNode, start: int, length: int) -> vs.VideoNode:
    """``a`` until ``start``, a linear cross-fade to ``b`` over ``length`` frames, then ``b`` (film frames)."""
    faded = [a[start + k].std.Merge(b[start + k], weight=(k + 1) / (length + 1)) for k in range(length)]
    return a[:start] + vs.core.std.Splice(faded) + b[start + length:]


def with_30p_credits(clip: vs.VideoNode, start: int, stop: int) -> vs.VideoNode:
    """White bars scrolling up 6 px per frame over frames ``start .. stop - 1`` of a 29.97 fps clip: both
    fields of a frame show them at the same moment, as credits made at 30p are."""

    def draw(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        if not start <= n < stop:
            return f
        out = f.copy()
        luma = np.asarray(out[0])
        h, w = luma.shape
        for k in range(6):
            top = (h - 6 * (n - start) + 40 * k) % h
            luma[top:top + 12, w // 4:3 * w // 4] = 235
        return out

    return clip.std.ModifyFrame(clip, draw)


def mpeg2(clip: vs.VideoNode) -> vs.VideoNode:
    """The telecined clip through interlaced MPEG-2 at 5 Mb/s (ffmpeg), decoded again."""
    from vsovermix._ffmpeg import mpeg2_interlaced_roundtrip

    planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in clip.frames(close=True)]
    decoded = mpeg2_interlaced_roundtrip("tests", planes)
    out = clip_from_planes(decoded, vs.YUV420P8, Fraction(30000, 1001))
    return out.std.SetFieldBased(vs.FIELD_TOP).std.SetFrameProps(_Matrix=1)


def ffmpeg_telecine(film: vs.VideoNode, folder: Path) -> vs.VideoNode:
    """``film`` telecined by ffmpeg's ``telecine`` filter, encoded as interlaced MPEG-2 and decoded by
    BestSource (``vapoursynth-bestsource``), as a broadcast capture is."""
    from vsovermix._ffmpeg import telecine_mpeg2_file

    planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in film.frames(close=True)]
    path = telecine_mpeg2_file("tests", planes, folder / "telecined.mkv")
    return vs.core.bs.VideoSource(str(path), cachemode=0)


def combed_frames(clip: vs.VideoNode) -> int:
    """Frames of ``clip`` whose own two fields comb: one test for every tool's output (a 32x32 px block
    with at least ``COMBED_SHARE`` of its pixels combed, without the detector's motion mask)."""
    return sum(woven_combing(np.asarray(plane_view(f, 0)), 255.0, True) >= COMBED_SHARE
               for f in clip.frames(close=True))


def classify(output: np.ndarray, truth: np.ndarray) -> dict[str, object]:
    """Match each output frame to its nearest film frame (luma MSE) and count what went wrong.

    ``exact``: MSE < 0.5 to some film frame. ``duplicates``: same film frame as the output frame
    before. ``psnr``: per output frame, dB to its nearest film frame. Frames far from every film frame
    (a combed weave is below ~25 dB here) show in ``worst_psnr``.
    """
    nearest, mse = nearest_film_frames(output, truth)
    psnr = [float("inf") if e == 0 else float(10 * np.log10(255**2 / e)) for e in mse]  # from the match's MSE
    return {"frames": len(output), "exact": int((mse < 0.5).sum()),
            "duplicates": sum(a == b for a, b in itertools.pairwise(nearest)), "nearest": nearest, "psnr": psnr,
            "worst_psnr": min(psnr)}


CREDITS_WHITE = (235.0, 128.0, 128.0)  # Y, U, V of the credits' white (limited range)


class FieldCredits:
    """White names rising ``speed`` px per *field* over the left ``columns`` of the frame, blended on each
    field at that field's own moment (60i), as broadcast endings put them over a telecined film.

    ``alpha(t)`` is the credits' opacity (H, W) at field time ``t`` (frame ``n``'s first field is ``2n``,
    its second ``2n + 1``); ``apply`` blends them onto a telecined clip field by field, and ``ideal`` is
    the progressive picture a perfect tool shows: a film frame with the credits of one moment on every row.
    """

    def __init__(self, width: int, height: int, fields: int, columns: int = 300, speed: int = 2, seed: int = 3):
        from PIL import Image, ImageDraw, ImageFont

        rng = np.random.default_rng(seed)
        self.width, self.height, self.columns, self.speed = width, height, columns, speed
        strip = Image.new("L", (columns, height + speed * fields + 64), 0)
        draw = ImageDraw.Draw(strip)
        font = ImageFont.load_default(size=max(12, round(22 * height / 480)))
        letters = "abcdefghijklmnoprstuvwyz"
        step = max(20, round(34 * height / 480))
        for row, top in enumerate(range(8, strip.height - step, step)):
            words = [("".join(rng.choice(list(letters), rng.integers(3, 9)))).title() for _ in range(2)]
            draw.text((12 + 20 * (row % 3), top), " ".join(words), fill=255, font=font, stroke_width=1, stroke_fill=255)
        self.strip = np.asarray(strip, np.float32) / 255.0

    def alpha(self, t: int) -> np.ndarray:
        out = np.zeros((self.height, self.width), np.float32)
        top = self.speed * t
        out[:, : self.columns] = self.strip[top:top + self.height]
        return out

    @staticmethod
    def _blend(plane: np.ndarray, alpha: np.ndarray, white: float) -> np.ndarray:
        return np.clip(np.rint(plane * (1 - alpha) + white * alpha), 0, 255).astype(np.uint8)

    def apply(self, clip: vs.VideoNode, tff: bool = True) -> vs.VideoNode:
        """``clip`` (YUV420P8, interlaced) with the credits blended on each field at its own time."""

        def draw(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
            out = f.copy()
            for parity in (0, 1):
                t = 2 * n + (0 if (parity == 0) == tff else 1)
                a = self.alpha(t)
                y = np.asarray(out[0])
                y[parity::2] = self._blend(y[parity::2], a[parity::2], CREDITS_WHITE[0])
                # Interlaced 4:2:0: chroma row r belongs to field r % 2 and covers two of that field's rows.
                field = a[parity::2]
                field = field[: field.shape[0] // 2 * 2]
                ca = 0.25 * (field[0::2, 0::2] + field[0::2, 1::2] + field[1::2, 0::2] + field[1::2, 1::2])
                for p in (1, 2):
                    c = np.asarray(out[p])
                    c[parity::2] = self._blend(c[parity::2], ca[: c[parity::2].shape[0]], CREDITS_WHITE[p])
            return out

        return clip.std.ModifyFrame(clip, draw)

    def ideal(self, film_frame: list[np.ndarray], t: int) -> list[np.ndarray]:
        """Y, U, V of ``film_frame`` (its planes) with the credits of field time ``t`` on every row
        (progressive 4:2:0)."""
        a = self.alpha(t)
        ca = 0.25 * (a[0::2, 0::2] + a[0::2, 1::2] + a[1::2, 0::2] + a[1::2, 1::2])
        return [self._blend(np.asarray(film_frame[p], np.float32), a if p == 0 else ca, CREDITS_WHITE[p])
                for p in range(3)]


def mpeg2_source(clip: vs.VideoNode, folder: Path, bitrate: str = "8M") -> vs.VideoNode:
    """``clip`` (interlaced, TFF) as interlaced MPEG-2 in a file, decoded by BestSource, as a capture is."""
    from vsovermix._ffmpeg import mpeg2_interlaced_file

    planes = [tuple(np.array(plane_view(f, p)) for p in range(3)) for f in clip.frames(close=True)]
    path = mpeg2_interlaced_file("tests", planes, folder / "captured.mkv", bitrate=bitrate)
    return vs.core.bs.VideoSource(str(path), cachemode=0).std.SetFieldBased(vs.FIELD_TOP)


def rgb_of_yuv420(planes: list[np.ndarray]) -> np.ndarray:
    """(H, W, 3) float32 BT.709 limited-range RGB of 8-bit 4:2:0 planes (chroma repeated, the same for every
    tool scored), 0..255."""
    y = (planes[0].astype(np.float32) - 16) / 219
    u, v = ((np.repeat(np.repeat(p.astype(np.float32), 2, 0), 2, 1) - 128) / 224 for p in planes[1:])
    return np.clip(ycbcr_to_rgb(np.stack([y, u, v], axis=-1), 1) * 255, 0, 255)


def comb_share(luma: np.ndarray) -> float:
    """Share of pixels of a luma crop that comb as woven (``comb_map``, both fields from the crop itself)."""
    fields = field_proxy(luma, 255.0, True)
    return float(comb_map(fields.first, fields.second, True).mean())


# The film frame (of a cycle's four) in each telecined frame's first and second field: ``telecine``'s pattern.
FIRST_FIELD_FILM = (0, 1, 1, 2, 3)
SECOND_FIELD_FILM = (0, 1, 2, 3, 3)


def first_field_times(f: int) -> list[int]:
    """Field times at which film frame ``f``'s first field is shown by ``telecine`` (one or two)."""
    return [2 * (5 * (f // 4) + k) for k in range(5) if FIRST_FIELD_FILM[k] == f % 4]


def complete_film_frames(first: int, stop: int) -> set[int]:
    """Film frames of which ``telecine`` frames ``first..stop-1`` hold both fields (an edit may cut one off)."""
    firsts = {4 * (n // 5) + FIRST_FIELD_FILM[n % 5] for n in range(first, stop)}
    seconds = {4 * (n // 5) + SECOND_FIELD_FILM[n % 5] for n in range(first, stop)}
    return firsts & seconds


def ideal_film(film: vs.VideoNode, credits: FieldCredits) -> vs.VideoNode:
    """The progressive pictures a perfect tool shows: each film frame with the credits of the first moment its
    first field is shown, on every row."""
    ideal = [credits.ideal(planes, first_field_times(f)[0]) for f, planes in enumerate(planes_of(film))]
    return clip_from_planes([tuple(i) for i in ideal], vs.YUV420P8, FILM_FPS)


def film_frames_of_telecine(clip: vs.VideoNode) -> list[list[np.ndarray]]:
    """The film frames of a ``telecine`` clip, woven by the pattern it was made with (no matcher involved)."""
    frames = planes_of(clip)
    out = []
    for start in range(0, len(frames) - 4, 5):
        a, b, bc, cd, d = frames[start:start + 5]
        c = [p.copy() for p in cd]
        for p in range(3):
            c[p][1::2] = bc[p][1::2]
        out += [a, b, c, d]
    return out


def score_field_credits(out: vs.VideoNode, film: vs.VideoNode, credits: FieldCredits, margin: int = 16,
                        reference: list[list[np.ndarray]] | None = None) -> dict:
    """Score a tool's output on ``credits.apply(telecine(film))``.

    Background (columns right of the credits + ``margin``): the nearest film frame of each output frame
    (luma), distinct film frames shown, duplicates, and RGB PSNR. Credits column (the left ``columns``):
    RGB PSNR against the ideal picture (the film frame with the credits of one field time, the best of
    the times its first field was shown at), and the share of combed pixels there. ``reference``: the
    ideal pictures through the same codec (``film_frames_of_telecine``), whose comb share is the
    codec's own (MPEG-2's field DCT combs hatching a little); without it the clean ideal's.
    """
    x = credits.columns + margin
    truth = luma_frames(film)
    shown = planes_of(out)
    nearest, _ = nearest_film_frames(np.stack([s[0][:, x:] for s in shown]), truth[:, :, x:])
    films = planes_of(film)
    background, column, combs, ideal_combs = [], [], [], []
    for planes, f in zip(shown, nearest, strict=True):
        rgb = rgb_of_yuv420(planes)
        want = rgb_of_yuv420(films[f])
        background.append(psnr(rgb[:, x:], want[:, x:]))
        best, best_ideal = -np.inf, None
        for t in first_field_times(f):
            ideal = credits.ideal(films[f], t)
            score = psnr(rgb[:, : credits.columns], rgb_of_yuv420(ideal)[:, : credits.columns])
            if score > best:
                best, best_ideal = score, ideal
        column.append(best)
        combs.append(comb_share(planes[0][:, : credits.columns]))
        ideal_combs.append(comb_share((best_ideal if reference is None else reference[f])[0][:, : credits.columns]))
    by_film_frame: dict[int, float] = {}
    for f, score in zip(nearest, background, strict=True):
        by_film_frame.setdefault(f, score)
    return {"frames_out": len(shown), "distinct_film_frames": len(set(nearest)),
            "duplicates": sum(a == b for a, b in itertools.pairwise(nearest)),
            "background_median_psnr_rgb": float(np.median(background)), "background_worst_psnr_rgb": min(background),
            "background_psnr_by_film_frame": by_film_frame,
            "credits_median_psnr_rgb": float(np.median(column)), "credits_worst_psnr_rgb": float(min(column)),
            "credits_comb_share": float(np.mean(combs)), "ideal_comb_share": float(np.mean(ideal_combs))}


def planes_of(clip: vs.VideoNode) -> list[list[np.ndarray]]:
    """Every frame's planes, copied."""
    return [[np.array(f[p]) for p in range(f.format.num_planes)] for f in clip.frames(close=True)]
