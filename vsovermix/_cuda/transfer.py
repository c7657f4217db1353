"""Host <-> device plane transfers through pinned staging, with a small device cache of input planes.

A temporal filter of radius ``tr`` reads every input plane ``2 * tr + 1`` times; the cache keeps the
recent ones resident so each crosses PCIe once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import cupy as cp
import cupyx
import numpy as np

from ..errors import FuncLike, GpuOutOfMemoryError

__all__ = ["DeviceCache", "free_pools"]


class DeviceCache:
    """LRU of device copies of host planes, keyed by the caller (e.g. ``(frame_number, plane)``)."""

    def __init__(self, capacity: int, func: FuncLike) -> None:
        self.capacity = capacity
        self.func = func
        self._items: OrderedDict[Hashable, cp.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def to_array(self, key: Hashable, host: np.ndarray) -> cp.ndarray:
        """The device copy of ``host`` (any strides); uploaded on first use of ``key``."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        device = self._upload(host)
        with self._lock:
            self._items[key] = device
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return device

    def _upload(self, host: np.ndarray) -> cp.ndarray:
        try:
            staging = cupyx.empty_pinned(host.shape, host.dtype)
            np.copyto(staging, host)  # honours the VapourSynth stride; the device copy is contiguous
            device = cp.empty(host.shape, host.dtype)
            device.set(staging)  # synchronous: the staging buffer can go back to the pool at once
            return device
        except cp.cuda.memory.OutOfMemoryError as exc:
            raise GpuOutOfMemoryError(self.func, f"the GPU is out of memory uploading a {host.shape[1]}x"
                                                 f"{host.shape[0]} {host.dtype} plane ({host.nbytes} bytes; "
                                                 f"{exc}); lower tr or free GPU memory") from exc

    def output_for(self, host_out: np.ndarray) -> None:
        """Device results are written to a new array, then copied back by :meth:`to_host`."""
        return None

    def to_host(self, device: cp.ndarray, host_out: np.ndarray) -> None:
        """Copy ``device`` into ``host_out`` (a writable, possibly strided, frame plane)."""
        staging = cupyx.empty_pinned(device.shape, device.dtype)
        device.get(out=staging)
        np.copyto(host_out, staging)

    def release(self) -> None:
        """Drop the cached planes and return free device memory (script reload in VSEdit/vspreview)."""
        with self._lock:
            self._items.clear()
        free_pools()


def free_pools() -> None:
    """Return cached device and pinned memory to the driver (on script reload in VSEdit/vspreview)."""
    cp.get_default_memory_pool().free_all_blocks()
    cp.get_default_pinned_memory_pool().free_all_blocks()
