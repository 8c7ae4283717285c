"""Makers of ordinary and hostile image files for tests: nothing is downloaded."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def photo(width: int = 320, height: int = 240, seed: int = 0, colour=None) -> Image.Image:
    """A photo-like RGB picture: a gradient, a block of colour and noise (distinct per seed)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(1, width) * 255, y / max(1, height) * 255, np.full_like(x, 128.0)], -1)
    base += rng.normal(0, 12, base.shape)
    c = colour or tuple(int(v) for v in rng.integers(0, 255, 3))
    base[height // 4 : height // 2, width // 4 : width // 2] = c
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path


def upright_marker(width: int = 120, height: int = 80) -> Image.Image:
    """A picture whose orientation is obvious: red top-left quadrant, the rest blue."""
    img = Image.new("RGB", (width, height), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    return img


# The transform that EXIF orientation N undoes: stored = inverse(upright)
_STORE_OPS = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


def exif_rotated(upright: Image.Image, orientation: int, path: Path) -> Path:
    """Save ``upright`` stored as a camera would with EXIF ``orientation`` set."""
    stored = upright
    for op in _STORE_OPS[orientation]:
        stored = stored.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = "2021:06:15 10:30:00"
    return save(stored, path, exif=exif.tobytes(), quality=95)


def bomb_png(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A tiny PNG whose header declares a huge picture (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = zlib.compress(b"\x00" * 1000)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    path.write_bytes(data)
    return path


def truncated(img: Image.Image, path: Path, fmt: str, keep: float = 0.5) -> Path:
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    data = buffer.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
