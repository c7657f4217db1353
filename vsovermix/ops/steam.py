"""The background behind moving steam, from a stack of frames that show it at the same place.

Steam brightens what it covers: ``observed = (1 - a) * background + a * steam`` per pixel and frame,
with ``a`` the steam's opacity and ``steam`` its colour. In every colour space that is an affine map of
the frames' (RGB, YUV of any matrix, GRAY, any range) this reads ``o_t - s = tau_t (b - s)`` with the
transmission ``tau_t = 1 - a_t``: every frame of a pixel lies on the line from the steam colour to the
background, at a distance that scales with ``tau``. So:

1. **One decision for all planes.** A key measures each frame's distance from the steam colour,
   ``dist_t = |s_k - k_t|``: the mean of R, G and B in every colour family (a YUV stack's key is that mean
   computed from Y, Cb and Cr, chroma repeated to luma's resolution). Luma alone weighs blue by 7 %: where a
   background differs from the steam mostly in blue its decision was noise (with a luma key, YUV input left
   3-8 % more colour error in steam than RGB input in ``benchmarks/bench_steam_model.py``). The farthest
   frame is the least steamed; the others' transmission relative to it is ``rho_t = dist_t / max dist``.
   Every plane is then de-blended with the same ``rho`` (chroma at its own resolution: ``rho`` box-averaged
   over the subsampling), each frame weighted by its precision ``rho_t^2``: ``b - s = sum rho (o - s) / sum
   rho^2``. U and V follow the key's decision, so nothing is tinted, and the frames that saw little steam
   dominate.
2. **Steam that covers a pixel in every frame.** Per pixel nothing tells how much steam the least-steamed
   frame still carries (any ``b`` beyond it on the line explains the frames). But steam moves and the
   background does not: the log transmission is modelled as layers that translate at constant velocities,
   ``log tau_t(x) = sum_j L_j(x + v_j t)``, and per pixel ``log tau_t = mu + log rho_t`` where
   ``mu = log M <= 0`` is the residual transmission of the least-steamed frame. The velocities are the peaks
   of the phase correlation of consecutive ``log rho`` maps (the static part removed); the layers and ``mu``
   are one weighted least-squares problem (solved at a reduced resolution: steam is smooth), in which a
   layer value seen clear through one pixel fixes the residual of every other pixel it passed over. What
   the data cannot fix, a constant along each line of the motion (a layer and ``mu`` shifted together), is
   anchored by taking the clearest pixels of each line as clear (a high quantile of ``mu`` along it is 0).
   The background is then ``b = s + (sum rho (o - s) / sum rho^2) / M``.

With no steam motion found (no peak, a single frame) ``M`` is 1: the least-steamed frame's key, de-blended
chroma. The estimate never de-blends past ``MIN_TRANSMISSION`` and is clamped to the container's range by
the caller. Everything here is NumPy (the least-squares solve is SciPy's LSQR on the reduced grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .resample import box_reduce

__all__ = ["SteamBackground", "SteamSettings", "SteamStack", "estimate_steam_colour", "mask_at_key_resolution",
           "steam_background", "steam_velocities"]

MIN_TRANSMISSION = 0.3  # the model never de-blends more than opacity 0.7 (where steam is that thick, nothing shows)


@dataclass(frozen=True)
class SteamSettings:
    """Constants of the steam model (chosen on the tuning set of ``tests/steams.py``)."""

    reduce: int = 4            # the layer solve's grid: every ``reduce`` x ``reduce`` px up to 720 lines (steam is
    #                            smooth), twice that at 1080p (steam is as many px larger as the frame is)
    max_layers: int = 3        # steam layers with their own velocity
    peak_ratio: float = 0.3    # a velocity peak counts when at least this share of the strongest
    min_peak: float = 0.01     # ... and this strong in absolute terms (a random surface's peaks are ~1/sqrt(px))
    max_speed: int = 24        # px per frame searched for steam motion
    min_motion_rho: float = 0.05  # the motion search sees rho clipped here (near-0 rho is noise, not steam)
    confident_distance: float = 0.25  # ... and a pixel in full once its least-steamed frame is this share of
    #                                   the steam's key value away from it (less: in proportion)
    iterations: int = 300      # LSQR iterations of the layer solve
    anchor_quantile: float = 0.9  # along each motion line, the clearest 10 % of pixels are taken as clear
    min_explained: float = 0.95   # share of log rho's temporal variance the layers must explain to be used
    max_control_ratio: float = 0.3  # ... and their misfit at most this share of the misfit with the velocities
    #                                 turned 90 degrees (0.04-0.08 on true layers, > 1 on a pan they do not fit)
    control_iterations: int = 100   # LSQR iterations of that check


@dataclass
class SteamStack:
    """The frames of one window, in one coordinate frame, as float32 code values.

    ``planes[p]`` is a (frames, H_p, W_p) array of plane ``p``; ``valid`` a (frames, H, W) bool array at the
    key's resolution (plane 0's), or None (every pixel of every frame seen). ``subsampling[p]`` is
    ``(ssw, ssh)``. The key is ``sum_p key_weights[p] * (plane_p - key_offsets[p])`` in plane 0's code values.
    """

    planes: list[np.ndarray]
    subsampling: list[tuple[int, int]]
    key_weights: tuple[float, ...]
    key_offsets: tuple[float, ...]
    valid: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return self.planes[0].shape[0]

    def key(self) -> np.ndarray:
        """(frames, H, W) float32 key at plane 0's resolution (subsampled planes repeated to it)."""
        shape = self.planes[0].shape
        out = None
        for plane, (ssw, ssh), weight, offset in zip(self.planes, self.subsampling, self.key_weights,
                                                     self.key_offsets, strict=True):
            if weight == 0:
                continue
            term = np.float32(weight) * (plane - np.float32(offset)) if (weight != 1 or offset) else plane
            if ssw or ssh:
                term = _fit(np.repeat(np.repeat(term, 1 << ssh, axis=1), 1 << ssw, axis=2), shape[1:])
            out = term if out is None else out + term
        return out.astype(np.float32, copy=False)

    def key_of(self, colour: Sequence[float]) -> float:
        """The key of one colour (code values per plane)."""
        return float(sum(w * (c - o) for c, w, o in zip(colour, self.key_weights, self.key_offsets, strict=True)))


def mask_at_key_resolution(mask: np.ndarray, ssw: int, ssh: int, shape: tuple[int, ...]) -> np.ndarray:
    """A subsampled plane's mask at the key's resolution (each sample covers its 2**ssw x 2**ssh block)."""
    full = np.repeat(np.repeat(mask, 1 << ssh, axis=0), 1 << ssw, axis=1)[:shape[0], :shape[1]]
    if full.shape != tuple(shape):
        full = np.pad(full, ((0, shape[0] - full.shape[0]), (0, shape[1] - full.shape[1])))
    return full


def _reduce_to(values: np.ndarray, ssw: int, ssh: int) -> np.ndarray:
    """(frames, H, W) box-averaged to a plane subsampled ``2**ssw x 2**ssh`` (trailing odd px dropped)."""
    if ssw == 0 and ssh == 0:
        return values
    n, h, w = values.shape
    fy, fx = 1 << ssh, 1 << ssw
    cut = values[:, :h // fy * fy, :w // fx * fx]
    return cut.reshape(n, h // fy, fy, w // fx, fx).mean(axis=(2, 4), dtype=np.float32)


def _fit(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(frames, h, w) cropped or edge-padded at the bottom and right to ``shape``."""
    h, w = shape
    values = values[:, :h, :w]
    pad_h, pad_w = h - values.shape[1], w - values.shape[2]
    if pad_h or pad_w:
        values = np.pad(values, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
    return values


def estimate_steam_colour(stack: SteamStack, white: Sequence[float]) -> tuple[float, ...]:
    """The steam's colour, one code value per plane: where the frames' colour lines meet.

    Each pixel's frames lie on the line from its background toward the steam colour; the point nearest
    to all lines (weighted by their length: long lines have well-defined directions) is the colour. A GRAY
    clip has no lines to intersect: its steam is the brightest value the window takes (99.9th percentile).
    ``white`` (the format's white, per plane) pulls an ill-conditioned solve (parallel lines) toward it.
    """
    if len(stack.planes) < 3:
        top = np.percentile(stack.planes[0].max(axis=0), 99.9)
        return (float(top),)
    ssw, ssh = max(s[0] for s in stack.subsampling), max(s[1] for s in stack.subsampling)
    step = 4  # every 4th pixel each way is plenty for a 3x3 solve
    planes = [_reduce_to(p, ssw - s[0], ssh - s[1])[:, ::step, ::step] for p, s in zip(stack.planes,
                                                                                    stack.subsampling, strict=True)]
    shape = min(p.shape[1] for p in planes), min(p.shape[2] for p in planes)
    colours = np.stack([p[:, :shape[0], :shape[1]] for p in planes], axis=-1).astype(np.float64)  # (n, h, w, 3)
    weights = np.asarray(stack.key_weights, np.float64)
    key = (colours - np.asarray(stack.key_offsets, np.float64)) @ weights
    if stack.valid is not None:
        seen = _reduce_to(stack.valid.astype(np.float32), ssw, ssh)[:, ::step, ::step][:, :shape[0], :shape[1]] > 0.99
        key = np.where(seen, key, np.nan)
    with np.errstate(invalid="ignore"):
        lo = np.nanargmin(np.where(np.isnan(key), np.inf, key), axis=0)
        hi = np.nanargmax(np.where(np.isnan(key), -np.inf, key), axis=0)
    base = np.take_along_axis(colours, lo[None, ..., None], axis=0)[0].reshape(-1, 3)
    direction = (np.take_along_axis(colours, hi[None, ..., None], axis=0)[0].reshape(-1, 3) - base)
    length2 = (direction ** 2).sum(axis=1)
    white_arr = np.asarray(white, np.float64)
    scale2 = float((white_arr ** 2).sum()) or 1.0
    use = length2 > np.percentile(length2, 75)  # the pixels steam moved over most
    if not use.any() or length2[use].max() <= 1e-6 * scale2:
        return tuple(float(v) for v in white)
    d = direction[use] / np.sqrt(length2[use])[:, None]
    weight = length2[use]
    projector = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # (k, 3, 3): removes the along-line part
    normal = (weight[:, None, None] * projector).sum(axis=0)
    rhs = (weight[:, None, None] * projector @ base[use][:, :, None]).sum(axis=0)[:, 0]
    ridge = 1e-3 * np.trace(normal) / 3.0
    colour = np.linalg.solve(normal + ridge * np.eye(3), rhs + ridge * white_arr)
    return tuple(float(v) for v in colour)


def steam_velocities(log_rho: np.ndarray, settings: SteamSettings) -> list[tuple[float, float]]:
    """Velocities ``(vx, vy)`` in px per frame of the steam layers seen in ``log_rho`` (frames, H, W).

    The per-pixel temporal mean (the background's part, and the unknown residual) is removed; the phase
    correlation of every consecutive pair is summed, and its strongest peaks outside the 3x3 around zero (a
    layer that does not move is part of the background) are refined to sub-pixel by parabolas (a second
    layer's peak two px away pulls them by up to 0.15 px/frame: the fit check of the layer solve catches what
    that spoils). The sign is the layer's: ``log tau_t(x) = L(x + v t)`` (steam rising by 3 px per frame has
    ``vy = +3``).
    """
    n, h, w = log_rho.shape
    if n < 2:
        return []
    factor = max(1, round(math.sqrt(h * w / 1.2e6)))  # 1080p: half resolution is plenty to find the peaks
    maps = log_rho
    if factor > 1:
        maps = np.stack([box_reduce(np.ascontiguousarray(m), factor) for m in log_rho])
    mean = maps.mean(axis=0)
    cross = np.zeros(maps.shape[1:], np.complex128)
    previous = np.fft.fft2(maps[0] - mean)
    for t in range(1, n):  # one spectrum at a time: a whole shot's spectra would not fit
        current = np.fft.fft2(maps[t] - mean)
        cross += current * np.conj(previous)
        previous = current
    cross /= np.abs(cross) + 1e-12
    surface = np.fft.ifft2(cross).real
    reach = min(max(1, settings.max_speed // factor), maps.shape[1] // 2 - 1, maps.shape[2] // 2 - 1)
    if reach < 2:
        return []
    window = np.roll(surface, (reach, reach), axis=(0, 1))[:2 * reach + 1, :2 * reach + 1]
    search = window.copy()
    search[reach - 1:reach + 2, reach - 1:reach + 2] = -np.inf
    found: list[tuple[float, float]] = []
    strongest = None
    # Each layer is an image of unknowns besides mu: with fewer than two frames per unknown image the layers fit
    # anything (3 frames, 3 "layers": every pixel explained, nothing learnt).
    for _ in range(min(settings.max_layers, n // 2 - 1)):
        iy, ix = np.unravel_index(int(np.argmax(search)), search.shape)
        value = float(search[iy, ix])
        strongest = value if strongest is None else strongest
        if value < settings.min_peak or value < settings.peak_ratio * strongest:
            break
        dy = iy - reach + (_parabola(window, iy, ix, 0) if 0 < iy < 2 * reach else 0.0)
        dx = ix - reach + (_parabola(window, iy, ix, 1) if 0 < ix < 2 * reach else 0.0)
        # frame t+1 is frame t moved by the peak's (dy, dx): the layer coordinate moves the other way
        found.append((-dx * factor, -dy * factor))
        search[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2] = -np.inf
    return found


def _parabola(surface: np.ndarray, iy: int, ix: int, axis: int) -> float:
    """Sub-pixel offset of a peak along one axis, from the parabola through it and its two neighbours."""
    if axis == 0:
        m, z, p = surface[iy - 1, ix], surface[iy, ix], surface[iy + 1, ix]
    else:
        m, z, p = surface[iy, ix - 1], surface[iy, ix], surface[iy, ix + 1]
    curvature = m - 2 * z + p
    return 0.0 if curvature >= 0 else float(np.clip(0.5 * (m - p) / curvature, -0.5, 0.5))


class _Layers:
    """The linear map (layers, mu) -> sqrt(w) (sum_j L_j(x + v_j t) - mu(x)) on the reduced grid, and its adjoint.

    Each layer lives on a grid large enough for every frame's shifted view; a fractional shift samples it
    bilinearly (its adjoint scatters with the same weights).
    """

    def __init__(self, frames: int, height: int, width: int, velocities: Sequence[tuple[float, float]],
                 sqrt_weight: np.ndarray):
        self.n, self.h, self.w = frames, height, width
        self.times = np.arange(frames, dtype=np.float64) - (frames - 1) / 2.0
        self.sqrt_weight = sqrt_weight
        self.layers = []
        for vx, vy in velocities:
            oy = math.floor(min(vy * self.times[0], vy * self.times[-1]))
            ox = math.floor(min(vx * self.times[0], vx * self.times[-1]))
            hh = height + math.ceil(abs(vy) * (frames - 1)) + 2
            ww = width + math.ceil(abs(vx) * (frames - 1)) + 2
            self.layers.append((vx, vy, ox, oy, hh, ww))
        self.sizes = [hh * ww for *_, hh, ww in self.layers]
        self.unknowns = sum(self.sizes) + height * width

    def _split(self, z: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        out, start = [], 0
        for (*_, hh, ww), size in zip(self.layers, self.sizes, strict=True):
            out.append(z[start:start + size].reshape(hh, ww))
            start += size
        return out, z[start:].reshape(self.h, self.w)

    def _where(self, layer: tuple, t: int) -> tuple[int, int, float, float]:
        vx, vy, ox, oy, _, _ = layer
        y, x = vy * self.times[t] - oy, vx * self.times[t] - ox
        iy, ix = math.floor(y), math.floor(x)
        return iy, ix, y - iy, x - ix

    def log_tau(self, z: np.ndarray) -> np.ndarray:
        layers, _ = self._split(z)
        out = np.zeros((self.n, self.h, self.w))
        h, w = self.h, self.w
        for t in range(self.n):
            for layer, values in zip(self.layers, layers, strict=True):
                iy, ix, fy, fx = self._where(layer, t)
                out[t] += ((1 - fy) * (1 - fx) * values[iy:iy + h, ix:ix + w]
                           + (1 - fy) * fx * values[iy:iy + h, ix + 1:ix + 1 + w]
                           + fy * (1 - fx) * values[iy + 1:iy + 1 + h, ix:ix + w]
                           + fy * fx * values[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w])
        return out

    def matvec(self, z: np.ndarray) -> np.ndarray:
        _, mu = self._split(z)
        return (self.sqrt_weight * (self.log_tau(z) - mu)).ravel()

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        y = self.sqrt_weight * y.reshape(self.n, self.h, self.w)
        layers = [np.zeros((hh, ww)) for *_, hh, ww in self.layers]
        h, w = self.h, self.w
        for t in range(self.n):
            for layer, values in zip(self.layers, layers, strict=True):
                iy, ix, fy, fx = self._where(layer, t)
                values[iy:iy + h, ix:ix + w] += (1 - fy) * (1 - fx) * y[t]
                values[iy:iy + h, ix + 1:ix + 1 + w] += (1 - fy) * fx * y[t]
                values[iy + 1:iy + 1 + h, ix:ix + w] += fy * (1 - fx) * y[t]
                values[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w] += fy * fx * y[t]
        return np.concatenate([*(v.ravel() for v in layers), -y.sum(axis=0).ravel()])

    def column_norms(self) -> np.ndarray:
        """The Euclidean norm of each unknown's column (LSQR converges far faster on unit columns)."""
        weight = self.sqrt_weight ** 2
        layers = [np.zeros((hh, ww)) for *_, hh, ww in self.layers]
        h, w = self.h, self.w
        for t in range(self.n):
            for layer, values in zip(self.layers, layers, strict=True):
                iy, ix, fy, fx = self._where(layer, t)
                values[iy:iy + h, ix:ix + w] += ((1 - fy) * (1 - fx)) ** 2 * weight[t]
                values[iy:iy + h, ix + 1:ix + 1 + w] += ((1 - fy) * fx) ** 2 * weight[t]
                values[iy + 1:iy + 1 + h, ix:ix + w] += (fy * (1 - fx)) ** 2 * weight[t]
                values[iy + 1:iy + 1 + h, ix + 1:ix + 1 + w] += (fy * fx) ** 2 * weight[t]
        return np.sqrt(np.concatenate([*(v.ravel() for v in layers), weight.sum(axis=0).ravel()]))


def _reduced_log_rho(log_rho: np.ndarray, weight: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``log_rho`` averaged over ``factor`` x ``factor`` blocks by ``weight``, and the blocks' weights (max 1)."""
    n, height, width = log_rho.shape
    h, w = max(1, height // factor), max(1, width // factor)
    cut = (slice(None), slice(0, h * factor), slice(0, w * factor))
    wsum = weight[cut].reshape(n, h, factor, w, factor).sum(axis=(2, 4), dtype=np.float64)
    lsum = (weight * log_rho)[cut].reshape(n, h, factor, w, factor).sum(axis=(2, 4), dtype=np.float64)
    reduced = np.where(wsum > 0, lsum / np.maximum(wsum, 1e-30), 0.0)
    return reduced, wsum / max(float(wsum.max()), 1e-30)


def _layer_fit(reduced: np.ndarray, wsum: np.ndarray, velocities: Sequence[tuple[float, float]],
               iterations: int) -> tuple[np.ndarray, float]:
    """The layer solve on a reduced grid (velocities in its px): ``mu``, and the share of the weighted temporal
    variance of ``reduced`` that the layers explain."""
    from scipy.sparse.linalg import LinearOperator, lsqr

    n, h, w = reduced.shape
    model = _Layers(n, h, w, velocities, np.sqrt(wsum))
    # Solved for z = D x with D the column norms (a Jacobi preconditioner): unknowns no frame sees stay 0.
    norms = model.column_norms()
    scale = np.where(norms > 1e-12, 1.0 / np.maximum(norms, 1e-12), 0.0)
    operator = LinearOperator((n * h * w, model.unknowns), matvec=lambda z: model.matvec(scale * z),
                              rmatvec=lambda y: scale * model.rmatvec(y), dtype=np.float64)
    data = (model.sqrt_weight * reduced).ravel()
    solution = scale * lsqr(operator, data, damp=1e-3, iter_lim=iterations)[0]
    misfit = model.matvec(solution) - data
    mean = (wsum * reduced).sum(axis=0) / np.maximum(wsum.sum(axis=0), 1e-30)
    spread = (model.sqrt_weight * (reduced - mean)).ravel()
    explained = 1.0 - float((misfit ** 2).sum()) / max(float((spread ** 2).sum()), 1e-30)
    return model._split(solution)[1], explained


def _residual_transmission(log_rho: np.ndarray, weight: np.ndarray, velocities: list[tuple[float, float]],
                           shape: tuple[int, int], settings: SteamSettings) -> tuple[np.ndarray, list] | None:
    """``mu = log M`` (<= 0) at full resolution ``shape``, the least-steamed frame's residual log transmission,
    and the velocities; None where the layer model does not explain the frames.

    (Refining the velocities by the fit was tried: the share explained moves by 1e-4 between 3.14 and 3 px/frame
    and a short trial solve ranks them wrongly, so the correlation's parabola stands.)"""
    from scipy.ndimage import zoom

    f = settings.reduce * max(1, round(shape[0] / 720))
    # With as many free patterns as layers, a fit explains much of any stack: the velocities must matter. The
    # same fit with every velocity turned by 90 degrees (a control, on a grid twice as coarse) must leave many
    # times the misfit, or the layers are not what moves. Checked first: it is the cheap one. (Predicting a
    # frame left out of the fit was tried instead: on the coarse grid it rejects layers that help, a gray test
    # stack at 0.61 of the mean's error against 0.37-0.44 on the pan that fails; on the solve's grid, unknowns
    # seen by one frame make it wild.)
    g = 2 * f
    coarse, coarse_wsum = _reduced_log_rho(log_rho, weight, g)
    fitted = _layer_fit(coarse, coarse_wsum, [(vx / g, vy / g) for vx, vy in velocities],
                        settings.control_iterations)[1]
    control = _layer_fit(coarse, coarse_wsum, [(vy / g, -vx / g) for vx, vy in velocities],
                         settings.control_iterations)[1]
    if (1.0 - fitted) > settings.max_control_ratio * max(1.0 - control, 1e-12):
        return None
    reduced, wsum = _reduced_log_rho(log_rho, weight, f)
    mu, explained = _layer_fit(reduced, wsum, [(vx / f, vy / f) for vx, vy in velocities], settings.iterations)
    # A steam that is not layers moving at these velocities (it billows, the pan is not steady) leaves much of
    # log rho unexplained, and its mu would de-blend what is not steam: keep M = 1 then.
    if explained < settings.min_explained:
        return None
    # The data fix mu only up to a constant along each line of the motion: take the clearest pixels of each
    # line as clear. Lines follow the strongest layer's direction (columns for steam that rises).
    mu = np.minimum(mu - _line_quantiles(mu, velocities[0], settings.anchor_quantile), 0.0)
    h, w = mu.shape
    full = zoom(mu, (shape[0] / h, shape[1] / w), order=1, mode="nearest", grid_mode=True)
    return _fit(full[None].astype(np.float32), shape)[0], velocities


@dataclass(frozen=True)
class SteamBackground:
    """``steam_background``'s answer: one float32 plane per plane of the stack (code values, not clamped), and
    the velocities ``(vx, vy)`` of the steam layers the residual was solved with (empty: none found)."""

    planes: list[np.ndarray]
    velocities: list[tuple[float, float]]


def _line_quantiles(values: np.ndarray, velocity: tuple[float, float], quantile: float) -> np.ndarray:
    """Each pixel's ``quantile`` of ``values`` over the pixels on its line along ``velocity`` (1 px wide lines)."""
    vx, vy = velocity
    norm = math.hypot(vx, vy)
    h, w = values.shape
    yy, xx = np.mgrid[0:h, 0:w]
    line = np.rint((xx * vy - yy * vx) / norm).astype(np.int64).ravel()
    line -= line.min()
    flat = values.ravel()
    order = np.lexsort((flat, line))  # by line, then by value
    counts = np.bincount(line)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picks = starts + np.floor(quantile * (counts - 1)).astype(np.int64)
    per_line = flat[order][picks[counts > 0]]
    table = np.zeros(counts.size, flat.dtype)
    table[counts > 0] = per_line
    return table[line].reshape(h, w)


def steam_background(stack: SteamStack, colour: Sequence[float], settings: SteamSettings = SteamSettings(),
                     black: float = 0.0) -> SteamBackground:
    """The background behind the steam of ``stack``.

    ``colour`` is the steam's colour in code values, one per plane; ``black`` the key's black (the de-blend
    never takes the key below it). Pixels no frame saw (``valid`` all False) hold the plain mean of the frames
    there (every frame is then used).
    """
    key = stack.key()
    steam_key = stack.key_of(colour)
    sign = np.float32(1.0 if steam_key >= float(np.median(key)) else -1.0)  # steam brighter (usual) or darker
    dist = np.maximum(sign * (np.float32(steam_key) - key), 0.0)
    if stack.valid is not None:
        dist = np.where(stack.valid, dist, -1.0)
    farthest = dist.max(axis=0)
    visible = farthest > 1e-6 * max(abs(steam_key), 1.0)
    rho = np.where(visible, dist / np.where(visible, farthest, 1.0), 1.0)
    rho = np.where(rho < 0, 0.0, rho).astype(np.float32)  # frames that did not see the pixel count for nothing
    if stack.valid is not None:
        rho = np.where(stack.valid.any(axis=0), rho, 1.0)
    residual = np.zeros(key.shape[1:], np.float32)
    velocities: list[tuple[float, float]] = []
    if stack.frames >= 2:
        log_rho = np.log(np.maximum(rho, 1e-3))
        weight = (np.maximum(dist, 0.0) / max(abs(steam_key), 1e-6)) ** 2
        # Where the background is near the steam's colour, rho is noise over noise (and 0 where a frame sits past
        # the colour): those pixels would show the background's pattern as motion. Each pixel counts by a static
        # confidence (how far its least-steamed frame is from the colour), which adds no motion of its own.
        confidence = np.minimum(farthest / (settings.confident_distance * max(abs(steam_key), 1e-6)), 1.0)
        floor = np.float64(math.log(settings.min_motion_rho))  # float64: the correlation sums many frames
        velocities = steam_velocities(np.where(rho > 0, np.maximum(log_rho, floor), 0.0) * confidence, settings)
        solved = _residual_transmission(log_rho, weight, velocities, key.shape[1:], settings) if velocities else None
        if solved is None:
            velocities = []
        else:
            residual, velocities = solved
    # A background is no darker than black: de-blending the key past it says the residual was overestimated.
    room = np.maximum(sign * (np.float32(steam_key) - np.float32(black)), 1e-6)
    transmission = np.maximum(np.maximum(np.exp(residual), MIN_TRANSMISSION), np.minimum(farthest / room, 1.0))
    transmission = transmission.astype(np.float32)
    out = []
    for p, (plane, (ssw, ssh)) in enumerate(zip(stack.planes, stack.subsampling, strict=True)):
        shape = plane.shape[1:]
        r = _fit(_reduce_to(rho, ssw, ssh), shape)
        m = _fit(_reduce_to(transmission[None], ssw, ssh), shape)[0]
        s = np.float32(colour[p])
        weight_sum = (r * r).sum(axis=0)
        deblended = (r * (plane - s)).sum(axis=0) / np.maximum(weight_sum, 1e-12)
        out.append((s + deblended / m).astype(np.float32))
    return SteamBackground(out, velocities)
