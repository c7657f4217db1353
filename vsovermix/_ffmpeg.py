"""Round trips through real encoders (x264, interlaced MPEG-2, by ffmpeg) for the demo, benchmarks and tests.

ffmpeg only compresses here: the caller hands it raw 8-bit 4:2:0 planes and gets the decoded planes
back, so every colour conversion stays in VapourSynth's hands and the codec is the only damage (no
colour tags either: tagging the output makes ffmpeg convert ranges on its own).
The binary comes from the ``imageio-ffmpeg`` wheel (the ``demo`` extra), else from ``PATH``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import FuncLike, MissingProgramError

__all__ = ["Yuv420", "ffmpeg_executable", "mpeg2_interlaced_file", "mpeg2_interlaced_roundtrip", "telecine_mpeg2_file",
           "x264_roundtrip"]

Yuv420 = tuple[np.ndarray, np.ndarray, np.ndarray]  # uint8 Y (H, W), U and V (H/2, W/2)


def ffmpeg_executable(func: FuncLike) -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise MissingProgramError(func, "ffmpeg is needed to encode the clip and none was found; "
                                        "pip install imageio-ffmpeg (or vsovermix[demo]), or put ffmpeg on PATH")
    return found


def x264_roundtrip(func: FuncLike, frames: Sequence[Yuv420], *, crf: float = 18.0, preset: str = "medium",
                   fps: tuple[int, int] = (24000, 1001), tune: str = "animation") -> list[Yuv420]:
    """Encode 8-bit 4:2:0 frames with libx264 at ``crf`` and decode them again.

    Deterministic: one encoder thread, so the same input gives the same bitstream run after run.
    """
    return _roundtrip(func, frames, fps, ["-c:v", "libx264", "-preset", preset, "-tune", tune, "-crf", f"{crf:g}",
                                          "-threads", "1"])


def mpeg2_interlaced_roundtrip(func: FuncLike, frames: Sequence[Yuv420], *, bitrate: str = "5M",
                               fps: tuple[int, int] = (30000, 1001), tff: bool = True) -> list[Yuv420]:
    """Encode 8-bit 4:2:0 frames as interlaced MPEG-2 (field DCT and motion, as broadcasts are) and decode."""
    return _roundtrip(func, frames, fps, _mpeg2_interlaced(bitrate, tff))


def telecine_mpeg2_file(func: FuncLike, frames: Sequence[Yuv420], path: str | Path, *, bitrate: str = "5M",
                        fps: tuple[int, int] = (24000, 1001)) -> Path:
    """Hard 3:2 telecine by ffmpeg's ``telecine`` filter (top field first), encoded as interlaced MPEG-2
    into ``path`` (a ``.mkv``), for a source plugin to decode: the broadcast path, end to end."""
    _encode(func, frames, fps, ["-vf", "telecine=first_field=top:pattern=23", *_mpeg2_interlaced(bitrate, True)],
            Path(path))
    return Path(path)


def mpeg2_interlaced_file(func: FuncLike, frames: Sequence[Yuv420], path: str | Path, *, bitrate: str = "8M",
                          fps: tuple[int, int] = (30000, 1001), tff: bool = True) -> Path:
    """Interlaced 29.97 fps frames (already telecined, overlays already on) as interlaced MPEG-2 in ``path``
    (a ``.mkv``), for a source plugin to decode."""
    _encode(func, frames, fps, _mpeg2_interlaced(bitrate, tff), Path(path))
    return Path(path)


def _mpeg2_interlaced(bitrate: str, tff: bool) -> list[str]:
    # Peak rate and VBV buffer of MPEG-2 main profile: main level (SD) up to 15 Mb/s, high level above.
    high_level = bitrate.endswith("M") and float(bitrate[:-1]) > 15
    peak = bitrate if high_level else "8M"
    return ["-c:v", "mpeg2video", "-b:v", bitrate, "-maxrate", peak, "-bufsize", "9781k" if high_level else "1835k",
            "-g", "15", "-bf", "2", "-flags", "+ilme+ildct", "-field_order", "tt" if tff else "bb", "-threads", "1"]


def _raw_format(width: int, height: int) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}"]


def _encode(func: FuncLike, frames: Sequence[Yuv420], fps: tuple[int, int], output: list[str], path: Path) -> None:
    """Pipe raw 4:2:0 ``frames`` into ffmpeg with ``output`` options, writing ``path``."""
    height, width = frames[0][0].shape
    if height % 2 or width % 2:
        raise ValueError(f"4:2:0 needs an even frame size, got {width}x{height}")
    payload = b"".join(np.ascontiguousarray(p, dtype=np.uint8).tobytes() for frame in frames for p in frame)
    _run([ffmpeg_executable(func), "-v", "error", "-y", *_raw_format(width, height), "-r", f"{fps[0]}/{fps[1]}",
          "-i", "pipe:0", *output, str(path)], payload)


def _roundtrip(func: FuncLike, frames: Sequence[Yuv420], fps: tuple[int, int], codec: list[str]) -> list[Yuv420]:
    height, width = frames[0][0].shape
    with tempfile.TemporaryDirectory(prefix="vsovermix-codec-") as folder:
        encoded = Path(folder) / "clip.mkv"
        _encode(func, frames, fps, codec, encoded)
        decoded = _run([ffmpeg_executable(func), "-v", "error", "-i", str(encoded), *_raw_format(width, height),
                        "pipe:1"], b"")
    luma, chroma = height * width, (height // 2) * (width // 2)
    size = luma + 2 * chroma
    if len(decoded) != size * len(frames):
        raise RuntimeError(f"ffmpeg decoded {len(decoded) / size:g} frames of {len(frames)}")
    out = []
    for n in range(len(frames)):
        buf = np.frombuffer(decoded, np.uint8, size, n * size)
        out.append((buf[:luma].reshape(height, width), buf[luma:luma + chroma].reshape(height // 2, width // 2),
                    buf[luma + chroma:].reshape(height // 2, width // 2)))
    return out


def _run(command: list[str], stdin: bytes) -> bytes:
    done = subprocess.run(command, input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}; the imageio-ffmpeg wheel has every encoder used here): "
                           f"{done.stderr.decode(errors='replace')[-500:]}")
    return done.stdout
