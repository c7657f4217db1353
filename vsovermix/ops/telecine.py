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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .resample import xp_of

__all__ = [
    "BLOCK",
    "COMBED_SHARE",
    "CYCLE",
    "FILM_COMB_THRESHOLD",
    "OVERLAY_DEPARTURE",
    "CycleDecision",
    "FieldProxy",
    "FrameMetrics",
    "clamped_between_rows",
    "comb_map",
    "decide_cycle",
    "edge_directed_rows",
    "field_order_seen",
    "field_proxy",
    "frame_metrics",
    "grow_blocks",
    "overlay_shift",
    "pixel_combing",
    "repeat_position",
    "shifted_second_field",
    "woven_combing",
]

CYCLE = 5  # input frames per telecine cycle (four film frames)
COMB_THRESHOLD = 12.0  # 8-bit code values (proxy columns are sums of two: doubled below)
MOTION_THRESHOLD = 8.0  # 8-bit code values between first fields of neighbouring frames
BLOCK = (32, 8)  # proxy rows x columns (32x32 frame px): combing is judged per block, as a share of it
COMBED_SHARE = 0.08  # a frame is combed when some block has this share of moving, combed pixels
REPEAT_FLOOR = 0.3  # mean |difference| (8-bit) below which a frame repeats its predecessor outright
REPEAT_RATIO = 0.3  # ... or below this share of the next-smallest change in its cycle
MATCHES = ("c", "p", "n")  # preference order on ties
OVERLAY_FRAMES = 3  # a block combed (after matching) in this many of a cycle's five frames is a video-rate overlay
VOTE_MARGIN = 1.0  # 8-bit code values: a block votes for the frame that changed least by this much ...
VOTE_RATIO = 0.5  # ... and by this factor
REPEAT_VOTES = 2  # blocks a repeat needs (and twice the runner-up's) to be clear by the vote
VOTE_STRONG = 0.5  # share of the changing film blocks a strong vote has: it overrules the neighbours' phase
ORPHAN_SHARE = 0.5  # a frame is an orphan when its film content combs in this share of the blocks where it moves
ORPHAN_MOVING_SHARE = 0.1  # ... and in this share of its film blocks that change


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


def comb_map(first: np.ndarray, second: np.ndarray, tff: bool, strict: bool = False) -> np.ndarray:
    """Bool map (frame rows 1 .. h-3, proxy columns) of combing in the weave of two fields.

    A row is an extreme when the product of its differences to the rows above and below passes the
    threshold squared: sensitive, what telling candidates apart needs. ``strict``: when each difference
    passes it, what a decision to *rebuild* pixels needs: beside a strong edge a little codec noise makes
    a product large (three-row hatching under MPEG-2 combs by the product, not strictly)."""
    sensitive, strict_map = _comb_test(first, second, tff)
    return strict_map() if strict else sensitive


def _comb_test(first: np.ndarray, second: np.ndarray,
               tff: bool) -> tuple[np.ndarray, Callable[[], np.ndarray]]:
    """The sensitive comb map, and the strict one on demand, from the fields' two sets of differences without
    weaving them (half the passes over memory of ``_pair_extremes`` on the woven frame)."""
    top, bottom = (first, second) if tff else (second, first)
    rows = top.shape[0]
    # Woven rows: top 0, bottom 0, top 1, ... A top row's differences to the rows above and below are
    # ``below_top[i - 1]`` and ``same[i]``; a bottom row's (negated) ``same[i]`` and ``below_top[i]``.
    same = top - bottom
    below_top = top[1:] - bottom[:-1]
    threshold = np.float32(2 * COMB_THRESHOLD)
    xp = xp_of(top)

    def pairs(extreme: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        top_rows = extreme(below_top[: rows - 1], same[1:rows])  # top rows 1 .. rows-1
        bottom_rows = extreme(same[: rows - 1], below_top[: rows - 1])  # bottom rows 0 .. rows-2
        out = xp.empty((2 * rows - 3, top.shape[1]), bool)
        out[0::2] = bottom_rows & top_rows  # woven rows 1, 3, ...: bottom i and top i + 1
        out[1::2] = top_rows[: rows - 2] & bottom_rows[1:]  # woven rows 2, 4, ...: top i and bottom i
        return out

    sensitive = pairs(lambda a, b: a * b > threshold * threshold)
    if not sensitive.any():  # strict combing is sensitive combing too
        return sensitive, lambda: sensitive
    return sensitive, lambda: pairs(lambda a, b: (xp.minimum(a, b) > threshold) | (xp.maximum(a, b) < -threshold))


def _pair_extremes(woven: np.ndarray, threshold: np.float32, strict: bool) -> np.ndarray:
    """Bool, the shape of ``woven``: rows ``y`` and ``y + 1`` both local extremes of their column by more than
    ``threshold`` (see ``comb_map``; the first and last rows never are)."""
    middle = woven[1:-1]
    up, down = middle - woven[:-2], middle - woven[2:]
    xp = xp_of(woven)
    extreme = xp.zeros(woven.shape, bool)
    if strict:
        extreme[1:-1] = (xp.minimum(up, down) > threshold) | (xp.maximum(up, down) < -threshold)
    else:
        extreme[1:-1] = up * down > threshold * threshold
    pair = xp.zeros(woven.shape, bool)
    pair[:-1] = extreme[:-1] & extreme[1:]
    return pair


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


def _block_counts(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Count of True per ``rows x cols`` block (int32, the ragged edge left out), on the host."""
    h, w = mask.shape[0] // rows * rows, mask.shape[1] // cols * cols
    cells = mask[:h, :w].view(np.uint8) if mask.dtype == bool else mask[:h, :w]
    across = cells[:, 0::cols].astype(np.float32 if mask.dtype != bool else np.int32)
    for k in range(1, cols):
        across += cells[:, k::cols]
    counts = across.reshape(h // rows, rows, w // cols).sum(axis=1)
    return counts.get() if hasattr(counts, "get") else np.asarray(counts)


@dataclass(frozen=True)
class FrameMetrics:
    """What the decisions need from one input frame. Block arrays are on the host, one value per
    ``BLOCK`` (32x32 frame px; block ``(i, j)`` covers frame rows ``1 + 32 i ..`` and columns ``32 j ..``)."""

    match: str  # "p", "c" or "n": where the second field comes from
    costs: tuple[float, float, float]  # combed pixels of the c, p, n weaves, per block up to a cap, outside the
    # blocks that comb whatever the match (inf: not tried or not available)
    combed: float  # largest block share of moving, combed pixels in the chosen weave, 0..1
    change: float  # mean |first field - previous frame's first field|, 8-bit code values (inf for frame 0)
    region: np.ndarray | None = None  # bool blocks: moving and combed in the chosen weave
    active: np.ndarray | None = None  # bool blocks: moving and combed in the chosen or the next-best weave
    block_change: np.ndarray | None = None  # float blocks: ``change`` per block (None for frame 0)
    block_costs: dict[str, np.ndarray] | None = None  # per candidate tried, each block's part of ``costs``


def frame_metrics(previous: FieldProxy | None, current: FieldProxy, following: FieldProxy | None,
                  tff: bool) -> FrameMetrics:
    """Match frame ``current``'s first field with the second field of the previous, current or next frame.

    The match is decided on the film content: blocks that comb whatever the candidate (video-rate
    credits or captions, an orphan's every textured block, still hatching) do not vote, so a combed
    region cannot tip the match of the picture around it. ``previous`` / ``following`` are None at the
    clip's ends (that candidate is not available).
    """
    candidates = {"c": current.second,
                  "p": None if previous is None else previous.second,
                  "n": None if following is None else following.second}
    xp = xp_of(current.first)
    rows, cols = BLOCK
    block_area = rows * cols
    maps: dict[str, np.ndarray] = {}
    strict_maps: dict[str, Callable[[], np.ndarray]] = {}
    counts: dict[str, np.ndarray] = {}
    for m in MATCHES:  # in preference order; a weave with no combing at all cannot be beaten
        if candidates[m] is not None:
            maps[m], strict_maps[m] = _comb_test(current.first, candidates[m], tff)
            counts[m] = _block_counts(maps[m], rows, cols)
            if not counts[m].any():
                break
    floor = np.minimum.reduce(list(counts.values())) if len(counts) > 1 else np.zeros_like(counts["c"])
    voting = floor < COMBED_SHARE * block_area  # some candidate weaves this block cleanly enough
    # Each block's combing counts up to a cap: a block votes, and a bright overlay that weaves in one
    # candidate only (30p credits) cannot outweigh the film by the contrast of its edges.
    cap = COMBED_SHARE * block_area
    block_costs = {m: np.where(voting, np.minimum(c, cap), 0).astype(np.float32) for m, c in counts.items()}
    costs = {m: float(c.sum()) for m, c in block_costs.items()}
    match = _preferred_match(costs)
    # Motion: where the first field differs from its neighbours' (combing needs two moments).
    moving = xp.zeros(current.first.shape, bool)
    change, block_change = np.inf, None
    threshold = np.float32(2 * MOTION_THRESHOLD)
    for other in (previous, following):
        if other is not None:
            difference = xp.abs(current.first - other.first)
            moving |= difference > threshold
            if other is previous:
                change = float(difference.mean()) * 0.5
                block_change = _block_counts(difference, rows // 2, cols) * np.float32(0.5 / (block_area // 2))
    moving_rows = xp.repeat(moving, 2, axis=0)[: maps[match].shape[0] + 3]
    # Field rows cover two frame rows; a one-row margin catches combs along a moving edge.
    moving_rows = moving_rows[1:-2] | moving_rows[2:-1] | moving_rows[:-3]
    moving_rows = moving_rows[: maps[match].shape[0]]
    # Where the match matters: the chosen weave and the next-best combed. Not the worst: across a scene cut
    # it combs everywhere, and an orphan would hide among the blocks it adds. Strict combing: these
    # blocks decide what is rebuilt.
    ranked = sorted(maps, key=lambda m: (costs[m], MATCHES.index(m)))[:2]
    shares = {m: _block_counts(strict_maps[m]() & moving_rows, rows, cols) / block_area for m in ranked}
    region = shares[match] >= COMBED_SHARE
    active = np.logical_or.reduce([shares[m] >= COMBED_SHARE for m in ranked])
    if block_change is not None:
        block_change = block_change[: region.shape[0], : region.shape[1]]
    combed = float(shares[match].max()) if shares[match].size else 0.0
    return FrameMetrics(match, (costs.get("c", np.inf), costs.get("p", np.inf), costs.get("n", np.inf)), combed,
                        change, region, active, block_change, block_costs)


def _clear_repeat(changes: list[float], calm: list[int]) -> bool:
    """Whether the least-changed calm frame (``calm[0]``) plainly repeats its predecessor."""
    least = changes[calm[0]]
    others = [changes[k] for k in range(len(changes)) if k != calm[0]]
    return least < REPEAT_FLOOR or (bool(others) and least < REPEAT_RATIO * min(others))


def grow_blocks(blocks: np.ndarray) -> np.ndarray:
    """``blocks`` and their 8 neighbours: combing spills over a block's border."""
    out = blocks.copy()
    out[1:] |= blocks[:-1]
    out[:-1] |= blocks[1:]
    grown = out.copy()
    grown[:, 1:] |= out[:, :-1]
    grown[:, :-1] |= out[:, 1:]
    return grown


@dataclass(frozen=True)
class CycleDecision:
    """The fate of one cycle of (up to) five input frames."""

    first: int  # input index of the cycle's first frame
    dropped: int  # input index of the frame left out
    kept: tuple[int, ...]  # input indices shown, in order
    interpolated: tuple[bool, ...]  # per kept frame: an orphan, its whole second field rebuilt from the first
    overlay: np.ndarray | None = None  # bool blocks (grown by one) that comb in most of the cycle's frames, or
    # that are ``moving``
    moving: np.ndarray | None = None  # bool blocks that changed while the film repeated: video-rate
    progressive: bool = False  # no telecine here: every frame weaves as it stands and none repeats
    matches: tuple[str, ...] = ()  # per kept frame: the weave shown (``FrameMetrics.match`` judged on the film)


def _blocks_of(m: FrameMetrics) -> tuple[np.ndarray, np.ndarray]:
    """``region`` and ``active`` of ``m``; one block for metrics made without them."""
    if m.region is not None and m.active is not None:
        return m.region, m.active
    combed = np.array([[m.combed >= COMBED_SHARE]])
    return combed, np.ones_like(combed)


def decide_cycle(first: int, metrics: list[FrameMetrics], orphans: str,
                 phases: tuple[int, ...] = ()) -> CycleDecision:
    """Drop one frame of the cycle starting at input ``first`` (a cycle of one frame drops none).

    Video-rate overlays and orphans are told apart by where and when they comb. Blocks that comb
    in at least ``OVERLAY_FRAMES`` of the cycle's frames are an *overlay* (60i credits, captions, an
    interlaced insert): they are deinterlaced in every frame and left out of the film's decisions. A
    frame whose film content (the blocks outside the overlay) combs in at least ``ORPHAN_SHARE`` of
    the blocks where the match matters is an *orphan*: its first field has no partner (an edit after
    telecine). Orphans are never shown combed: dropped when the cycle allows, else rebuilt whole
    from their first field.
    The *repeat* is the frame that shows its predecessor's film frame again. It is clear when it wins
    the block vote (``repeat_position``), or its mean change is below ``REPEAT_FLOOR`` or
    ``REPEAT_RATIO`` times the next-smallest (flat drawings change little in mean even when they move).
    Where the cycle has none and no orphan, ``phases`` (the clear repeats' positions in the
    neighbouring cycles: the 3:2 phase) say where it is.
    - No orphan: the repeat is dropped, else the frame whose film content changed least.
    - Orphans and a clear repeat: the repeat is dropped and the orphans rebuilt.
    - Orphans and no clear repeat: ``orphans="drop"`` drops the most combed orphan;
      ``"rebuild"`` keeps it rebuilt and drops the least-changed other frame (on twos
      animation, often a repeated drawing).
    """
    count = len(metrics)
    indices = list(range(first, first + count))
    film = _cycle_film(metrics)
    orphan = film.orphan
    if count == 1:
        return CycleDecision(first, -1, (first,), (orphan[0],), film.overlay, film.moving, False,
                             (_film_match(metrics[0], film.overlay),))
    calm = sorted((k for k in range(count) if not orphan[k]), key=lambda k: (film.changes[k], k))
    known = [p for p in phases if p < count and not orphan[p]]
    phase = known[0] if known and all(p == known[0] for p in known) else None
    repeat, strong = _voted_repeat(film)
    if repeat is not None and not strong and phase is not None and not any(orphan):
        repeat = phase  # a weak vote (an overlay's blocks that happened to hold still) against the phase around it
    if repeat is not None and not strong and any(orphan) and orphans == "drop":
        repeat = None  # an orphan is surely no whole film frame; a weak vote may be a few still edges
    mean_repeat = bool(calm) and _clear_repeat(film.changes, calm)
    if repeat is None and mean_repeat:
        repeat = calm[0]
    # Progressive: every frame moves and weaves as it stands, and none plainly repeats (a 30p stretch, not
    # telecine; a few blocks may still vote weakly).
    progressive = (not (strong or mean_repeat) and count == CYCLE and all(
        m.match == "c" and m.region is not None and not m.region.any() and change > REPEAT_FLOOR
        for m, change in zip(metrics, film.changes, strict=True)))
    if repeat is None and not any(orphan):
        # No repeat of its own (30p credits change every frame; a still shot changes in none): the phase
        # of the cycles around it, where they agree.
        repeat = phase
    if repeat is not None:
        drop = repeat
    elif calm and (not any(orphan) or orphans == "rebuild"):
        drop = calm[0]
    else:
        drop = max(range(count), key=lambda k: (metrics[k].combed if orphan[k] else -1.0, -k))
    kept = [k for k in range(count) if k != drop]
    return CycleDecision(first, indices[drop], tuple(indices[k] for k in kept), tuple(orphan[k] for k in kept),
                         film.overlay, film.moving, progressive,
                         tuple(_film_match(metrics[k], film.overlay) for k in kept))


def _film_match(m: FrameMetrics, overlay: np.ndarray | None) -> str:
    """The frame's weave judged on the blocks outside the cycle's overlay: a 30p insert over the film's
    middle weaves as it stands, and would otherwise pick the weave that combs the film around it."""
    if overlay is None or m.block_costs is None or any(c.shape != overlay.shape for c in m.block_costs.values()):
        return m.match
    costs = {k: float(c[~overlay].sum()) for k, c in m.block_costs.items()}
    return _preferred_match(costs)


def _preferred_match(costs: dict[str, float]) -> str:
    """The first of ``MATCHES`` within one block's capped combing of the cheapest weave: two weaves of the
    same film frame (a repeated field) differ by codec noise only, and the frame's own fields, coded
    together, are the better copy."""
    best = min(costs.values())
    margin = COMBED_SHARE * BLOCK[0] * BLOCK[1]
    return next(m for m in MATCHES if m in costs and costs[m] <= best + margin)


def _moving_at_repeat(repeat: FrameMetrics | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Blocks that changed in the cycle's repeat: the film holds still between a repeated field and its
    first showing, so what changed there is video-rate (rolling credits), though its edges may not comb."""
    if repeat is None or repeat.block_change is None or repeat.block_change.shape != shape:
        return None
    moving = repeat.block_change > OVERLAY_CHANGE
    return moving if moving.any() else None


@dataclass(frozen=True)
class _CycleFilm:
    """A cycle's frames seen through its film content (the blocks outside its overlay)."""

    shape: tuple[int, ...]  # the block grid
    overlay: np.ndarray | None
    moving: np.ndarray | None  # blocks that changed at the repeat (part of ``overlay``)
    orphan: list[bool]
    changes: list[float]  # mean change of the film content per frame (inf for the clip's first)
    votes: list[int]  # film blocks where the frame changed clearly least of the cycle
    changing: int  # film blocks where some frame changed by more than VOTE_MARGIN


def _cycle_film(metrics: list[FrameMetrics]) -> _CycleFilm:
    count = len(metrics)
    blocks = [_blocks_of(m) for m in metrics]
    shape = blocks[0][0].shape
    overlay, moving = None, None
    if count >= OVERLAY_FRAMES and all(r.shape == shape for r, _ in blocks):
        overlay = np.sum([r for r, _ in blocks], axis=0) >= OVERLAY_FRAMES
    # Where the match matters for the orphan test: outside the combing overlay. Blocks that only move at the
    # repeat (30p credits weave in one match) still count there, so a few combed blocks are no orphan.
    matched = np.ones(shape, bool) if overlay is None else ~grow_blocks(overlay)
    usable = all(m.block_change is None or m.block_change.shape == shape for m in metrics)
    if usable and count > 2:
        # The frame that most blocks say changed least is the film's repeat; what changed there is video-rate.
        votes, _ = _block_votes(metrics, shape, np.ones(shape, bool))
        still = _clear_winner(votes)
        if still is not None:
            moving = _moving_at_repeat(metrics[still], shape)
        if moving is not None:
            # A repeat only where the rest held still there, against every other frame (a 30p pan has a few
            # blocks that change least in some frame, and no repeat).
            rest = [float(m.block_change[~moving].mean()) if m.block_change is not None else np.inf
                    for m in metrics]
            if not rest[still] < REPEAT_RATIO * min(r for k, r in enumerate(rest) if k != still):
                moving = None
        if moving is not None:
            overlay = moving if overlay is None else overlay | moving
    if overlay is not None:
        overlay = grow_blocks(overlay)
    film = np.ones(shape, bool) if overlay is None else ~overlay
    orphan = []
    for (region, active), m in zip(blocks, metrics, strict=True):
        combed_film = int(np.count_nonzero(region & film))
        # An orphan combs in the film's moving blocks whatever the match; where two weaves show the film
        # alike (a repeated second field), ``active`` holds the overlay's rim only, so the film's moving
        # blocks bound it too.
        moving_film = 0 if m.block_change is None or m.block_change.shape != shape else int(
            np.count_nonzero((m.block_change > VOTE_MARGIN) & film))
        orphan.append(combed_film > 0 and combed_film >= ORPHAN_SHARE * np.count_nonzero(active & matched)
                      and combed_film >= ORPHAN_MOVING_SHARE * moving_film)
    usable = usable and film.any()
    changes = [m.change if m.block_change is None or not usable else float(m.block_change[film].mean())
               for m in metrics]
    votes, changing = [0] * count, 0
    if usable and count > 2:
        votes, changing = _block_votes(metrics, shape, film)
    return _CycleFilm(shape, overlay, moving, orphan, changes, votes, changing)


def _block_votes(metrics: list[FrameMetrics], shape: tuple[int, ...], where: np.ndarray) -> tuple[list[int], int]:
    """Per frame, the blocks of ``where`` that changed clearly least in it; and the blocks that change at all."""
    stack = np.stack([np.full(shape, np.inf, np.float32) if m.block_change is None else m.block_change
                      for m in metrics])[:, where]
    order = np.argsort(stack, axis=0, kind="stable")
    least = np.take_along_axis(stack, order[:1], axis=0)[0]
    second = np.take_along_axis(stack, order[1:2], axis=0)[0]
    with np.errstate(invalid="ignore"):  # inf - inf where two frames have no predecessor: no vote
        clear = (second - least > VOTE_MARGIN) & (least < VOTE_RATIO * second)
    votes = np.bincount(order[0][clear], minlength=len(metrics)).tolist()
    changing = int(np.count_nonzero(np.isfinite(stack).all(axis=0) & (stack.max(axis=0) > VOTE_MARGIN)))
    return votes, changing


def _clear_winner(votes: list[int]) -> int | None:
    """The frame with the most votes, where it has ``REPEAT_VOTES`` and twice the runner-up's."""
    ranked = sorted(range(len(votes)), key=lambda k: (-votes[k], k))
    runner_up = votes[ranked[1]] if len(ranked) > 1 else 0
    top = ranked[0]
    return top if votes[top] >= REPEAT_VOTES and votes[top] >= 2 * runner_up else None


def _voted_repeat(film: _CycleFilm) -> tuple[int | None, bool]:
    """The frame most film blocks say changed least, when it is no orphan and wins clearly; and whether the
    vote is strong (at least ``VOTE_STRONG`` of the film blocks that change at all voted for it)."""
    top = _clear_winner(film.votes)
    if top is None or film.orphan[top]:
        return None, False
    return top, film.votes[top] >= VOTE_STRONG * film.changing


def repeat_position(metrics: list[FrameMetrics]) -> int | None:
    """Position in a cycle of its repeat where its own frames show it plainly (a strong block vote, or a mean
    change that stands out), else None: the 3:2 phase a neighbouring cycle lends to ``decide_cycle``."""
    if len(metrics) <= 2:
        return None
    film = _cycle_film(metrics)
    repeat, strong = _voted_repeat(film)
    if repeat is not None and strong:
        return repeat
    calm = sorted((k for k in range(len(metrics)) if not film.orphan[k]), key=lambda k: (film.changes[k], k))
    return calm[0] if calm and _clear_repeat(film.changes, calm) else None


DIRECTIONS = (0, -1, 1, -2, 2)  # edge directions tried, in preference order (0: vertical)
DIAGONAL_BIAS = 2.0  # 8-bit code values a diagonal's match must beat the vertical's by, per window pixel
PIXEL_COMB_THRESHOLD = COMB_THRESHOLD  # 8-bit code values, as the block test
# ... outside the overlay, where the weave is the film's: what combs there by less is mostly the codec's
# field-wise error on hatching, which the woven film shows better than any interpolation.
FILM_COMB_THRESHOLD = 2 * COMB_THRESHOLD
# 8-bit code values a woven pixel of an overlay block may depart from the first field's interpolation: beyond
# it the overlay moved there between the fields (a rolling edge shows as a step one row off, not as a comb).
OVERLAY_DEPARTURE = 16.0
OVERLAY_CHANGE = 8.0  # 8-bit code values a block's mean may change at the repeat (codec noise) before it is overlay


def _kept_rows_around(plane: np.ndarray, keep: int, missing: int, reach: int = 1) -> tuple[np.ndarray, ...]:
    """For the first ``missing`` rows of parity ``1 - keep``: the kept rows (parity ``keep``, float32) just
    above and just below each, and with ``reach=2`` also the next ones out (above, below, above2, below2).
    Missing row i lies between kept rows i and i + 1 (keep 0) or i - 1 and i (keep 1); at the edges the
    nearest kept row stands in for the absent one."""
    field = plane[keep::2].astype(np.float32)
    index = np.arange(missing) + (0 if keep == 0 else -1)
    last = field.shape[0] - 1
    rows = (field[np.clip(index, 0, last)], field[np.clip(index + 1, 0, last)])
    if reach == 2:
        rows += (field[np.clip(index - 1, 0, last)], field[np.clip(index + 2, 0, last)])
    return rows


def _shift_columns(rows: np.ndarray, d: int) -> np.ndarray:
    """``rows[:, x + d]`` with the edge column repeated."""
    if d == 0:
        return rows
    width = rows.shape[1]
    index = np.clip(np.arange(width) + d, 0, width - 1)
    return rows[:, index]


def edge_directed_rows(plane: np.ndarray, keep: int) -> np.ndarray:
    """The rows of parity ``1 - keep`` rebuilt from the rows of parity ``keep`` (float32, one row per missing
    row, in order): per pixel the direction among ``DIRECTIONS`` along which the rows above and below agree
    best over a 3-pixel window (edge-based line average), a 4-tap cubic where that is vertical.

    Edge-directed so that the slanted strokes of line art and lettering stay lines, not stairs.
    """
    missing = plane.shape[0] // 2 if keep == 0 else (plane.shape[0] + 1) // 2
    above, below, above2, below2 = _kept_rows_around(plane, keep, missing, reach=2)
    cubic = (9.0 * (above + below) - above2 - below2) / 16.0
    lo, hi = np.minimum(above, below), np.maximum(above, below)
    best_value = np.clip(cubic, lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo))
    best_cost = None
    for d in DIRECTIONS:
        a, b = _shift_columns(above, d), _shift_columns(below, -d)
        diff = np.abs(a - b)
        cost = diff + _shift_columns(diff, -1) + _shift_columns(diff, 1)
        if d == 0:
            best_cost = cost
            continue
        cost = cost + 3 * DIAGONAL_BIAS * abs(d)
        better = cost < best_cost
        best_cost = np.where(better, cost, best_cost)
        best_value = np.where(better, 0.5 * (a + b), best_value)
    return best_value


def pixel_combing(plane: np.ndarray, keep: int, scale: float,
                  threshold: float = PIXEL_COMB_THRESHOLD) -> np.ndarray:
    """Bool (missing rows, W): pixels of the rows of parity ``1 - keep`` that comb with their neighbours:
    the pixel and a vertical neighbour are both local extremes by more than ``threshold`` (8-bit code
    values; ``scale``: 8-bit code values per plane unit). Grown by one row and two columns, the reach of a
    comb's fringe."""
    woven = plane.astype(np.float32) * np.float32(scale)
    starts = _pair_extremes(woven, np.float32(threshold), strict=True)
    pair = starts.copy()
    pair[1:] |= starts[:-1]  # both rows of each pair
    rows = pair[1 - keep::2]
    grown = rows.copy()
    grown[1:] |= rows[:-1]
    grown[:-1] |= rows[1:]
    wide = grown.copy()
    for d in (1, 2):
        wide[:, d:] |= grown[:, :-d]
        wide[:, :-d] |= grown[:, d:]
    return wide


OVERLAY_SHIFTS = range(-12, 13)  # frame rows an overlay may move between a frame's fields (rolling credits)


def shifted_second_field(plane: np.ndarray, keep: int, shift: float) -> np.ndarray:
    """The rows of parity ``1 - keep`` taken from the second field ``shift`` plane rows below each (above
    where negative; float32, one row per missing row): missing row ``i`` is field row ``i + shift / 2``,
    linear between field rows, the edge rows repeated. Content the second field shows two rows higher
    than the first is put back by ``shift=-2``."""
    return _shifted_rows(plane[1 - keep::2].astype(np.float32), shift)


def _shifted_rows(second: np.ndarray, shift: float) -> np.ndarray:
    """``shifted_second_field`` of a second field already in float32."""
    last = second.shape[0] - 1
    position = np.clip(np.arange(second.shape[0], dtype=np.float32) + np.float32(shift / 2), 0, last)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, last)
    weight = (position - low)[:, None]
    return second[low] * (1 - weight) + second[high] * weight


def overlay_shift(plane: np.ndarray, keep: int, mask: np.ndarray, scale: float, shifts=OVERLAY_SHIFTS) -> int:
    """The shift (plane rows) of the second field that best fits the first at the ``mask`` pixels (missing rows):
    the shifted value should lie between the kept rows above and below it (a moving overlay's strokes line up
    with themselves again). Ties go to the smaller shift."""
    above, below = _kept_rows_around(plane, keep, mask.shape[0])
    lo, hi = np.minimum(above, below)[mask], np.maximum(above, below)[mask]
    second = plane[1 - keep::2].astype(np.float32)
    best, best_cost = 0, np.inf
    for shift in sorted(shifts, key=abs):
        value = _shifted_rows(second, shift)[: mask.shape[0]][mask]
        cost = float(np.sum(np.maximum(np.maximum(value - hi, lo - value), 0))) * scale
        if cost < best_cost - 1e-3 * mask.sum():
            best, best_cost = shift, cost
    return best


def clamped_between_rows(plane: np.ndarray, keep: int, values: np.ndarray) -> np.ndarray:
    """``values`` for the missing rows held between the kept rows above and below each pixel."""
    above, below = _kept_rows_around(plane, keep, values.shape[0])
    return np.clip(values, np.minimum(above, below), np.maximum(above, below))


FIELD_ORDER_RATIO = 0.7  # the order whose one-field-apart weaves comb less than this share of the other's wins
FIELD_ORDER_STRIDE = 4  # proxy columns per column looked at
FIELD_ORDER_FLOOR = 0.002  # ... by at least this share of the field's pixels (still or progressive: no verdict)


def field_order_seen(current: FieldProxy, following: FieldProxy, tff: bool) -> int:
    """Which field order frames ``current`` and ``following`` (proxies made with ``tff``) show: 1 top first,
    0 bottom first, -1 no verdict. Top first puts ``bottom(n)`` one field before ``top(n + 1)``, bottom first
    ``top(n)`` before ``bottom(n + 1)``: the fields one moment apart weave with less combing than those three
    apart (in 3:2 telecine, three frames in five not at all)."""
    # Every FIELD_ORDER_STRIDE-th proxy column: the verdict is on every frame, and needs few samples.
    top_now, bottom_now = (current.first, current.second) if tff else (current.second, current.first)
    top_next, bottom_next = (following.first, following.second) if tff else (following.second, following.first)
    top_now, bottom_now, top_next, bottom_next = (f[:, ::FIELD_ORDER_STRIDE]
                                                  for f in (top_now, bottom_now, top_next, bottom_next))
    top_first = float(comb_map(top_next, bottom_now, True).sum())
    bottom_first = float(comb_map(top_now, bottom_next, True).sum())
    floor = FIELD_ORDER_FLOOR * top_now.size
    if top_first < FIELD_ORDER_RATIO * bottom_first and bottom_first - top_first > floor:
        return 1
    if bottom_first < FIELD_ORDER_RATIO * top_first and top_first - bottom_first > floor:
        return 0
    return -1
