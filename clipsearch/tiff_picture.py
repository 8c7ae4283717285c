"""A TIFF's picture fingerprint: its first directory's picture tags and image data, not its metadata.

A classic TIFF (either byte order) is a header, then directories (IFDs) of tags whose values lie
in the entry or elsewhere in the file. The picture the indexer embeds is the first directory's
(Pillow reads page one; later pages, and a thumbnail in IFD1, are not hashed). Metadata tools
(exiftool, digiKam, Lightroom) rewrite that directory to add or change ImageDescription, Artist,
DateTime, XMP (700), IPTC (33723), Photoshop (34377), the EXIF and GPS sub-directories and
more, and often move it, its values and the image data elsewhere in the file.

So the fingerprint hashes, from the first directory, only the tags of an allow-list that make
the pixels (``_PICTURE_TAGS``: size, samples and their format, compression and predictor,
photometric, colour map, YCbCr, JPEG tables, ICC profile, strip or tile geometry and more) by
their values, read as numbers where they are numbers (so a SHORT written again as a LONG is the
same), never by where they lie; then the image data itself, each strip or tile read through its
offset and byte count (the offsets are not hashed). An allow-list, not a list of what to leave
out: a tag it does not know (a tool's own, metadata nearly always) is left out, so a new
metadata tag keeps the vector; the price is that a picture tag it does not know, were one
changed alone, would too. The orientation (274) is not in it: the caller hashes the orientation
as Pillow reads it (274, else XMP's), as for the other formats, so removing an Orientation of 1
changes nothing.

None (the file is read as before) where it is no classic TIFF (BigTIFF), is cut short or ill
formed (a value or strip past the end, a tag twice, strips and tiles both or neither), absurd
(more than ``_MAX_ENTRIES`` tags, ``_MAX_PIECES`` strips, or strips that hash more than twice
the file), holds old-style JPEG (compression 6, read through offsets of its own), or is camera
RAW data (a CFA or LinearRaw photometric, a DNG version tag): the indexer develops a RAW file
with LibRaw, not the TIFF's first directory, often a small preview. (The caller also gives a
file that ``camera_raw.is_raw`` takes, by its name or its tags, no TIFF fingerprint.)
"""

from __future__ import annotations

import struct

VERSION = "tiff1"  # changes with what is hashed: a fingerprint of another version never matches
_MAX_ENTRIES = 4096
_MAX_PIECES = 1 << 20
_STRIPS, _TILES = (273, 279), (324, 325)  # offsets, byte counts
_COMPRESSION, _PHOTOMETRIC, _DNG_VERSION = 259, 262, 50706
_OLD_JPEG, _CFA, _LINEAR_RAW = 6, 32803, 34892
_PICTURE_TAGS = frozenset({
    256, 257, 258, 259, 262,  # width, length, bits per sample, compression, photometric
    266, 277, 278, 284,  # fill order, samples per pixel, rows per strip, planar configuration
    301, 317, 318, 319, 320,  # transfer function, predictor, white point, primaries, colour map
    322, 323, 332, 338, 339, 340, 341,  # tile width, length, ink set, extra samples, sample format, min, max
    347, 529, 530, 531, 532,  # JPEG tables, YCbCr coefficients, subsampling, positioning, reference black white
    34675,  # ICC profile
})
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_NUMBERS = {3: "H", 4: "I", 8: "h", 9: "i", 13: "I", 5: "I", 10: "i", 11: "f", 12: "d"}  # rationals: pairs


class _IllFormed(Exception):
    pass


def is_tiff(data: bytes) -> bool:
    """Whether ``data`` begins as a classic TIFF (not BigTIFF), either byte order."""
    return data[:4] in (b"II*\0", b"MM\0*")


def tiff_picture(data: bytes, digest) -> str | None:
    """The fingerprint of the TIFF in ``data`` ("tiff1:" and 32 hex digits), its hash ``digest``
    begun (with the orientation); None where its first directory cannot be walked, is absurd, or
    holds camera RAW data or old-style JPEG."""
    try:
        order = "<" if data[:2] == b"II" else ">"
        tags = _first_directory(data, order)
        photometric, compression = (_number(data, order, tags, tag) for tag in (_PHOTOMETRIC, _COMPRESSION))
        if _DNG_VERSION in tags or photometric in (_CFA, _LINEAR_RAW) or compression == _OLD_JPEG:
            return None
        digest.update(data[:2])  # the byte order: how samples of more than 8 bits are read
        for tag in sorted(tags.keys() & _PICTURE_TAGS):
            value = _value(data, order, *tags[tag])
            digest.update(f"{tag} {len(value)};".encode())
            digest.update(value)
        _hash_pieces(data, order, tags, digest)
    except (_IllFormed, struct.error):
        return None
    return f"{VERSION}:{digest.hexdigest()}"


def _first_directory(data: bytes, order: str) -> dict[int, tuple[int, int, int]]:
    """The first directory's tags: tag -> (type, count, where its value is)."""
    if not is_tiff(data):
        raise _IllFormed
    (at,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, at)
    if at < 8 or count == 0 or count > _MAX_ENTRIES or at + 2 + 12 * count + 4 > len(data):
        raise _IllFormed  # the next directory's offset too must be there
    tags: dict[int, tuple[int, int, int]] = {}
    for entry in range(at + 2, at + 2 + 12 * count, 12):
        tag, kind, number = struct.unpack_from(order + "HHI", data, entry)
        if tag in tags:
            raise _IllFormed
        tags[tag] = (kind, number, entry + 8)
    return tags


def _where(data: bytes, order: str, kind: int, count: int, field: int) -> tuple[int, int]:
    """Where a value lies (in its entry's field, or at the offset there): start, end."""
    if kind not in _SIZES:
        raise _IllFormed
    size = _SIZES[kind] * count
    if size > len(data):
        raise _IllFormed
    start = field if size <= 4 else struct.unpack_from(order + "I", data, field)[0]
    if start + size > len(data):
        raise _IllFormed
    return start, start + size


def _value(data: bytes, order: str, kind: int, count: int, field: int) -> bytes:
    """A value as hashed: numbers written as text (whatever their type's width or byte order),
    anything else (ASCII, bytes, undefined: an ICC profile, JPEG tables) as it is."""
    start, end = _where(data, order, kind, count, field)
    if kind not in _NUMBERS:
        return b"bytes " + data[start:end]
    numbers = struct.unpack_from(f"{order}{count * (2 if kind in (5, 10) else 1)}{_NUMBERS[kind]}", data, start)
    return ("numbers " + ",".join(map(repr, numbers))).encode()


def _numbers(data: bytes, order: str, tags: dict, tag: int) -> tuple[int, ...]:
    kind, count, field = tags[tag]
    if kind not in (3, 4, 13):
        raise _IllFormed  # offsets and byte counts are SHORT or LONG
    start, _ = _where(data, order, kind, count, field)
    return struct.unpack_from(f"{order}{count}{_NUMBERS[kind]}", data, start)


def _number(data: bytes, order: str, tags: dict, tag: int) -> int | None:
    """A SHORT or LONG tag's first value (None: no such tag)."""
    return _numbers(data, order, tags, tag)[0] if tag in tags and tags[tag][1] else None


def _hash_pieces(data: bytes, order: str, tags: dict, digest) -> None:
    """Hash each strip's or tile's bytes, its length first, in their order."""
    strips, tiles = all(tag in tags for tag in _STRIPS), all(tag in tags for tag in _TILES)
    if strips == tiles:
        raise _IllFormed
    offsets, counts = (_numbers(data, order, tags, tag) for tag in (_STRIPS if strips else _TILES))
    if len(offsets) != len(counts) or not offsets or len(offsets) > _MAX_PIECES or sum(counts) > 2 * len(data):
        raise _IllFormed
    view = memoryview(data)
    for start, count in zip(offsets, counts):
        if start + count > len(data):
            raise _IllFormed  # cut short
        digest.update(count.to_bytes(8, "big"))
        digest.update(view[start:start + count])
