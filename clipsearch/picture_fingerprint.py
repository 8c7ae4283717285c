"""A picture's fingerprint: what a file shows, without what is written about it.

Photo tools write metadata into the files themselves (ratings, keywords, GPS, a corrected capture
date), often across a whole library at once: the file's bytes change, its pixels do not. The
picture fingerprint hashes what the decoder reads to make the pixels, from the bytes the indexer
has already read (nothing is decoded), so such a file keeps its vector.

For a JPEG that is every segment but the metadata ones (APP1 EXIF/XMP, APP13 IPTC, COM and the
other application segments), and the scans up to the end of the image. Kept in the hash, because
they change the picture: the quantization and Huffman tables, the frame and scan headers, the ICC
profile (a CMYK photo is converted through it, and a viewer shows any photo through it: another
profile is other colours), the Adobe segment (its transform says how to read the colours),
whether a JFIF segment is there (which can decide the colour space; not its resolution, which
metadata tools rewrite), and the EXIF orientation (the photo turned is another picture; read as
the decoder reads it, with XMP's where EXIF has none). For a PNG, every chunk but the text ones
(tEXt, zTXt, iTXt: XMP among them), eXIf and tIME, with the orientation too: its header, palette,
transparency and colour chunks (gAMA, cHRM, sRGB, iCCP) and its image data. For a WebP, its
bitstream, alpha, ICC profile and animation chunks, not its EXIF and XMP ones, and of its VP8X
header only what changes the picture (``webp_picture``: adding EXIF to a simple WebP adds one),
with the orientation too. For a HEIC or AVIF still, the items that make its picture (the primary
one, a grid's tiles, its alpha) with their properties and data, not its Exif and XMP items nor
where their data lies (``heif_picture``), with the orientation too. For a classic TIFF, its
first directory's picture tags by their values and its strips or tiles read through their
offsets, not its metadata tags, sub-directories, other pages nor where any of it lies
(``tiff_picture``), with the orientation too; not for a camera RAW file built on TIFF (DNG, NEF,
ARW, ...: ``camera_raw.is_raw``, by the file's ``name`` or its tags), which the indexer develops
with LibRaw rather than reading its first directory. Other formats (GIF, BMP, camera RAW, BigTIFF,
HEIF and AVIF sequences) have none (None): their changes are read as before.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from . import (
    camera_raw,
    image_formats,  # noqa: F401  (Pillow opens a HEIC through the opener it registers)
)
from .heif_picture import heif_picture, is_heif
from .tiff_picture import is_tiff, tiff_picture
from .webp_picture import is_webp, webp_picture

VERSION = "jpeg1"  # changes with what is hashed: a fingerprint of another version never matches
PNG_VERSION = "png1"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length
_APP0, _APP2, _APP14, _COM = 0xE0, 0xE2, 0xEE, 0xFE


def picture_fingerprint(data: bytes, name: str = "") -> str | None:
    """The fingerprint of the picture in ``data`` ("jpeg1:", "png1:", "webp1:", "heif1:" or "tiff1:"
    and 32 hex digits), or None where the format has none (not a JPEG, PNG, WebP, HEIC or AVIF
    still, or classic TIFF; a TIFF that is camera RAW by its tags or its ``name``, the file's path)
    or the file cannot be walked (cut short, ill formed)."""
    if data.startswith(_PNG_SIGNATURE):
        return _png_picture(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_picture(data)
    walker = webp_picture if is_webp(data) else heif_picture if is_heif(data) else \
        tiff_picture if is_tiff(data) and not camera_raw.is_raw(data, name) else None  # RAW: LibRaw develops it
    if walker is None:
        return None
    digest = _oriented(data)
    return None if digest is None else walker(data, digest)


def pictures_before(store, todo: list, known: dict[str, tuple[int, int, str]]) -> dict[str, str] | None:
    """path -> the picture fingerprint of the content its record holds, for the files to read
    (``todo``, ``FileStat``s) that have a record (``known``: path -> size, mtime, fingerprint) with
    one; None where the store keeps no pictures (asked only when there is work)."""
    pictures = getattr(store, "pictures", None)
    if pictures is None:
        return None
    by_content = pictures() if todo else {}
    return {stat.path: by_content[record[2]] for stat in todo
            if (record := known.get(stat.path)) and record[2] in by_content}


def metadata_only(before: dict[str, str] | None, path: str, picture: str | None) -> bool:
    """Whether the file at ``path``, read with another content than its record's, shows the
    ``picture`` its record's content showed (``before``, from ``pictures_before``): its metadata
    alone changed, and a run keeps its vector (its words and pixel signature too). A dry run asks
    the same, so that it says what the run will do."""
    return bool(picture) and (before or {}).get(path) == picture


def _jpeg_picture(data: bytes) -> str | None:
    digest = _oriented(data)
    if digest is None:
        return None
    view, pos, size, jfif = memoryview(data), 2, len(data), False
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (_SOI, _EOI):
            return None  # a second start, or an end before any scan
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if end > size or end < pos + 4:
            return None
        if marker == _SOS:  # the scans, to the end of the image (in them 0xFF is always escaped)
            # Nearly every file ends there: no search through megabytes (1.9 ms of 3.9 for 12 MP).
            # A file that ends with another picture's end (MPF's, appended) keeps it in the hash.
            stop = size - 2 if data.endswith(b"\xff\xd9") else data.find(b"\xff\xd9", end)
            digest.update(b"jfif;" if jfif else b"")
            digest.update(view[pos:size if stop < 0 else stop + 2])
            return f"{VERSION}:{digest.hexdigest()}"
        if marker == _APP0 and data.startswith(b"JFIF\0", pos + 4):
            jfif = True
        elif _is_picture(marker, data, pos + 4):
            digest.update(view[pos:end])
        pos = end
    return None


def _png_picture(data: bytes) -> str | None:
    digest = _oriented(data)
    if digest is None:
        return None
    view, pos, size = memoryview(data), len(_PNG_SIGNATURE), len(data)
    while pos + 12 <= size:
        end = pos + 12 + int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if end > size:
            return None
        if kind not in _PNG_METADATA:
            digest.update(view[pos:end])
        if kind == b"IEND":
            return f"{PNG_VERSION}:{digest.hexdigest()}"
        pos = end
    return None


def _is_picture(marker: int, data: bytes, payload: int) -> bool:
    """A segment that makes the picture (not an application segment or comment but the three
    that change its colours)."""
    if marker == _APP2:
        return data.startswith(b"ICC_PROFILE\0", payload)
    if marker == _APP14:
        return data.startswith(b"Adobe", payload)
    return not (_APP0 <= marker <= 0xEF or marker == _COM)


def _oriented(data: bytes):
    """A hash begun with the EXIF orientation as the decoder reads it (Pillow: EXIF, else XMP's);
    None where the header cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            orientation = int(img.getexif().get(0x0112, 1))
    except Exception:
        return None
    return hashlib.blake2b(f"orientation {orientation};".encode(), digest_size=16)
