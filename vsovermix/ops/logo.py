"""Static semi-transparent overlays (TV logos, watermarks): find them, estimate them, take them off.

Per pixel and plane a frame shows ``J = (1 - alpha) * I + alpha * colour`` over the background ``I``.
Written with the gain ``a = 1 - alpha`` and the offset ``b = alpha * colour`` the model is linear,
``J = a * I + b``: estimation is a regression and removal is ``I = (J - b) / a``. Values are the
plane's normalised code values (integer planes divided by their peak, float planes as they are).

Arrays are NumPy or CuPy (the module of the input); the sparse solves (interpolating statistics into
the logo, filling what cannot be de-blended) run on the host: a logo's box is small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .parallel import parallel_map
from .resample import to_numpy, xp_of

__all__ = [
    "OverlayBox",
    "SmoothFill",
    "combine_estimates",
    "deblend",
    "deblend_trusted",
    "estimate_from_backgrounds",
    "estimate_from_statistics",
    "find_overlay",
    "finish_estimate",
    "harmonic_fill",
    "overlay_strength",
    "refine_by_edges",
    "ring_mask",
]

# Detection: a pixel is an overlay edge when the median of its gradient over the frames is this many
# standard errors away from zero, and at least MIN_EDGE (normalised luma per pixel) large.
EDGE_Z = 8.0
MIN_EDGE = 2.0 / 255
CLUSTER_GAP = 12  # px: edges closer than this belong to one overlay (the letters of one logo)
BOX_MARGIN = 6  # px around the edges: the ring where the overlay is assumed absent
SPREAD_FLOOR = 1.0 / 255  # the temporal spread never counts as smaller than 8-bit rounding

# Estimation
RING = 3  # px: the outer ring of the box, taken as background (alpha = 0) by the statistics estimate
MIN_VARIATION = 2.0 / 255  # background standard deviation over the frames below which alpha cannot be learnt
SLOPE_ERROR = 0.006  # largest standard error of a regressed gain that counts as reliable
ALPHA_FLOOR = 0.004  # alphas below this are estimation noise: set to 0
# Refinement by smooth background steps (refine_by_edges)
EDGE_ITERATIONS = 3  # re-weightings; bench_logo.py's 500 pictures: 6 gave alpha error 0.0115 (0.0119), 1.6x slower
EDGE_TUKEY = 3.0  # robust weight cut-off, in residual scales
EDGE_ANCHOR = 1e-4  # pull toward the statistics estimate, relative to a pixel's own step terms
EDGE_CHUNK = 32  # frames summed at once (memory)
EDGE_SCALE_FRAMES = 64  # frames whose residuals set the robust scale
MIN_GAIN = 0.05  # gains below this (alpha > 0.95) are held there while refining: 1 / gain explodes


@dataclass(frozen=True)
class OverlayBox:
    """Where a static overlay was found, in the frames' luma pixels."""

    x: int
    y: int
    width: int
    height: int
    edge_share: float  # share of the frame's pixels that look screen-fixed


def _gradients(xp: Any, stack: Any) -> tuple[Any, Any]:
    """Central differences along x and y of an (n, h, w) stack; zero on the outermost pixels."""
    gx = xp.zeros_like(stack)
    gy = xp.zeros_like(stack)
    gx[:, :, 1:-1] = (stack[:, :, 2:] - stack[:, :, :-2]) * 0.5
    gy[:, 1:-1, :] = (stack[:, 2:, :] - stack[:, :-2, :]) * 0.5
    return gx, gy


def _persistence(xp: Any, grad: Any) -> tuple[Any, Any]:
    """Median of a gradient over the frames, and how many standard errors of a median it is from zero."""
    median = xp.median(grad, axis=0)
    spread = 1.4826 * xp.median(xp.abs(grad - median[None]), axis=0)
    spread = xp.maximum(spread, SPREAD_FLOOR)
    standard_error = 1.2533 * spread / math.sqrt(grad.shape[0])  # the median's standard error
    return median, xp.abs(median) / standard_error


def find_overlay(lumas: Any) -> OverlayBox | None:
    """Find the strongest screen-fixed overlay in an (n, h, w) stack of luma planes in [0, 1].

    Edges that stay put while the picture changes have a temporal median gradient far from zero
    (the gradient-median idea of Dekel et al., CVPR 2017). The edges are grouped into clusters at
    ``CLUSTER_GAP``; the cluster with the most edge pixels wins and its bounding box, grown by
    ``BOX_MARGIN``, is returned. None when no edge is found.
    """
    xp = xp_of(lumas)
    gx, gy = _gradients(xp, lumas)
    median_x, z_x = _persistence(xp, gx)
    median_y, z_y = _persistence(xp, gy)
    edges = ((z_x > EDGE_Z) & (xp.abs(median_x) > MIN_EDGE)) | ((z_y > EDGE_Z) & (xp.abs(median_y) > MIN_EDGE))
    edges = to_numpy(edges)
    edges[[0, -1], :] = False
    edges[:, [0, -1]] = False
    height, width = edges.shape
    share = float(edges.mean())
    if not edges.any():
        return None
    import scipy.ndimage

    grown = scipy.ndimage.binary_dilation(edges, iterations=CLUSTER_GAP // 2)
    labels, count = scipy.ndimage.label(grown)
    sizes = np.bincount(labels[edges], minlength=count + 1)
    best = int(np.argmax(sizes))
    ys, xs = np.nonzero(edges & (labels == best))
    x0, y0 = max(int(xs.min()) - BOX_MARGIN, 0), max(int(ys.min()) - BOX_MARGIN, 0)
    x1, y1 = min(int(xs.max()) + BOX_MARGIN + 1, width), min(int(ys.max()) + BOX_MARGIN + 1, height)
    return OverlayBox(x0, y0, x1 - x0, y1 - y0, share)


def _laplacian(height: int, width: int) -> Any:
    """The 5-point Laplacian of an ``height x width`` grid (Neumann edges) as a sparse (n, n) matrix."""
    import scipy.sparse

    def second_difference(n: int) -> Any:
        main = np.full(n, 2.0)
        main[[0, -1]] = 1.0
        return scipy.sparse.diags([-np.ones(n - 1), main, -np.ones(n - 1)], [-1, 0, 1])

    return (scipy.sparse.kron(scipy.sparse.identity(height), second_difference(width))
            + scipy.sparse.kron(second_difference(height), scipy.sparse.identity(width))).tocsr()


def harmonic_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` where ``known``; elsewhere the smoothest (harmonic) surface that meets the known pixels."""
    import scipy.sparse.linalg

    height, width = values.shape
    unknown = ~known.ravel()
    if not unknown.any():
        return values.astype(np.float64)
    lap = _laplacian(height, width)
    inner = lap[unknown][:, unknown].tocsc()
    rhs = -lap[unknown][:, ~unknown] @ values.ravel()[~unknown].astype(np.float64)
    out = values.astype(np.float64).ravel().copy()
    out[unknown] = scipy.sparse.linalg.spsolve(inner, rhs)
    return out.reshape(height, width)


def ring_mask(height: int, width: int, ring: int = RING) -> np.ndarray:
    """The outer ``ring`` pixels of an ``height x width`` box."""
    mask = np.ones((height, width), dtype=bool)
    mask[ring:height - ring, ring:width - ring] = False
    return mask


def estimate_from_statistics(stack: Any, ring: int = RING) -> tuple[np.ndarray, np.ndarray, float]:
    """Gain and offset of a static overlay from the statistics of many different backgrounds.

    ``stack`` is (n, h, w): one plane of the overlay's box in n frames whose content varies. Over the
    frames a pixel's mean and standard deviation are ``a * mu_I + b`` and ``a * sigma_I``. The
    background's own statistics ``mu_I``, ``log sigma_I`` vary slowly in space: they are measured on the
    box's outer ``ring`` (no overlay there) and interpolated harmonically across the box. Returns
    ``(a, b, variation)``, the last the median background standard deviation on the ring (too small
    means the backgrounds did not vary enough to learn anything).
    """
    xp = xp_of(stack)
    mean = xp.mean(stack, axis=0, dtype=xp.float64)
    sigma = xp.std(stack, axis=0, dtype=xp.float64)
    mean, sigma = to_numpy(mean), to_numpy(sigma)
    known = ring_mask(*mean.shape, ring)
    variation = float(np.median(sigma[known]))
    sigma = np.maximum(sigma, 1e-6)
    sigma_background = np.exp(harmonic_fill(np.log(sigma), known))
    mean_background = harmonic_fill(mean, known)
    gain = np.clip(sigma / sigma_background, 0.0, 1.0)
    gain[known] = 1.0
    offset = mean - gain * mean_background
    offset[known] = 0.0
    return gain, offset, variation


def _edge_sums(stack: Any, sample: np.ndarray, first: np.ndarray, second: np.ndarray, inverse_gain: np.ndarray,
               offset_ratio: np.ndarray) -> list[np.ndarray]:
    """Robustly weighted sums over the frames for every neighbour pair (p, q), on the host.

    The residual of a pair in a frame is the background step ``(k_p J_p - c_p) - (k_q J_q - c_q)``; Tukey
    weights (at ``EDGE_TUKEY`` times the residuals' scale on ``sample``, a few frames on the host) keep the
    frames whose background is smooth there. Sums: ``w J_p^2, w J_q^2, w J_p J_q, w J_p, w J_q, w``. A CuPy
    stack is summed by the ``logo_edge_sums`` kernel (``_cuda/kernels/logo.cu``); this loop is its reference.
    """
    steps = (inverse_gain[first] * sample[:, first] - offset_ratio[first]
             - inverse_gain[second] * sample[:, second] + offset_ratio[second])
    cutoff = EDGE_TUKEY * max(1.4826 * float(np.median(np.abs(steps))), SPREAD_FLOOR)
    frames = stack.reshape(stack.shape[0], -1)
    if xp_of(stack) is not np:
        from .._cuda.logo import edge_sums_cuda

        return edge_sums_cuda(frames, first, second, inverse_gain, offset_ratio, cutoff)
    scale_p, scale_q = inverse_gain[first] / cutoff, inverse_gain[second] / cutoff
    shift = (offset_ratio[second] - offset_ratio[first]) / cutoff

    def chunk_sums(start: int) -> list[np.ndarray]:
        chunk = frames[start:start + EDGE_CHUNK].astype(np.float64)
        jp, jq = chunk[:, first], chunk[:, second]
        weight = jp * scale_p  # u, the step in cut-offs, then Tukey's (1 - u^2)^2 inside |u| < 1, else 0
        weight -= jq * scale_q
        weight += shift
        np.square(weight, out=weight)
        np.subtract(1.0, weight, out=weight)
        np.maximum(weight, 0.0, out=weight)
        np.square(weight, out=weight)
        wp, wq = weight * jp, weight * jq
        return [np.einsum("ij,ij->j", wp, jp), np.einsum("ij,ij->j", wq, jq), np.einsum("ij,ij->j", wp, jq),
                wp.sum(axis=0), wq.sum(axis=0), weight.sum(axis=0)]

    sums = [np.zeros(first.size) for _ in range(6)]
    # Chunks on the host threads, added in chunk order: the same sums on any core count.
    for part in parallel_map(chunk_sums, range(0, frames.shape[0], EDGE_CHUNK)):
        for total, term in zip(sums, part, strict=True):
            total += term
    return sums


@dataclass(frozen=True)
class _PairTerm:
    """Where entry (i, j) of a pair's 4x4 block of the normal equations goes: ``key`` names its sum, ``rows``
    and ``cols`` place it for the pairs whose both unknowns are free (``both``); for the pairs whose
    unknown j is on the ring (``fixed``; k = 1, c = 0 there) it moves to the right-hand side at ``rhs_rows``."""

    key: tuple[int, int]
    both: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    fixed: np.ndarray
    rhs_rows: np.ndarray
    ring_value: float


def _pair_terms(first: np.ndarray, second: np.ndarray, known: np.ndarray, position: np.ndarray) -> list[_PairTerm]:
    # The pair residual is v . (k_p, c_p, k_q, c_q) with v = (J_p, -1, -J_q, 1); unknown 2 u is k, 2 u + 1 is c.
    nodes, kinds = (first, first, second, second), (0, 1, 0, 1)
    terms = []
    for i in range(4):
        row_free = ~known[nodes[i]]
        for j in range(4):
            col_free = ~known[nodes[j]]
            both, fixed = row_free & col_free, row_free & ~col_free
            terms.append(_PairTerm((min(i, j), max(i, j)), both, 2 * position[nodes[i][both]] + kinds[i],
                                   2 * position[nodes[j][both]] + kinds[j], fixed,
                                   2 * position[nodes[i][fixed]] + kinds[i], 1.0 if kinds[j] == 0 else 0.0))
    return terms


def refine_by_edges(stack: Any, gain: np.ndarray, offset: np.ndarray, ring: int = RING,
                    iterations: int = EDGE_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Sharpen a statistics estimate with the frames whose background is smooth across neighbouring pixels.

    With ``k = 1 / gain`` and ``c = offset / gain`` the background is ``I = k J - c``. Where the background
    is smooth between two neighbouring pixels in a frame (flat areas, which pictures have plenty of), the
    step ``I_p - I_q`` is about zero whatever the background's level, and that ties ``k, c`` of the pair;
    frames with a real step there are dropped by a robust weight. Solved over the whole box at once (a
    sparse least-squares system, re-weighted ``iterations`` times) with the ring fixed at no overlay, so
    what one pixel's frames say is shared with its neighbours. Smoothness alone prefers a fainter overlay
    (every step inside shrinks with ``k``), so each pixel is also held to the statistics estimate with a
    weak weight (``EDGE_ANCHOR``): the statistics fix the level, the steps remove its pixel-to-pixel noise.
    """
    import scipy.sparse
    import scipy.sparse.linalg

    xp = xp_of(stack)
    height, width = gain.shape
    index = np.arange(height * width).reshape(height, width)
    first = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    second = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    known = ring_mask(height, width, ring).ravel()
    unknown = np.flatnonzero(~known)
    if unknown.size == 0:
        return gain, offset
    position = np.full(height * width, -1)
    position[unknown] = np.arange(unknown.size)
    terms = _pair_terms(first, second, known, position)
    rows, cols = np.concatenate([t.rows for t in terms]), np.concatenate([t.cols for t in terms])
    sample = to_numpy(stack[:EDGE_SCALE_FRAMES]).reshape(-1, height * width).astype(np.float64)
    mean_square = float(xp.mean(xp.square(stack, dtype=xp.float64)))
    inverse_gain = 1.0 / np.maximum(gain.ravel().astype(np.float64), MIN_GAIN)
    offset_ratio = offset.ravel().astype(np.float64) * inverse_gain
    inverse_gain[known], offset_ratio[known] = 1.0, 0.0
    anchor = np.empty(2 * unknown.size)
    anchor[0::2], anchor[1::2] = inverse_gain[unknown], offset_ratio[unknown]
    for _ in range(iterations):
        pp, qq, pq, p1, q1, ones = _edge_sums(stack, sample, first, second, inverse_gain, offset_ratio)
        products = {(0, 0): pp, (0, 1): -p1, (0, 2): -pq, (0, 3): p1, (1, 1): ones, (1, 2): q1, (1, 3): -ones,
                    (2, 2): qq, (2, 3): -q1, (3, 3): ones}
        values = np.concatenate([products[t.key][t.both] for t in terms])
        rhs = np.zeros(2 * unknown.size)
        for t in terms:
            if t.ring_value:
                np.add.at(rhs, t.rhs_rows, -products[t.key][t.fixed] * t.ring_value)
        system = scipy.sparse.coo_matrix((values, (rows, cols)), shape=(2 * unknown.size,) * 2).tocsc()
        # k is held with the weight of a step term's J^2, c (only to keep pixels whose every frame was
        # dropped solvable) a thousand times more weakly.
        weight = EDGE_ANCHOR * max(float(ones.mean()), 1.0)
        hold = np.empty(2 * unknown.size)
        hold[0::2], hold[1::2] = weight * mean_square, weight * 1e-3
        solution = scipy.sparse.linalg.spsolve(system + scipy.sparse.diags(hold), rhs + hold * anchor)
        inverse_gain[unknown] = np.maximum(solution[0::2], 1.0)
        offset_ratio[unknown] = solution[1::2]
    refined_gain = 1.0 / inverse_gain
    return refined_gain.reshape(height, width), (offset_ratio * refined_gain).reshape(height, width)


def estimate_from_backgrounds(observed: Any, background: Any, iterations: int = 4
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-pixel robust regression ``observed = a * background + b`` over frames whose background is known.

    ``observed`` and ``background`` are (n, h, w); NaN in ``background`` marks samples whose background
    is unknown. Iteratively reweighted least squares with Tukey's biweight (scale from the residuals'
    median absolute deviation) drops frames where something else covers the spot (a moving character).
    Returns ``(a, b, slope_error, noise)``: the gain's standard error per pixel (inf where it cannot be
    regressed) and the residual noise of the whole box.
    """
    xp = xp_of(observed)
    valid = ~xp.isnan(background)
    bg = xp.where(valid, background, 0.0).astype(xp.float64)
    obs = observed.astype(xp.float64)
    weight = valid.astype(xp.float64)
    gain = offset = None
    scale = 0.0
    for _ in range(iterations):
        total = weight.sum(axis=0)
        safe_total = xp.maximum(total, 1e-12)
        mean_bg = (weight * bg).sum(axis=0) / safe_total
        mean_obs = (weight * obs).sum(axis=0) / safe_total
        centred = bg - mean_bg[None]
        spread = (weight * centred * centred).sum(axis=0)
        gain = (weight * centred * (obs - mean_obs[None])).sum(axis=0) / xp.maximum(spread, 1e-12)
        offset = mean_obs - gain * mean_bg
        residual = obs - gain[None] * bg - offset[None]
        abs_res = xp.where(valid, xp.abs(residual), xp.nan)
        # Per-pixel scale: a few frames covered by something else must not set the scale of the whole box.
        pixel_scale = xp.nan_to_num(xp.nanmedian(abs_res, axis=0)) * 1.4826
        scale = max(float(xp.median(pixel_scale)), 0.25 / 255)
        u = residual / (4.685 * xp.maximum(pixel_scale, scale)[None])
        weight = xp.where(valid & (xp.abs(u) < 1), (1 - u * u) ** 2, 0.0)
    used = (weight > 0).sum(axis=0)
    slope_error = xp.where((used >= 3) & (spread > 0), scale / xp.sqrt(xp.maximum(spread, 1e-30)), xp.inf)
    return to_numpy(gain), to_numpy(offset), to_numpy(slope_error), scale


def finish_estimate(gain: np.ndarray, offset: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Clamp a raw estimate to what a blend can be: alpha in [0, 1], colour in [low, high]; noise alphas to 0."""
    gain = np.clip(gain, 0.0, 1.0)
    alpha = 1.0 - gain
    alpha[alpha < ALPHA_FLOOR] = 0.0
    gain = 1.0 - alpha
    offset = np.clip(offset, alpha * low, alpha * high)
    return gain.astype(np.float32), offset.astype(np.float32)


def deblend(observed: Any, gain: Any, offset: Any, strength: float = 1.0) -> Any:
    """The background under an overlay of the given ``strength`` (1 = as estimated, 0 = absent).

    With the overlay scaled by ``s`` the frame is ``(1 - s * alpha) * I + s * alpha * colour``; where the
    gain is 0 (opaque) the result is not finite and must be filled instead.
    """
    xp = xp_of(observed)
    scaled_gain = 1.0 - strength * (1.0 - gain)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((observed - strength * offset) / scaled_gain).astype(xp.float32)


def deblend_trusted(observed: Any, gain: Any, offset: Any, strength: float, max_alpha: float) -> Any:
    """``deblend`` where the overlay (at ``strength``) has alpha up to ``max_alpha``, NaN where it hides more.

    CuPy arrays go through the fused ``logo_deblend`` kernel (``_cuda/kernels/logo.cu``).
    """
    xp = xp_of(observed)
    if xp is not np:
        from .._cuda.logo import deblend_trusted_cuda

        return deblend_trusted_cuda(observed, gain, offset, strength, 1.0 - max_alpha)
    trusted = 1.0 - strength * (1.0 - gain) >= 1.0 - max_alpha
    return np.where(trusted, deblend(observed, gain, offset, strength), np.nan).astype(np.float32)


def combine_estimates(own: Any, own_variance: Any, other: Any, other_variance: Any, agreement: float = 4.0) -> Any:
    """Inverse-variance mean of the frame's own de-blended value and one from other frames.

    Where they disagree by more than ``agreement`` combined standard deviations (something moved in
    this frame only), the frame's own value stands; where the own value is missing (NaN) the other
    one does, and where both are missing the result is NaN. CuPy arrays go through the fused
    ``logo_combine`` kernel.
    """
    xp = xp_of(own)
    if xp is not np:
        from .._cuda.logo import combine_estimates_cuda

        return combine_estimates_cuda(own, own_variance, other, other_variance, agreement)
    own_ok = xp.isfinite(own) & xp.isfinite(own_variance)
    other_ok = xp.isfinite(other) & xp.isfinite(other_variance)
    w_own = xp.where(own_ok, 1.0 / xp.maximum(own_variance, 1e-12), 0.0)
    w_other = xp.where(other_ok, 1.0 / xp.maximum(other_variance, 1e-12), 0.0)
    own_v = xp.where(own_ok, own, 0.0)
    other_v = xp.where(other_ok, other, 0.0)
    mixed = (w_own * own_v + w_other * other_v) / xp.maximum(w_own + w_other, 1e-30)
    tolerance = agreement * xp.sqrt(xp.where(own_ok, own_variance, 0.0) + xp.where(other_ok, other_variance, 0.0))
    disagree = own_ok & other_ok & (xp.abs(own_v - other_v) > tolerance)
    out = xp.where(disagree, own_v, mixed)
    return xp.where(own_ok | other_ok, out, xp.nan).astype(xp.float32)


class SmoothFill:
    """Fill a masked part of a box smoothly, keeping weighted data where there is some.

    Inside ``fill`` the result minimises ``sum(weight * (x - data)^2) + sum((laplacian x)^2)``; outside it
    is the given values, which bound the fill on every side, so no seam appears. With zero weight this
    is biharmonic inpainting; a weight lets a noisy de-blend (alpha near 1) still pull the result. The
    matrix depends only on the mask and the weights: it is factorised once and reused for every frame.
    """

    def __init__(self, fill: np.ndarray, weight: np.ndarray):
        import scipy.sparse
        import scipy.sparse.linalg

        self.shape = fill.shape
        self.fill = fill.ravel().copy()
        lap = _laplacian(*fill.shape)
        rows = np.asarray(abs(lap) @ self.fill.astype(np.float64)).ravel() > 0  # stencils touching the fill
        lap = lap[rows]
        self._lap_fill = lap[:, self.fill].tocsc()
        self._lap_known = lap[:, ~self.fill].tocsc()
        self._weight = weight.ravel()[self.fill].astype(np.float64)
        system = (self._lap_fill.T @ self._lap_fill + scipy.sparse.diags(self._weight)).tocsc()
        self._solve = scipy.sparse.linalg.factorized(system) if self.fill.any() else None

    def __call__(self, values: np.ndarray, data: np.ndarray) -> np.ndarray:
        """``values`` (finite outside the fill) with the fill solved; ``data`` is read inside the fill only."""
        out = np.asarray(values, dtype=np.float64).ravel().copy()
        if self._solve is None:
            return out.reshape(self.shape)
        inside = np.nan_to_num(np.asarray(data, dtype=np.float64).ravel()[self.fill])
        rhs = self._weight * inside - self._lap_fill.T @ (self._lap_known @ out[~self.fill])
        out[self.fill] = self._solve(rhs)
        return out.reshape(self.shape)


def overlay_strength(observed: Any, gain: Any, offset: Any, iterations: int = 3) -> float:
    """How strongly the overlay shows in one frame's box: 1 = as estimated, 0 = absent (fades, breaks).

    Across the overlay's own edges the background barely changes between neighbouring pixels, so the
    step the frame shows there is the overlay's step scaled by the strength: a least-squares fit over
    every edge pixel pair, refined with the background de-blended at the current strength.
    """
    xp = xp_of(observed)
    alpha = 1.0 - gain
    strength = 1.0
    for _ in range(iterations):
        background = deblend(observed, gain, offset, strength)
        background = xp.where(xp.isfinite(background), background, observed)
        num = den = 0.0
        for first, second in (((slice(None, -1),), (slice(1, None),)),  # vertical neighbours
                              ((slice(None), slice(None, -1)), (slice(None), slice(1, None)))):  # horizontal
            d_obs = observed[second] - observed[first]
            d_alpha = alpha[second] - alpha[first]
            d_offset = offset[second] - offset[first]
            mid = 0.5 * (background[first] + background[second])
            # frame step = s * (offset step - background * alpha step) + (1 - s alpha) * background step
            model = d_offset - mid * d_alpha
            weight = xp.abs(d_alpha) > 0.02
            num += float((xp.where(weight, model * d_obs, 0.0)).sum())
            den += float((xp.where(weight, model * model, 0.0)).sum())
        if den <= 0:
            return 1.0
        strength = min(max(num / den, 0.0), 1.0)
    return strength

