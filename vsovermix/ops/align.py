"""Global sub-pixel translation of every frame of a camera pan.

How it works, for one pair of frames A, B with ``B(x) = A(x + d)``:

1. Both frames' luma is box-reduced to a *proxy* about 960 px wide (``proxy_scale``) and a pyramid
   of 2x box reductions, the finer levels band-passed (``band_pass``: soft steam and fades do not move
   with the picture). Box reduction commutes with translation, so offsets scale exactly.
2. Coarse: phase correlation on the smallest level (Hann window, masked) gives a few peak
   candidates; each is refined there and the one that explains most textured pixels wins. A
   screen-fixed logo makes a zero-shift peak; it loses this vote unless it covers most of the frame.
3. Fine: Gauss-Newton (Lucas-Kanade) down the pyramid, with the mean of both frames' gradients as
   the Jacobian. The proxies are blurred first, so resampling A does not bias ``d`` on aliased line
   art. Residuals get Cauchy weights (moving mouths, steam, what the mask missed), flat pixels carry
   no weight because they have no gradient, masked pixels none at all. The weights are one pyramid
   shared by every frame (border and masks are fixed to the screen).

For a whole pan (``estimate_pan``): screen-fixed content (logo, subtitles, letterbox edges) is found
first from temporal statistics (edges that persist while the picture changes) and masked; every frame
is measured against its next ``neighbours`` frames; the positions are the weighted least-squares
solution of all those measurements with outliers rejected, so errors do not accumulate along the pan.
Each consecutive pair is also measured in a 3x3 grid of tiles: tiles that disagree with the global
translation mean zoom, rotation or parallax, which a translation cannot stitch.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .parallel import WORKERS, parallel_map, submit
from .resample import box_reduce, ndimage_of, sample_bounds, sample_shifted, to_numpy, xp_of

__all__ = [
    "PairEstimate",
    "PanResult",
    "Pyramid",
    "band_pass",
    "build_pyramid",
    "build_weights",
    "estimate_pair",
    "estimate_pan_offsets",
    "make_proxy",
    "proxy_scale",
    "segments",
    "solve_positions",
    "static_overlay_mask",
]

PROXY_WIDTH = 960  # the finest level alignment works on; 1080p is reduced 2x
COARSE_WIDTH = 256  # phase correlation level
MIN_LEVEL_SIDE = 24
NOISE_FLOOR = 0.002  # residual scale floor, in units of the format's peak (half an 8-bit code value)
TEXTURE_GRADIENT = 0.01  # gradient (per proxy px, peak units) above which a pixel is "textured"
PAIR_SIGMA_FLOOR = 0.005  # full-res px added to every pair's standard error: no pair is trusted infinitely
NON_TRANSLATION_TOLERANCE = 0.5  # full-res px: tiles disagreeing more than this mean zoom/rotation/parallax
PROXY_BLUR = 2.0  # Gaussian sigma (proxy px): removes the aliasing that biases interpolated sub-pixel fits
PROXY_HIGHPASS = 4.0  # Gaussian sigma (proxy px) of the smooth part removed: translucent layers moving on their own
PAIR_CHUNK = 8  # consecutive pairs measured in a row by one worker (the previous motion seeds the next)


def proxy_scale(width: int) -> int:
    """Box-reduction factor from full-resolution luma to the finest alignment level."""
    return max(1, width // PROXY_WIDTH)


def make_proxy(luma: Any, scale: int) -> Any:
    """The image alignment starts from: peak-normalised luma, box-reduced by ``scale``, then blurred.

    The blur is the same on every frame, so it does not move anything; it removes the aliased detail
    of sharp line art that interpolation cannot shift faithfully (without it, offsets on box-reduced
    line art were biased by a few hundredths of a pixel).
    """
    reduced = box_reduce(luma.astype(np.float32, copy=False), scale)
    return ndimage_of(xp_of(luma)).gaussian_filter(reduced, PROXY_BLUR, truncate=3.0, mode="nearest")


def band_pass(level: Any) -> Any:
    """A pyramid level minus its smooth part (Gaussian, ``PROXY_HIGHPASS`` px of that level).

    Drifting steam, smoke, glow and fades add a soft brightness field that moves on its own; left in,
    it dragged whole pans along with it (``test_drifting_steam_does_not_drag_the_pan``). Edges keep their
    place. Per level (not once at the finest and then reduced), so each level keeps the shapes of
    its own scale.
    """
    return level - ndimage_of(xp_of(level)).gaussian_filter(level, PROXY_HIGHPASS, truncate=3.0, mode="nearest")


@dataclass
class Pyramid:
    """One frame's proxy luma (peak-normalised float32), finest level first."""

    images: list[Any]
    _gradients: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    def gradient(self, level: int) -> tuple[Any, Any]:
        """Central-difference gradient of a level, computed once (a frame is B in several pairs)."""
        if level not in self._gradients:
            self._gradients[level] = central_gradient(self.images[level])
        return self._gradients[level]

    def fit(self, other: Pyramid, weights: list[Any], level: int, start: np.ndarray, iterations: int,
            tolerance: float, region: tuple[slice, slice] | None = None, stride: int = 1) -> _Fit:
        """Gauss-Newton fit of ``other(y) = self(y + d)`` at ``level``, from ``start``."""
        return _gauss_newton(self.images[level], other.images[level], weights[level], start, iterations, tolerance,
                             region, b_gradient=other.gradient(level), stride=stride)

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.images) * 3  # with the gradients, once computed


def _levels(image: Any) -> list[Any]:
    """2x box reductions of ``image`` while a level stays above ``MIN_LEVEL_SIDE`` px and ``COARSE_WIDTH / 2`` wide."""
    levels = [image]
    while min(levels[-1].shape) // 2 >= MIN_LEVEL_SIDE and levels[-1].shape[1] > COARSE_WIDTH // 2:
        levels.append(box_reduce(levels[-1], 2))
    return levels


def build_pyramid(proxy: Any) -> Pyramid:
    """A frame's pyramid: ``proxy`` and its 2x box reductions, band-passed but for the coarsest.

    The coarsest level picks among phase-correlation peaks by how many textured pixels each explains:
    there the scene's large shapes must outvote small things that move on their own, and only the
    finer levels, which decide the sub-pixel offset, need the smooth fields gone.
    """
    levels = _levels(proxy)
    return Pyramid([band_pass(level) for level in levels[:-1]] + levels[-1:])


def build_weights(shape: tuple[int, int], border: int, exclude: Any | None = None, xp: Any = np) -> list[Any]:
    """The alignment weights every frame shares, per pyramid level: 0 on the ``border`` px frame edge
    and on ``exclude`` (bool), else 1; reduced levels hold the share of weighted pixels."""
    return _levels(_base_weight(shape, border, exclude, xp))


def _base_weight(shape: tuple[int, int], border: int, exclude: Any | None, xp: Any = np) -> Any:
    """Alignment weight of a proxy: 0 on the ``border`` px frame edge and on ``exclude`` (bool), else 1."""
    weight = xp.zeros(shape, dtype=np.float32)
    h, w = shape
    border = min(border, (min(h, w) - 1) // 4)
    weight[border:h - border, border:w - border] = 1.0
    if exclude is not None:
        weight[exclude] = 0.0
    return weight


@dataclass
class PairEstimate:
    """Offset ``d`` with ``B(x) = A(x + d)``, in the pyramid's finest-level pixels, and how much to trust it."""

    dx: float
    dy: float
    score: float  # fraction of textured, valid pixels the offset explains (0 = none, 1 = all)
    sigma_x: float  # standard error estimates
    sigma_y: float
    valid: bool  # enough overlap and texture to solve at all


@dataclass
class _Fit:
    d: np.ndarray
    score: float = 0.0
    sigma: np.ndarray = field(default_factory=lambda: np.full(2, np.inf))
    valid: bool = False
    noise: float = math.inf  # typical residual of the pixels at ``d``


def _overlap(shape: tuple[int, int], d: np.ndarray, kernel: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Rows/cols ``y`` of B (one px in from its edges, for gradients) where ``A(y + d)`` can be sampled."""
    spans = []
    for length, shift in ((shape[0], d[1]), (shape[1], d[0])):
        lo, hi = sample_bounds(length, shift, kernel)
        lo, hi = max(lo, 0) + 1, min(hi, length) - 1  # one spare row/column for A's central differences
        if hi - lo < 8:
            return None
        spans.append((lo, hi))
    return spans[0], spans[1]


def _gauss_newton(a: Any, b: Any, weight: Any, d: np.ndarray, iterations: int, tolerance: float,
                  region: tuple[slice, slice] | None = None, kernel: str = "cubic",
                  b_gradient: tuple[Any, Any] | None = None, stride: int = 1) -> _Fit:
    """Robust Lucas-Kanade for a translation from the start ``d`` (level px): fits ``B(y) = A(y + d)``.

    Efficient second-order form: the Jacobian is the mean of A's gradient (resampled) and B's, which
    converges in fewer steps than either alone. Only A is resampled, once per step. ``b_gradient``
    are B's precomputed central differences. ``weight`` is the screen's pixel weight, the same for
    both frames. ``stride`` 2 fits on every other row and column (4x cheaper, for the last step at
    the finest level) with B's gradient alone as the Jacobian.
    """
    xp = xp_of(a)
    d = np.array(d, dtype=np.float64)
    fit = _Fit(d.copy())
    bgx, bgy = b_gradient if b_gradient is not None else central_gradient(b)
    half = np.float32(0.5)
    for _ in range(iterations):
        spans = _overlap(a.shape, d, kernel)
        if spans is None:
            return _Fit(d)
        (r0, r1), (c0, c1) = spans
        inner = (slice(r0, r1, stride), slice(c0, c1, stride))
        if stride == 1:
            aw = sample_shifted(a, d[0], d[1], (r0 - 1, r1 + 1), (c0 - 1, c1 + 1), kernel)
            r = aw[1:-1, 1:-1] - b[inner]
            gx = (aw[1:-1, 2:] - aw[1:-1, :-2]) * np.float32(0.25) + bgx[inner] * half
            gy = (aw[2:, 1:-1] - aw[:-2, 1:-1]) * np.float32(0.25) + bgy[inner] * half
        else:
            r = sample_shifted(a, d[0], d[1], (r0, r1), (c0, c1), kernel, step=stride) - b[inner]
            gx, gy = bgx[inner], bgy[inner]
        # A's weights at the nearest sample position (the masks are smooth enough for that).
        ry, rx = round(d[1]), round(d[0])
        w = weight[r0 + ry:r1 + ry:stride, c0 + rx:c1 + rx:stride] * weight[inner]
        if region is not None:
            w = w * _region_weight(w.shape, (r0, r1), (c0, c1), region, xp)
        # Statistics on a quarter of the pixels: plenty for a median and a fraction, 4x cheaper.
        rs, ws, gs = r[::2, ::2], w[::2, ::2], gx[::2, ::2] ** 2 + gy[::2, ::2] ** 2
        counted = ws > 0.5
        textured = (gs > TEXTURE_GRADIENT**2) & counted
        flat_sample = xp.abs(rs[::2, ::2])[counted[::2, ::2]]
        if flat_sample.size < 16:
            return _Fit(d)
        # Noise: the residual's typical size over all pixels (mostly flat ones). The Cauchy scale comes
        # from textured pixels: while misaligned their residuals are large and must not be discounted.
        sigma = max(1.4826 * float(xp.median(flat_sample)), NOISE_FLOOR)
        edge_residual = xp.abs(rs[textured])
        n_textured = int(edge_residual.size)
        spread = max(1.4826 * float(xp.median(edge_residual)), sigma) if n_textured >= 16 else sigma
        robust = w / (1 + (r * np.float32(1.0 / (2.385 * spread))) ** 2)
        wgx, wgy = robust * gx, robust * gy
        hxx, hxy, hyy = float(xp.vdot(wgx, gx)), float(xp.vdot(wgx, gy)), float(xp.vdot(wgy, gy))
        bx, by = float(xp.vdot(wgx, r)), float(xp.vdot(wgy, r))
        det = hxx * hyy - hxy * hxy
        if hxx <= 0 or hyy <= 0 or det <= 1e-9 * hxx * hyy:
            return _Fit(d)
        step = -np.array([hyy * bx - hxy * by, hxx * by - hxy * bx]) / det
        inliers = int((edge_residual < 3 * sigma).sum())
        fit = _Fit(d + step, inliers / n_textured if n_textured else 0.0,
                   sigma * np.sqrt(np.array([hyy, hxx]) / det), n_textured >= 8, sigma)
        d = d + step
        if np.abs(step).max() < tolerance:
            break
    return fit


def _explained_pixels(a: Any, b: Any, weight: Any, b_gradient: tuple[Any, Any], d: np.ndarray, noise: float,
                      kernel: str = "cubic") -> int:
    """How many of B's textured, weighted pixels ``A(y + d)`` matches within three times ``noise``."""
    spans = _overlap(a.shape, d, kernel)
    if spans is None:
        return 0
    (r0, r1), (c0, c1) = spans
    inner = (slice(r0, r1), slice(c0, c1))
    residual = sample_shifted(a, d[0], d[1], (r0, r1), (c0, c1), kernel) - b[inner]
    ry, rx = round(d[1]), round(d[0])
    counted = weight[r0 + ry:r1 + ry, c0 + rx:c1 + rx] * weight[inner] > 0.5
    gx, gy = b_gradient
    textured = (gx[inner] ** 2 + gy[inner] ** 2 > TEXTURE_GRADIENT**2) & counted
    return int((xp_of(a).abs(residual[textured]) < 3 * noise).sum())


def central_gradient(plane: Any) -> tuple[Any, Any]:
    """Half the central differences along x and y (edges 0): the gradient in units per pixel."""
    xp = xp_of(plane)
    gx = xp.zeros_like(plane)
    gy = xp.zeros_like(plane)
    gx[:, 1:-1] = (plane[:, 2:] - plane[:, :-2]) * np.float32(0.5)
    gy[1:-1] = (plane[2:] - plane[:-2]) * np.float32(0.5)
    return gx, gy


def _region_weight(shape: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int],
                  region: tuple[slice, slice], xp: Any) -> Any:
    """1 inside ``region`` (slices in the shared coordinate frame), 0 elsewhere, on the grid ``rows x cols``."""
    out = xp.zeros(shape, dtype=np.float32)
    r0, r1 = max(region[0].start - rows[0], 0), min(region[0].stop - rows[0], shape[0])
    c0, c1 = max(region[1].start - cols[0], 0), min(region[1].stop - cols[0], shape[1])
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = 1.0
    return out


def _hann(n: int, xp: Any) -> Any:
    return xp.asarray(np.hanning(n + 2)[1:-1].astype(np.float32))


def _phase_candidates(a: Any, b: Any, weight: Any, count: int = 3) -> list[np.ndarray]:
    """Offsets ``d`` (``B(x) = A(x + d)``) at the highest peaks of the windowed phase correlation."""
    xp = xp_of(a)
    h, w = a.shape
    wt = weight * (_hann(h, xp)[:, None] * _hann(w, xp)[None, :])
    total = max(float(wt.sum()), 1e-6)
    spectra = []
    for img in (a, b):
        mean = (img * wt).sum() / total
        spectra.append(xp.fft.rfft2((img - mean) * wt))
    cross = spectra[0] * xp.conj(spectra[1])
    magnitude = xp.abs(cross)
    largest = float(magnitude.max())
    if not largest > 0:  # flat frames: nothing to correlate
        return []
    cross /= magnitude + np.float32(1e-6 * largest)
    corr = xp.fft.irfft2(cross, s=(h, w))
    corr = to_numpy(corr)
    peaks = ndimage_of(np).maximum_filter(corr, size=5, mode="wrap") == corr
    order = np.argsort(corr[peaks])[::-1][:count]
    ys, xs = np.nonzero(peaks)
    top = float(corr[ys[order[0]], xs[order[0]]]) if len(order) else 0.0
    out = []
    for k in order:
        py, px = int(ys[k]), int(xs[k])
        if corr[py, px] < 0.25 * top:
            break
        sub = []
        for pos, size, axis in ((px, w, 1), (py, h, 0)):
            prev = corr[(py - (axis == 0)) % h, (px - (axis == 1)) % w]
            nxt = corr[(py + (axis == 0)) % h, (px + (axis == 1)) % w]
            denom = prev - 2 * corr[py, px] + nxt
            frac = 0.5 * (prev - nxt) / denom if denom < 0 else 0.0
            peak = pos + float(np.clip(frac, -0.5, 0.5))
            peak = peak - size if peak >= size / 2 else peak
            sub.append(peak)  # B = A shifted by -d: the correlation peaks at +d
        out.append(np.array(sub))
    return out


def estimate_pair(a: Pyramid, b: Pyramid, weights: list[Any], hint: tuple[float, float] | None = None,
                  candidates: list[tuple[float, float]] = ()) -> PairEstimate:
    """Offset of ``b`` relative to ``a`` (``B(x) = A(x + d)``) in finest-level pixels.

    ``weights`` come from ``build_weights``. ``hint`` (finest-level px, within a few coarse pixels of
    the truth) skips the phase correlation; ``candidates`` are extra starting points voted on with
    the phase-correlation peaks.
    """
    top = len(a.images) - 1
    factor = 2**top
    starts = [np.array(hint, dtype=np.float64) / factor] if hint is not None else \
        _phase_candidates(a.images[top], b.images[top], weights[top])
    starts += [np.array(c, dtype=np.float64) / factor for c in candidates]
    fits = [fit for fit in (a.fit(b, weights, top, start, 8, 0.01) for start in starts) if fit.valid]
    if not fits:
        return PairEstimate(0.0, 0.0, 0.0, math.inf, math.inf, False)
    best = fits[0]
    if len(fits) > 1:
        # Vote with one noise level for all: each fit's own is inflated when it is wrong, which made a
        # wrong fit's residuals look like inliers. The offset that explains most textured pixels wins.
        noise = min(fit.noise for fit in fits)
        votes = [_explained_pixels(a.images[top], b.images[top], weights[top], b.gradient(top), fit.d, noise)
                 for fit in fits]
        best = fits[int(np.argmax(votes))]
    d = best.d
    for level in range(top - 1, -1, -1):
        finest = level == 0
        # The level above leaves ~0.05 px here (more under steam: the coarsest level is not band-passed):
        # up to three steps on a quarter of the finest pixels finish it.
        fit = (a.fit(b, weights, level, d * 2, 3, 0.005, stride=2) if finest
               else a.fit(b, weights, level, d * 2, 3, 0.05))
        if not fit.valid:
            return PairEstimate(float(d[0]) * 2**(level + 1), float(d[1]) * 2**(level + 1), 0.0, math.inf, math.inf,
                                False)
        best, d = fit, fit.d
    return PairEstimate(float(d[0]), float(d[1]), best.score, float(best.sigma[0]), float(best.sigma[1]), True)


def tile_disagreement(a: Pyramid, b: Pyramid, weights: list[Any], d: tuple[float, float], grid: int = 3) -> float:
    """Largest distance (finest-level px) between ``d`` and the translation of a textured tile of the overlap.

    Measured on the level nearest 320 px wide, with a few Gauss-Newton steps per tile from ``d``; tiles
    with too little texture are skipped. Near 0 for a pure translation; zoom, rotation and parallax
    make tiles move differently.
    """
    level = 0
    while level + 1 < len(a.images) and a.images[level].shape[1] > 320:
        level += 1
    factor = 2**level
    start = np.array(d, dtype=np.float64) / factor
    spans = _overlap(a.images[level].shape, start, "cubic")
    if spans is None:
        return 0.0
    (r0, r1), (c0, c1) = spans
    worst = 0.0
    for ty in range(grid):
        for tx in range(grid):
            region = (slice(r0 + (r1 - r0) * ty // grid, r0 + (r1 - r0) * (ty + 1) // grid),
                      slice(c0 + (c1 - c0) * tx // grid, c0 + (c1 - c0) * (tx + 1) // grid))
            fit = a.fit(b, weights, level, start, 4, 0.02, region=region)
            if fit.valid and fit.score > 0.5 and max(fit.sigma) < 0.01:  # well-conditioned tiles only
                worst = max(worst, float(np.hypot(*(fit.d - start))) * factor)
    return worst


def static_overlay_mask(mean_abs_change: np.ndarray, mean_gradient: np.ndarray,
                        textured_per_frame: float) -> np.ndarray | None:
    """Screen-fixed edges: textured on every frame, yet their values barely change while the picture moves.

    ``mean_abs_change`` is the mean |P(t+1) - P(t)| per proxy pixel, ``mean_gradient`` the mean gradient
    magnitude, ``textured_per_frame`` how many pixels of a frame are textured on average. Returns a
    dilated bool mask, or None when nothing is screen-fixed or when most of a frame's texture is (a
    still camera: nothing to mask, and no bias to fear).
    """
    ndimage = ndimage_of(np)
    textured = mean_gradient > 3 * TEXTURE_GRADIENT
    static = textured & (mean_abs_change < 0.25 * mean_gradient)
    n_static = int(static.sum())
    if n_static == 0 or n_static > 0.5 * textured_per_frame:
        return None
    # Isolated pixels are chance (a slow part of the pan); overlays are connected shapes.
    static = ndimage.binary_opening(static, structure=np.ones((2, 2), bool))
    if not static.any():
        return None
    return ndimage.binary_dilation(static, structure=np.ones((3, 3), bool), iterations=2)


@dataclass(frozen=True)
class Measurement:
    """One pair's offset in full-resolution px: ``position[j] - position[i] = (dx, dy)``."""

    i: int
    j: int
    dx: float
    dy: float
    sigma_x: float
    sigma_y: float
    score: float


def solve_positions(num_frames: int, measurements: list[Measurement], outlier_px: float = 0.3,
                    partial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares positions (frame 0 at the origin) and the mask of measurements kept.

    Measurements whose residual is far beyond both ``outlier_px`` and what their error bars allow are
    dropped, the worst one at a time, and the system solved again. Raises ``ValueError`` naming
    the frames that no kept measurement connects to frame 0, unless ``partial``: then each group of
    connected frames (``segments``) is solved with its first frame at the origin.
    """
    kept = np.ones(len(measurements), dtype=bool)
    if not measurements and not partial:
        raise ValueError(f"frames {_ranges(list(range(1, num_frames)))} are not connected to frame 0")
    ij = np.array([(m.i, m.j) for m in measurements], dtype=np.int64).reshape(-1, 2)
    obs = np.array([(m.dx, m.dy) for m in measurements], dtype=np.float64).reshape(-1, 2)
    sig = np.array([(m.sigma_x, m.sigma_y) for m in measurements], dtype=np.float64).reshape(-1, 2)
    sig = np.sqrt(sig**2 + PAIR_SIGMA_FLOOR**2)
    weight = np.array([m.score for m in measurements]).reshape(-1, 1) / sig**2
    positions = np.zeros((num_frames, 2))
    groups = segments(num_frames, ij)  # dropping an outlier never splits a group (below)
    anchors = np.unique(groups, return_index=True)[1]
    if not partial:
        _check_connected(num_frames, ij)
    for _ in range(max(8, len(measurements) // 4)):
        for axis in range(2):
            positions[:, axis] = _least_squares(num_frames, ij[kept], obs[kept, axis], weight[kept, axis], anchors)
        residual = positions[ij[:, 1]] - positions[ij[:, 0]] - obs
        normalised = np.abs(residual) / sig
        bad = kept & (np.abs(residual) > outlier_px).any(axis=1) & (normalised > 5).any(axis=1)
        if not bad.any():
            break
        # Drop the worst one only: one wrong pair also leaves residuals on its honest neighbours.
        trial = kept.copy()
        trial[int(np.argmax(np.where(bad, normalised.max(axis=1), -1)))] = False
        if (segments(num_frames, ij[trial]) != groups).any():
            break  # it was the only link between two groups: keep it
        kept = trial
    return positions, kept


def segments(num_frames: int, ij: np.ndarray) -> np.ndarray:
    """For every frame, the first frame of the group that the pairs ``ij`` connect it to."""
    parent = list(range(num_frames))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, j in ij:
        a, b = root(int(i)), root(int(j))
        parent[max(a, b)] = min(a, b)  # the smaller frame stays the root: roots are first frames
    return np.array([root(k) for k in range(num_frames)], dtype=np.int64)


def _least_squares(num_frames: int, ij: np.ndarray, obs: np.ndarray, weight: np.ndarray,
                   anchors: np.ndarray) -> np.ndarray:
    normal = np.zeros((num_frames, num_frames))
    rhs = np.zeros(num_frames)
    i, j = ij[:, 0], ij[:, 1]
    np.add.at(normal, (i, i), weight)
    np.add.at(normal, (j, j), weight)
    np.add.at(normal, (i, j), -weight)
    np.add.at(normal, (j, i), -weight)
    np.add.at(rhs, j, weight * obs)
    np.add.at(rhs, i, -weight * obs)
    # Gauge: the first frame of every connected group is its origin.
    normal[anchors, :] = 0.0
    normal[anchors, anchors] = 1.0
    rhs[anchors] = 0.0
    return np.linalg.solve(normal, rhs)


def _check_connected(num_frames: int, ij: np.ndarray) -> None:
    lost = [int(k) for k in np.nonzero(segments(num_frames, ij) != 0)[0]]
    if lost:
        raise ValueError(f"frames {_ranges(lost)} are not connected to frame 0")


def _ranges(frames: list[int]) -> str:
    out, start = [], frames[0]
    for prev, cur in zip(frames, [*frames[1:], None], strict=True):
        if cur != prev + 1:
            out.append(str(start) if start == prev else f"{start}-{prev}")
            start = cur
    return ", ".join(out)


@dataclass
class PanResult:
    """Positions of every frame in full-resolution luma px (frame 0 at 0, 0) and the evidence behind them."""

    x: np.ndarray
    y: np.ndarray
    confidence: np.ndarray  # per frame, 0..1: share of textured pixels its measurements explain
    non_translation: np.ndarray  # per frame, px: worst tile disagreement with its neighbours
    static_mask: np.ndarray | None  # proxy-resolution bool mask of screen-fixed content that was ignored
    segment: np.ndarray  # per frame: the first frame of its connected group (all 0 unless ``partial``)


class _ProxyStore:
    """Pyramids of the frames, kept while they fit ``budget`` bytes, rebuilt from the source otherwise.

    ``load(n)`` (the frame's luma) always runs on the calling thread; only the arithmetic that turns it
    into a pyramid goes to the host thread pool.
    """

    def __init__(self, load: Callable[[int], Any], scale: int, budget: int):
        self.load, self.scale, self.budget = load, scale, budget
        self.cache: OrderedDict[int, Pyramid] = OrderedDict()
        self.used = 0

    def _build(self, luma: Any) -> Pyramid:
        return build_pyramid(make_proxy(luma, self.scale))

    def _put(self, n: int, pyramid: Pyramid) -> None:
        self.cache[n] = pyramid
        self.used += pyramid.nbytes
        while self.used > self.budget and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.used -= old.nbytes

    def get(self, n: int) -> Pyramid:
        if n in self.cache:
            self.cache.move_to_end(n)
            return self.cache[n]
        pyramid = self._build(self.load(n))
        self._put(n, pyramid)
        return pyramid

    def stream(self, count: int) -> Iterator[Pyramid]:
        """Pyramids of frames ``0 .. count - 1`` in order, built ahead on the pool while frames load."""
        pending: deque[Future[Pyramid]] = deque()
        ahead = 2 * WORKERS
        for n in range(count):
            luma = self.load(n)
            pending.append(submit(self._build, luma, inline=xp_of(luma) is not np))
            if len(pending) > ahead:
                yield self._keep(n - len(pending) + 1, pending.popleft().result())
        first = count - len(pending)
        for k, future in enumerate(pending):
            yield self._keep(first + k, future.result())

    def _keep(self, n: int, pyramid: Pyramid) -> Pyramid:
        self._put(n, pyramid)
        return pyramid

    def holds_all(self, count: int) -> bool:
        return len(self.cache) == count


def estimate_pan_offsets(load_luma: Callable[[int], Any], num_frames: int, scale: int, *, neighbours: int = 3,
                         border: int = 4, exclude: Any | None = None, budget_bytes: int = 1 << 30,
                         progress: Callable[[int, int], None] | None = None, partial: bool = False) -> PanResult:
    """Positions of all ``num_frames`` (>= 2) frames of a pan from their luma ``load_luma(n)``.

    ``load_luma(n)`` returns frame ``n``'s full-resolution luma, peak-normalised float32 (NumPy or
    CuPy); ``scale`` is ``proxy_scale`` of its width. ``border`` proxy px of every frame edge and the
    ``exclude`` mask (bool, proxy size) are ignored. Each frame is loaded once while the pyramids fit
    ``budget_bytes``, always on the calling thread. A frame that matches neither neighbour (a flash, an
    inserted frame) is measured across. Raises ``ValueError`` when some frames cannot be connected to
    the others (flat, black, or no overlap), unless ``partial``: then each connected group has its own
    origin (``segment``) and a frame connected to none has confidence 0.
    """
    store = _ProxyStore(load_luma, scale, budget_bytes)
    total_steps = 2 * num_frames - 1
    step = 0

    def tick(amount: int = 1) -> None:
        nonlocal step
        step += amount
        if progress is not None:
            progress(step, total_steps)

    # Pass 1: temporal statistics for the screen-fixed overlay mask (the pyramids stay in the store).
    change = gradient = previous = None
    textured = 0
    for pyramid in store.stream(num_frames):
        current = pyramid.images[0]
        xp = xp_of(current)
        if previous is None:
            change, gradient = xp.zeros_like(current), xp.zeros_like(current)
        else:
            change += xp.abs(current - previous)
        gy, gx = xp.gradient(current)
        magnitude = xp.sqrt(gx * gx + gy * gy)
        gradient += magnitude
        textured += int((magnitude > 3 * TEXTURE_GRADIENT).sum())
        previous = current
        tick()
    xp = xp_of(previous)
    shape = previous.shape
    to_host = (lambda v: v) if xp is np else (lambda v: v.get())
    static = static_overlay_mask(to_host(change) / (num_frames - 1), to_host(gradient) / num_frames,
                                 textured / num_frames)
    ignore = static if exclude is None else (exclude if static is None else (static | np.asarray(exclude)))
    weights = build_weights(shape, border, None if ignore is None else xp.asarray(ignore), xp)
    # Pairs run on the pool only when every pyramid is in memory (a worker must never load a frame).
    run = parallel_map if xp is np and store.holds_all(num_frames) else (lambda fn, items: [fn(i) for i in items])

    measurements: list[Measurement] = []
    disagreement = np.zeros(num_frames)
    velocity: dict[int, np.ndarray] = {}  # frame -> offset to the next frame, proxy px
    h, w = shape

    def usable(est: PairEstimate) -> bool:
        return est.valid and est.score >= 0.2

    def measure(i: int, j: int, est: PairEstimate) -> None:
        if usable(est):
            measurements.append(Measurement(i, j, est.dx * scale, est.dy * scale, est.sigma_x * scale,
                                            est.sigma_y * scale, est.score))

    def consecutive(chunk: range) -> list[tuple[PairEstimate, float]]:
        # From scratch (phase correlation), with the previous pair's motion as one more candidate.
        out: list[tuple[PairEstimate, float]] = []
        previous_motion: list[tuple[float, float]] = []
        for i in chunk:
            est = estimate_pair(store.get(i), store.get(i + 1), weights, candidates=previous_motion)
            tile = tile_disagreement(store.get(i), store.get(i + 1), weights, (est.dx, est.dy)) if usable(est) else 0.0
            previous_motion = [(est.dx, est.dy)] if usable(est) else []
            out.append((est, tile * scale))
        return out

    # Consecutive pairs first: they give the chain that predicts where farther neighbours overlap.
    # Fixed chunks (not one per worker), so the result does not depend on the number of cores.
    chunks = [range(k, min(k + PAIR_CHUNK, num_frames - 1)) for k in range(0, num_frames - 1, PAIR_CHUNK)]
    for chunk, results in zip(chunks, run(consecutive, chunks), strict=True):
        for i, (est, tile) in zip(chunk, results, strict=True):
            measure(i, i + 1, est)
            if usable(est):
                velocity[i] = np.array([est.dx, est.dy])
                disagreement[i] = max(disagreement[i], tile)
                disagreement[i + 1] = max(disagreement[i + 1], tile)
        tick(len(chunk))
    # A broken link (a flash, an inserted frame): measure from the frame before it to the next frames
    # from scratch, so that both sides stay connected.
    for i in range(num_frames - 1):
        if i in velocity or (i > 0 and i - 1 not in velocity):
            continue  # linked, or not the first frame before a break
        for j in range(i + 2, min(i + neighbours, num_frames - 1) + 1):
            est = estimate_pair(store.get(i), store.get(j), weights)
            if usable(est):
                measure(i, j, est)
                break
    farther: list[tuple[int, int, tuple[float, float]]] = []
    for i in range(num_frames):
        for j in range(i + 2, min(i + neighbours, num_frames - 1) + 1):
            chain = [velocity.get(m) for m in range(i, j)]
            if any(c is None for c in chain):
                break
            hint = np.sum(chain, axis=0)
            if abs(hint[0]) > 0.7 * w or abs(hint[1]) > 0.7 * h:
                break  # too little overlap to be worth measuring
            farther.append((i, j, (float(hint[0]), float(hint[1]))))
    estimates = run(lambda p: estimate_pair(store.get(p[0]), store.get(p[1]), weights, hint=p[2]), farther)
    for (i, j, _), est in zip(farther, estimates, strict=True):
        measure(i, j, est)
    positions, kept = solve_positions(num_frames, measurements, partial=partial)
    confidence = np.zeros(num_frames)
    count = np.zeros(num_frames)
    for m, keep in zip(measurements, kept, strict=True):
        for f in (m.i, m.j):
            confidence[f] += m.score if keep else 0.0
            count[f] += 1
    confidence = np.divide(confidence, count, out=np.zeros(num_frames), where=count > 0)
    segment = segments(num_frames, np.array([(m.i, m.j) for m in measurements], np.int64).reshape(-1, 2)[kept])
    return PanResult(positions[:, 0], positions[:, 1], confidence, disagreement, static, segment)
