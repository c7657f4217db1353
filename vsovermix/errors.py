"""Errors raised by vsovermix.

Every error renders as ``(vsovermix.<function>) <what>, got <value>; <fix>`` and subclasses both
:class:`VsOvermixError` and the matching builtin, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "AlignmentError",
    "ArgumentTypeError",
    "BackendUnavailableError",
    "ClipTooShortError",
    "GpuOutOfMemoryError",
    "InsufficientMemoryError",
    "InvalidArgumentError",
    "MissingPluginError",
    "MissingProgramError",
    "OutputExistsError",
    "UnsupportedFormatError",
    "VsOvermixError",
]

FuncLike = str | Callable[..., Any]


def func_name(func: FuncLike) -> str:
    return func if isinstance(func, str) else func.__name__


class VsOvermixError(Exception):
    """Base class of every vsovermix error; the message starts with the public function's name."""

    def __init__(self, func: FuncLike, message: str) -> None:
        self.func = func_name(func)
        super().__init__(f"(vsovermix.{self.func}) {message}")


class InvalidArgumentError(VsOvermixError, ValueError):
    """An argument has a value outside its allowed set or range."""

    @classmethod
    def check_int(cls, func: FuncLike, name: str, value: object, lo: int, hi: int, fix: str = "") -> int:
        """Return ``value`` if it is an int in ``[lo, hi]``, else raise naming ``name``."""
        ArgumentTypeError.check(func, name, value, int)
        assert isinstance(value, int)
        if not lo <= value <= hi:
            raise cls(func, f"{name} must be in [{lo}, {hi}], got {value}" + (f"; {fix}" if fix else ""))
        return value

    @classmethod
    def check_choice(cls, func: FuncLike, name: str, value: object, choices: Iterable[str]) -> str:
        """Return ``value`` if it is one of ``choices`` (strings), else raise listing them."""
        choices = tuple(choices)
        if not isinstance(value, str) or value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise cls(func, f"{name} must be one of {allowed}, got {value!r}")
        return value


class ArgumentTypeError(VsOvermixError, TypeError):
    """An argument has the wrong Python type."""

    @classmethod
    def check(cls, func: FuncLike, name: str, value: object, expected: type | tuple[type, ...]) -> None:
        # bool is an int subclass, but tr=True is a mistake, not a radius.
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
            raise cls(func, f"{name} must be {names}, got {type(value).__name__} {value!r}")


class UnsupportedFormatError(VsOvermixError, ValueError):
    """The clip's format (or variable format/size) is not one the function accepts."""


class ClipTooShortError(VsOvermixError, ValueError):
    """The clip has fewer frames than the function's temporal window."""


class BackendUnavailableError(VsOvermixError, RuntimeError):
    """An explicitly requested backend cannot run here (no CuPy, no driver, no NVRTC, no device)."""


class MissingPluginError(VsOvermixError, RuntimeError):
    """A VapourSynth plugin namespace the function needs is not loaded."""


class MissingProgramError(VsOvermixError, RuntimeError):
    """A program the function runs (ffmpeg) is not installed; the message names the pip package that brings it."""


class GpuOutOfMemoryError(VsOvermixError, MemoryError):
    """The GPU could not allocate what was asked for."""


class InsufficientMemoryError(VsOvermixError, MemoryError):
    """The work needs more memory than the machine (or the GPU) has; the message says how much."""


class AlignmentError(VsOvermixError, ValueError):
    """The frames cannot be aligned as one translating pan (no overlap, no texture, zoom or rotation)."""


class OutputExistsError(VsOvermixError, FileExistsError):
    """The CLI refuses to overwrite an existing output without ``--force``."""
