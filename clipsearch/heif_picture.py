"""A HEIF's (HEIC, AVIF) picture fingerprint: the items that make its picture, not its Exif or XMP.

A HEIC or AVIF still is an ISOBMFF file whose ``meta`` box lists items: the primary one (``pitm``)
is the picture; a grid's tiles are the items it references (``dimg``), its alpha (and depth) the
items that reference it as auxiliary (``auxl``). Each item has a type (hvc1, av01, grid, ...),
properties (``ipma`` into ``ipco``: hvcC or av1C, ispe, colr with its ICC profile, pixi, clap,
and the orientation, irot and imir) and data, found through ``iloc`` in the file or in ``idat``.
The fingerprint hashes, for each of those items in the order the references give, its role, type,
properties and data (read through its extents, never where they lie), and the EXIF orientation
as Pillow reads it (the caller's). Not hashed: the Exif and XMP items (``cdsc``), thumbnails
(``thmb``), anything unreferenced, and the offsets themselves, which exiftool's edits move (a
longer Exif item moves the picture's data in ``mdat``). A file with tracks (``moov``: an
animated AVIF or HEIF sequence, decoded from them), data in another file or in another item,
cut short or ill formed, has none (None): its changes are read as before.
"""

from __future__ import annotations

from collections import deque

VERSION = "heif1"  # changes with what is hashed: a fingerprint of another version never matches
_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"mif2", b"avif"}


class _IllFormed(Exception):
    pass


def is_heif(data: bytes) -> bool:
    """Whether ``data`` begins as a HEIF still (a ``ftyp`` naming a HEIF brand)."""
    if data[4:8] != b"ftyp" or len(data) < 16:
        return False
    end = min(int.from_bytes(data[:4], "big"), len(data))
    return any(data[pos:pos + 4] in _BRANDS for pos in (8, *range(16, end - 3, 4)))


def heif_picture(data: bytes, digest) -> str | None:
    """The fingerprint of the HEIF in ``data`` ("heif1:" and 32 hex digits), its hash ``digest``
    begun (with the orientation); None where it cannot be walked or has no picture item."""
    try:
        meta, hashed = _Meta(data), 0
        for role, item in meta.picture():
            hashed += _hash_item(digest, meta, role, item)
            if hashed > 2 * len(data):  # a tile's properties are hashed with each: twice is ample
                return None  # items that share their data or properties: a crafted file could make this endless
    except (_IllFormed, KeyError, IndexError, StopIteration):  # a box or item missing, or past the end
        return None
    return f"{VERSION}:{digest.hexdigest()}"


def _hash_item(digest, meta: _Meta, role: bytes, item: int | None) -> int:
    """Hash an item's role, then (unless it was met before: None) its type, properties and data,
    each piece with its length first (so no two sequences of pieces hash alike); its data as one
    piece, however many extents hold it. Returns how many bytes of the file it hashed."""
    pieces: list[bytes | memoryview] = [role]
    if item is not None:
        view = memoryview(meta.data)
        pieces.append(meta.types[item])
        for essential, index in meta.properties.get(item, []):
            kind, start, end = meta.property_boxes[index - 1]
            pieces += [b"essential" if essential else b"property", kind, view[start:end]]
        extents = meta.item_data(item)
        if sum(len(extent) for extent in extents) > len(meta.data):
            raise _IllFormed  # extents that overlap
        pieces += [b"data", extents[0] if len(extents) == 1 else b"".join(extents)]
    for piece in pieces:
        digest.update(len(piece).to_bytes(8, "big"))
        digest.update(piece)
    return sum(len(piece) for piece in pieces[1:])


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """Each box between ``start`` and ``end``: its type, where its payload starts, where it ends."""
    out, pos = [], start
    while pos < end:
        if pos + 8 > end:
            raise _IllFormed
        size, kind, head = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8], 8
        if size == 1:
            size, head = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise _IllFormed  # cut short, or a box that runs past its parent
        out.append((kind, pos + head, pos + size))
        pos += size
    return out


class _Reader:
    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def uint(self, size: int) -> int:
        if self.pos + size > self.end:
            raise _IllFormed
        self.pos += size
        return int.from_bytes(self.data[self.pos - size:self.pos], "big")

    def full_box(self) -> tuple[int, int]:
        return self.uint(1), self.uint(3)


class _Meta:
    """A HEIF file's items, as its ``meta`` box lists them."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        top = _boxes(data, 0, len(data))
        if any(kind == b"moov" for kind, _, _ in top):
            raise _IllFormed  # a sequence: decoded from its tracks
        start, end = next((s, e) for kind, s, e in top if kind == b"meta")
        boxes = {}
        for kind, s, e in _boxes(data, start + 4, end):
            boxes.setdefault(kind, (s, e))
        if data[boxes[b"hdlr"][0] + 8:boxes[b"hdlr"][0] + 12] != b"pict":
            raise _IllFormed
        reader = _Reader(data, *boxes[b"pitm"])
        self.primary = reader.uint(2 if reader.full_box()[0] == 0 else 4)
        self.idat = boxes.get(b"idat", (0, 0))
        self.locations = _locations(_Reader(data, *boxes[b"iloc"]))
        self.types = _types(data, *boxes[b"iinf"])
        self.references = _references(data, *boxes[b"iref"]) if b"iref" in boxes else []
        iprp = _boxes(data, *boxes[b"iprp"])
        ipco = next((s, e) for kind, s, e in iprp if kind == b"ipco")
        self.property_boxes = _boxes(data, *ipco)
        self.properties: dict[int, list[tuple[bool, int]]] = {}
        for kind, s, e in iprp:
            if kind == b"ipma":
                for item, associated in _associations(data, (s, e)).items():
                    self.properties.setdefault(item, []).extend(associated)

    def picture(self) -> list[tuple[bytes, int | None]]:
        """The items that make the picture, each with its role: the primary item, the items each
        derives from (a grid's tiles), the auxiliary items of any (alpha), in reference order.
        Roles name items by where the walk met them (not by their numbers); an item met again (a
        tile used twice) is its role alone (None: its content is hashed where first met)."""
        inputs: dict[int, list[int]] = {}
        auxiliaries: dict[int, list[int]] = {}
        for kind, source, targets in self.references:
            if kind == b"dimg":
                inputs.setdefault(source, []).extend(targets)
            elif kind == b"auxl":
                for target in targets:
                    auxiliaries.setdefault(target, []).append(source)
        met: dict[int, int] = {}
        out: list[tuple[bytes, int | None]] = []
        todo = deque([(b"primary", self.primary)])
        while todo:
            role, item = todo.popleft()
            if item in met:
                out.append((b"%s: #%d again" % (role, met[item]), None))
                continue
            here = met[item] = len(met)
            out.append((role, item))
            todo += [(b"input %d of #%d" % (n, here), target) for n, target in enumerate(inputs.get(item, []))]
            todo += [(b"auxiliary of #%d" % here, source) for source in auxiliaries.get(item, [])]
        return out

    def item_data(self, item: int) -> list[memoryview]:
        method, base, extents = self.locations[item]
        if method == 0:
            low, high = 0, len(self.data)
        elif method == 1:
            low, high = self.idat
        else:
            raise _IllFormed  # data in another item: not followed
        view, out = memoryview(self.data), []
        for offset, length in extents:
            start = low + base + offset
            end = start + length if length else high
            if end > high or start > end:
                raise _IllFormed  # cut short
            out.append(view[start:end])
        return out


def _locations(reader: _Reader) -> dict[int, tuple[int, int, list[tuple[int, int]]]]:
    """``iloc``: item -> its construction method, base offset and extents (offset, length)."""
    version = reader.full_box()[0]
    sizes, more = reader.uint(1), reader.uint(1)
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version in (1, 2) else 0
    out = {}
    for _ in range(reader.uint(2 if version < 2 else 4)):
        item = reader.uint(2 if version < 2 else 4)
        method = reader.uint(2) & 15 if version in (1, 2) else 0
        if reader.uint(2) != 0:
            raise _IllFormed  # data in another file
        base = reader.uint(base_size)
        extents = []
        for _ in range(reader.uint(2)):
            reader.uint(index_size)
            extents.append((reader.uint(offset_size), reader.uint(length_size)))
        out[item] = (method, base, extents)
    return out


def _types(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """``iinf``: item -> its type (hvc1, av01, grid, Exif, mime, ...)."""
    reader = _Reader(data, start, end)
    reader.uint(2 if reader.full_box()[0] == 0 else 4)
    out = {}
    for kind, s, e in _boxes(data, reader.pos, end):
        entry = _Reader(data, s, e)
        version = entry.full_box()[0]
        if kind != b"infe" or version < 2:
            raise _IllFormed
        item = entry.uint(2 if version == 2 else 4)
        entry.uint(2)  # protection
        out[item] = entry.uint(4).to_bytes(4, "big")
    return out


def _references(data: bytes, start: int, end: int) -> list[tuple[bytes, int, list[int]]]:
    """``iref``: (type, from item, to items) for each reference."""
    reader = _Reader(data, start, end)
    size = 2 if reader.full_box()[0] == 0 else 4
    out = []
    for kind, s, e in _boxes(data, reader.pos, end):
        entry = _Reader(data, s, e)
        source = entry.uint(size)
        out.append((kind, source, [entry.uint(size) for _ in range(entry.uint(2))]))
    return out


def _associations(data: bytes, box: tuple[int, int]) -> dict[int, list[tuple[bool, int]]]:
    """``ipma``: item -> its properties (essential, index into ``ipco`` from 1)."""
    reader = _Reader(data, *box)
    version, flags = reader.full_box()
    out: dict[int, list[tuple[bool, int]]] = {}
    for _ in range(reader.uint(4)):
        item = reader.uint(2 if version < 1 else 4)
        for _ in range(reader.uint(1)):
            value, bits = (reader.uint(2), 15) if flags & 1 else (reader.uint(1), 7)
            if value & ((1 << bits) - 1):
                out.setdefault(item, []).append((bool(value >> bits), value & ((1 << bits) - 1)))
    return out
