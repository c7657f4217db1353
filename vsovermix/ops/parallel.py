"""Host threads for the NumPy path: SciPy's filters and NumPy's large array operations release the GIL.

VapourSynth runs one frame per thread, but a stitch is one frame and an alignment runs before any
frame is asked for, so without these the other cores would idle. Work handed to the pool never calls
back into VapourSynth (``get_frame`` stays on the calling thread, so ``core.num_threads=1`` cannot
deadlock). CuPy arrays are never split: the GPU is one stream.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["WORKERS", "by_row_bands", "parallel_map", "row_bands", "submit"]

WORKERS = max(1, min(os.cpu_count() or 1, 8))
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="vsovermix")
        return _pool


def submit[R](fn: Callable[..., R], *args: Any, inline: bool = False) -> Future[R]:
    """Run ``fn(*args)`` on the shared pool; inline (a finished future) when asked or with one worker."""
    if inline or WORKERS == 1:
        done: Future[R] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as error:  # re-raised by .result(), as the pool would
            done.set_exception(error)
        return done
    return _executor().submit(fn, *args)


def parallel_map[T, R](fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(item) for item in items]`` on the shared pool, in order; the first error is raised."""
    items = list(items)
    if WORKERS == 1 or len(items) < 2:
        return [fn(item) for item in items]
    return list(_executor().map(fn, items))


def row_bands(start: int, stop: int, min_rows: int = 64) -> Sequence[tuple[int, int]]:
    """``range(start, stop)`` cut into at most ``WORKERS`` contiguous bands of at least ``min_rows`` rows."""
    count = max(1, min(WORKERS, (stop - start) // min_rows))
    edges = [start + (stop - start) * k // count for k in range(count + 1)]
    return list(itertools.pairwise(edges))


def by_row_bands(fn: Callable[[Any], Any], x: Any, halo: int) -> Any:
    """``fn(x)`` for an ``fn`` that maps a 2-D array to one of its shape and reads at most ``halo`` rows
    away (a filter, zero outside). A NumPy ``x`` is cut into row bands run on the pool, each with ``halo``
    rows of context, so the result is the same as one call; a CuPy one is never split."""
    height = x.shape[0]
    bands = row_bands(0, height, max(64, 4 * halo)) if isinstance(x, np.ndarray) else [(0, height)]
    if len(bands) == 1:
        return fn(x)

    def band(rows: tuple[int, int]) -> Any:
        lo, hi = max(0, rows[0] - halo), min(height, rows[1] + halo)
        return fn(x[lo:hi])[rows[0] - lo:rows[1] - lo]

    return np.concatenate(parallel_map(band, bands))
