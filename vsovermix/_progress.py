"""A one-line progress bar for long work in the command line."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "progress_callback"]


class Progress:
    """A one-line progress bar on stderr (a terminal only; silent under CI or when piped)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.start = time.perf_counter()

    def step(self, amount: int = 1) -> None:
        self.done += amount
        if self.enabled:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.done}/{self.total} ({rate:.1f}/s)")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()

    def __call__(self, done: int, total: int) -> None:
        """Callback form for ops: ``(done, total)``."""
        self.total = total
        self.step(done - self.done)


def progress_callback(progress: bool | None, label: str) -> Progress | None:
    """A bar for ``progress=True``, none for False, and for None one only when stderr is a terminal."""
    if progress is False:
        return None
    bar = Progress(0, label)
    if progress:
        bar.enabled = True
    return bar if bar.enabled else None
