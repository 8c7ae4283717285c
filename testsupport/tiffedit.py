"""TIFF files rewritten as a metadata tool (exiftool, digiKam) rewrites them, for tests.

``rewrite`` reads a classic TIFF's first directory (and its EXIF and GPS sub-directories) as
values, changes the tags asked, and lays the file out again: the directory first or last, its
values beside it, the image data after or before (so a longer string moves every strip), in
either byte order. ``appended`` leaves every byte where it was and writes the changed directory
at the end, the header pointing to it (the old one is left behind, as an in-place edit does).
"""

from __future__ import annotations

import struct

SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
NUMBERS = {3: "H", 4: "I", 8: "h", 9: "i", 13: "I", 5: "I", 10: "i", 11: "f", 12: "d"}
SUB_IFDS = (34665, 34853)  # EXIF, GPS
STRIPS, TILES = (273, 279), (324, 325)


def ascii_tag(text: str) -> tuple[int, bytes]:
    return 2, text.encode() + b"\0"


def short(*values: int) -> tuple[int, tuple[int, ...]]:
    return 3, values


def read(data: bytes) -> tuple[str, dict, list[bytes], int]:
    """The byte order, the first directory's tags (tag -> (type, value): bytes, numbers or, for a
    sub-directory, its tags), the strips' or tiles' bytes, and the next directory's offset."""
    order = "<" if data[:2] == b"II" else ">"
    at = struct.unpack_from(order + "I", data, 4)[0]
    tags, after = _read_ifd(data, order, at)
    offsets, counts = STRIPS if STRIPS[0] in tags else TILES
    pieces = [data[o:o + c] for o, c in zip(tags[offsets][1], tags[counts][1])]
    return order, tags, pieces, after


def rewrite(data: bytes, changes: dict | None = None, order: str | None = None, ifd_first: bool = False) -> bytes:
    """``data`` with the tags in ``changes`` set (a value: (type, value)) or removed (None),
    laid out again in ``order`` ("<", ">"; the file's where None), only its first page."""
    old_order, tags, pieces, _ = read(data)
    order = order or old_order
    tags = _changed(tags, changes)
    offsets, counts = STRIPS if STRIPS[0] in tags else TILES
    tags[counts] = (4, tuple(len(piece) for piece in pieces))
    tags[offsets] = (4, (0,) * len(pieces))
    header = (b"II*\0" if order == "<" else b"MM\0*")
    size = len(directory(order, tags, 8))
    data_at = 8 + size if ifd_first else 8
    starts, pos = [], data_at
    for piece in pieces:
        starts.append(pos)
        pos += len(piece) + (len(piece) & 1)
    tags[offsets] = (4, tuple(starts))
    image = b"".join(piece + b"\0" * (len(piece) & 1) for piece in pieces)
    ifd_at = 8 if ifd_first else pos
    block = directory(order, tags, ifd_at)
    body = block + image if ifd_first else image + block
    return header + struct.pack(order + "I", ifd_at) + body


def appended(data: bytes, changes: dict | None = None) -> bytes:
    """``data`` with its first directory, changed, written again at its end; the strips and the
    other pages left where they are."""
    order, tags, _, after = read(data)
    tags = _changed(tags, changes)
    at = len(data) + (len(data) & 1)
    grown = data + b"\0" * (at - len(data)) + directory(order, tags, at, after)
    return grown[:4] + struct.pack(order + "I", at) + grown[8:]


def _changed(tags: dict, changes: dict | None) -> dict:
    tags = dict(tags)
    for tag, value in (changes or {}).items():
        if value is None:
            tags.pop(tag, None)
        else:
            tags[tag] = value
    return tags


def _read_ifd(data: bytes, order: str, at: int) -> tuple[dict, int]:
    (count,) = struct.unpack_from(order + "H", data, at)
    tags = {}
    for entry in range(at + 2, at + 2 + 12 * count, 12):
        tag, kind, number = struct.unpack_from(order + "HHI", data, entry)
        size = SIZES[kind] * number
        start = entry + 8 if size <= 4 else struct.unpack_from(order + "I", data, entry + 8)[0]
        raw = data[start:start + size]
        if kind in NUMBERS:
            value = struct.unpack(f"{order}{number * (2 if kind in (5, 10) else 1)}{NUMBERS[kind]}", raw)
        else:
            value = raw
        if tag in SUB_IFDS:
            value = _read_ifd(data, order, value[0])[0]
        tags[tag] = (kind, value)
    return tags, struct.unpack_from(order + "I", data, at + 2 + 12 * count)[0]


def directory(order: str, tags: dict, at: int, after: int = 0) -> bytes:
    """A directory of ``tags`` at ``at``, the values too long for an entry after it."""
    extra_at = at + 2 + 12 * len(tags) + 4
    entries, extra = b"", b""
    for tag in sorted(tags):
        kind, value = tags[tag]
        if isinstance(value, dict):
            kind, raw, count = 4, struct.pack(order + "I", extra_at + len(extra)), 1
            extra += directory(order, value, extra_at + len(extra))
        elif isinstance(value, bytes):
            raw, count = value, len(value) // SIZES[kind]
        else:
            raw = struct.pack(f"{order}{len(value)}{NUMBERS[kind]}", *value)
            count = len(value) // (2 if kind in (5, 10) else 1)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", extra_at + len(extra))
            extra += raw + b"\0" * (len(raw) & 1)
        entries += struct.pack(order + "HHI", tag, kind, count) + field
    return struct.pack(order + "H", len(tags)) + entries + struct.pack(order + "I", after) + extra
