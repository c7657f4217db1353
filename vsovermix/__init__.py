"""vsovermix: multi-frame restoration of anime video for VapourSynth.

Usage Example::

    import vapoursynth as vs, vsovermix as vo
    clip = vo.steam(clip, tr=3)            # darkest pixel over 7 frames: removes moving steam

Imports neither CuPy nor anything heavy: the backend is chosen when a filter is called.
"""

from .backend import Backend, use_backend
from .errors import (
    ArgumentTypeError,
    BackendUnavailableError,
    ClipTooShortError,
    GpuOutOfMemoryError,
    InvalidArgumentError,
    MissingPluginError,
    OutputExistsError,
    UnsupportedFormatError,
    VsOvermixError,
)
from .filters.steam import steam

__version__ = "0.1.0"

__all__ = [
    "ArgumentTypeError",
    "Backend",
    "BackendUnavailableError",
    "ClipTooShortError",
    "GpuOutOfMemoryError",
    "InvalidArgumentError",
    "MissingPluginError",
    "OutputExistsError",
    "UnsupportedFormatError",
    "VsOvermixError",
    "__version__",
    "steam",
    "use_backend",
]
