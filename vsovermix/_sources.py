"""Open what the command line is given (a video, image files, a .vpy script) as a VapourSynth clip."""

from __future__ import annotations

import glob
import os
import runpy
from pathlib import Path

import numpy as np
import vapoursynth as vs

from ._png import read_png
from ._vs.frames import clip_from_planes
from .errors import FuncLike, InvalidArgumentError, MissingPluginError

__all__ = ["IMAGE_SUFFIXES", "open_inputs"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def _expand(inputs: list[str], func: FuncLike) -> list[Path]:
    paths: list[Path] = []
    for item in inputs:
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise InvalidArgumentError(func, f"no file matches {item!r}; check the pattern (quote it so the shell "
                                             "does not expand it)")
        for match in matches:
            path = Path(match)
            if not path.is_file():
                raise InvalidArgumentError(func, f"input {str(path)!r} does not exist or is not a file")
            if not os.access(path, os.R_OK):
                raise InvalidArgumentError(func, f"input {str(path)!r} is not readable (permissions)")
            paths.append(path)
    return paths


def open_inputs(inputs: list[str], func: FuncLike) -> vs.VideoNode:
    """One clip from a video file (bestsource), a .vpy script (its output 0) or a list/glob of images."""
    paths = _expand(inputs, func)
    suffixes = {p.suffix.lower() for p in paths}
    if len(paths) == 1 and paths[0].suffix.lower() == ".vpy":
        return _run_script(paths[0], func)
    if suffixes <= IMAGE_SUFFIXES:
        return _read_images(paths, func)
    if len(paths) > 1:
        raise InvalidArgumentError(func, f"give one video file, one .vpy script or image files, got {len(paths)} "
                                         f"inputs with suffixes {sorted(suffixes)}")
    core = vs.core
    if not hasattr(core, "bs"):
        raise MissingPluginError(func, "reading video files needs the BestSource plugin: "
                                       "pip install vapoursynth-bestsource")
    try:
        return core.bs.VideoSource(source=str(paths[0].resolve()))
    except vs.Error as error:
        raise InvalidArgumentError(func, f"cannot read {str(paths[0])!r} as video: {error}") from None


def _run_script(path: Path, func: FuncLike) -> vs.VideoNode:
    vs.clear_outputs()
    runpy.run_path(str(path.resolve()), run_name="__vapoursynth__")
    outputs = vs.get_outputs()
    if 0 not in outputs:
        raise InvalidArgumentError(func, f"{str(path)!r} sets no output 0; end it with clip.set_output()")
    output = outputs[0]
    clip = output.clip if isinstance(output, vs.VideoOutputTuple) else output
    if not isinstance(clip, vs.VideoNode):
        raise InvalidArgumentError(func, f"output 0 of {str(path)!r} is not a video clip")
    return clip


def _read_images(paths: list[Path], func: FuncLike) -> vs.VideoNode:
    core = vs.core
    if hasattr(core, "imgseqs"):
        try:
            return core.imgseqs.Read([str(p.resolve()) for p in paths], mismatch=False)
        except vs.Error as error:
            raise InvalidArgumentError(func, f"cannot read the images as one clip: {error}") from None
    if any(p.suffix.lower() != ".png" for p in paths):
        raise MissingPluginError(func, "reading images other than PNG needs the imageseqs plugin: "
                                       "pip install vapoursynth-imageseqs")
    frames = []
    for path in paths:
        try:
            image = read_png(path)
        except (ValueError, OSError) as error:
            raise InvalidArgumentError(func, f"cannot read {str(path)!r}: {error}") from None
        frames.append(image)
    shapes = {f.shape for f in frames}
    dtypes = {f.dtype for f in frames}
    if len(shapes) > 1 or len(dtypes) > 1:
        raise InvalidArgumentError(func, f"all images must have one size and depth, got {sorted(shapes)} "
                                         f"{sorted(map(str, dtypes))}")
    image = frames[0]
    channels = image.shape[2]
    family = vs.GRAY if channels in (1, 2) else vs.RGB
    bits = 16 if image.dtype == np.uint16 else 8
    fmt = core.query_video_format(family, vs.INTEGER, bits, 0, 0)
    used = 1 if family == vs.GRAY else 3  # alpha is dropped: stills are opaque
    return clip_from_planes([[f[:, :, c] for c in range(used)] for f in frames], fmt)
