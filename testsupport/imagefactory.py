"""Makers of ordinary and hostile image files for tests: nothing is downloaded."""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

import clipsearch.images  # noqa: F401  (registers the HEIF opener and saver)


def photo(width: int = 320, height: int = 240, seed: int = 0, colour=None) -> Image.Image:
    """A photo-like RGB picture: a gradient, a block of colour and noise (distinct per seed)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(1, width) * 255, y / max(1, height) * 255, np.full_like(x, 128.0)], -1)
    base += rng.normal(0, 12, base.shape)
    c = colour or tuple(int(v) for v in rng.integers(0, 255, 3))
    base[height // 4 : height // 2, width // 4 : width // 2] = c
    # A landscape of its own per seed (from a second generator, so the noise and the colour above
    # stay what they were): with the same gradient alone, two seeds whose colours came out alike
    # were near-duplicates, and the web app folds near-duplicates in its results.
    waves = np.random.default_rng(seed + 10_000)
    for _ in range(3):
        fx, fy = waves.uniform(-3, 3, 2)
        phase = waves.uniform(0, 2 * np.pi)
        ripple = np.sin(2 * np.pi * (fx * x / max(1, width) + fy * y / max(1, height)) + phase)
        base += waves.uniform(-50, 50, 3) * ripple[..., None]
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kwargs)
    return path


def upright_marker(width: int = 120, height: int = 80) -> Image.Image:
    """A picture whose orientation is obvious: red top-left quadrant, yellow top-right corner,
    the rest blue. No two of the eight EXIF orientations give the same picture (the corner tells
    a transpose from the upright picture, which the quadrant alone does not)."""
    img = Image.new("RGB", (width, height), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, width // 2, height // 2))
    img.paste((255, 255, 0), (width * 3 // 4, 0, width, height // 4))
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


def big_jpeg(path: Path, width: int, height: int, seed: int = 0, detail: float = 0.0) -> Path:
    """A real ``width`` x ``height`` JPEG (a 200 MP phone photo, a bomb) made without its pixels.

    A strip of eight MCU rows, one per horizontal band of the picture, is encoded with a restart
    marker after every row, so each row's entropy-coded data stands alone; the big picture is
    the strip's header with the height patched, then ``height / 16`` of those rows (band by band,
    restart markers renumbered). Any decoder reads it as an ordinary baseline JPEG. ``detail``
    adds noise: 0 gives a low-detail photo of a few MB; 6 about the size of a real one.
    """
    if width % 16 or height % 16 or width > 65535 or height > 65535:
        raise ValueError("width and height must be multiples of 16, at most 65535")
    bands = 8
    strip = photo(width, 16 * bands, seed=seed)
    pixels = np.asarray(strip, np.float32)
    rng = np.random.default_rng(seed)
    pixels = np.repeat(pixels.mean(axis=0, keepdims=True), 16 * bands, axis=0)  # no noise: columns
    pixels += rng.normal(0, detail, pixels.shape) if detail else 0
    for band in range(bands):  # each band its own tint, so the picture has a vertical structure
        pixels[16 * band : 16 * (band + 1)] += (rng.integers(-60, 60, 3)).astype(np.float32)
    strip = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    strip.save(buffer, "JPEG", quality=85, subsampling="4:2:0", restart_marker_rows=1)
    data = buffer.getvalue()
    header, scan = _split_jpeg(data, height)
    rows = re.split(rb"\xff[\xd0-\xd7]", scan)
    if len(rows) != bands:
        raise AssertionError(f"expected {bands} restart intervals, found {len(rows)}")
    parts = [header]
    mcu_rows = height // 16
    for row in range(mcu_rows):
        if row:
            parts.append(bytes([0xFF, 0xD0 + (row - 1) % 8]))
        parts.append(rows[row * bands // mcu_rows])
    parts.append(b"\xff\xd9")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(parts))
    return path


def _split_jpeg(data: bytes, height: int | None = None) -> tuple[bytes, bytes]:
    """(everything up to the scan data, the scan data), the frame's height patched if given."""
    header = bytearray(data)
    pos = 2
    while True:
        marker = header[pos + 1]
        length = struct.unpack(">H", header[pos + 2 : pos + 4])[0]
        if marker == 0xC0 and height is not None:  # SOF0: precision, height, width
            header[pos + 5 : pos + 7] = struct.pack(">H", height)
        if marker == 0xDA:  # SOS: the scan data follows its header
            start = pos + 2 + length
            return bytes(header[:start]), bytes(header[start : data.rindex(b"\xff\xd9")])
        pos += 2 + length


def truncated(img: Image.Image, path: Path, fmt: str, keep: float = 0.5) -> Path:
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    data = buffer.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def ycck_jpeg(path: Path, cmyk: tuple[int, int, int, int] = (0, 255, 255, 0), size: int = 32) -> Path:
    """A YCCK-encoded JPEG (Adobe transform 2) whose CMYK colour is ``cmyk`` (default red)."""
    c = np.zeros((size, size, 4), np.uint8) + np.array(cmyk, np.uint8)
    rgb = (255 - c[..., :3]).astype(np.uint8)
    ycc = np.asarray(Image.fromarray(rgb, "RGB").convert("YCbCr"))
    four = np.concatenate([ycc, c[..., 3:]], -1)
    buffer = io.BytesIO()
    Image.fromarray(four, "CMYK").save(buffer, "JPEG", quality=95)
    raw = bytearray(buffer.getvalue())
    at = raw.index(b"Adobe")
    raw[at + 11] = 2  # transform: YCCK
    path.write_bytes(bytes(raw))
    return path


def hostile_library(root: Path) -> dict[str, tuple]:
    """Write every odd file a photo library holds; returns name -> expectation.

    An expectation is ("indexed", (width, height)) or ("skipped", reason).
    """
    root.mkdir(parents=True, exist_ok=True)
    expect: dict[str, tuple] = {}

    def ok(name, img, size=None, **kw):
        save(img, root / name, **kw)
        expect[name] = ("indexed", size or img.size)

    def bad(name, make, reason):
        make(root / name)
        expect[name] = ("skipped", reason)

    bad("zero.jpg", lambda p: p.write_bytes(b""), "empty file")
    bad("truncated.jpg", lambda p: truncated(photo(400, 300), p, "JPEG"), "truncated")
    bad("truncated.png", lambda p: truncated(photo(400, 300), p, "PNG"), "truncated")
    bad("text.jpg", lambda p: p.write_text("hello, I am a text file"), "not an image")
    bad("page.png", lambda p: p.write_text("<!doctype html><html><body>hi</body></html>"), "not an image")
    bad("bomb.png", bomb_png, "too many pixels")
    ok("cmyk.jpg", Image.new("CMYK", (40, 30), (0, 255, 255, 0)), quality=95)
    ycck_jpeg(root / "ycck.jpg")
    expect["ycck.jpg"] = ("indexed", (32, 32))
    ok("grey16.png", Image.fromarray(np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)))
    ok("grey-alpha.png", Image.new("LA", (30, 20), (90, 128)))
    pal = Image.new("P", (24, 24), 0)
    pal.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 12, 24))
    ok("palette-transparent.png", pal, transparency=0)
    frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    expect["anim.gif"] = ("indexed", (20, 10))
    frames[0].save(root / "anim.webp", save_all=True, append_images=frames[1:], duration=50)
    expect["anim.webp"] = ("indexed", (20, 10))
    ok("one-pixel.png", Image.new("RGB", (1, 1), (200, 10, 10)))
    ok("panorama.jpg", photo(30000, 100), quality=80)
    ok("phone.heic", photo(64, 48, seed=3))
    ok("with space.jpg", photo(50, 40, seed=4))
    ok("ünïcödé-写真.jpg", photo(50, 40, seed=5))
    ok("new\nline.jpg", photo(50, 40, seed=6))
    raw_name = os.fsdecode(b"bad-\xff\xfe-bytes.jpg")
    ok(raw_name, photo(50, 40, seed=7))
    for orientation in range(1, 9):
        exif_rotated(upright_marker(120, 80), orientation, root / f"exif-{orientation}.jpg")
        expect[f"exif-{orientation}.jpg"] = ("indexed", (120, 80))
    os.symlink(root, root / "loop")  # a symlink loop: the scan must not go round forever
    return expect
