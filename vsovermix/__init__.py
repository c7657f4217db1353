"""vsovermix: multi-frame restoration of anime video for VapourSynth.

Usage Example::

    import vapoursynth as vs, vsovermix as vo
    clip = vo.steam(clip, tr=3)            # the background behind moving steam, from 7 frames
    still = vo.stitch(pan_clip)            # a camera pan collapsed into one still of the whole scene

Imports neither CuPy nor anything heavy: the backend is chosen when a filter is called.
"""

from .backend import Backend, use_backend
from .errors import (
    AlignmentError,
    ArgumentTypeError,
    BackendUnavailableError,
    ClipTooShortError,
    GpuOutOfMemoryError,
    InsufficientMemoryError,
    InvalidArgumentError,
    MissingPluginError,
    MissingProgramError,
    OutputExistsError,
    UnsupportedFormatError,
    VsOvermixError,
)
from .filters.align import Pan, align, estimate_pan
from .filters.dejpeg import JpegTables, dejpeg, jpeg_tables
from .filters.detelecine import detelecine
from .filters.logo import Logo, delogo, estimate_logo, load_logo
from .filters.steam import steam
from .filters.stitch import stitch
from .filters.superres import superres

__version__ = "0.1.0"

__all__ = [
    "AlignmentError",
    "ArgumentTypeError",
    "Backend",
    "BackendUnavailableError",
    "ClipTooShortError",
    "GpuOutOfMemoryError",
    "InsufficientMemoryError",
    "InvalidArgumentError",
    "JpegTables",
    "Logo",
    "MissingPluginError",
    "MissingProgramError",
    "OutputExistsError",
    "Pan",
    "UnsupportedFormatError",
    "VsOvermixError",
    "__version__",
    "align",
    "dejpeg",
    "delogo",
    "detelecine",
    "estimate_logo",
    "estimate_pan",
    "jpeg_tables",
    "load_logo",
    "steam",
    "stitch",
    "superres",
    "use_backend",
]
