"""``vo.detelecine``: inverse telecine that never shows a combed or a duplicate frame."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import vapoursynth as vs

from .._vs.formats import check_clip
from .._vs.frames import peak_value, plane_view
from ..backend import Backend, array_module, resolve_backend
from ..errors import ArgumentTypeError, ClipTooShortError, InvalidArgumentError, UnsupportedFormatError
from ..ops.telecine import CycleDecision, FieldProxy, FrameMetrics, decide_cycle, field_proxy, frame_metrics

__all__ = ["detelecine"]

CYCLE = 5
ORPHANS = ("drop", "rebuild")
_CACHE_FRAMES = 24  # proxies and metrics kept per clip: a cycle and its neighbours, for every thread


class _Analysis:
    """Per-clip memo of proxies, metrics and cycle decisions; a pure function of the input frames.

    Decisions for a cycle read input frames ``5c - 1 .. 5c + 5`` only, so any output frame can be
    rendered alone (seeking) and gives what an in-order render gives. Thread-safe: VapourSynth asks
    for frames from several threads; a value computed twice is the same value.
    """

    def __init__(self, clip: vs.VideoNode, tff: bool, orphans: str, backend: Backend):
        self.clip, self.tff, self.orphans = clip, tff, orphans
        self.xp = array_module(backend)
        fmt = clip.format
        self.luma_plane = 1 if fmt.color_family == vs.RGB else 0  # G carries most of the luma
        self.peak = peak_value(fmt)
        self.lock = threading.Lock()
        self.proxies: OrderedDict[int, FieldProxy] = OrderedDict()
        self.metrics: OrderedDict[int, FrameMetrics] = OrderedDict()
        self.cycles: OrderedDict[int, CycleDecision] = OrderedDict()

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
            luma = plane_view(frame, self.luma_plane)
            if frame.format.sample_type == vs.FLOAT:
                luma = np.nan_to_num(luma.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
            return field_proxy(self.xp.asarray(luma), self.peak, self.tff)

    def frame(self, n: int) -> FrameMetrics:
        return self._memo(self.metrics, n,
                          lambda: frame_metrics(self.proxy(n - 1), self.proxy(n), self.proxy(n + 1), self.tff))

    def cycle(self, c: int) -> CycleDecision:
        first = c * CYCLE
        last = min(first + CYCLE, self.clip.num_frames)
        return self._memo(self.cycles, c,
                          lambda: decide_cycle(first, [self.frame(n) for n in range(first, last)], self.orphans), 8)

    def output(self, m: int) -> tuple[CycleDecision, int, int]:
        """Output frame ``m``'s cycle decision, its place among the kept frames, and its input frame."""
        decision = self.cycle(m // (CYCLE - 1))
        k = m % (CYCLE - 1)
        return decision, k, decision.kept[k]


def _field_order(clip: vs.VideoNode, tff: bool | None) -> bool:
    if tff is not None:
        ArgumentTypeError.check(detelecine, "tff", tff, bool)
        return tff
    with clip.get_frame(0) as frame:
        order = frame.props.get("_FieldBased")
    if order in (vs.FIELD_TOP, vs.FIELD_BOTTOM):
        return order == vs.FIELD_TOP
    said = "is not set" if order is None else f"is {int(order)} (progressive)"
    raise InvalidArgumentError(detelecine, f"the field order is unknown: frame 0's _FieldBased {said} and tff is "
                                           "None; pass tff=True (top field first, most NTSC broadcasts) or tff=False, "
                                           "or set it with core.std.SetFieldBased(clip, 2)")


def _output_count(num_frames: int) -> int:
    full, rest = divmod(num_frames, CYCLE)
    return full * (CYCLE - 1) + (rest - 1 if rest > 1 else rest)


def detelecine(clip: vs.VideoNode, *, tff: bool | None = None, orphans: str = "drop",
               backend: str = "auto") -> vs.VideoNode:
    """Inverse telecine: 29.97i hard-telecined film back to its 23.976p frames.

    Each frame's first field is matched with the second field of the previous, current or next frame,
    whichever weaves without combing; then one frame in each cycle of five, the one that repeats its
    predecessor, is dropped. A frame that combs with every candidate (an orphan field left by an edit
    after telecine, 30p credits, an interlaced shot) is never shown combed: it is dropped when its
    cycle has nothing else to drop, else shown with its second field interpolated from the first,
    and flagged.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        src = vs.core.bs.VideoSource("broadcast.ts")   # 29.97i hard-telecined anime
        film = vo.detelecine(src)                        # 23.976p
        film = vo.detelecine(src, tff=True, orphans="rebuild")

    Args:
        clip: Interlaced, hard-telecined clip: constant-format GRAY, YUV or RGB, 8-16 bit integer or 16/32
            bit float, even height, at least 5 frames. Analysis reads luma (G for RGB) at 8-bit
            precision; the output keeps every plane at full depth.
        tff: Field order: True (top field first), False, or None (default) to read frame 0's
            ``_FieldBased``. None on a clip without field order, or marked progressive, is an error.
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
        pixels in a 32x32 px block, 0..1), ``OvrInterpolated`` (1 when the second
        field was interpolated), ``OvrSourceFrame`` (input index) and ``OvrDropped`` (input index
        dropped from this frame's cycle, -1 if none).

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
    field_first = _field_order(clip, tff)
    analysis = _Analysis(clip, field_first, orphans, resolved)

    fields = clip.std.SeparateFields(tff=field_first)
    firsts, seconds = fields[::2], fields[1::2]
    previous_seconds = seconds[0] + seconds[:-1]
    next_seconds = seconds[1:] + seconds[-1]
    woven = {
        "c": clip,
        "p": vs.core.std.Interleave([firsts, previous_seconds]).std.DoubleWeave(tff=field_first)[::2],
        "n": vs.core.std.Interleave([firsts, next_seconds]).std.DoubleWeave(tff=field_first)[::2],
    }
    # The first field stretched to full height: its own rows land on their frame rows exactly.
    interpolated = firsts.std.SetFieldBased(0).std.RemoveFrameProps("_Field").resize.Spline36(
        height=clip.height, src_top=0.25 if field_first else -0.25)

    count = _output_count(clip.num_frames)
    fps = Fraction(clip.fps.numerator, clip.fps.denominator) if clip.fps.numerator else Fraction(30000, 1001)
    fps_out = fps * Fraction(CYCLE - 1, CYCLE)
    base = vs.core.std.BlankClip(clip, length=count, fpsnum=fps_out.numerator, fpsden=fps_out.denominator)

    def select(n: int) -> vs.VideoNode:
        decision, k, source = analysis.output(n)
        chosen = interpolated if decision.interpolated[k] else woven[analysis.frame(source).match]
        return chosen[source - n:]  # frame n of this clip is input frame `source`

    def label(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        decision, k, source = analysis.output(n)
        metrics = analysis.frame(source)
        out = f.copy()
        props = out.props
        props.pop("_Field", None)
        props["_FieldBased"] = vs.FIELD_PROGRESSIVE
        props["_DurationNum"] = fps_out.denominator
        props["_DurationDen"] = fps_out.numerator
        props["OvrMatch"] = metrics.match
        props["OvrCombed"] = metrics.combed
        props["OvrInterpolated"] = int(decision.interpolated[k])
        props["OvrSourceFrame"] = source
        props["OvrDropped"] = decision.dropped
        return out

    chosen = base.std.FrameEval(select)
    return chosen.std.ModifyFrame(chosen, label)
