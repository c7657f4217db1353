"""Inverse telecine decisions: field matching, comb detection and 1-in-5 decimation, on NumPy.

Terms. Each input frame holds two fields; the *first* field (in time: top for TFF) is kept, and its
partner is the second field of the previous, current or next frame (match ``p``, ``c``, ``n``),
whichever weaves with it without combing. In 3:2 telecine one film frame in each cycle of five
frames shows its first field twice, so after matching that frame repeats its predecessor: it is the
one dropped. A first field whose film frame lost its other field to an edit (an *orphan*) combs with
every candidate; so do 30p credits and truly interlaced shots.

Analysis runs on a proxy: luma scaled to 8-bit code values, each row reduced to every fourth column
pair (combing is vertical; halving the columns twice loses nothing it needs). The arrays may be NumPy
or CuPy; only scalars come back to the host for the decisions.

Combing is two vertical alternations in a row: rows ``y`` and ``y + 1`` are both local extremes of
their column by more than ``COMB_THRESHOLD``. A thin horizontal line is one extreme, not two, so
line art does not comb; fine hatching at the vertical Nyquist rate does, in every candidate alike,
so matching still compares like with like. The *combed* verdict only counts combing where the
picture moves (first fields differ from their neighbours'), so still hatching never flags a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .resample import xp_of

__all__ = [
    "BLOCK",
    "COMBED_SHARE",
    "CycleDecision",
    "FieldProxy",
    "FrameMetrics",
    "comb_map",
    "decide_cycle",
    "field_proxy",
    "frame_metrics",
    "woven_combing",
]

COMB_THRESHOLD = 12.0  # 8-bit code values (proxy columns are sums of two: doubled below)
MOTION_THRESHOLD = 8.0  # 8-bit code values between first fields of neighbouring frames
BLOCK = (32, 8)  # proxy rows x columns (32x32 frame px): combing is judged per block, as a share of it
COMBED_SHARE = 0.08  # a frame is combed when some block has this share of moving, combed pixels
REPEAT_FLOOR = 0.3  # mean |difference| (8-bit) below which a frame repeats its predecessor outright
REPEAT_RATIO = 0.3  # ... or below this share of the next-smallest change in its cycle
MATCHES = ("c", "p", "n")  # preference order on ties


@dataclass(frozen=True)
class FieldProxy:
    """One frame's fields on the proxy grid (float32, 8-bit code values x 2)."""

    first: np.ndarray  # rows of the field shown first (top for TFF)
    second: np.ndarray


def field_proxy(luma: np.ndarray, peak: float, tff: bool) -> FieldProxy:
    """Split a luma plane into its fields on the proxy grid; ``peak`` is the format's white (255, 1023, 1.0...)."""
    width = luma.shape[1] // 4 * 4
    scale = np.float32(255.0 / peak)
    reduced = (luma[:, 0:width:4].astype(np.float32) + luma[:, 2:width:4]) * scale
    top, bottom = reduced[0::2], reduced[1::2]
    return FieldProxy(top, bottom) if tff else FieldProxy(bottom, top)


def _weave(first: np.ndarray, second: np.ndarray, tff: bool) -> np.ndarray:
    rows = first.shape[0] + second.shape[0]
    out = xp_of(first).empty((rows, first.shape[1]), np.float32)
    out[0 if tff else 1::2] = first
    out[1 if tff else 0::2] = second
    return out


def comb_map(first: np.ndarray, second: np.ndarray, tff: bool) -> np.ndarray:
    """Bool map (frame rows 1 .. h-3, proxy columns) of combing in the weave of two fields."""
    woven = _weave(first, second, tff)
    middle = woven[1:-1]
    threshold = np.float32((2 * COMB_THRESHOLD) ** 2)
    extreme = (middle - woven[:-2]) * (middle - woven[2:]) > threshold
    return extreme[:-1] & extreme[1:]


def woven_combing(luma: np.ndarray, peak: float, tff: bool) -> float:
    """Largest block share of combing in a frame as woven, motion or not: the check that an output frame
    does not comb (the verdict on an input frame also asks that the picture move)."""
    fields = field_proxy(luma, peak, tff)
    return _block_share(comb_map(fields.first, fields.second, tff))


def _block_share(mask: np.ndarray) -> float:
    """Largest share of True in any ``BLOCK`` (the ragged edge is left out)."""
    rows, cols = BLOCK
    h, w = mask.shape[0] // rows * rows, mask.shape[1] // cols * cols
    if h == 0 or w == 0:
        return float(mask.mean()) if mask.size else 0.0
    # Reductions over bool or strided axes are slow in NumPy: add the columns of a block as bytes
    # (at most ``cols`` each), then its rows along the contiguous layout.
    cells = mask[:h, :w].view(np.uint8)  # NumPy or CuPy alike
    across = cells[:, 0::cols].copy()
    for k in range(1, cols):
        across += cells[:, k::cols]
    counts = across.reshape(h // rows, rows, w // cols).sum(axis=1, dtype=np.int32)
    return float(counts.max()) / (rows * cols)


@dataclass(frozen=True)
class FrameMetrics:
    """What the decisions need from one input frame."""

    match: str  # "p", "c" or "n": where the second field comes from
    costs: tuple[float, float, float]  # combed pixels of the c, p, n weaves (inf: not tried, or not available)
    combed: float  # largest block share of moving, combed pixels in the chosen weave, 0..1
    change: float  # mean |first field - previous frame's first field|, 8-bit code values (inf for frame 0)


def frame_metrics(previous: FieldProxy | None, current: FieldProxy, following: FieldProxy | None,
                  tff: bool) -> FrameMetrics:
    """Match frame ``current``'s first field with the second field of the previous, current or next frame.

    ``previous`` / ``following`` are None at the clip's ends (that candidate is not available).
    """
    candidates = {"c": current.second,
                  "p": None if previous is None else previous.second,
                  "n": None if following is None else following.second}
    xp = xp_of(current.first)
    maps: dict[str, np.ndarray] = {}
    costs: dict[str, float] = {}
    for m in MATCHES:  # in preference order; a weave with no combing at all cannot be beaten
        if candidates[m] is not None:
            maps[m] = comb_map(current.first, candidates[m], tff)
            costs[m] = float(xp.count_nonzero(maps[m]))
            if costs[m] == 0:
                break
    best = min(costs.values())
    match = next(m for m in MATCHES if m in costs and costs[m] <= best)
    # Motion: where the first field differs from its neighbours' (combing needs two moments).
    moving = xp.zeros(current.first.shape, bool)
    change = np.inf
    threshold = np.float32(2 * MOTION_THRESHOLD)
    for other in (previous, following):
        if other is not None:
            difference = xp.abs(current.first - other.first)
            moving |= difference > threshold
            if other is previous:
                change = float(difference.mean()) * 0.5
    moving_rows = xp.repeat(moving, 2, axis=0)[: maps[match].shape[0] + 3]
    # Field rows cover two frame rows; a one-row margin catches combs along a moving edge.
    moving_rows = moving_rows[1:-2] | moving_rows[2:-1] | moving_rows[:-3]
    combed = _block_share(maps[match] & moving_rows[: maps[match].shape[0]])
    return FrameMetrics(match, (costs.get("c", np.inf), costs.get("p", np.inf), costs.get("n", np.inf)), combed,
                        change)


def _clear_repeat(metrics: list[FrameMetrics], calm: list[int]) -> bool:
    """Whether the least-changed calm frame (``calm[0]``) plainly repeats its predecessor."""
    least = metrics[calm[0]].change
    others = [metrics[k].change for k in range(len(metrics)) if k != calm[0]]
    return least < REPEAT_FLOOR or (bool(others) and least < REPEAT_RATIO * min(others))


@dataclass(frozen=True)
class CycleDecision:
    """The fate of one cycle of (up to) five input frames."""

    first: int  # input index of the cycle's first frame
    dropped: int  # input index of the frame left out
    kept: tuple[int, ...]  # input indices shown, in order
    interpolated: tuple[bool, ...]  # per kept frame: its second field is interpolated from the first


def decide_cycle(first: int, metrics: list[FrameMetrics], orphans: str) -> CycleDecision:
    """Drop one frame of the cycle starting at input ``first`` (a cycle of one frame drops none).

    Frames that comb after matching (orphans, 30p, interlaced) are never shown combed: they are
    dropped when the cycle allows, else shown with their second field interpolated.
    - No combed frame: the frame that changed least from its predecessor (the repeat) is dropped.
    - Combed frames and a clear repeat (its change below ``REPEAT_FLOOR`` or ``REPEAT_RATIO`` times the
      next-smallest: flat drawings change little in mean even when they move): the repeat is dropped
      and the combed frames interpolated.
    - Combed frames and no clear repeat: ``orphans="drop"`` drops the most combed frame;
      ``"rebuild"`` keeps it interpolated and drops the least-changed other frame (on twos
      animation, often a repeated drawing).
    """
    count = len(metrics)
    indices = list(range(first, first + count))
    if count == 1:
        return CycleDecision(first, -1, (first,), (metrics[0].combed >= COMBED_SHARE,))
    combed = [m.combed >= COMBED_SHARE for m in metrics]
    calm = sorted((k for k in range(count) if not combed[k]), key=lambda k: (metrics[k].change, k))
    if not any(combed) or (calm and (_clear_repeat(metrics, calm) or orphans == "rebuild")):
        drop = calm[0]
    else:
        drop = max(range(count), key=lambda k: (metrics[k].combed, -k))
    kept = [k for k in range(count) if k != drop]
    return CycleDecision(first, indices[drop], tuple(indices[k] for k in kept), tuple(combed[k] for k in kept))
