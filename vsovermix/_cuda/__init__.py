"""CuPy kernels and device-side helpers. Imported lazily, only once a filter resolved to the CuPy backend."""

from __future__ import annotations

from pathlib import Path

KERNEL_DIR = Path(__file__).parent / "kernels"


def kernel_source(name: str) -> str:
    """The text of ``kernels/<name>``."""
    return (KERNEL_DIR / name).read_text()
