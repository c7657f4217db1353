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
    "smooth_gain",
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
EDGE_ITERATIONS = 4  # Gauss-Newton steps, each re-weighted
EDGE_TUKEY = 3.0  # robust weight cut-off, in residual scales
EDGE_MEMBRANE = 1e-6  # neighbours' (a, b) held together, relative to a pair's own terms: a tie-breaker only
EDGE_CHUNK = 32  # frames summed at once (memory)
EDGE_SCALE_FRAMES = 64  # frames whose residuals set the robust scale
MIN_GAIN = 0.05  # gains below this (alpha > 0.95) are held there while refining: 1 / gain explodes
# Pooling a pan's per-pixel regressions (smooth_gain)
POOL_RADIUS = 4.0  # px: how far a gain of standard error SLOPE_ERROR is pooled with its neighbours
GUIDE_SCALE = 0.01  # step of the box's temporal mean (units) across which neighbours are no longer pooled


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


def _neighbour_pairs(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``(first, second)`` of every pair of 4-neighbours on an ``height x width`` grid:
    the horizontal pairs, then the vertical ones."""
    index = np.arange(height * width).reshape(height, width)
    return (np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()]),
            np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()]))


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


def smooth_gain(gain: np.ndarray, slope_error: np.ndarray, guide: np.ndarray, fallback: np.ndarray,
                radius: float = POOL_RADIUS) -> np.ndarray:
    """Pool per-pixel gain estimates with their neighbours, by their precision, but not across the logo's edges.

    A pan's regressions are per pixel; where the background changed little behind a pixel, its gain is
    noisy (``slope_error``, its standard error; inf where it could not be regressed). The logo is made of
    regions of one alpha, and its edges show in ``guide``, the box's temporal mean (the moving picture
    averages out, the logo stays). So solve for the gain ``g`` minimising
    ``sum_p (g_p - gain_p)^2 / slope_error_p^2 + lambda sum_pq c_pq (g_p - g_q)^2``, with
    ``c_pq = exp(-((guide_p - guide_q) / GUIDE_SCALE)^2)`` and ``lambda = (radius / SLOPE_ERROR)^2``:
    a gain known to SLOPE_ERROR is pooled over about ``radius`` px, a precise one barely moves, a poor one
    over more, and pixels with no estimate are interpolated along the logo's regions. ``fallback`` decides
    only where nothing else does (a region of the guide with no estimate in it).
    """
    import scipy.sparse
    import scipy.sparse.linalg

    height, width = gain.shape
    first, second = _neighbour_pairs(height, width)
    flat_guide = guide.astype(np.float64).ravel()
    coupling = (radius / SLOPE_ERROR) ** 2 * np.exp(-((flat_guide[first] - flat_guide[second]) / GUIDE_SCALE) ** 2)
    measured = np.isfinite(slope_error).ravel() & np.isfinite(gain).ravel()
    precision = np.where(measured, 1.0 / np.maximum(slope_error.ravel(), 1e-4) ** 2, 0.0)
    tie = 1e-9 * coupling.max(initial=1.0)  # to the fallback: keeps the system regular, decides nothing else
    diagonal = precision + tie + np.bincount(first, coupling, height * width) + np.bincount(second, coupling,
                                                                                           height * width)
    system = scipy.sparse.coo_matrix((np.concatenate([diagonal, -coupling, -coupling]),
                                      (np.concatenate([np.arange(height * width), first, second]),
                                       np.concatenate([np.arange(height * width), second, first]))),
                                     shape=(height * width,) * 2).tocsc()
    rhs = precision * np.where(measured, gain.ravel(), 0.0) + tie * fallback.astype(np.float64).ravel()
    return scipy.sparse.linalg.spsolve(system, rhs).reshape(height, width)


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


def _prediction_terms(sums: list[np.ndarray], gain_p: np.ndarray, offset_p: np.ndarray, gain_q: np.ndarray,
                      offset_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton blocks of pixel p predicted from its neighbour q, over the frames (weighted sums).

    The residual ``e = (J_p - b_p) - (a_p / a_q) (J_q - b_q)`` is linearised at the current (a, b): its
    gradient over ``(a_p, b_p, a_q, b_q)`` is ``u * v1 + v0`` with ``u = J_q - b_q``, so the frame sums of
    ``u``, ``u^2``, ``e`` and ``u e`` give the 4x4 normal block and the gradient of every pair at once. Divided
    by ``a_p^2``: the residual is then in background units, like the step the robust weights judge.
    ``sums`` are the weighted frame sums ``J_p, J_q, J_p J_q, J_q^2, 1``; returns the blocks (n, 4, 4) and
    the gradients (n, 4).
    """
    w_jp, w_jq, w_jpjq, w_jqjq, w = sums
    ratio = gain_p / gain_q
    sum_u = w_jq - offset_q * w
    sum_uu = w_jqjq - 2.0 * offset_q * w_jq + offset_q * offset_q * w
    sum_e = w_jp - offset_p * w - ratio * sum_u
    sum_ue = (w_jpjq - offset_q * w_jp) - offset_p * sum_u - ratio * sum_uu
    zero = np.zeros_like(ratio)
    v1 = np.stack([-1.0 / gain_q, zero, ratio / gain_q, zero], axis=1)
    v0 = np.stack([zero, np.full_like(ratio, -1.0), zero, ratio], axis=1)
    scale = (1.0 / (gain_p * gain_p))[:, None, None]

    def outer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x[:, :, None] * y[:, None, :]

    hessian = scale * (sum_uu[:, None, None] * outer(v1, v1) + sum_u[:, None, None] * (outer(v1, v0) + outer(v0, v1))
                       + w[:, None, None] * outer(v0, v0))
    gradient = scale[:, :, 0] * (sum_ue[:, None] * v1 + sum_e[:, None] * v0)
    return hessian, gradient


def refine_by_edges(stack: Any, gain: np.ndarray, offset: np.ndarray, ring: int = RING,
                    iterations: int = EDGE_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Sharpen a statistics estimate with the frames whose background is smooth across neighbouring pixels.

    Where the background is smooth between neighbours p and q in a frame (flat areas, which pictures have
    plenty of), ``I_p = I_q`` whatever its level, so pixel p is predicted from q:
    ``J_p - b_p = (a_p / a_q) (J_q - b_q)``. Frames with a real step there are dropped by a robust weight.
    Inside a region of one alpha and colour the prediction holds for any common (a, b): it says the pixels
    agree, not what their level is. The level comes from where alpha or colour changes, at the logo's
    edges, and ultimately from the box's outer ``ring``, held at no overlay. (Asking instead for a small
    background step ``I_p - I_q`` everywhere prefers a fainter overlay, since every step inside shrinks
    with it: that bias, not noise, was what limited the estimate on few pictures.)

    Solved over the whole box at once: ``iterations`` Gauss-Newton steps (the prediction is non-linear in
    a), each with the robust weights of the current estimate, both directions of every pair, from the
    statistics estimate. A very weak membrane between neighbours (``EDGE_MEMBRANE``) decides only where
    the frames say nothing (every frame dropped, or a background that never changes).
    """
    import scipy.sparse
    import scipy.sparse.linalg

    height, width = gain.shape
    pixels = height * width
    first, second = _neighbour_pairs(height, width)
    known = ring_mask(height, width, ring).ravel()
    unknown = np.flatnonzero(~known)
    if unknown.size == 0:
        return gain, offset
    position = np.full(pixels, -1)
    position[unknown] = np.arange(unknown.size)
    # Each pair's unknowns (a_p, b_p, a_q, b_q) in the system; -1 where the pixel is on the ring (fixed).
    slots = np.stack([2 * position[first], 2 * position[first] + 1, 2 * position[second], 2 * position[second] + 1],
                     axis=1)
    slots[known[first], :2] = -1
    slots[known[second], 2:] = -1
    rows, cols = np.repeat(slots, 4, axis=1).ravel(), np.tile(slots, (1, 4)).ravel()
    in_system = (rows >= 0) & (cols >= 0)
    rows, cols = rows[in_system], cols[in_system]
    flat_slots = slots.ravel()
    free = flat_slots >= 0
    sample = to_numpy(stack[:EDGE_SCALE_FRAMES]).reshape(-1, pixels).astype(np.float64)
    xp = xp_of(stack)
    mean_square = float(xp.mean(xp.square(stack, dtype=xp.float64)))
    a = np.clip(gain.ravel().astype(np.float64), MIN_GAIN, 1.0)
    b = offset.ravel().astype(np.float64)
    a[known], b[known] = 1.0, 0.0
    for _ in range(iterations):
        pp, qq, pq, p1, q1, ones = _edge_sums(stack, sample, first, second, 1.0 / a, b / a)
        a_p, b_p, a_q, b_q = a[first], b[first], a[second], b[second]
        hessian, gradient = _prediction_terms([p1, q1, pq, qq, ones], a_p, b_p, a_q, b_q)
        back_h, back_g = _prediction_terms([q1, p1, pq, pp, ones], a_q, b_q, a_p, b_p)  # q from p
        swap = [2, 3, 0, 1]
        hessian += back_h[:, swap][:, :, swap]
        gradient += back_g[:, swap]
        # The membrane: (a_p - a_q)^2 + (b_p - b_q)^2, weak, for pixels the frames say nothing about.
        tie = EDGE_MEMBRANE * max(float(ones.mean()), 1.0) * mean_square
        for p_slot, q_slot, values in ((0, 2, a), (1, 3, b)):
            hessian[:, p_slot, p_slot] += tie
            hessian[:, q_slot, q_slot] += tie
            hessian[:, p_slot, q_slot] -= tie
            hessian[:, q_slot, p_slot] -= tie
            difference = values[first] - values[second]
            gradient[:, p_slot] += tie * difference
            gradient[:, q_slot] -= tie * difference
        system = scipy.sparse.coo_matrix((hessian.ravel()[in_system], (rows, cols)),
                                         shape=(2 * unknown.size,) * 2).tocsc()
        total = np.zeros(2 * unknown.size)
        np.add.at(total, flat_slots[free], gradient.ravel()[free])
        step = scipy.sparse.linalg.spsolve(system, -total)
        a[unknown] = np.clip(a[unknown] + step[0::2], MIN_GAIN, 1.0)
        b[unknown] += step[1::2]
    return a.reshape(height, width), b.reshape(height, width)


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

