"""``vo.estimate_logo`` and ``vo.delogo``: learn a static semi-transparent overlay from the frames, take it off."""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vapoursynth as vs

from .._lgd import LGD_PREFIX, LgdLogo, read_lgd, write_lgd
from .._png import read_png, write_png
from .._progress import progress_callback
from .._vs.colour import BT601, KR_KB, rgb_to_ycbcr, ycbcr_to_rgb
from .._vs.depth import is_full_range, plane_units, unit_transform
from .._vs.formats import check_clip, plane_subsampling
from .._vs.frames import luma_of, new_frame, plane_view, store_float
from .._vs.windows import distinct_frames, map_window
from ..backend import array_module, resolve_backend
from ..errors import (
    ArgumentTypeError,
    ClipTooShortError,
    FuncLike,
    InvalidArgumentError,
    UnsupportedFormatError,
)
from ..ops.logo import (
    MIN_VARIATION,
    SLOPE_ERROR,
    SmoothFill,
    combine_estimates,
    deblend,
    deblend_trusted,
    estimate_from_backgrounds,
    estimate_from_statistics,
    find_overlay,
    finish_estimate,
    harmonic_fill,
    overlay_strength,
    refine_by_edges,
    smooth_gain,
)
from ..ops.resample import KERNELS, sample_shifted, to_numpy, xp_of
from .align import LazyPan, Pan, check_align_args, check_pan, compute_pan

__all__ = ["Logo", "delogo", "estimate_logo", "load_logo"]

Rect = tuple[int, int, int, int]

MIN_FRAMES = 8
DEFAULT_MAX_FRAMES = 512
MOTION_MAX_FRAMES = 96  # frames kept whole in memory to find each one's background elsewhere in the pan
DETECTION_FRAMES = 64
MAX_OVERLAY_SHARE = 0.2  # more of the frame than this looks screen-fixed: the picture itself does not change
MAX_BOX_SHARE = 0.5  # a "logo" covering more of the frame than this is the static picture itself
# Largest alpha de-blended by default. Without motion nothing else can restore near-opaque strokes, and a
# good estimate de-blends them better than a smooth fill (benchmarks/bench_logo.py's static rows compare
# 0.85); on a pan the neighbours' clear views do better, and encoder noise there is amplified by 1 / (1 - alpha).
DEFAULT_MAX_ALPHA = {None: 0.95, "global": 0.85}
PROPAGATION_MAX_ALPHA = 0.85  # pixels de-blended to teach their neighbours on a pan
MAX_TR = 32
FILL_DATA_WEIGHT = 0.5  # pull of a noisy de-blend (alpha above max_alpha) on the smooth fill, at max_alpha
FILL_CACHE = 8
MOTION_KERNEL = "lanczos3"
MIN_SEEN_FRAMES = 3  # frames that saw a pixel's background, to fit its offset (else it is interpolated)
PROPAGATION_PASSES = 6  # passes that carry what is learnt at the logo's edges to its never-clear middle


@dataclass
class Logo:
    """A static overlay, per plane: ``gain = 1 - alpha`` and ``offset = alpha * colour`` over a box of the frame.

    ``box`` is ``(x, y, width, height)`` in luma pixels (a multiple of the chroma subsampling).
    ``gain[p]`` and ``offset[p]`` are float32 arrays over the box at plane ``p``'s resolution; colours
    are in units (luma and RGB 0..1, YUV chroma -0.5..0.5), so a logo applies to any bit depth of its
    colour family. ``noise[p]`` is the noise level the estimate saw (units). ``matrix`` says how YUV
    relates to RGB (used when saving as an RGBA PNG).
    """

    box: Rect
    gain: list[np.ndarray]
    offset: list[np.ndarray]
    noise: list[float]
    color_family: int
    subsampling: tuple[int, int]
    frame_size: tuple[int, int]
    matrix: int = 1

    @property
    def alpha(self) -> np.ndarray:
        """Plane 0's alpha over the box (luma pixels)."""
        return 1.0 - self.gain[0]

    def alpha_map(self) -> np.ndarray:
        """Plane 0's alpha over the whole frame (zero outside the box)."""
        width, height = self.frame_size
        out = np.zeros((height, width), np.float32)
        x, y, w, h = self.box
        out[y:y + h, x:x + w] = self.alpha
        return out

    def layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per plane, alpha and colour (units; 0 where alpha is 0) over the box at luma resolution (subsampled
        chroma repeated over its luma pixels)."""
        ss_w, ss_h = self.subsampling
        alphas, colours = [], []
        for p in range(len(self.gain)):
            alpha = 1.0 - self.gain[p].astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                colour = np.where(alpha > 1e-6, self.offset[p] / alpha, 0.0)
            if p and self.color_family == vs.YUV:
                alpha, colour = (np.repeat(np.repeat(v, 1 << ss_h, axis=0), 1 << ss_w, axis=1) for v in (alpha, colour))
            alphas.append(alpha)
            colours.append(colour)
        return alphas, colours

    def rgba(self) -> np.ndarray:
        """The logo as a frame-sized (H, W, 4) float64 RGBA image in 0..1 (colour undefined where alpha is 0)."""
        width, height = self.frame_size
        x, y, w, h = self.box
        colours = np.stack(self.layers()[1], axis=-1)
        if self.color_family == vs.GRAY:
            rgb = np.repeat(colours, 3, axis=-1)
        elif self.color_family == vs.RGB:
            rgb = colours
        else:
            rgb = ycbcr_to_rgb(colours, self.matrix)
        out = np.zeros((height, width, 4))
        out[y:y + h, x:x + w, :3] = np.clip(rgb, 0.0, 1.0)
        out[y:y + h, x:x + w, 3] = self.alpha
        return out

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the logo, atomically; refuses to replace a file unless ``overwrite``.

        A path ending ``.lgd`` gets an AviUtl logo file (ver0.1, named after the file; YCbCr with an opacity
        per plane, RGB converted with BT.601 as AviUtl does), which AviUtl, AviSynth ``EraseLOGO`` and
        ``DelogoHD`` read. Any other path gets a frame-sized 16-bit RGBA PNG.
        """
        if Path(path).suffix.lower() == ".lgd":
            return write_lgd(path, [self.lgd(Path(path).stem)], overwrite=overwrite)
        image = np.round(self.rgba() * 65535.0).astype(np.uint16)
        return write_png(path, image, overwrite=overwrite)

    def lgd(self, name: str) -> LgdLogo:
        """The logo as an AviUtl logo: YCbCr colour and opacity per plane at luma resolution over the box."""
        x, y, w, h = self.box
        alphas, colours = self.layers()
        if self.color_family == vs.GRAY:  # a grey logo: neutral chroma at the luma's opacity
            alphas, colours = alphas * 3, [colours[0], np.zeros((h, w)), np.zeros((h, w))]
        elif self.color_family == vs.RGB:  # AviUtl's YCbCr is BT.601
            colours = list(np.moveaxis(rgb_to_ycbcr(np.stack(colours, axis=-1), BT601), -1, 0))
        return LgdLogo(name, x, y, np.stack(alphas), np.stack(colours))


def _box_mean(values: np.ndarray, ss_w: int, ss_h: int) -> np.ndarray:
    h, w = values.shape[0] >> ss_h, values.shape[1] >> ss_w
    return values.reshape(h, 1 << ss_h, w, 1 << ss_w).mean(axis=(1, 3))


def logo_from_rgba(func: FuncLike, rgba: np.ndarray, clip: vs.VideoNode, matrix: int, source: str) -> Logo:
    """A Logo for ``clip``'s format from a frame-sized RGBA image in 0..1 (``source`` names it in errors)."""
    height, width = rgba.shape[:2]
    if (width, height) != (clip.width, clip.height):
        raise InvalidArgumentError(func, f"logo {source} must be the frame's size {clip.width}x{clip.height} (the "
                                         f"logo at its place on a transparent frame), got {width}x{height}")
    alpha, rgb = rgba[..., 3], rgba[..., :3]
    family = clip.format.color_family
    if family == vs.RGB:
        colours = [rgb[..., i] for i in range(3)]
    elif family == vs.GRAY:
        colours = [rgb_to_ycbcr(rgb, 1)[..., 0]]
    else:
        colours = list(np.moveaxis(rgb_to_ycbcr(rgb, matrix), -1, 0))
    return _logo_from_layers(func, [alpha] * len(colours), colours, clip, matrix, source)


def _logo_from_lgd(func: FuncLike, lgd: LgdLogo, clip: vs.VideoNode, matrix: int, source: str) -> Logo:
    """A Logo for ``clip``'s format from an AviUtl logo (YCbCr with an opacity per plane, placed at x, y)."""
    x, y, w, h = lgd.x, lgd.y, lgd.width, lgd.height
    if x < 0 or y < 0 or x + w > clip.width or y + h > clip.height:
        raise InvalidArgumentError(func, f"logo {source} ({lgd.name!r}) covers ({x}, {y}) to ({x + w}, {y + h}), "
                                         f"outside the {clip.width}x{clip.height} frame: it was made for another "
                                         "frame size; resize the clip to that size first")
    alphas, colours = [], []
    for plane in range(3):
        alpha = np.zeros((clip.height, clip.width))
        colour = np.zeros((clip.height, clip.width))
        alpha[y:y + h, x:x + w], colour[y:y + h, x:x + w] = lgd.alpha[plane], lgd.colour[plane]
        alphas.append(alpha)
        colours.append(colour)
    family = clip.format.color_family
    if family == vs.GRAY:
        return _logo_from_layers(func, alphas[:1], colours[:1], clip, matrix, source)
    if family == vs.RGB:  # AviUtl works in BT.601 YCbCr; an RGB blend has one opacity: the luma's
        rgb = ycbcr_to_rgb(np.stack(colours, axis=-1), BT601)
        return _logo_from_layers(func, [alphas[0]] * 3, [rgb[..., i] for i in range(3)], clip, matrix, source)
    return _logo_from_layers(func, alphas, colours, clip, matrix, source)


def _logo_from_layers(func: FuncLike, alphas: list[np.ndarray], colours: list[np.ndarray], clip: vs.VideoNode,
                      matrix: int, source: str) -> Logo:
    """A Logo from frame-sized, luma-resolution opacity and colour (units) per plane of ``clip``'s format."""
    covered = np.any([a > 0 for a in alphas], axis=0)
    if not covered.any():
        raise InvalidArgumentError(func, f"logo {source} is fully transparent: no alpha > 0 anywhere; save it with "
                                         "its alpha channel (RGBA)")
    fmt = clip.format
    ss_w, ss_h = fmt.subsampling_w, fmt.subsampling_h
    ys, xs = np.nonzero(covered)
    box = _aligned_box(int(xs.min()) - 3, int(ys.min()) - 3, int(xs.max()) + 4, int(ys.max()) + 4,
                       clip.width, clip.height, ss_w, ss_h)
    x, y, w, h = box
    gains, offsets = [], []
    for p, (alpha, colour) in enumerate(zip(alphas, colours, strict=True)):
        a = alpha[y:y + h, x:x + w]
        premultiplied = a * colour[y:y + h, x:x + w]
        if p and fmt.color_family == vs.YUV:
            premultiplied, a = _box_mean(premultiplied, ss_w, ss_h), _box_mean(a, ss_w, ss_h)
        gains.append((1.0 - a).astype(np.float32))
        offsets.append(premultiplied.astype(np.float32))
    return Logo(box, gains, offsets, [0.5 / 255] * len(colours), fmt.color_family, (ss_w, ss_h),
                (clip.width, clip.height), matrix)


def _colour_props(clip: vs.VideoNode) -> tuple[int, bool]:
    with clip.get_frame(0) as frame:
        props = dict(frame.props)
    matrix = int(props.get("_Matrix", 2))
    if matrix not in KR_KB:
        matrix = 5 if clip.height < 720 else 1
    return matrix, is_full_range(clip.format, props)


def _aligned_box(x0: int, y0: int, x1: int, y1: int, width: int, height: int, ss_w: int, ss_h: int) -> Rect:
    """``[x0, x1) x [y0, y1)`` clamped to the frame and grown to multiples of the chroma subsampling."""
    mx, my = 1 << ss_w, 1 << ss_h
    x0, y0 = max(x0, 0) // mx * mx, max(y0, 0) // my * my
    x1, y1 = min(-(-min(x1, width) // mx) * mx, width), min(-(-min(y1, height) // my) * my, height)
    return x0, y0, x1 - x0, y1 - y0


def _check_region(func: FuncLike, region: object, clip: vs.VideoNode) -> Rect | None:
    if region is None:
        return None
    if not (isinstance(region, (tuple, list)) and len(region) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in region)):
        raise ArgumentTypeError(func, f"region must be None or (x, y, width, height) in luma pixels, got {region!r}")
    x, y, w, h = region
    if w < 8 or h < 8 or x < 0 or y < 0 or x + w > clip.width or y + h > clip.height:
        raise InvalidArgumentError(func, f"region must be (x, y, width, height), at least 8x8, inside the "
                                         f"{clip.width}x{clip.height} frame, got {tuple(region)}; draw it around the "
                                         "logo with a few pixels of background on every side")
    return x, y, w, h


def _check_motion(func: FuncLike, motion: object) -> str | None:
    if motion not in (None, "global"):
        raise InvalidArgumentError(func, f"motion must be None (frames compared in place) or 'global' (the clip is "
                                         f"one camera pan), got {motion!r}")
    return motion  # type: ignore[return-value]


def _sample_indices(num_frames: int, count: int) -> list[int]:
    if num_frames <= count:
        return list(range(num_frames))
    return sorted({round(i * (num_frames - 1) / (count - 1)) for i in range(count)})


def _plane_box(box: Rect, fmt: vs.VideoFormat, plane: int) -> Rect:
    ss_w, ss_h = plane_subsampling(fmt, plane)
    x, y, w, h = box
    return x >> ss_w, y >> ss_h, w >> ss_w, h >> ss_h


def _unit_bounds(fmt: vs.VideoFormat, plane: int) -> tuple[float, float]:
    return (-0.5, 0.5) if fmt.color_family == vs.YUV and plane else (0.0, 1.0)


def _noise_level(stack: np.ndarray, fmt: vs.VideoFormat, plane: int, full: bool) -> float:
    """Noise of a plane in units: the spread of second differences across rows, at least 8-bit rounding."""
    second = stack[:, :, 2:] - 2 * stack[:, :, 1:-1] + stack[:, :, :-2]
    spread = 1.4826 * float(np.median(np.abs(second))) / math.sqrt(6.0)
    return max(spread, 0.5 / unit_transform(fmt, plane, full)[1] if fmt.sample_type == vs.INTEGER else 1e-4)


def _background_elsewhere(frames: Sequence[np.ndarray], positions: np.ndarray, target: int, box: Rect,
                          ss: tuple[int, int]) -> np.ndarray:
    """Median of what the other ``frames`` saw where ``frames[target]``'s box is (NaN where none saw it).

    ``frames`` are whole planes (units) whose box holds what is known of the background there (NaN where
    nothing is: the logo hides it); ``positions`` are their pan positions (luma px). Interpolation taps
    that touch a NaN give NaN, so no sample mixes in the logo.
    """
    samples = []
    for m, plane in enumerate(frames):
        if m == target:
            continue
        shift_x = float(positions[target, 0] - positions[m, 0]) / (1 << ss[0])
        shift_y = float(positions[target, 1] - positions[m, 1]) / (1 << ss[1])
        sample = _shifted_box(plane, shift_x, shift_y, box)
        if sample is not None and np.isfinite(sample).any():
            samples.append(sample)
    if not samples:
        return np.full((box[3], box[2]), np.nan, np.float32)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: nobody saw them
        return np.nanmedian(np.stack(samples), axis=0)


def _with_box(plane: np.ndarray, box: Rect, values: np.ndarray) -> np.ndarray:
    x, y, w, h = box
    out = plane.copy()
    out[y:y + h, x:x + w] = values
    return out


def _shifted_box(plane: np.ndarray, shift_x: float, shift_y: float, box: Rect) -> np.ndarray | None:
    """``plane`` sampled at the box's pixels + shift (Lanczos-3), NaN where the taps leave the plane."""
    x, y, w, h = box
    radius = KERNELS[MOTION_KERNEL]
    height, width = plane.shape
    out = np.full((h, w), np.nan, np.float32)
    # Output rows r in [y, y+h) whose taps floor(r + shift) - radius + 1 .. + radius stay in [0, height).
    lo_y = max(y, math.ceil(radius - 1 - shift_y))
    hi_y = min(y + h, math.ceil(height - radius - shift_y))
    lo_x = max(x, math.ceil(radius - 1 - shift_x))
    hi_x = min(x + w, math.ceil(width - radius - shift_x))
    if lo_y >= hi_y or lo_x >= hi_x:
        return None
    out[lo_y - y:hi_y - y, lo_x - x:hi_x - x] = sample_shifted(plane, shift_x, shift_y, (lo_y, hi_y), (lo_x, hi_x),
                                                               MOTION_KERNEL)
    return out


def estimate_logo(clip: vs.VideoNode, region: Rect | None = None, *, motion: str | None = None,
                  max_frames: int = DEFAULT_MAX_FRAMES, pan: Pan | None = None,
                  progress: bool | None = None, backend: str = "auto") -> Logo:
    """Learn a static semi-transparent overlay (TV logo, watermark) from the frames that carry it.

    Every frame shows ``(1 - alpha) * background + alpha * colour`` where the logo is. Where the picture
    behind the logo changes from frame to frame, the changes come through scaled by ``1 - alpha``: that
    is what the estimate measures, per pixel and plane.

    - **Where**: with ``region=None`` the logo is found by its edges, which stay put while everything
      else changes (the temporal median of the image gradient, Dekel et al. 2017), on up to 64 frames.
    - **Different pictures** (an episode's many shots, a set of images sharing one watermark): over the
      frames, each pixel's mean and spread are the background's, scaled and offset by the logo. The
      background's own mean and spread are measured just around the logo and interpolated across it.
      That estimate is then sharpened by the frames whose picture is smooth between neighbouring pixels
      (flat areas): there each pixel is predicted from its neighbour, which ties its alpha and colour to
      the neighbour's and, edge by edge, to the logo-free border (``ops.logo.refine_by_edges``). Needs
      frames whose content varies; a few dozen pictures are enough.
    - **A camera pan** (``motion="global"``): the pan is measured (``vo.estimate_pan``, with the logo's box
      masked) and the true background of each frame's logo pixels is read from the other frames that saw
      the same scene point outside the logo. A robust regression per pixel (moving characters are thrown
      out) gives alpha; these are pooled with their neighbours by precision, within the logo's regions
      (which also fills in where the background never changed), and the colour is fitted to them.

    Usage Example::

        logo = vo.estimate_logo(ep)                           # found automatically
        logo = vo.estimate_logo(ep, region=(1580, 20, 300, 120))
        logo.save("station.png")                              # RGBA, reusable: vo.delogo(ep2, "station.png")
        clean = vo.delogo(ep, logo)

    Args:
        clip: Constant-format GRAY, YUV (any subsampling) or RGB clip, 8-16 bit integer or 16/32 bit float,
            at least 8 frames, the logo at one place in every frame.
        region: ``(x, y, width, height)`` in luma pixels around the logo, with a few pixels of background on
            every side (the outer 3 px are taken as logo-free), at least 8x8; default None: found.
        motion: None (default): frames are compared where they are. ``"global"``: the clip is one camera
            pan; its motion tells each frame's true background.
        max_frames: Frames read, spread evenly over the clip, in [8, 100000], default 512 (96 at most are
            kept whole with ``motion="global"``).
        pan: The clip's ``vo.estimate_pan`` result, when already measured (``motion="global"`` only).
        progress: A progress bar on stderr: None (default) when stderr is a terminal, True, False.
        backend: ``"auto"`` (default), ``"cupy"`` or ``"numpy"``: where the per-pixel estimation runs (the
            sparse solves run on the host; the logo's box is small).

    Returns:
        A ``Logo`` (``box``, per-plane ``gain``/``offset``, ``alpha``, ``save(path)``).

    Raises:
        ClipTooShortError: fewer than 8 frames.
        InvalidArgumentError: a region outside the frame, a bad ``motion`` or ``max_frames``; no static
            overlay found, or the whole picture looks static; a background that never varies.
        UnsupportedFormatError: a format outside the list above.
    """
    func = estimate_logo
    clip = check_clip(clip, func)
    settings = _check_estimate_args(func, clip, region, motion, max_frames, pan, backend)
    return _estimate(func, clip, settings, _colour_props(clip), progress)[0]


@dataclass(frozen=True)
class _EstimateSettings:
    region: Rect | None
    motion: str | None
    max_frames: int
    pan: Pan | None
    backend: str
    xp: Any


def _check_estimate_args(func: FuncLike, clip: vs.VideoNode, region: object, motion: object, max_frames: object,
                         pan: object, backend: object) -> _EstimateSettings:
    if clip.num_frames < MIN_FRAMES:
        raise ClipTooShortError(func, f"estimating a logo needs at least {MIN_FRAMES} frames with different "
                                      f"pictures behind it, got {clip.num_frames}; pass a longer clip (the whole "
                                      "episode is best) or a saved logo")
    checked_region = _check_region(func, region, clip)
    motion = _check_motion(func, motion)
    max_frames = InvalidArgumentError.check_int(func, "max_frames", max_frames, MIN_FRAMES, 100000)
    pan = check_pan(func, pan, clip)
    xp = array_module(resolve_backend(backend, func))  # type: ignore[arg-type]
    return _EstimateSettings(checked_region, motion, max_frames, pan, backend, xp)  # type: ignore[arg-type]


def _estimate(func: FuncLike, clip: vs.VideoNode, settings: _EstimateSettings, colour: tuple[int, bool],
              progress: bool | None) -> tuple[Logo, Pan | None]:
    """The logo, and the pan it was estimated on (``motion="global"``; measured with the logo's box masked,
    as ``delogo`` measures it, so ``delogo`` reuses it)."""
    fmt = clip.format
    ss = (fmt.subsampling_w, fmt.subsampling_h)
    matrix, full = colour
    box = _locate(func, clip, settings.region, ss)
    motion = settings.motion == "global"
    indices = _sample_indices(clip.num_frames, min(settings.max_frames, MOTION_MAX_FRAMES if motion else
                                                   settings.max_frames))
    bar = progress_callback(progress, "estimating logo")
    num_planes = fmt.num_planes
    plane_boxes = [_plane_box(box, fmt, p) for p in range(num_planes)]
    stacks: list[list[np.ndarray]] = [[] for _ in range(num_planes)]
    whole: list[list[np.ndarray]] = [[] for _ in range(num_planes)]
    for count, n in enumerate(indices):
        with clip.get_frame(n) as frame:
            for p in range(num_planes):
                if motion:
                    whole[p].append(plane_units(frame, p, full))
                    x, y, w, h = plane_boxes[p]
                    stacks[p].append(whole[p][-1][y:y + h, x:x + w])
                else:
                    stacks[p].append(plane_units(frame, p, full, plane_boxes[p]))
        if bar:
            bar(count + 1, len(indices))
    positions, pan = None, None
    if motion:
        pan = settings.pan
        if pan is None:
            align_settings = check_align_args(func, clip, mask=box, backend=settings.backend)
            pan = compute_pan(func, clip, align_settings)
        positions = np.stack([pan.x[indices], pan.y[indices]], axis=1)
    gains, offsets, noises = [], [], []
    stacked = [np.stack(s) for s in stacks]
    for p, stack in enumerate(stacked):
        on_device = settings.xp.asarray(stack)
        gain, offset, variation = estimate_from_statistics(on_device)
        noise = _noise_level(stack, fmt, p, full)
        if motion:
            assert positions is not None
            gain, offset, noise = _estimate_on_pan(func, whole[p], on_device, positions, plane_boxes[p],
                                                   plane_subsampling(fmt, p), gain, offset, noise, variation)
        elif variation < MIN_VARIATION:
            raise _static_background_error(func, variation, motion=False)
        else:
            gain, offset = refine_by_edges(on_device, gain, offset)
        gains.append(gain)
        offsets.append(offset)
        noises.append(noise)
    if fmt.color_family == vs.RGB:  # one physical alpha: average the planes' estimates, then refit colour
        shared = np.mean(gains, axis=0)
        means = [s.mean(axis=0) for s in stacked]
        offsets = [o + (g - shared) * (m - o) / np.maximum(g, 1e-6) for g, o, m in zip(gains, offsets, means,
                                                                                       strict=True)]
        gains = [shared] * 3
    finished = [finish_estimate(g, o, *_unit_bounds(fmt, p)) for p, (g, o) in enumerate(zip(gains, offsets,
                                                                                            strict=True))]
    return Logo(box, [f[0] for f in finished], [f[1] for f in finished], noises, fmt.color_family, ss,
                (clip.width, clip.height), matrix), pan


def _estimate_on_pan(func: FuncLike, planes: list[np.ndarray], stack: Any, positions: np.ndarray, box: Rect,
                     ss: tuple[int, int], gain: np.ndarray, offset: np.ndarray, noise: float,
                     variation: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Regress each logo pixel on the background other frames saw there; spread what is learnt inward.

    First pass: backgrounds from frames that saw the scene point outside the box. Scene points that stay
    under the logo in every frame get, in later passes, the de-blended values of frames that saw them
    under logo pixels already learnt (standard error within SLOPE_ERROR). Each pixel keeps its most
    precise regression; these are pooled by ``_pool_estimates``. ``stack`` (the box in every frame) is on
    the backend's device; the whole ``planes`` stay on the host.
    """
    xp = xp_of(stack)
    host_stack = to_numpy(stack)
    w, h = box[2], box[3]
    known = np.zeros((h, w), bool)
    best_gain, best_error = gain.astype(np.float64), np.full((h, w), np.inf)
    hidden = np.full((h, w), np.nan, np.float32)
    boxes = [hidden] * len(planes)
    residual = noise
    for _ in range(PROPAGATION_PASSES):
        sources = [_with_box(plane, box, values) for plane, values in zip(planes, boxes, strict=True)]
        backgrounds = np.stack([_background_elsewhere(sources, positions, k, box, ss) for k in range(len(planes))])
        new_gain, new_offset, slope_error, new_residual = estimate_from_backgrounds(stack, xp.asarray(backgrounds))
        better = slope_error < best_error
        best_gain, best_error = np.where(better, new_gain, best_gain), np.where(better, slope_error, best_error)
        learnt = ~known & (slope_error <= SLOPE_ERROR)
        if not learnt.any():
            break
        gain, offset = np.where(learnt, new_gain, gain), np.where(learnt, new_offset, offset)
        if not known.any():
            residual = max(noise, new_residual)
        known |= learnt
        if known.all():
            break
        boxes = [np.where(known, deblend_trusted(frame_box, gain, offset, 1.0, PROPAGATION_MAX_ALPHA), np.nan)
                 for frame_box in host_stack]
    if not np.isfinite(best_error).any() and variation < MIN_VARIATION:
        raise _static_background_error(func, variation, motion=True)
    return *_pool_estimates(best_gain, best_error, gain, offset, host_stack, backgrounds), residual


def _pool_estimates(gain: np.ndarray, slope_error: np.ndarray, fallback_gain: np.ndarray,
                    fallback_offset: np.ndarray, observed: np.ndarray,
                    backgrounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain and offset from a pan's per-pixel regressions: gains pooled, offsets fitted to them.

    The gains are pooled with their neighbours by precision within the logo's regions (``smooth_gain``,
    guided by the box's temporal mean), which also interpolates them where nothing was learnt (mostly a
    background that never changed). The offset of each pixel is then fitted at its gain to what other
    frames saw there (the median of ``J - gain * I``, which a passing character does not move): even with
    the gain interpolated, the de-blend gives back the background those frames saw. Where fewer than
    MIN_SEEN_FRAMES frames saw it, the offset is interpolated from the fitted ones. The fallbacks (the
    statistics' estimate, or what the passes learnt) decide only where nothing else does.
    """
    gain = smooth_gain(gain, slope_error, observed.mean(axis=0), fallback_gain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: nobody saw them
        offset = np.nanmedian(observed - gain[None] * backgrounds, axis=0)
    fitted = np.isfinite(backgrounds).sum(axis=0) >= MIN_SEEN_FRAMES
    if not fitted.any():
        return gain, fallback_offset
    if not fitted.all():
        offset = harmonic_fill(np.where(fitted, offset, 0.0), fitted)
    return gain, offset


def _static_background_error(func: FuncLike, variation: float, motion: bool) -> InvalidArgumentError:
    how = ("the pan never moves new picture under the logo" if motion else
           "the picture around the logo hardly changes over the frames")
    return InvalidArgumentError(func, f"cannot learn the logo: {how} (background spread {variation * 255:.2f}/255, "
                                      f"needs {MIN_VARIATION * 255:.0f}/255); pass frames from many different "
                                      "shots (the whole episode), or a saved logo PNG")


def _locate(func: FuncLike, clip: vs.VideoNode, region: Rect | None, ss: tuple[int, int]) -> Rect:
    """The logo's box: the user's region (grown to the subsampling), or the strongest static overlay found."""
    width, height = clip.width, clip.height
    if region is not None:
        x, y, w, h = region
        return _aligned_box(x, y, x + w, y + h, width, height, *ss)
    indices = _sample_indices(clip.num_frames, DETECTION_FRAMES)
    lumas = []
    for n in indices:
        with clip.get_frame(n) as frame:
            try:
                lumas.append(luma_of(frame))
            except ValueError as error:
                raise UnsupportedFormatError(func, f"frame {n}: {error}; replace them first") from None
    found = find_overlay(np.stack(lumas))
    if found is None:
        raise InvalidArgumentError(func, f"no static overlay found in {len(indices)} frames: no edge stays put while "
                                         "the picture changes; pass region=(x, y, width, height) around the logo, or "
                                         "frames from more varied shots")
    box_share = found.width * found.height / (width * height)
    if found.edge_share > MAX_OVERLAY_SHARE or box_share > MAX_BOX_SHARE:
        raise InvalidArgumentError(func, f"{found.edge_share:.0%} of the frame's edges stay put over {len(indices)} "
                                         "frames: the picture itself does not change (one static shot?), so the logo "
                                         "cannot be told from it; pass frames from many shots, or region=")
    return _aligned_box(found.x, found.y, found.x + found.width, found.y + found.height, width, height, *ss)


def _fill_weight(gain: np.ndarray, max_alpha: float) -> np.ndarray:
    return FILL_DATA_WEIGHT * (gain / (1.0 - max_alpha)) ** 2


def delogo(clip: vs.VideoNode, logo: Logo | str | os.PathLike[str] | None = None, *, motion: str | None = None,
           tr: int = 8, max_alpha: float | None = None, fade: bool = False, region: Rect | None = None,
           max_frames: int = DEFAULT_MAX_FRAMES, backend: str = "auto") -> vs.VideoNode:
    """Take a static semi-transparent overlay (TV logo, watermark) off every frame.

    Where the logo lets enough of the picture through (alpha up to ``max_alpha``) the blend is inverted:
    ``background = (frame - alpha * colour) / (1 - alpha)``. Where it does not (opaque text), the picture
    comes from other frames that saw the same scene point clear (``motion="global"``: a camera pan), and
    what no frame saw is filled smoothly from around it (biharmonic, still pulled by the noisy de-blend
    where there is one), so no seam shows. Pixels outside the logo's box are passed through untouched.

    Usage Example::

        clean = vo.delogo(ep)                          # estimate the logo from the clip, then remove it
        clean = vo.delogo(ep, "station.png")           # a logo saved by Logo.save() (or any RGBA PNG)
        clean = vo.delogo(ep, "station.lgd")           # an AviUtl logo file (logoscan)
        clean = vo.delogo(pan, logo, motion="global")  # fill opaque parts from the rest of the pan

    Args:
        clip: Constant-format GRAY, YUV or RGB clip, 8-16 bit integer or 16/32 bit float.
        logo: A ``vo.estimate_logo`` or ``vo.load_logo`` result, the path of a frame-sized RGBA PNG (8 or
            16 bit) or of an AviUtl ``.lgd`` (its first logo), or None
            (default) to estimate it from ``clip`` now (with ``motion``, ``region`` and ``max_frames``).
        motion: None (default) or ``"global"``: the clip is one camera pan; each frame's logo pixels are
            also taken from its ``2 * tr + 1`` neighbours that saw them clear (inverse-variance weighted
            with its own de-blend; where they disagree, the frame's own picture wins).
        tr: Temporal radius of that window with ``motion="global"``, in [1, 32], default 8.
        max_alpha: Largest alpha that is de-blended, in [0.5, 0.99]; noise (and an estimate's error) grows
            as ``1 / (1 - alpha)``: above it the picture is filled instead. Default None: 0.95, or 0.85
            with ``motion="global"``, where the neighbours' clear views do better on near-opaque parts.
        fade: Measure the logo's strength in each frame (fade-ins and outs, frames without it) and remove
            that much; default False (full strength everywhere). Sets ``OvrLogoStrength``.
        region, max_frames: For estimating, as ``vo.estimate_logo``; ignored when ``logo`` is given.
        backend: ``"auto"`` (default), ``"cupy"`` or ``"numpy"``: where the alignment, the estimate and the
            per-pixel de-blending run (the smooth fill runs on the host).

    Returns:
        A clip of the same format, size and length. Frames keep their props; ``OvrLogoStrength`` (float)
        and ``OvrLogoFilled`` (share of the box filled rather than de-blended) are added.

    Raises:
        InvalidArgumentError: an argument out of range; a logo file that cannot be used (as ``vo.load_logo``).
        ArgumentTypeError: ``logo`` of another type.
        UnsupportedFormatError: a format outside the list above, or a Logo estimated on another colour
            family, subsampling or frame size.
        As ``vo.estimate_logo`` when ``logo`` is None.
    """
    func = delogo
    clip = check_clip(clip, func)
    motion = _check_motion(func, motion)
    tr = InvalidArgumentError.check_int(func, "tr", tr, 1, MAX_TR)
    if max_alpha is None:
        max_alpha = DEFAULT_MAX_ALPHA[motion]
    ArgumentTypeError.check(func, "max_alpha", max_alpha, (int, float))
    if not 0.5 <= float(max_alpha) <= 0.99:
        raise InvalidArgumentError(func, f"max_alpha must be in [0.5, 0.99], got {max_alpha}")
    ArgumentTypeError.check(func, "fade", fade, bool)
    xp = array_module(resolve_backend(backend, func))
    colour = _colour_props(clip)
    logo, pan = _resolve_logo(func, clip, logo, motion, region, max_frames, colour, backend)
    fmt = clip.format
    full = colour[1]
    planes = range(fmt.num_planes)
    plane_boxes = [_plane_box(logo.box, fmt, p) for p in planes]
    transforms = [unit_transform(fmt, p, full) for p in planes]

    @functools.lru_cache(maxsize=FILL_CACHE)
    def fill_solver(p: int, fill_bytes: bytes, strength: float) -> SmoothFill:
        """The factorised fill of plane ``p`` for one mask and (rounded) strength: the costly part, kept."""
        fill = np.frombuffer(fill_bytes, dtype=bool).reshape(logo.gain[p].shape)
        return SmoothFill(fill, _fill_weight(1.0 - strength * (1.0 - logo.gain[p]), max_alpha))
    lazy = LazyPan(func, clip, check_align_args(func, clip, mask=logo.box, backend=backend), pan) \
        if motion == "global" else None
    device_gain, device_offset = [xp.asarray(g) for g in logo.gain], [xp.asarray(o) for o in logo.offset]
    window = min(tr, max((clip.num_frames - 1) // 2, 0)) if lazy is not None else 0

    def clean_plane(n: int, p: int, observed: np.ndarray, strength: float,
                    neighbours: Sequence[tuple[int, vs.VideoFrame]]) -> tuple[np.ndarray, float]:
        gain, offset, noise = logo.gain[p], logo.offset[p], logo.noise[p]
        scaled_gain = 1.0 - strength * (1.0 - gain)
        estimate = deblend_trusted(xp.asarray(observed), device_gain[p], device_offset[p], strength, max_alpha)
        if lazy is not None and neighbours:
            other, other_variance = _from_neighbours(lazy.get(), n, p, neighbours, logo, plane_boxes[p], full,
                                                     max_alpha)
            with np.errstate(divide="ignore"):
                own_variance = np.where(scaled_gain >= 1.0 - max_alpha,
                                        noise * noise * (1.0 / scaled_gain ** 2 - 1.0) + 1e-12, np.inf)
            estimate = combine_estimates(estimate, *(xp.asarray(a, dtype=xp.float32) for a in
                                                     (own_variance, other, other_variance)))
        estimate = to_numpy(estimate)
        fill = ~np.isfinite(estimate)
        if not fill.any():
            return estimate, 0.0
        # The strength is rounded so that the cached solver does not depend on which frame built it.
        solver = fill_solver(p, fill.tobytes(), round(strength, 2))
        data = np.where(scaled_gain > 1e-3, deblend(observed, gain, offset, strength), 0.0)
        return solver(np.where(fill, 0.0, estimate), data).astype(np.float32), float(fill.mean())

    def render(n: int, indices: Sequence[int], frames: Sequence[vs.VideoFrame]) -> vs.VideoFrame:
        centre = frames[len(frames) // 2]
        out = new_frame(centre, tuple(planes))
        observed = [plane_units(centre, p, full, plane_boxes[p]) for p in planes]
        strength = overlay_strength(observed[0], logo.gain[0], logo.offset[0]) if fade else 1.0
        neighbours = [(i, f) for i, f in distinct_frames(indices, frames) if i != n]
        filled = 0.0
        for p in planes:
            values, share = clean_plane(n, p, observed[p], strength, neighbours)
            filled = max(filled, share)
            offset_code, scale = transforms[p]
            x, y, w, h = plane_boxes[p]
            store_float(values * np.float32(scale) + np.float32(offset_code), plane_view(out, p)[y:y + h, x:x + w], fmt)
        out.props.update(OvrLogoStrength=float(strength), OvrLogoFilled=filled)
        return out

    return map_window(clip, window, render)


def _from_neighbours(pan: Pan, n: int, p: int, neighbours: Sequence[tuple[int, vs.VideoFrame]], logo: Logo,
                     box: Rect, full: bool, max_alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """What the neighbours saw where frame ``n``'s box is, and its variance (units²; inf where none saw it).

    Each neighbour is de-blended first (its own logo sits elsewhere on the scene), then resampled onto
    frame ``n``'s box; a sample counts with the variance ``noise² / gain²`` of the logo pixel it came from
    (1 outside the logo). Samples far from the median (a mouth that moved) are dropped, the rest are
    averaged with inverse-variance weights. Only the part of each neighbour the samples read is converted.
    """
    ss = plane_subsampling(neighbours[0][1].format, p)
    x, y, w, h = box
    gain, noise = logo.gain[p], logo.noise[p]
    trusted = gain >= 1.0 - max_alpha
    values, weights = [], []
    for i, frame in neighbours:
        shift_x = float(pan.x[n] - pan.x[i]) / (1 << ss[0])
        shift_y = float(pan.y[n] - pan.y[i]) / (1 << ss[1])
        height, width = plane_view(frame, p).shape
        window = _tap_window(box, shift_x, shift_y, width, height)
        if window is None:
            continue
        wx, wy, ww, wh = window
        plane = plane_units(frame, p, full, window)
        reach = np.ones_like(plane)  # the gain each sample sees: 1 off the logo, NaN where it is not de-blended
        # The neighbour's own logo box, in window coordinates (clipped to the window).
        lx0, ly0 = max(x - wx, 0), max(y - wy, 0)
        lx1, ly1 = min(x + w - wx, ww), min(y + h - wy, wh)
        if lx0 < lx1 and ly0 < ly1:
            part = (slice(ly0 + wy - y, ly1 + wy - y), slice(lx0 + wx - x, lx1 + wx - x))
            plane[ly0:ly1, lx0:lx1] = deblend_trusted(plane[ly0:ly1, lx0:lx1], gain[part], logo.offset[p][part], 1.0,
                                                      max_alpha)
            reach[ly0:ly1, lx0:lx1] = np.where(trusted[part], gain[part], np.nan)
        local = (x - wx, y - wy, w, h)
        sample = _shifted_box(plane, shift_x, shift_y, local)
        gains_seen = _shifted_box(reach, shift_x, shift_y, local)
        if sample is None or gains_seen is None:
            continue
        weight = np.where(np.isfinite(sample) & np.isfinite(gains_seen),
                          np.clip(gains_seen, 1.0 - max_alpha, 1.0) ** 2, 0.0)
        values.append(np.where(weight > 0, sample, np.nan))
        weights.append(weight)
    if not values:
        return np.full((h, w), np.nan, np.float32), np.full((h, w), np.inf)
    samples, weight = np.stack(values), np.stack(weights)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: no neighbour saw them
        centre = np.nanmedian(samples, axis=0)
        spread = noise / np.sqrt(np.maximum(weight, 1e-12))
        weight = np.where(np.abs(samples - centre[None]) <= 4.0 * spread + 2.0 * noise, weight, 0.0)
        total = weight.sum(axis=0)
        mean = (np.nan_to_num(samples) * weight).sum(axis=0) / total
    variance = np.where(total > 0, noise * noise / np.maximum(total, 1e-12), np.inf)
    return np.where(total > 0, mean, np.nan).astype(np.float32), variance


def _tap_window(box: Rect, shift_x: float, shift_y: float, width: int, height: int) -> Rect | None:
    """The part of a ``width x height`` plane that sampling ``box`` + shift with the motion kernel reads."""
    x, y, w, h = box
    radius = KERNELS[MOTION_KERNEL]
    x0, y0 = max(math.floor(x + shift_x) - radius + 1, 0), max(math.floor(y + shift_y) - radius + 1, 0)
    x1 = min(math.floor(x + w - 1 + shift_x) + radius + 1, width)
    y1 = min(math.floor(y + h - 1 + shift_y) + radius + 1, height)
    return (x0, y0, x1 - x0, y1 - y0) if x0 < x1 and y0 < y1 else None


def _resolve_logo(func: FuncLike, clip: vs.VideoNode, logo: object, motion: str | None, region: object,
                  max_frames: object, colour: tuple[int, bool], backend: str) -> tuple[Logo, Pan | None]:
    """``delogo``'s logo, and the pan when estimating it measured one."""
    if logo is None:
        settings = _check_estimate_args(func, clip, region, motion, max_frames, None, backend)
        return _estimate(func, clip, settings, colour, None)
    if isinstance(logo, (str, os.PathLike)):
        return _load_logo(func, clip, logo, None, colour[0]), None
    if not isinstance(logo, Logo):
        raise ArgumentTypeError(func, "logo must be a Logo (vo.estimate_logo, vo.load_logo), a PNG or .lgd path or "
                                      f"None, got {type(logo).__name__}")
    fmt = clip.format
    ss = (fmt.subsampling_w, fmt.subsampling_h)
    if (logo.color_family, logo.subsampling, logo.frame_size) != (fmt.color_family, ss, (clip.width, clip.height)):
        raise UnsupportedFormatError(func, f"the logo was estimated on {logo.frame_size[0]}x{logo.frame_size[1]} "
                                           f"{vs.ColorFamily(logo.color_family).name} subsampling {logo.subsampling}, "
                                           f"the clip is {clip.width}x{clip.height} {fmt.name}; estimate it on this "
                                           "clip, or save it (logo.save) and pass the PNG, which converts")
    return logo, None


def load_logo(clip: vs.VideoNode, path: str | os.PathLike[str], *, name: str | None = None) -> Logo:
    """Read a saved logo for ``clip``'s format: an RGBA PNG or an AviUtl ``.lgd``.

    Usage Example::

        logo = vo.load_logo(ep, "station.lgd")        # made by AviUtl's logoscan, or by Logo.save("x.lgd")
        clean = vo.delogo(ep, logo)

    Args:
        clip: The clip the logo will be taken off (its format, size and ``_Matrix`` decide the conversion).
        path: A frame-sized RGBA (or gray + alpha) PNG, 8 or 16 bit, transparent where there is no logo
            (``Logo.save``); or an AviUtl logo file, ver0.1 or ver0.2, placed at its stored position.
        name: Which logo of a ``.lgd`` holding several; default None, the first.

    Returns:
        A ``vo.Logo`` for ``clip``'s colour family, subsampling and size.

    Raises:
        InvalidArgumentError: the file cannot be read; a PNG of another size or without alpha; a ``.lgd``
            logo that falls outside the frame, or no logo called ``name``.
        ArgumentTypeError: ``path`` or ``name`` of another type.
    """
    func = load_logo
    clip = check_clip(clip, func)
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(func, f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    if name is not None:
        ArgumentTypeError.check(func, "name", name, str)
    return _load_logo(func, clip, path, name, _colour_props(clip)[0])


def _load_logo(func: FuncLike, clip: vs.VideoNode, path_like: str | os.PathLike[str], name: str | None,
               matrix: int) -> Logo:
    path = Path(path_like)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(LGD_PREFIX))
    except OSError as error:
        raise InvalidArgumentError(func, f"logo {str(path)!r} cannot be read ({error.strerror or error}); pass "
                                         "a Logo.save() PNG or an AviUtl .lgd") from None
    if head == LGD_PREFIX:
        try:
            logos = read_lgd(path)
        except ValueError as error:
            raise InvalidArgumentError(func, f"logo {str(path)!r} is a damaged AviUtl logo file ({error})") from None
        chosen = logos[0] if name is None else next((lg for lg in logos if lg.name == name), None)
        if chosen is None:
            raise InvalidArgumentError(func, f"logo {str(path)!r} holds no logo named {name!r}; it holds "
                                             f"{[lg.name for lg in logos]}")
        return _logo_from_lgd(func, chosen, clip, matrix, repr(str(path)))
    if name is not None:
        raise InvalidArgumentError(func, f"name={name!r} picks a logo in an AviUtl .lgd file, but {str(path)!r} "
                                         "is not one; leave name out for a PNG")
    try:
        image = read_png(path)
    except (OSError, ValueError) as error:
        raise InvalidArgumentError(func, f"logo {str(path)!r} cannot be read as a PNG or an AviUtl .lgd ({error}); "
                                         "pass a Logo.save() file or an RGBA PNG of the frame's size") from None
    if image.shape[2] not in (2, 4):
        raise InvalidArgumentError(func, f"logo {str(path)!r} has no alpha channel ({image.shape[2]} channels); "
                                         "save it as RGBA (or gray + alpha), transparent where there is no logo")
    peak = 65535.0 if image.dtype == np.uint16 else 255.0
    values = image.astype(np.float64) / peak
    rgba = values if values.shape[2] == 4 else np.concatenate([values[..., :1]] * 3 + [values[..., 1:]], axis=2)
    return logo_from_rgba(func, rgba, clip, matrix, repr(str(path)))
