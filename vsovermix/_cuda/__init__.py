"""CuPy kernels and device-side helpers. Imported lazily, only once a filter resolved to the CuPy backend.

This module itself imports no CuPy: it names the kernel sources and their template instantiations,
so the PTX compile test (tests/_cuda) can build exactly what the launch wrappers build.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KERNEL_DIR = Path(__file__).parent / "kernels"

# C++ sample types of the kernels' templates (float16 planes are widened to float32 first).
CTYPES = {np.dtype(np.uint8): "unsigned char", np.dtype(np.uint16): "unsigned short",
          np.dtype(np.float32): "float"}


def kernel_source(name: str) -> str:
    """The text of ``kernels/<name>``."""
    return (KERNEL_DIR / name).read_text()


def temporal_select_name(ctype: str, count: int, rank: int) -> str:
    """Name expression of the ``temporal.cu`` kernel for ``count`` planes and 0-based ``rank``."""
    return f"temporal_select<{ctype}, {count}, {rank}>"


# Every kernel source, with instantiations that cover its template parameters (for the compile test).
SAMPLE_INSTANTIATIONS: dict[str, list[str]] = {
    "temporal.cu": [temporal_select_name(c, n, r) for c in CTYPES.values()
                    for n, r in ((3, 0), (5, 2), (5, 4), (7, 3), (65, 32))],
    "jpeg_project.cu": ["jpeg_dual_step"],
    "logo.cu": ["logo_edge_sums", "logo_deblend", "logo_combine"],
    "superres.cu": ["sr_block_sums", "sr_residual", "sr_spread", "sr_update"],
}
