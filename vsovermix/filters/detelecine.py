"""``vo.detelecine``: inverse telecine that never shows a combed or a duplicate frame."""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import vapoursynth as vs

from .._vs.formats import check_clip
from .._vs.frames import peak_value, plane_view
from ..backend import Backend, array_module, resolve_backend
from ..errors import ArgumentTypeError, ClipTooShortError, InvalidArgumentError, UnsupportedFormatError
from ..ops.telecine import (
    BLOCK,
    CYCLE,
    FILM_COMB_THRESHOLD,
    OVERLAY_DEPARTURE,
    CycleDecision,
    FieldProxy,
    FrameMetrics,
    clamped_between_rows,
    decide_cycle,
    edge_directed_rows,
    field_order_seen,
    field_proxy,
    frame_metrics,
    grow_blocks,
    overlay_shift,
    pixel_combing,
    repeat_position,
    shifted_second_field,
)

__all__ = ["detelecine"]

FIT_WINDOW = (3, 7)  # field rows x columns over which the woven and the motion-followed overlay are compared
ORPHANS = ("drop", "rebuild")
FIELD_ORDER_SAMPLES = 24  # frame pairs, spread over the clip, read at call time to tell the field order
FIELD_ORDER_VOTES = 3  # sampled pairs that must tell the field order for the content to decide it
PHASE_REACH = 3  # cycles either side searched for the 3:2 phase where a cycle shows none of its own
_CACHE_FRAMES = 5 * (2 * PHASE_REACH + 1) + 8  # proxies and metrics kept per clip: a cycle's whole window


class _Analysis:
    """Per-clip memo of proxies, metrics and cycle decisions; a pure function of the input frames.

    Decisions for a cycle read input frames ``5 (c - PHASE_REACH) - 1 .. 5 (c + PHASE_REACH + 1)`` only, so
    any output frame can be rendered alone (seeking) and gives what an in-order render gives. Thread-safe:
    VapourSynth asks
    for frames from several threads; a value computed twice is the same value.
    """

    def __init__(self, clip: vs.VideoNode, tff: bool, orphans: str, backend: Backend):
        self.clip, self.tff, self.orphans = clip, tff, orphans
        self.xp = array_module(backend)
        self.luma_plane = _luma_plane(clip.format)
        self.peak = peak_value(clip.format)
        self.lock = threading.Lock()
        self.proxies: OrderedDict[int, FieldProxy] = OrderedDict()
        self.metrics: OrderedDict[int, FrameMetrics] = OrderedDict()
        self.cycles: OrderedDict[int, CycleDecision] = OrderedDict()
        self.phases: OrderedDict[int, int | None] = OrderedDict()

    def _memo(self, cache: OrderedDict, key: int, compute: Callable[[], object], size: int = _CACHE_FRAMES) -> Any:
        """``cache[key]``, computed (outside the lock) and remembered when missing; the oldest entries go."""
        with self.lock:
            if key in cache:
                return cache[key]
        value = compute()
        with self.lock:
            cache[key] = value
            while len(cache) > size:
                cache.popitem(last=False)
        return value

    def proxy(self, n: int) -> FieldProxy | None:
        if not 0 <= n < self.clip.num_frames:
            return None
        return self._memo(self.proxies, n, lambda: self._load(n))

    def _load(self, n: int) -> FieldProxy:
        with self.clip.get_frame(n) as frame:
            return self._proxy_of(frame)

    def _proxy_of(self, frame: vs.VideoFrame) -> FieldProxy:
        return _luma_proxy(frame, self.xp, self.tff)

    def frame(self, n: int) -> FrameMetrics:
        return self._memo(self.metrics, n,
                          lambda: frame_metrics(self.proxy(n - 1), self.proxy(n), self.proxy(n + 1), self.tff))

    def field_order_seen(self, n: int) -> int:
        """What input frames ``n`` and ``n + 1`` say of the field order (``field_order_seen``); -1 at the end."""
        following = self.proxy(n + 1)
        return -1 if following is None else field_order_seen(self.proxy(n), following, self.tff)

    def cycle_frames(self, c: int) -> list[FrameMetrics]:
        first = c * CYCLE
        frames = range(first, min(first + CYCLE, self.clip.num_frames))
        with self.lock:
            missing = [n for n in frames if n not in self.metrics]
        workers = _workers() if self.xp is np else None
        if workers is not None and len(missing) > 1:
            # VapourSynth runs one Python callback at a time: the frames are fetched here, in order, and the
            # NumPy work (which lets go of the GIL) shared among threads.
            self._load_many(range(missing[0] - 1, missing[-1] + 2), workers)
            list(workers.map(self.frame, missing))
        return [self.frame(n) for n in frames]

    def _load_many(self, frames: range, workers: ThreadPoolExecutor) -> None:
        with self.lock:
            wanted = [n for n in frames if 0 <= n < self.clip.num_frames and n not in self.proxies]
        opened = [self.clip.get_frame(n) for n in wanted]
        try:
            for n, proxy in zip(wanted, workers.map(self._proxy_of, opened), strict=True):
                self._memo(self.proxies, n, lambda proxy=proxy: proxy)
        finally:
            for frame in opened:
                frame.close()

    def phase(self, c: int) -> int | None:
        """Position of cycle ``c``'s clear repeat by its own block vote (None: no clear one, or not a full cycle)."""
        if c < 0 or c * CYCLE + CYCLE > self.clip.num_frames:
            return None
        return self._memo(self.phases, c, lambda: repeat_position(self.cycle_frames(c)), 2 * PHASE_REACH + 4)

    def cycle(self, c: int) -> CycleDecision:
        def decide() -> CycleDecision:
            # The 3:2 phase from the nearest cycle on each side that shows it (by its own vote only, so that a
            # decision reads a bounded window: input frames 5 (c - PHASE_REACH) - 1 .. 5 (c + PHASE_REACH + 1)).
            phases = []
            for side in (-1, 1):
                found = (self.phase(c + side * d) for d in range(1, PHASE_REACH + 1))
                nearest = next((p for p in found if p is not None), None)
                if nearest is not None:
                    phases.append(nearest)
            return decide_cycle(c * CYCLE, self.cycle_frames(c), self.orphans, tuple(phases))

        return self._memo(self.cycles, c, decide, 8)

    def output(self, m: int) -> tuple[CycleDecision, int, int]:
        """Output frame ``m``'s cycle decision, its place among the kept frames, and its input frame."""
        decision = self.cycle(m // (CYCLE - 1))
        k = m % (CYCLE - 1)
        return decision, k, decision.kept[k]


@functools.cache
def _workers() -> ThreadPoolExecutor | None:
    """Threads for the NumPy analysis (one per core, at most four), made once; None on a single core."""
    cores = min(os.cpu_count() or 1, 4)
    return ThreadPoolExecutor(cores, thread_name_prefix="vsovermix-detelecine") if cores > 1 else None


def _luma_plane(fmt: vs.VideoFormat) -> int:
    return 1 if fmt.color_family == vs.RGB else 0  # G carries most of the luma


def _luma_proxy(frame: vs.VideoFrame, xp: Any, tff: bool) -> FieldProxy:
    """The analysis proxy of a frame's luma (float NaN and infinities made finite)."""
    luma = plane_view(frame, _luma_plane(frame.format))
    if frame.format.sample_type == vs.FLOAT:
        luma = np.nan_to_num(luma.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return field_proxy(xp.asarray(luma), peak_value(frame.format), tff)


def _field_order(clip: vs.VideoNode, tff: bool | None) -> tuple[bool, str]:
    """The field order to use and where it came from: ``"tff"`` (the argument), ``"content"`` (the sampled
    frames say so clearly, whatever ``_FieldBased`` says) or ``"_FieldBased"`` (frame 0's prop, the content
    unclear: still, progressive or too short)."""
    if tff is not None:
        ArgumentTypeError.check(detelecine, "tff", tff, bool)
        return tff, "tff"
    with clip.get_frame(0) as frame:
        order = frame.props.get("_FieldBased")
    seen = _field_order_of_content(clip)
    marked = order in (vs.FIELD_TOP, vs.FIELD_BOTTOM)
    if seen is not None:
        if marked and (order == vs.FIELD_TOP) != seen:
            marked_top = "top" if order == vs.FIELD_TOP else "bottom"
            warnings.warn(f"vsovermix.detelecine: frame 0's _FieldBased says {marked_top} field first, the content "
                          f"{'top' if seen else 'bottom'} first: using the content's (pass tff= to decide)",
                          RuntimeWarning, stacklevel=3)
        return seen, "content"
    if marked:
        return order == vs.FIELD_TOP, "_FieldBased"
    said = "is not set" if order is None else f"is {int(order)} (progressive)"
    raise InvalidArgumentError(detelecine, f"the field order is unknown: frame 0's _FieldBased {said}, the content "
                                           "does not tell (still or progressive) and tff is None; pass tff=True (top "
                                           "field first, most NTSC broadcasts) or tff=False, or set it with "
                                           "core.std.SetFieldBased(clip, 2)")


def _field_order_of_content(clip: vs.VideoNode) -> bool | None:
    """True (top first) or False where most sampled frame pairs that tell say so, twice as many as the other
    way; None where too few tell."""
    pairs = min(FIELD_ORDER_SAMPLES, clip.num_frames - 1)
    starts = sorted({round(i * (clip.num_frames - 2) / max(pairs - 1, 1)) for i in range(pairs)})
    votes = [0, 0]

    def proxy(n: int) -> FieldProxy:
        with clip.get_frame(n) as frame:
            return _luma_proxy(frame, np, True)

    for n in starts:
        seen = field_order_seen(proxy(n), proxy(n + 1), True)
        if seen >= 0:
            votes[seen] += 1
    bottom, top = votes
    if top >= FIELD_ORDER_VOTES and top >= 2 * bottom:
        return True
    if bottom >= FIELD_ORDER_VOTES and bottom >= 2 * top:
        return False
    return None


def _output_count(num_frames: int) -> int:
    full, rest = divmod(num_frames, CYCLE)
    return full * (CYCLE - 1) + (rest - 1 if rest > 1 else rest)


def detelecine(clip: vs.VideoNode, *, tff: bool | None = None, orphans: str = "drop",
               backend: str = "auto") -> vs.VideoNode:
    """Inverse telecine: 29.97i hard-telecined film back to its 23.976p frames.

    Each frame's first field is matched with the second field of the previous, current or next frame,
    whichever weaves without combing, judged on the film content: blocks that comb whatever the match
    (60i credits or captions, an interlaced window) do not vote. Then one frame in each cycle of five,
    the one that repeats its predecessor, is dropped; where a cycle shows no repeat of its own (30p
    credits, a still shot), the 3:2 phase of the cycles around it says which.

    What is left combed is treated as a region, not as a frame: blocks that comb in most of a cycle, or
    that move while the film holds still at its repeat (rolling credits), are a video-rate overlay.
    There each combed pixel, and each woven pixel that departs from the first field's edge-directed
    interpolation, is rebuilt: from the second field moved back by the overlay's own vertical motion
    (held between the first field's rows) where that fits, else by edge-directed interpolation of
    the first field, the one that belongs to the output frame's moment. The rest of the frame stays
    the film frame as woven, exactly. A frame whose film content combs with every candidate (an orphan
    field left by an edit after telecine) is dropped when its cycle has nothing else to drop, else
    rebuilt whole from its first field and flagged. A progressive stretch (every frame weaves as it
    stands, none repeats) passes through as it is, one frame in five dropped, and is flagged.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        src = vs.core.bs.VideoSource("broadcast.ts")   # 29.97i hard-telecined anime
        film = vo.detelecine(src)                        # 23.976p
        film = vo.detelecine(src, tff=True, orphans="rebuild")

    Args:
        clip: Interlaced, hard-telecined clip: constant-format GRAY, YUV or RGB, 8-16 bit integer or 16/32
            bit float, even height, at least 5 frames. Analysis reads luma (G for RGB) at 8-bit
            precision; the output keeps every plane at full depth.
        tff: Field order: True (top field first), False, or None (default): from the content (up to 24
            frame pairs spread over the clip, read when the filter is made: the fields one moment apart
            weave cleaner), whatever frame 0's ``_FieldBased`` says (a warning where they disagree); from
            ``_FieldBased`` where the content does not tell (still or progressive). Neither: an error.
        orphans: ``"drop"`` (default): a frame carrying an orphan field is dropped when its cycle holds
            no repeated frame. ``"rebuild"``: it is kept, its missing field interpolated, and the
            cycle drops its least-changed other frame instead (on animation held on twos, a repeated
            drawing). A cycle with both a repeat and an orphan drops the repeat and rebuilds the
            orphan in either mode: it can drop only one.
        backend: Where the analysis runs: ``"auto"`` (default; CuPy when a GPU is usable, else NumPy with
            one warning), ``"cupy"`` or ``"numpy"``. Both take the same decisions; the weaving is
            VapourSynth's own.

    Returns:
        A clip of ``4/5`` the frames (``4 * (n // 5)`` plus one less than the rest) at ``4/5`` the frame
        rate, progressive (``_FieldBased=0``), ``_DurationNum/_DurationDen`` set. Props on every frame:
        ``OvrMatch`` (``"p"``, ``"c"`` or ``"n"``), ``OvrCombed`` (largest share of moving, combed
        pixels in a 32x32 px block of the chosen weave, 0..1), ``OvrCombedRect`` (``[x, y, w, h]`` of the
        pixels rebuilt, ``[0, 0, 0, 0]`` where none), ``OvrInterpolated`` (1: an orphan, its second
        field rebuilt whole from the first), ``OvrProgressive`` (1: a progressive stretch, as it is),
        ``OvrSourceFrame`` (input index), ``OvrDropped`` (input index dropped from this frame's cycle,
        -1 if none), ``OvrFieldOrder`` (``"tff"`` or ``"bff"``, the order used), ``OvrFieldOrderFrom``
        (``"tff"``, ``"content"`` or ``"_FieldBased"``) and ``OvrFieldOrderSeen`` (what this frame and the
        next show: 1 top first, 0 bottom first, -1 no verdict; a clip whose order flips shows it here).

    Raises:
        InvalidArgumentError: unknown field order, or ``orphans`` or ``backend`` out of range.
        BackendUnavailableError: ``backend="cupy"`` where CuPy or a GPU cannot run.
        ClipTooShortError: fewer than 5 frames.
        UnsupportedFormatError: an odd height, variable format or size, or an unsupported sample type.
    """
    func = detelecine
    clip = check_clip(clip, func)
    orphans = InvalidArgumentError.check_choice(func, "orphans", orphans, ORPHANS)
    if clip.height % 2:
        raise UnsupportedFormatError(func, f"clip height must be even (two fields of equal height), got "
                                           f"{clip.height}; crop or pad one row first")
    if clip.num_frames < CYCLE:
        raise ClipTooShortError(func, f"clip must have at least {CYCLE} frames (one telecine cycle), got "
                                      f"{clip.num_frames}")
    resolved = resolve_backend(backend, func)
    field_first, field_order_from = _field_order(clip, tff)
    analysis = _Analysis(clip, field_first, orphans, resolved)

    # SeparateFields reads the order from _FieldBased before its tff argument: mark the order decided.
    fields = clip.std.SetFieldBased(vs.FIELD_TOP if field_first else vs.FIELD_BOTTOM).std.SeparateFields(
        tff=field_first)
    firsts, seconds = fields[::2], fields[1::2]
    previous_seconds = seconds[0] + seconds[:-1]
    next_seconds = seconds[1:] + seconds[-1]
    woven = {
        "c": clip,
        "p": vs.core.std.Interleave([firsts, previous_seconds]).std.DoubleWeave(tff=field_first)[::2],
        "n": vs.core.std.Interleave([firsts, next_seconds]).std.DoubleWeave(tff=field_first)[::2],
    }

    count = _output_count(clip.num_frames)
    fps = Fraction(clip.fps.numerator, clip.fps.denominator) if clip.fps.numerator else Fraction(30000, 1001)
    fps_out = fps * Fraction(CYCLE - 1, CYCLE)
    base = vs.core.std.BlankClip(clip, length=count, fpsnum=fps_out.numerator, fpsden=fps_out.denominator)

    def select(n: int) -> vs.VideoNode:
        decision, k, source = analysis.output(n)
        return woven[decision.matches[k]][source - n:]  # frame n of this clip is input frame `source`

    def finish(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        decision, k, source = analysis.output(n)
        metrics = analysis.frame(source)
        out = f.copy()
        rect = _deinterlace(out, metrics, decision, k, field_first, analysis.luma_plane, analysis.peak)
        props = out.props
        props.pop("_Field", None)
        props["_FieldBased"] = vs.FIELD_PROGRESSIVE
        props["_DurationNum"] = fps_out.denominator
        props["_DurationDen"] = fps_out.numerator
        props["OvrMatch"] = decision.matches[k]
        props["OvrCombed"] = metrics.combed
        props["OvrInterpolated"] = int(decision.interpolated[k])
        props["OvrSourceFrame"] = source
        props["OvrDropped"] = decision.dropped
        props["OvrCombedRect"] = list(rect)
        props["OvrProgressive"] = int(decision.progressive)
        props["OvrFieldOrder"] = "tff" if field_first else "bff"
        props["OvrFieldOrderFrom"] = field_order_from
        props["OvrFieldOrderSeen"] = analysis.field_order_seen(source)
        return out

    chosen = base.std.FrameEval(select)
    return chosen.std.ModifyFrame(chosen, finish)


def _treated_blocks(metrics: FrameMetrics, decision: CycleDecision, k: int) -> np.ndarray | None:
    """Blocks deinterlaced in a kept frame: where its weave combs, and the cycle's overlay."""
    if metrics.region is None:
        return None
    # Where the weave was chosen on the film (which it weaves cleanest), only the overlay is left to treat.
    blocks = metrics.region.copy() if decision.matches[k] == metrics.match else np.zeros_like(metrics.region)
    overlay = _on_grid(decision.overlay, blocks.shape)
    if overlay is not None:
        blocks |= overlay
    return grow_blocks(blocks) if blocks.any() else None


def _on_grid(blocks: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """A cycle's block map (overlay, moving) where it has one on this frame's block grid."""
    return blocks if blocks is not None and blocks.shape == shape else None


def _deinterlace(frame: vs.VideoFrame, metrics: FrameMetrics, decision: CycleDecision, k: int, tff: bool,
                 luma_plane: int, peak: float) -> tuple[int, int, int, int]:
    """Rebuild, in place, the second field of ``frame`` where it combs; returns the treated rectangle
    ``(x, y, w, h)`` in frame pixels, ``(0, 0, 0, 0)`` where nothing was.

    An orphan's whole second field is rebuilt from its first. Elsewhere only the treated blocks are
    looked at, and inside them only the pixels that comb (strongly, outside the overlay: there the weave
    is the film's), and in the blocks that move at the repeat those that depart from the first field's
    interpolation. Each is rebuilt from the first field, the one that belongs to the frame's time, by
    edge-directed interpolation, or, in the moving overlay, from the second field moved back by the
    overlay's own motion where that fits better (``_follow_overlay``).
    """
    keep = 0 if tff else 1
    fmt = frame.format
    height, width = frame.height, frame.width
    planes = [np.asarray(frame[p]) for p in range(fmt.num_planes)]
    if decision.interpolated[k]:
        for plane in planes:
            plane[1 - keep::2] = _stored(edge_directed_rows(plane, keep), plane.dtype, peak)
        return (0, 0, width, height)
    blocks = _treated_blocks(metrics, decision, k)
    if blocks is None:
        return (0, 0, 0, 0)
    rows, cols = BLOCK[0], BLOCK[1] * 4  # frame pixels per block
    # Each frame row and column in its block; the ragged edges (and row 0) belong to the nearest block.
    row_block = np.clip((np.arange(height) - 1) // rows, 0, blocks.shape[0] - 1)
    col_block = np.clip(np.arange(width) // cols, 0, blocks.shape[1] - 1)
    treated_rows = np.nonzero(blocks.any(axis=1)[row_block])[0]
    treated_cols = np.nonzero(blocks.any(axis=0)[col_block])[0]
    y0, y1 = max(int(treated_rows[0]) - 4, 0), min(int(treated_rows[-1]) + 1 + 4, height)
    x0, x1 = int(treated_cols[0]), int(treated_cols[-1]) + 1
    y0 -= y0 % 4  # whole 4:2:0 field pairs, so that chroma rows line up with their luma rows
    y1 = min(y1 + (-y1) % 4, height)
    missing_rows = np.arange(y0, y1)[1 - keep::2]

    def pixels_of(grid: np.ndarray) -> np.ndarray:
        """Bool blocks onto the rectangle's missing rows (frame pixels)."""
        return grid[row_block[missing_rows]][:, col_block[x0:x1]]

    # Pixel mask over the rectangle's missing rows: inside a treated block and combed in luma; inside the
    # video-rate blocks that moved at the repeat also where the woven row departs from the first field's
    # interpolation (a rolling edge woven one row off).
    luma = planes[luma_plane][y0:y1, x0:x1]
    scale = 255.0 / peak
    combed = pixels_of(blocks) & pixel_combing(luma, keep, scale, FILM_COMB_THRESHOLD)
    overlay = _on_grid(decision.overlay, blocks.shape)
    if overlay is not None:
        combed |= pixels_of(overlay) & pixel_combing(luma, keep, scale)
    mask = combed.copy()
    moving = _on_grid(decision.moving, blocks.shape)
    shift, in_overlay, rebuilt_luma = 0, None, None
    if moving is not None:
        rebuilt_luma = edge_directed_rows(luma, keep)
        departs = np.abs(luma[1 - keep::2].astype(np.float32) - rebuilt_luma) * np.float32(scale)
        in_overlay = pixels_of(moving)
        mask |= in_overlay & (departs > OVERLAY_DEPARTURE)
        in_overlay &= mask
        if in_overlay.any():
            shift = overlay_shift(luma, keep, in_overlay, scale)
    if not mask.any():
        return (0, 0, 0, 0)
    if rebuilt_luma is None:
        rebuilt_luma = edge_directed_rows(luma, keep)
    for p, plane in enumerate(planes):
        sub_w = fmt.subsampling_w if p and fmt.color_family == vs.YUV else 0
        sub_h = fmt.subsampling_h if p and fmt.color_family == vs.YUV else 0
        part = plane[y0 >> sub_h:y1 >> sub_h, x0 >> sub_w:(x1 + (1 << sub_w) - 1) >> sub_w]
        missing = part[1 - keep::2]
        want = _reduce_or(mask, 1 << sub_h, 1 << sub_w)[: missing.shape[0], : missing.shape[1]]
        rebuilt = rebuilt_luma if p == luma_plane else edge_directed_rows(part, keep)
        if shift:
            rebuilt = _follow_overlay(part, keep, shift / (1 << sub_h), rebuilt,
                                      _reduce_or(in_overlay, 1 << sub_h, 1 << sub_w),
                                      _reduce_or(in_overlay & ~combed, 1 << sub_h, 1 << sub_w))
        rebuilt = rebuilt[: want.shape[0], : want.shape[1]]
        missing[: want.shape[0], : want.shape[1]][want] = _stored(rebuilt[want], plane.dtype, peak)
    ys, xs = np.nonzero(mask)
    return (x0 + int(xs.min()), y0 + 2 * int(ys.min()) + 1 - keep, int(xs.max() - xs.min()) + 1,
            2 * int(ys.max() - ys.min()) + 1)


def _follow_overlay(part: np.ndarray, keep: int, shift: float, rebuilt: np.ndarray, overlay: np.ndarray,
                    uncombed: np.ndarray) -> np.ndarray:
    """``rebuilt`` (missing rows), where ``overlay`` replaced by the second field moved back by the overlay's
    own motion and held between the first field's rows, where that fits the first field better around the
    pixel than the woven row does; the woven row where it fits as well and does not comb (``uncombed``:
    film under the overlay)."""
    from scipy.ndimage import uniform_filter

    h, w = min(rebuilt.shape[0], overlay.shape[0]), min(rebuilt.shape[1], overlay.shape[1])
    moved = shifted_second_field(part, keep, shift)
    followed = clamped_between_rows(part, keep, moved)[:h, :w]
    woven = part[1 - keep::2].astype(np.float32)
    misfit = np.abs(woven - clamped_between_rows(part, keep, woven))[:h, :w]
    moved_misfit = np.abs(moved[:h, :w] - followed)
    woven = woven[:h, :w]
    woven_cost = uniform_filter(misfit, FIT_WINDOW, mode="nearest")
    moved_cost = uniform_filter(moved_misfit, FIT_WINDOW, mode="nearest")
    out = rebuilt.copy()
    region = overlay[:h, :w]
    take_moved = region & (moved_cost < woven_cost)
    out[:h, :w][take_moved] = followed[take_moved]
    keep_woven = region & uncombed[:h, :w] & ~take_moved
    out[:h, :w][keep_woven] = woven[keep_woven]
    return out


def _reduce_or(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """OR over ``rows x cols`` cells (the ragged edge padded): a luma mask onto a subsampled plane."""
    if rows == cols == 1:
        return mask
    h, w = -(-mask.shape[0] // rows) * rows, -(-mask.shape[1] // cols) * cols
    padded = np.zeros((h, w), bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    return padded.reshape(h // rows, rows, w // cols, cols).any(axis=(1, 3))


def _stored(values: np.ndarray, dtype: np.dtype, peak: float) -> np.ndarray:
    """Rebuilt float values in the plane's sample type (integers rounded and clipped)."""
    if np.issubdtype(dtype, np.integer):
        return np.clip(np.rint(values), 0, peak).astype(dtype)
    return values.astype(dtype)
