"""Compiling and launching the kernels of ``kernels/*.cu``: each source compiled once per device."""

from __future__ import annotations

from typing import Any

import cupy as cp

from . import KERNEL_DIR, kernel_source

__all__ = ["THREADS", "kernel", "launch"]

THREADS = 256  # threads per block of a one-thread-per-element launch


@cp.memoize(for_each_device=True)
def _module(source: str, expression: str | None) -> cp.RawModule:
    return cp.RawModule(code=kernel_source(source), options=("-std=c++17", f"-I{KERNEL_DIR}"),
                        name_expressions=None if expression is None else [expression])


@cp.memoize(for_each_device=True)
def kernel(source: str, name: str, templated: bool = False) -> cp.RawKernel:
    """Kernel ``name`` of ``kernels/<source>``; ``templated``: ``name`` is a template instantiation
    (``temporal_select<float, 5, 2>``), compiled on its own."""
    return _module(source, name if templated else None).get_function(name)


def launch(source: str, name: str, size: int, args: tuple[Any, ...]) -> None:
    """Run kernel ``name`` of ``source`` over ``size`` elements, one thread each."""
    kernel(source, name)(((size + THREADS - 1) // THREADS,), (THREADS,), args)
