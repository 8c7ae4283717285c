"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, ORF, RW2, RAF, PEF, SRW...), read with LibRaw (``rawpy``).

Nearly every camera stores beside the sensor's data a JPEG it made of it (a preview, often full
size): what the camera showed. That preview is used where it is large enough for what is asked
(``min_size``; a whole picture: ``WHOLE`` px a side) and has the picture's shape, turned upright
by its own EXIF orientation, else by the RAW file's. Otherwise the sensor's data is developed with
the camera's white balance, at half size where that is still large enough. Sizes are the
developed picture's, upright; the date taken is LibRaw's (from the file's EXIF or maker notes).

Files are told by their extension, or by their first bytes where no name says it (an upload):
Canon, Fujifilm, Olympus and Panasonic files by their own signatures, DNG and other TIFF-based
RAW files by their first directory's tags. Without rawpy a RAW file is skipped with a reason that
says how to read it (``NO_RAWPY``).
"""

from __future__ import annotations

import io
import os
import struct
from datetime import datetime
from typing import Any

from PIL import Image

from .errors import UnreadableImage
from .exif import exif_date
from .picture_modes import upright

try:
    import rawpy
except ImportError:  # pragma: no cover - in requirements.txt; an install without it says how to add it
    rawpy = None

RAW_SUPPORTED = rawpy is not None
RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf",
                            ".rw2", ".rwl", ".raf", ".pef", ".srw", ".3fr", ".fff", ".iiq", ".mos", ".mrw",
                            ".erf", ".kdc", ".dcr"})
NO_RAWPY = "camera RAW needs rawpy (pip install rawpy)"
WHOLE = 1024  # px a side, the least a preview must have to stand for the whole picture
_SHAPE = 0.04  # a preview whose sides' ratio is further from the picture's is another crop (bars)
_EPOCH = datetime.fromtimestamp(0)  # LibRaw's "no date"
_DNG_VERSION, _MAKE, _SUB_IFDS = 50706, 271, 330


def is_raw_name(name: str) -> bool:
    """True when a file name has a camera RAW extension (any case)."""
    return os.path.splitext(name)[1].lower() in RAW_EXTENSIONS


def is_raw(data: bytes, name: str = "") -> bool:
    """Whether a file (its bytes, and its name where it has one) is camera RAW."""
    head = data[:16]
    if is_raw_name(name) or head[4:12] == b"ftypcrx " or head.startswith(b"FUJIFILMCCD-RAW"):
        return True
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\0") or head[:4] + head[8:10] == b"II*\0CR":
        return True  # Olympus, Panasonic, Canon CR2
    if head[:4] not in (b"II*\0", b"MM\0*"):
        return False
    tags = _first_tags(data)
    return _DNG_VERSION in tags or {_MAKE, _SUB_IFDS} <= tags  # DNG; a camera's TIFF with its raw data below


def _first_tags(data: bytes) -> set[int]:
    """The tags of a TIFF file's first directory (none where it is cut short)."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (at,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, at)
        return {struct.unpack_from(order + "H", data, at + 2 + 12 * i)[0] for i in range(min(count, 1000))}
    except struct.error:
        return set()


def develop(data: bytes, name: str, min_size: int | None, max_pixels: int) -> tuple[Image.Image, int, int, str | None]:
    """A RAW file's picture, upright RGB, with its upright width and height and its date taken."""
    with _opened(data, name) as raw:
        width, height = _upright(raw)
        if width < 1 or height < 1:
            raise UnreadableImage(name, "decode error", "zero-sized image")
        if width * height > max_pixels:
            raise UnreadableImage(name, "too many pixels", f"{width}x{height} > {max_pixels}")
        preview = _preview(raw, min_size)
        try:
            if preview is None:
                raw.unpack()  # the sensor's data, where it is cut short: "truncated"
            return preview or _developed(raw, min_size), width, height, _date(raw, data, preview)
        except rawpy.LibRawError as exc:
            raise _unreadable(name, exc) from None


def header(source: bytes | str, name: str, dated: bool = True) -> tuple[int, int, str | None]:
    """A RAW file's (its bytes, or its path) upright width and height and, where ``dated``, its date
    taken, without developing it."""
    if isinstance(source, str) and not source.isascii():  # LibRaw opens UTF-8 names only (not Latin-1's): the bytes
        with open(source, "rb") as handle:
            source = handle.read()
    with _opened(source, name) as raw:
        return (*_upright(raw), _date(raw, source) if dated else None)


class _opened:
    """``rawpy.imread`` of the bytes, its errors an ``UnreadableImage``."""

    def __init__(self, data: bytes | str, name: str) -> None:
        self.data, self.name, self.raw = data, name, None

    def __enter__(self) -> Any:
        if rawpy is None:
            raise UnreadableImage(self.name, NO_RAWPY)
        try:
            self.raw = rawpy.imread(io.BytesIO(self.data) if isinstance(self.data, bytes) else self.data)
        except rawpy.LibRawError as exc:
            raise _unreadable(self.name, exc, self._head()) from None
        return self.raw

    def _head(self) -> bytes | None:
        if isinstance(self.data, bytes):
            return self.data[:64]
        try:
            with open(self.data, "rb") as handle:
                return handle.read(64)
        except OSError:
            return None

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def _unreadable(name: str, exc: BaseException, head: bytes | None = None) -> UnreadableImage:
    """Why LibRaw could not read a file; ``head``, its first bytes where known: LibRaw says an
    "Input/output error" of any file too short for its header (a few bytes of text named .nef),
    which is no picture where its bytes start as no RAW or TIFF file does."""
    text = str(exc).strip("b'\"")
    if isinstance(exc, rawpy.LibRawFileUnsupportedError) or \
            (isinstance(exc, rawpy.LibRawIOError) and head is not None and not _raw_signature(head)):
        return UnreadableImage(name, "not an image", text)
    if isinstance(exc, (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError,
                        rawpy.LibRawMemPoolOverflowError)):
        return UnreadableImage(name, "too many pixels", text)
    return UnreadableImage(name, "truncated" if isinstance(exc, rawpy.LibRawIOError) else "decode error", text)


# How the files LibRaw reads begin: byte order (TIFF-based: DNG, NEF, ARW, CR2, PEF...; Olympus's
# IIRO, Panasonic's IIU, Canon's CRW), Fujifilm, Minolta, Sigma, ARRI, Nokia; Canon's CR3 (ISO media,
# "ftyp" at 4); Phase One's IIII or MMMM in the first 32 bytes. Generous: a file that starts as one
# of these and is cut short is "truncated"; one that starts as none is no RAW file.
_SIGNATURES = (b"II", b"MM", b"FUJIFILM", b"\0MRM", b"FOVb", b"ARRI", b"NOKIARAW")


def _raw_signature(head: bytes) -> bool:
    return (head.startswith(_SIGNATURES) or head[4:8] == b"ftyp"
            or b"IIII" in head[:32] or b"MMMM" in head[:32])


def _upright(raw: Any) -> tuple[int, int]:
    sizes = raw.sizes
    turned = sizes.flip in (5, 6)  # LibRaw's flip: 3 a half turn, 5 a quarter left, 6 a quarter right
    return (sizes.height, sizes.width) if turned else (sizes.width, sizes.height)


def _date(raw: Any, source: bytes | str, preview: Image.Image | None = None) -> str | None:
    """When the picture was taken: from the EXIF of the preview (the camera's, or LibRaw's where the
    camera wrote none) or of the file (TIFF-based RAW), else LibRaw's own (it reads the makers' notes
    too, but only once it has unpacked the sensor's data). LibRaw says 1970-01-01 where it found none."""
    for exif in (preview.getexif() if preview is not None else None, _exif(source)):
        if exif is not None and (date := exif_date(exif)) is not None and date != _EPOCH.isoformat():
            return date
    try:
        stamp = raw.other.timestamp
    except rawpy.LibRawError:  # the sensor's data cut short, but a preview: the picture, undated
        return None
    return stamp.isoformat() if stamp != _EPOCH and 1826 < stamp.year < 2200 else None


def _exif(source: bytes | str) -> Image.Exif | None:
    if not isinstance(source, bytes) or source[:4] not in (b"II*\0", b"MM\0*"):
        return None
    exif = Image.Exif()
    try:
        exif.load(source)
    except (OSError, SyntaxError, ValueError, struct.error):
        return None
    return exif


def _preview(raw: Any, min_size: int | None) -> Image.Image | None:
    """The camera's own picture, where it has one large enough and of the picture's shape."""
    try:
        thumb = raw.extract_thumb()
        if thumb.format == rawpy.ThumbFormat.JPEG:
            picture = Image.open(io.BytesIO(thumb.data))
        else:
            picture = Image.fromarray(thumb.data).convert("RGB")
        stored = sorted((raw.sizes.width, raw.sizes.height))
        sides = sorted(picture.size)
        if sides[0] < min(min_size or WHOLE, stored[0]) or \
                abs(sides[1] / sides[0] - stored[1] / stored[0]) > _SHAPE * stored[1] / stored[0]:
            return None
        orientation = picture.getexif().get(0x0112, 1)
        if min_size and picture.format == "JPEG":
            picture.draft("RGB", (min_size, min_size))
        picture.load()
    except (rawpy.LibRawError, OSError, ValueError, SyntaxError, EOFError, ZeroDivisionError):  # none, or broken
        return None
    if orientation in range(2, 9):
        picture = upright(picture, orientation)  # the EXIF left unwritten: a mistyped tag fails nothing
    elif raw.sizes.flip in _FLIPS:
        picture = picture.transpose(_FLIPS[raw.sizes.flip])
    return picture.convert("RGB")


_FLIPS = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


def _developed(raw: Any, min_size: int | None) -> Image.Image:
    """The sensor's data developed (the camera's white balance, sRGB and its tone curve: LibRaw's own
    curve is BT.709's, darker; turned upright by LibRaw)."""
    half = min(raw.sizes.width, raw.sizes.height) // 2 >= (min_size or WHOLE)
    pixels = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8, gamma=(2.4, 12.92))
    return Image.fromarray(pixels)
