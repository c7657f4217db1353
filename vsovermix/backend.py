"""Which array backend runs the pixel maths: CuPy on a CUDA GPU, or NumPy.

The choice is made when a filter is *called* (graph build), never inside a frame callback: a CuPy
failure there would surface as "Failed to retrieve frame 0" in vspipe. CuPy is probed once per
process (import, ``cupy.is_available()``, a tiny allocation and a compiled kernel launch) and the
result is cached.

Precedence for ``backend="auto"`` (the default of every filter): the innermost
:func:`use_backend` block, else the ``VSOVERMIX_BACKEND`` environment variable, else the probe.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import threading
import warnings
from collections.abc import Hashable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .errors import BackendUnavailableError, FuncLike, InvalidArgumentError

__all__ = [
    "Backend",
    "CupyProbe",
    "PlaneIO",
    "array_module",
    "plane_io",
    "probe_cupy",
    "resolve_backend",
    "use_backend",
]

ENV_VAR = "VSOVERMIX_BACKEND"
INSTALL_HINT = 'pip install "vsovermix[cuda12]" (CUDA 12 driver) or "vsovermix[cuda13]" (CUDA 13 driver)'


class Backend(enum.StrEnum):
    AUTO = "auto"
    CUPY = "cupy"
    NUMPY = "numpy"


@dataclass(frozen=True)
class CupyProbe:
    """Outcome of the one-per-process CuPy probe."""

    usable: bool
    reason: str  # why not, when not usable; "" otherwise
    cupy_version: str | None = None
    runtime_version: int | None = None
    driver_version: int | None = None
    device_name: str | None = None
    device_memory: int | None = None


_PROBE_KERNEL = r"""
extern "C" __global__ void vsovermix_probe(float* x) { x[threadIdx.x] += 1.0f; }
"""


@functools.cache
def probe_cupy() -> CupyProbe:
    """Probe CuPy once per process; never raises."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken install raising anything else
        return CupyProbe(False, f"CuPy is not installed ({type(exc).__name__}: {exc})")
    version = cupy.__version__
    runtime = driver = None
    with contextlib.suppress(Exception):
        runtime = int(cupy.cuda.runtime.runtimeGetVersion())
        driver = int(cupy.cuda.runtime.driverGetVersion())
    try:
        if not cupy.is_available():
            reason = "CuPy finds no usable CUDA device"
            if driver == 0:
                reason += " (no NVIDIA driver is loaded)"
            return CupyProbe(False, reason, version, runtime, driver)
        x = cupy.zeros(32, dtype=cupy.float32)
        cupy.RawKernel(_PROBE_KERNEL, "vsovermix_probe")((1,), (32,), (x,))
        if float(x.sum()) != 32.0:
            return CupyProbe(False, "a test kernel ran but returned a wrong result", version, runtime, driver)
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        return CupyProbe(True, "", version, runtime, driver, name, int(props["totalGlobalMem"]))
    except Exception as exc:  # CUDARuntimeError, NVRTC/compile errors, missing libraries
        return CupyProbe(False, f"CuPy cannot run a kernel ({type(exc).__name__}: {exc})", version, runtime, driver)


_context_backend: ContextVar[Backend | None] = ContextVar("vsovermix_backend", default=None)
_fallback_warned = threading.Event()


def _parse(func: FuncLike, name: str, value: object) -> Backend:
    if isinstance(value, Backend):
        return value
    InvalidArgumentError.check_choice(func, name, value, [b.value for b in Backend])
    return Backend(value)


@contextlib.contextmanager
def use_backend(backend: Backend | str) -> Iterator[Backend]:
    """Make ``backend`` the default for filters called with ``backend="auto"`` inside the block.

    Example::

        with vo.use_backend("numpy"):
            clip = vo.steam(clip, tr=3)   # NumPy even where a GPU is present
    """
    token = _context_backend.set(_parse("use_backend", "backend", backend))
    try:
        yield _context_backend.get() or Backend.AUTO
    finally:
        _context_backend.reset(token)


def default_backend() -> Backend:
    """The backend ``"auto"`` stands for before probing: context manager, then environment, then AUTO."""
    ctx = _context_backend.get()
    if ctx is not None:
        return ctx
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env:
        return _parse("backend", f"the environment variable {ENV_VAR}", env)
    return Backend.AUTO


def resolve_backend(backend: Backend | str, func: FuncLike) -> Backend:
    """Turn a filter's ``backend`` argument into CUPY or NUMPY, at call time.

    ``auto`` falls back to NumPy with one warning per process; an explicit ``cupy`` that cannot run
    raises :class:`BackendUnavailableError` with the probe's reason and the install line.
    """
    requested = _parse(func, "backend", backend)
    if requested is Backend.AUTO:
        requested = default_backend()
    if requested is Backend.NUMPY:
        return Backend.NUMPY
    probe = probe_cupy()
    if probe.usable:
        return Backend.CUPY
    if requested is Backend.CUPY:
        raise BackendUnavailableError(func, f"backend='cupy' was asked for, but {probe.reason}; {INSTALL_HINT}, "
                                            "or use backend='numpy'")
    if not _fallback_warned.is_set():
        _fallback_warned.set()
        warnings.warn(f"vsovermix: no usable GPU ({probe.reason}); using the NumPy backend. "
                      f"Set {ENV_VAR}=numpy to silence this.", RuntimeWarning, stacklevel=3)
    return Backend.NUMPY


def array_module(backend: Backend) -> Any:
    """The array library of a resolved backend: ``cupy`` for CUPY (imported here, on first use), else ``numpy``."""
    if backend is Backend.CUPY:
        import cupy

        return cupy
    return np


class PlaneIO(Protocol):
    """How a filter moves frame planes to its backend's arrays and results back into output frames."""

    def to_array(self, key: Hashable, host: np.ndarray) -> Any:
        """The backend array for input plane ``host``; ``key`` (e.g. ``(frame, plane)``) names it for caching."""

    def output_for(self, host_out: np.ndarray) -> Any:
        """An ``out=`` argument for ops writing the result of output plane ``host_out`` (None: a new array)."""

    def to_host(self, array: Any, host_out: np.ndarray) -> None:
        """Store a result in output plane ``host_out`` (a no-op when the op wrote there directly)."""

    def release(self) -> None:
        """Drop cached device memory."""


class NumpyPlaneIO:
    """NumPy works on the frame planes themselves: no copies in, results written straight into the frame."""

    def to_array(self, key: Hashable, host: np.ndarray) -> np.ndarray:
        return host

    def output_for(self, host_out: np.ndarray) -> np.ndarray:
        return host_out

    def to_host(self, array: np.ndarray, host_out: np.ndarray) -> None:
        if array is not host_out:
            np.copyto(host_out, array)

    def release(self) -> None:
        pass


def plane_io(backend: Backend, *, cache_planes: int, func: FuncLike) -> PlaneIO:
    """The PlaneIO of a resolved backend; CuPy keeps up to ``cache_planes`` input planes on the device."""
    if backend is Backend.CUPY:
        from ._cuda.transfer import DeviceCache

        return DeviceCache(cache_planes, func)
    return NumpyPlaneIO()
