"""``vo.estimate_pan`` and ``vo.align``: sub-pixel global translation of every frame of a camera pan."""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import vapoursynth as vs

from .._progress import progress_callback
from .._vs.formats import check_clip
from .._vs.frames import luma_of, plane_view
from ..backend import Backend, array_module, resolve_backend
from ..errors import (
    AlignmentError,
    ArgumentTypeError,
    ClipTooShortError,
    FuncLike,
    InvalidArgumentError,
    UnsupportedFormatError,
    VsOvermixError,
    func_name,
)
from ..ops.align import NON_TRANSLATION_TOLERANCE, estimate_pan_offsets, proxy_scale
from ..ops.resample import box_reduce

__all__ = ["Pan", "align", "estimate_pan"]

NON_TRANSLATION_ACTIONS = ("warn", "error", "ignore")
MAX_NEIGHBOURS = 8

Rect = tuple[int, int, int, int]
MaskLike = Rect | Sequence[Rect] | vs.VideoNode | None


@dataclass(frozen=True)
class Pan:
    """Where every frame of a pan sits, in luma pixels of the scene, frame 0 at (0, 0).

    A frame at ``(x[n], y[n])`` shows the scene point ``(x[n], y[n])`` at its top-left pixel: a camera
    panning right gives increasing ``x``.
    """

    x: np.ndarray
    y: np.ndarray
    confidence: np.ndarray  # 0..1 per frame: share of textured pixels its measurements explain
    non_translation: np.ndarray  # px per frame: worst disagreement of a tile with the global translation
    width: int
    height: int
    static_fraction: float  # share of the frame ignored as screen-fixed overlay (logo, subtitles, letterbox)
    # Per frame: the first frame of its connected group. All 0 for a pan; only ``LazyPan(partial=True)``
    # (superres) lets frames that match nothing around them stand alone, with confidence 0.
    segment: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class _Settings:
    neighbours: int
    rects: tuple[Rect, ...]  # the user's rectangles to ignore
    mask_clip: vs.VideoNode | None  # or the user's GRAY mask clip (non-zero = ignore)
    border: int
    non_translation: str
    backend: Backend


DEFAULT_NEIGHBOURS = 3
DEFAULT_BORDER = 8


def check_align_args(func: FuncLike, clip: vs.VideoNode, neighbours: int = DEFAULT_NEIGHBOURS, mask: MaskLike = None,
                     border: int = DEFAULT_BORDER, non_translation: str = "warn", backend: str = "auto") -> _Settings:
    """Validate the alignment arguments shared by align, estimate_pan, stitch and steam(motion="global")."""
    if clip.num_frames < 2:
        raise ClipTooShortError(func, f"a pan needs at least 2 frames, got {clip.num_frames}; "
                                      "pass the whole shot, not one frame")
    neighbours = InvalidArgumentError.check_int(func, "neighbours", neighbours, 1, MAX_NEIGHBOURS)
    border = InvalidArgumentError.check_int(func, "border", border, 0, min(clip.width, clip.height) // 4)
    non_translation = InvalidArgumentError.check_choice(func, "non_translation", non_translation,
                                                        NON_TRANSLATION_ACTIONS)
    mask_clip = mask if isinstance(mask, vs.VideoNode) else None
    rects = () if mask is None or mask_clip is not None else _check_rects(func, mask, clip)
    if mask_clip is not None:
        fmt = mask_clip.format
        if fmt is None or fmt.color_family != vs.GRAY or (mask_clip.width, mask_clip.height) != (clip.width,
                                                                                                 clip.height):
            got = f"{fmt.name if fmt else 'variable format'} {mask_clip.width}x{mask_clip.height}"
            raise UnsupportedFormatError(func, f"mask must be a GRAY clip of the clip's size {clip.width}x"
                                               f"{clip.height} (non-zero = ignore), got {got}")
    return _Settings(neighbours, rects, mask_clip, border, non_translation, resolve_backend(backend, func))


def _is_rect(value: object) -> bool:
    return isinstance(value, (tuple, list)) and len(value) == 4 and \
        all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def _check_rects(func: FuncLike, mask: object, clip: vs.VideoNode) -> tuple[Rect, ...]:
    """One rectangle ``(x, y, width, height)`` or a sequence of them, each inside the frame."""
    if isinstance(mask, (str, bytes)) or not isinstance(mask, Sequence):
        raise ArgumentTypeError(func, f"mask must be None, a rectangle (x, y, width, height), a list of them or a "
                                      f"GRAY clip, got {type(mask).__name__}")
    rects = [mask] if _is_rect(mask) else list(mask)
    for rect in rects:
        if not _is_rect(rect) or rect[2] <= 0 or rect[3] <= 0 or rect[0] < 0 or rect[1] < 0 \
                or rect[0] + rect[2] > clip.width or rect[1] + rect[3] > clip.height:
            raise InvalidArgumentError(func, f"mask rectangles must be (x, y, width, height) of positive size inside "
                                             f"the {clip.width}x{clip.height} frame, got {mask!r}")
    return tuple(tuple(r) for r in rects)  # type: ignore[misc]


def _exclusion(settings: _Settings, width: int, height: int) -> np.ndarray | None:
    """Full-resolution bool mask of what alignment must ignore (the user's mask)."""
    if settings.mask_clip is not None:
        with settings.mask_clip.get_frame(0) as frame:
            return np.asarray(plane_view(frame, 0)) != 0
    if not settings.rects:
        return None
    out = np.zeros((height, width), dtype=bool)
    for x, y, w, h in settings.rects:
        out[y:y + h, x:x + w] = True
    return out


def compute_pan(func: FuncLike, clip: vs.VideoNode, settings: _Settings,
                progress: Callable[[int, int], None] | None = None, partial: bool = False) -> Pan:
    """Measure the pan: reads every frame (``get_frame``, never ``frames()``: safe inside a callback).

    ``partial``: frames that cannot be connected get their own ``segment`` instead of an error."""
    width, height = clip.width, clip.height
    scale = proxy_scale(width)
    xp = array_module(settings.backend)
    exclude = _exclusion(settings, width, height)
    proxy_exclude = None if exclude is None else box_reduce(exclude.astype(np.float32), scale) > 0

    def load(n: int) -> Any:
        with clip.get_frame(n) as frame:
            try:
                luma = luma_of(frame)
            except ValueError as error:
                raise UnsupportedFormatError(func, f"frame {n}: {error}; replace them first, e.g. "
                                                   "core.std.Expr(clip, 'x x = x 0 ?')") from None
        return xp.asarray(luma)

    try:
        result = estimate_pan_offsets(load, clip.num_frames, scale, neighbours=settings.neighbours,
                                      border=math.ceil(settings.border / scale), exclude=proxy_exclude,
                                      progress=progress, partial=partial)
    except ValueError as error:
        if isinstance(error, VsOvermixError):
            raise
        raise AlignmentError(func, f"{error}: they are flat or black, or share no picture with their neighbours; "
                                   "trim them off (clip[a:b]) or align the parts separately") from None
    pan = Pan(result.x, result.y, result.confidence, result.non_translation, width, height,
              0.0 if result.static_mask is None else float(result.static_mask.mean()), result.segment)
    _report_non_translation(func, pan, settings.non_translation)
    return pan


def _report_non_translation(func: FuncLike, pan: Pan, action: str) -> None:
    bad = np.nonzero(pan.non_translation > NON_TRANSLATION_TOLERANCE)[0]
    if action == "ignore" or not len(bad):
        return
    worst = int(bad[np.argmax(pan.non_translation[bad])])
    message = (f"the motion of {len(bad)} frame(s) is not a pure translation (zoom, rotation or parallax): parts of "
               f"frame {worst} move {pan.non_translation[worst]:.2f} px differently from the whole; frames "
               f"{', '.join(map(str, bad[:10]))}{'...' if len(bad) > 10 else ''}. A stitched still would be blurred "
               "or doubled there; trim the clip to the translating part, or pass non_translation='ignore'")
    if action == "error":
        raise AlignmentError(func, message)
    warnings.warn(f"(vsovermix.{func_name(func)}) {message}", RuntimeWarning, stacklevel=4)


def check_pan(func: FuncLike, pan: object, clip: vs.VideoNode) -> Pan | None:
    """A filter's ``pan`` argument: None (measure it), or the ``Pan`` that ``vo.estimate_pan`` gave for ``clip``."""
    if pan is None or (isinstance(pan, Pan) and len(pan) == clip.num_frames
                       and (pan.width, pan.height) == (clip.width, clip.height)):
        return pan
    raise InvalidArgumentError(func, f"pan must be the Pan that vo.estimate_pan returned for this clip "
                                     f"({clip.num_frames} frames of {clip.width}x{clip.height}), got {pan!r:.80}")


class LazyPan:
    """The pan of a clip, measured once on first use (from inside a frame callback), then shared; or the
    ``pan`` already measured (checked with ``check_pan``). ``partial`` as for ``compute_pan``."""

    def __init__(self, func: FuncLike, clip: vs.VideoNode, settings: _Settings, pan: Pan | None = None,
                 partial: bool = False):
        self.func, self.clip, self.settings, self.partial = func, clip, settings, partial
        self._lock = threading.Lock()
        self._pan = pan

    def get(self) -> Pan:
        if self._pan is not None:
            return self._pan
        # Measuring pulls frames with get_frame from a VapourSynth worker thread. A worker waiting on a
        # Python lock still holds its thread, and with every worker so held nothing renders those frames
        # (a deadlock seen under vspipe with 2 threads). So a callback that finds the pan being measured
        # measures it too, inside get_frame calls that VapourSynth can see, instead of waiting; the
        # measurement is deterministic, so every copy is the same pan and the first one kept.
        if self._lock.acquire(blocking=False):
            try:
                if self._pan is None:
                    self._pan = compute_pan(self.func, self.clip, self.settings, partial=self.partial)
            finally:
                self._lock.release()
            return self._pan
        pan = compute_pan(self.func, self.clip, self.settings, partial=self.partial)
        return self._pan if self._pan is not None else pan


def estimate_pan(clip: vs.VideoNode, *, neighbours: int = DEFAULT_NEIGHBOURS, mask: MaskLike = None,
                 border: int = DEFAULT_BORDER,
                 non_translation: str = "warn", backend: str = "auto", progress: bool | None = None) -> Pan:
    """Measure the sub-pixel translation of every frame of a camera pan, now, and return it as arrays.

    Usage Example::

        import vapoursynth as vs, vsovermix as vo
        pan = vo.estimate_pan(clip)                 # clip: one shot of a pan
        print(pan.x, pan.y, pan.confidence)         # luma px, frame 0 at (0, 0)
        still = vo.stitch(clip, pan=pan)

    Args:
        clip: A constant-format GRAY, YUV or RGB clip (8-16 bit integer or 16/32 bit float) of at least 2
            frames: one shot whose camera translates (horizontal, vertical, diagonal or any 2-D path).
        neighbours: Each frame is measured against its next ``neighbours`` frames (in [1, 8], default 3)
            that still overlap it; the least-squares solve over all measurements keeps errors from adding
            up along the pan and throws out inconsistent ones.
        mask: What to ignore besides the automatically found screen-fixed overlays: a rectangle
            ``(x, y, width, height)``, a list of them, or a GRAY clip of the same size whose first frame is
            non-zero where to ignore. Default None.
        border: Pixels of each frame edge to ignore (dirty or black borders), in [0, min(width, height) // 4],
            default 8.
        non_translation: What to do when parts of frames move differently from the whole (zoom, rotation,
            parallax; more than 0.5 px apart): ``"warn"`` (default), ``"error"`` or ``"ignore"``.
        backend: ``"auto"`` (default), ``"cupy"`` or ``"numpy"``.
        progress: A progress bar on stderr: None (default) when stderr is a terminal, True, False.

    Returns:
        A ``Pan`` with per-frame arrays ``x``, ``y`` (luma px, frame 0 at 0, 0), ``confidence`` (0..1) and
        ``non_translation`` (px), ``segment`` (all 0: every frame is connected to frame 0), and
        ``static_fraction``, the share of the frame ignored as overlay.

    Raises:
        ClipTooShortError: fewer than 2 frames.
        InvalidArgumentError: an argument out of range; a mask of the wrong size.
        AlignmentError: frames that share no picture with any other (no overlap, flat or black frames),
            or, with ``non_translation="error"``, motion that is not a translation.
        UnsupportedFormatError: a float frame with NaN or infinite samples.
    """
    func = estimate_pan
    clip = check_clip(clip, func)
    settings = check_align_args(func, clip, neighbours, mask, border, non_translation, backend)
    bar = progress_callback(progress, "aligning")
    return compute_pan(func, clip, settings, bar)


def align(clip: vs.VideoNode, *, neighbours: int = DEFAULT_NEIGHBOURS, mask: MaskLike = None,
          border: int = DEFAULT_BORDER,
          non_translation: str = "warn", backend: str = "auto") -> vs.VideoNode:
    """Attach each frame's sub-pixel pan position as frame props; pixels pass through untouched.

    Sets ``OvrOffsetX`` and ``OvrOffsetY`` (float, luma px: the scene point the frame's top-left pixel
    shows, frame 0 at 0, 0), ``OvrAlignConfidence`` (0..1) and ``OvrNonTranslation`` (px). The pan is
    measured once, when the first frame is requested (reading every frame of the clip), then every frame
    is served from it: seeking gives the same props as a linear render.

    Usage Example::

        aligned = vo.align(pan_clip)
        x = aligned.get_frame(10).props["OvrOffsetX"]

    Args:
        clip, neighbours, mask, border, non_translation, backend: as for ``vo.estimate_pan``.

    Returns:
        The clip with the props added.

    Raises:
        As ``vo.estimate_pan``; argument errors at call time, alignment errors when the first frame is
        requested.
    """
    func = align
    clip = check_clip(clip, func)
    settings = check_align_args(func, clip, neighbours, mask, border, non_translation, backend)
    lazy = LazyPan(func, clip, settings)

    def attach(n: int, f: vs.VideoFrame) -> vs.VideoFrame:
        pan = lazy.get()
        out = f.copy()
        out.props.update(OvrOffsetX=float(pan.x[n]), OvrOffsetY=float(pan.y[n]),
                         OvrAlignConfidence=float(pan.confidence[n]), OvrNonTranslation=float(pan.non_translation[n]))
        return out

    return clip.std.ModifyFrame(clip, attach)
