"""AviUtl logo files (``.lgd``, ver0.1 and ver0.2): the logo format of logoscan, delogo and EraseLOGO.

Layout (little-endian 16-bit integers unless said): a 28-byte NUL-padded text ``<logo data file
ver0.1>`` (or ``ver0.2``), the number of logos as a big-endian 32-bit integer, then per logo a header
(name: 32 bytes in ver0.1, 256 in ver0.2, CP932; ``x, y, h, w, fade_in, fade_out, start, end``; ver0.2
adds 240 reserved bytes) and ``h * w`` pixels of ``dp_y, y, dp_cb, cb, dp_cr, cr``. Opacities ``dp`` run
0..1000; colours are AviUtl's YC48 scale (Y 0..4096 over 16..235, Cb/Cr -2048..2048 over 16..240), so
one unit of ours (luma 0..1, chroma -0.5..0.5) is 4096 of theirs.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import write_atomically

__all__ = ["LGD_PREFIX", "LgdLogo", "encode_lgd", "read_lgd", "write_lgd"]

LGD_PREFIX = b"<logo data file"  # how every version of the file begins

_MAGIC = {b"<logo data file ver0.1>": 1, b"<logo data file ver0.2>": 2}
_MAGIC_SIZE = 28
_NAME_SIZE = {1: 32, 2: 256}
_RESERVED = {1: 0, 2: 240}
_MAX_DP = 1000.0
_YC48_UNIT = 4096.0
_PIXEL = np.dtype([("dp_y", "<i2"), ("y", "<i2"), ("dp_cb", "<i2"), ("cb", "<i2"), ("dp_cr", "<i2"), ("cr", "<i2")])


@dataclass(frozen=True)
class LgdLogo:
    """One logo of an ``.lgd`` file.

    ``alpha`` and ``colour`` are (3, h, w) float64 over the logo's box for Y, Cb, Cr: opacity in [0, 1]
    and colour in units (Y 0..1, Cb/Cr -0.5..0.5). ``x, y`` place the box in the frame (luma pixels).
    """

    name: str
    x: int
    y: int
    alpha: np.ndarray
    colour: np.ndarray
    fade_in: int = 0
    fade_out: int = 0
    start: int = 0
    end: int = 0

    @property
    def width(self) -> int:
        return int(self.alpha.shape[2])

    @property
    def height(self) -> int:
        return int(self.alpha.shape[1])


def read_lgd(path: str | os.PathLike[str]) -> list[LgdLogo]:
    """Every logo in an AviUtl ``.lgd`` file; ValueError saying what is wrong for anything else."""
    data = Path(path).read_bytes()
    magic = data[:_MAGIC_SIZE].rstrip(b"\0")
    version = _MAGIC.get(magic)
    if version is None:
        raise ValueError(f"{path}: not an AviUtl logo file (starts {data[:24]!r}, expected "
                         "b'<logo data file ver0.1>' or ver0.2)")
    if len(data) < _MAGIC_SIZE + 4:
        raise ValueError(f"{path}: truncated after the file header")
    (count,) = struct.unpack_from(">I", data, _MAGIC_SIZE)
    header = struct.Struct(f"<{_NAME_SIZE[version]}s8h{_RESERVED[version]}x")
    pos = _MAGIC_SIZE + 4
    logos = []
    for index in range(count):
        if pos + header.size > len(data):
            raise ValueError(f"{path}: truncated in the header of logo {index + 1} of {count}")
        name, x, y, h, w, fade_in, fade_out, start, end = header.unpack_from(data, pos)
        pos += header.size
        if h <= 0 or w <= 0:
            raise ValueError(f"{path}: logo {index + 1} has size {w}x{h}")
        size = h * w * _PIXEL.itemsize
        if pos + size > len(data):
            raise ValueError(f"{path}: truncated in the pixels of logo {index + 1} ({w}x{h})")
        pixels = np.frombuffer(data, _PIXEL, h * w, pos).reshape(h, w)
        pos += size
        alpha = np.stack([pixels[k] for k in ("dp_y", "dp_cb", "dp_cr")]).astype(np.float64) / _MAX_DP
        colour = np.stack([pixels[k] for k in ("y", "cb", "cr")]).astype(np.float64) / _YC48_UNIT
        logos.append(LgdLogo(name.split(b"\0")[0].decode("cp932", errors="replace"), x, y,
                             np.clip(alpha, 0.0, 1.0), colour, fade_in, fade_out, start, end))
    if not logos:
        raise ValueError(f"{path}: the file holds no logo")
    return logos


def encode_lgd(logos: list[LgdLogo]) -> bytes:
    """The ver0.1 file (read by every AviUtl and AviSynth delogo) holding ``logos``; names cut to 31 bytes."""
    header = struct.Struct(f"<{_NAME_SIZE[1]}s8h")
    parts = [b"<logo data file ver0.1>".ljust(_MAGIC_SIZE, b"\0"), struct.pack(">I", len(logos))]
    for logo in logos:
        name = logo.name.encode("cp932", errors="replace")[:_NAME_SIZE[1] - 1]
        parts.append(header.pack(name, logo.x, logo.y, logo.height, logo.width, logo.fade_in, logo.fade_out,
                                 logo.start, logo.end))
        pixels = np.zeros((logo.height, logo.width), _PIXEL)
        for key, values in zip(("dp_y", "dp_cb", "dp_cr"), logo.alpha, strict=True):
            pixels[key] = np.round(np.clip(values, 0.0, 1.0) * _MAX_DP)
        for key, values in zip(("y", "cb", "cr"), logo.colour, strict=True):
            pixels[key] = np.round(np.clip(values * _YC48_UNIT, -32768, 32767))
        parts.append(pixels.tobytes())
    return b"".join(parts)


def write_lgd(path: str | os.PathLike[str], logos: list[LgdLogo], *, overwrite: bool = False) -> Path:
    """Write ``logos`` as an AviUtl ver0.1 ``.lgd`` atomically; refuse to replace a file unless ``overwrite``."""
    return write_atomically(path, encode_lgd(logos), overwrite=overwrite)
