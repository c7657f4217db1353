"""Minimal PNG reading and atomic writing with zlib and NumPy (no imaging library in the core dependencies).

Reads 8/16-bit gray, gray+alpha, RGB and RGBA, non-interlaced, every filter type; writes the same.
Writes go to a temporary file in the target's folder and are renamed into place, so a crash or
Ctrl-C never leaves a half-written PNG, and an existing file is only replaced when asked.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ._files import write_atomically

__all__ = ["read_png", "write_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}  # colour type -> samples per pixel
_COLOUR_TYPE = {v: k for k, v in _CHANNELS.items()}


def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a PNG into an (H, W, C) uint8 or uint16 array (C = 1, 2, 3 or 4)."""
    data = Path(path).read_bytes()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path}: PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth not in (8, 16) or colour not in _CHANNELS or interlace:
        raise ValueError(f"{path}: only non-interlaced 8/16-bit gray, gray+alpha, RGB and RGBA PNGs are supported "
                         f"(bit depth {depth}, colour type {colour}, interlace {interlace})")
    channels = _CHANNELS[colour]
    bpp = channels * depth // 8  # bytes per pixel: the distance the filters look back
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    for y in range(height):
        filter_type, line = raw[y, 0], raw[y, 1:]
        pixels[y] = _unfilter(filter_type, line, previous, bpp)
        previous = pixels[y]
    dtype = np.dtype(">u2") if depth == 16 else np.dtype(np.uint8)
    out = pixels.view(dtype).reshape(height, width, channels)
    return out.astype(np.uint16) if depth == 16 else out


def _unfilter(filter_type: int, line: np.ndarray, previous: np.ndarray, bpp: int) -> np.ndarray:
    if filter_type == 0:
        return line
    if filter_type == 1:  # Sub: a running sum per byte position within a pixel
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
    if filter_type == 2:  # Up
        return line + previous
    # Average and Paeth depend on the byte just decoded: no vectorised form, so go byte by byte.
    out = np.zeros_like(line)
    cur, up = line.astype(np.int32), previous.astype(np.int32)
    res = [0] * len(line)
    for i in range(len(line)):
        left = res[i - bpp] if i >= bpp else 0
        if filter_type == 3:
            res[i] = (cur[i] + (left + up[i]) // 2) & 0xFF
        elif filter_type == 4:
            upper_left = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - upper_left
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upper_left)
            pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upper_left)
            res[i] = (cur[i] + pred) & 0xFF
        else:
            raise ValueError(f"invalid PNG filter type {filter_type}")
    out[:] = res
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) or (H, W, C) uint8/uint16 array, Sub-filtered on every row."""
    if image.ndim == 2:
        image = image[:, :, None]
    height, width, channels = image.shape
    if channels not in _COLOUR_TYPE or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"encode_png takes uint8/uint16 images with 1-4 channels, got {image.dtype} x {channels}")
    depth = 8 * image.dtype.itemsize
    bpp = channels * image.dtype.itemsize
    rows = np.ascontiguousarray(image.astype(image.dtype.newbyteorder(">"))).view(np.uint8).reshape(height, -1)
    filtered = rows.copy()
    filtered[:, bpp:] -= rows[:, :-bpp]  # Sub: each byte minus the same byte of the pixel to its left
    scanlines = np.concatenate([np.ones((height, 1), np.uint8), filtered], axis=1)
    header = struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
            + _chunk(b"IEND", b""))


def write_png(path: str | os.PathLike[str], image: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write ``image`` to ``path`` atomically (temp file + rename); refuse to replace a file unless ``overwrite``."""
    return write_atomically(path, encode_png(image), overwrite=overwrite)
