"""How much memory the machine can give: a filter whose working set will not fit says so when it is called."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FuncLike, InsufficientMemoryError

__all__ = ["available_host_bytes", "check_fits"]


def _size(count: int) -> str:
    return f"{count / (1 << 30):.1f} GiB" if count >= 1 << 30 else f"{count / (1 << 20):.0f} MiB"


def available_host_bytes() -> int | None:
    """Memory available to a new allocation without swapping (Linux ``MemAvailable``), else free
    physical memory; None where neither can be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(func: FuncLike, needed: int, available: int | None, where: str, what: str, fix: str) -> None:
    """Raise ``InsufficientMemoryError`` when ``needed`` bytes exceed ``available`` (unknown: no check)."""
    if available is not None and needed > available:
        raise InsufficientMemoryError(func, f"{what} needs about {_size(needed)} of {where} memory, "
                                            f"{_size(available)} is available; {fix}")
