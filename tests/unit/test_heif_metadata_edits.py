"""A HEIC or AVIF whose Exif or XMP alone changed keeps its vector, as a JPEG does; a change to
its pixels, alpha, colour profile or rotation does not.

The edits are made as exiftool makes them, in the file's boxes: the Exif or XMP item's data
replaced by data of another length, written before the picture's in ``mdat``, so that every
``iloc`` offset of the picture's items moves. The picture's data and properties stay as they were.
"""

from __future__ import annotations

import hashlib
import io
import struct

import pytest
from PIL import Image, ImageCms

from clipsearch.heif_picture import heif_picture
from clipsearch.image_formats import AVIF_SUPPORTED, HEIF_SUPPORTED
from clipsearch.picture_fingerprint import picture_fingerprint
from testsupport.imagefactory import photo, save

from .test_metadata_edits import XMP, edits_keep_the_vector
from .test_metadata_edits import exif_payload as exif

FORMATS = [pytest.param("HEIF", marks=pytest.mark.skipif(not HEIF_SUPPORTED, reason="no pillow_heif")),
           pytest.param("AVIF", marks=pytest.mark.skipif(not AVIF_SUPPORTED, reason="no AVIF in Pillow"))]


def exif_item(*args, **kwargs) -> bytes:
    """An Exif item's data, as HEIF keeps it: the offset of its TIFF header first."""
    return b"\0\0\0\x06" + exif(*args, **kwargs)


def heif(fmt: str, seed: int = 1, alpha: int | None = None, **kwargs) -> bytes:
    """A 64x48 HEIC or AVIF with an Exif and an XMP item, and a corner of opacity ``alpha``."""
    img = photo(64, 48, seed=seed)
    if alpha is not None:
        opacity = Image.new("L", img.size, 255)
        opacity.paste(alpha, (0, 0, 16, 16))
        img.putalpha(opacity)
    buffer = io.BytesIO()
    img.save(buffer, fmt, **{"quality": 90, "exif": exif(), "xmp": XMP, **kwargs})
    return buffer.getvalue()


def boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out = []
    while start < end:
        size = struct.unpack(">I", data[start:start + 4])[0]
        out.append((data[start + 4:start + 8], start, start + size))
        start += size
    return out


def repack(data: bytes, **replace: bytes) -> bytes:
    """The HEIF ``data`` with the data of its items of these types replaced (``Exif=``, ``mime=``:
    its XMP), laid out again: those items' data first in ``mdat``, the others' after, each item in
    one extent, and every ``iloc`` offset set to match."""
    top = boxes(data, 0, len(data))
    ftyp = next(data[s:e] for kind, s, e in top if kind == b"ftyp")
    meta_start, meta_end = next((s, e) for kind, s, e in top if kind == b"meta")
    children = boxes(data, meta_start + 12, meta_end)
    iinf = next((s, e) for kind, s, e in children if kind == b"iinf")
    types = {struct.unpack(">H", data[s + 12:s + 14])[0]: data[s + 16:s + 20].decode()
             for _, s, _ in boxes(data, iinf[0] + 14, iinf[1])}  # infe version 2 entries
    iloc_start, iloc_end = next((s, e) for kind, s, e in children if kind == b"iloc")
    version, (sizes, more) = data[iloc_start + 8], data[iloc_start + 12:iloc_start + 14]
    assert version in (0, 1) and more & 15 == 0  # what Pillow and pillow_heif write: no extent index
    field = {"offset": sizes >> 4, "length": sizes & 15, "base": more >> 4}
    pos, items = iloc_start + 16, []

    def read(name: str) -> int:
        nonlocal pos
        pos += field.get(name, 2)
        return int.from_bytes(data[pos - field.get(name, 2):pos], "big")

    for _ in range(struct.unpack(">H", data[iloc_start + 14:iloc_start + 16])[0]):
        item, method = read("item"), read("method") if version else 0
        read("reference")
        base = read("base")
        extents = [(read("offset"), read("length")) for _ in range(read("count"))]
        assert method == 0
        items.append((item, replace.get(types[item], b"".join(data[base + o:base + o + n] for o, n in extents))))
    items.sort(key=lambda entry: types[entry[0]] not in replace)
    entry_size = 2 + 2 * bool(version) + 2 + field["base"] + 2 + field["offset"] + field["length"]
    iloc_size = 16 + entry_size * len(items)
    meta_size = meta_end - meta_start - (iloc_end - iloc_start) + iloc_size
    offset = len(ftyp) + meta_size + 8  # the new mdat's data
    iloc = bytearray(data[iloc_start:iloc_start + 16])
    iloc[:4] = struct.pack(">I", iloc_size)
    for item, payload in items:
        iloc += item.to_bytes(2, "big") + b"\0\0" * bool(version) + b"\0\0" + bytes(field["base"])
        iloc += b"\0\1" + offset.to_bytes(field["offset"], "big") + len(payload).to_bytes(field["length"], "big")
        offset += len(payload)
    meta = data[meta_start + 8:iloc_start] + bytes(iloc) + data[iloc_end:meta_end]
    mdat = b"".join(payload for _, payload in items)
    return ftyp + struct.pack(">I", len(meta) + 8) + b"meta" + meta + struct.pack(">I", len(mdat) + 8) + b"mdat" + mdat


def primary_parts(data: bytes) -> tuple[bytes, list[tuple[bool, bytes]]]:
    """Item 1's data and properties (essential, the whole box) in a HEIC pillow_heif wrote alone."""
    meta_start, meta_end = next((s, e) for kind, s, e in boxes(data, 0, len(data)) if kind == b"meta")
    children = {kind: (s, e) for kind, s, e in boxes(data, meta_start + 12, meta_end)}
    iprp = {kind: (s, e) for kind, s, e in boxes(data, children[b"iprp"][0] + 8, children[b"iprp"][1])}
    properties = [data[s:e] for _, s, e in boxes(data, iprp[b"ipco"][0] + 8, iprp[b"ipco"][1])]
    ipma = data[iprp[b"ipma"][0]:iprp[b"ipma"][1]]
    assert ipma[8:12] == bytes(4) and ipma[12:16] == b"\0\0\0\1" and ipma[16:18] == b"\0\1"  # v0, one item: 1
    associated = [(bool(value & 0x80), properties[(value & 0x7F) - 1]) for value in ipma[19:19 + ipma[18]]]
    mdat = next((s, e) for kind, s, e in boxes(data, 0, len(data)) if kind == b"mdat")
    return data[mdat[0] + 8:mdat[1]], associated  # its only item's data fills mdat


def full_box(kind: bytes, payload: bytes, version: int = 0) -> bytes:
    return struct.pack(">I", len(payload) + 12) + kind + bytes([version, 0, 0, 0]) + payload


def grid_heic(tiles: list[bytes], exif_data: bytes, layout: tuple[int, ...] = ()) -> bytes:
    """A HEIC whose picture is a grid of the ``tiles`` (64x48 HEICs) side by side, as a phone
    writes one: the grid item (in ``idat``) the primary, deriving from a tile item each (or from
    these, by their place in ``tiles``: one may be used twice), and an Exif item describing it, its
    data first in ``mdat``."""
    layout = layout or tuple(range(len(tiles)))
    parts = [primary_parts(tile) for tile in tiles]
    grid, exif_id = len(tiles) + 1, len(tiles) + 2
    ispe = full_box(b"ispe", struct.pack(">II", 64 * len(layout), 48))
    properties, ipma = [ispe], struct.pack(">IHBB", grid, grid, 1, 1)
    for item, (_, associated) in enumerate(parts, 1):
        ipma += struct.pack(">HB", item, len(associated))
        for essential, box in associated:
            properties.append(box)
            ipma += bytes([0x80 * essential | len(properties)])
    names = [(item, b"hvc1") for item in range(1, grid)] + [(grid, b"grid"), (exif_id, b"Exif")]
    iinf = struct.pack(">H", len(names)) + b"".join(full_box(b"infe", struct.pack(">HH", item, 0) + kind + b"\0", 2)
                                                      for item, kind in names)
    iref = b"".join(struct.pack(">I4sHH", 12 + 2 * len(targets), kind, source, len(targets))
                    + b"".join(struct.pack(">H", t) for t in targets)
                    for kind, source, targets in ((b"dimg", grid, [n + 1 for n in layout]), (b"cdsc", exif_id, [grid])))
    grid_data = struct.pack(">BBBBHH", 0, 0, 0, len(layout) - 1, 64 * len(layout), 48)
    payloads = [(exif_id, exif_data)] + [(item, data) for item, (data, _) in enumerate(parts, 1)]
    ftyp = tiles[0][:struct.unpack(">I", tiles[0][:4])[0]]

    def meta(offset: int) -> bytes:
        iloc = struct.pack(">BBH", 0x44, 0x00, grid + 1)
        for item, data in payloads:
            iloc += struct.pack(">HHHHII", item, 0, 0, 1, offset, len(data))
            offset += len(data)
        iloc += struct.pack(">HHHHII", grid, 1, 0, 1, 0, len(grid_data))
        children = (full_box(b"hdlr", bytes(4) + b"pict" + bytes(13)), full_box(b"pitm", struct.pack(">H", grid)),
                    full_box(b"iloc", iloc, 1), full_box(b"iinf", iinf), full_box(b"iref", iref),
                    struct.pack(">I", 16 + len(b"".join(properties)) + 12 + len(ipma)) + b"iprp"
                    + struct.pack(">I", 8 + len(b"".join(properties))) + b"ipco" + b"".join(properties)
                    + full_box(b"ipma", ipma), struct.pack(">I", 8 + len(grid_data)) + b"idat" + grid_data)
        return full_box(b"meta", b"".join(children))

    start = len(ftyp) + len(meta(0)) + 8
    mdat = b"".join(data for _, data in payloads)
    return ftyp + meta(start) + struct.pack(">I", len(mdat) + 8) + b"mdat" + mdat


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGBA").tobytes()


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as img:
        return img.getexif()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("alpha", [None, 90])
def test_a_heifs_picture_ignores_its_exif_and_xmp_where_an_edit_moves_its_data(fmt, alpha):
    base = heif(fmt, alpha=alpha)
    picture = picture_fingerprint(base)
    assert picture and picture.startswith("heif1:")
    longer = repack(base, Exif=exif_item("2021:08:01 12:00:00", artist="Ann Smith " * 20))
    edits = (longer, repack(base, Exif=exif_item("2022:02:02 02:02:02")), repack(longer, mime=XMP + b" " * 99),
             repack(base, Exif=exif_item(orientation=6)))  # its readers turn it by its irot alone
    for same in edits:
        assert pixels(same) == pixels(base)  # a metadata edit, read as one
        assert picture_fingerprint(same) == picture
    assert exif_of(longer).get_ifd(0x8769)[0x9003] == "2021:08:01 12:00:00"
    assert picture_fingerprint(heif(fmt, seed=2, alpha=alpha)) != picture


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_heifs_colour_profile_alpha_and_rotation_are_its_picture(fmt):
    profiles = [ImageCms.ImageCmsProfile(ImageCms.createProfile(name)).tobytes() for name in ("sRGB", "LAB")]
    turned = Image.Exif()
    turned[0x0112] = 6
    base = heif(fmt)
    pairs = [(base, heif(fmt, icc_profile=profiles[0])), (heif(fmt, icc_profile=profiles[0]), heif(fmt, icc_profile=profiles[1])),
             (heif(fmt, alpha=90), heif(fmt, alpha=200)), (base, heif(fmt, exif=turned.tobytes())),
             (base, heif(fmt, quality=60))]
    for one, other in pairs:
        assert picture_fingerprint(one) and picture_fingerprint(other)
        assert picture_fingerprint(one) != picture_fingerprint(other)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="no pillow_heif")
def test_a_grids_picture_is_its_tiles_in_their_order_not_its_exif():
    tiles = []
    for seed in (1, 2, 3):
        buffer = io.BytesIO()
        photo(64, 48, seed=seed).save(buffer, "HEIF", quality=90)
        tiles.append(buffer.getvalue())
    grid = grid_heic(tiles[:2], exif_item())
    with Image.open(io.BytesIO(grid)) as img:  # a grid pillow_heif reads as the tiles side by side
        assert img.size == (128, 48)
        assert img.crop((0, 0, 64, 48)).convert("RGBA").tobytes() == pixels(tiles[0])
        assert img.crop((64, 0, 128, 48)).convert("RGBA").tobytes() == pixels(tiles[1])
    picture = picture_fingerprint(grid)
    edited = grid_heic(tiles[:2], exif_item("2021:08:01 12:00:00", artist="Ann Smith " * 20))
    assert exif_of(edited).get_ifd(0x8769)[0x9003] == "2021:08:01 12:00:00" and pixels(edited) == pixels(grid)
    assert picture and picture_fingerprint(edited) == picture
    for other in (grid_heic(tiles[1::-1], exif_item()), grid_heic([tiles[0], tiles[2]], exif_item()), tiles[0]):
        assert picture_fingerprint(other) not in (None, picture)
    twice = [grid_heic(tiles[:2], exif_item(), layout) for layout in ((0, 1, 0), (0, 1, 1), (0, 0, 1))]
    with Image.open(io.BytesIO(twice[0])) as img:
        assert img.size == (192, 48) and img.crop((128, 0, 192, 48)).convert("RGBA").tobytes() == pixels(tiles[0])
    assert len({picture_fingerprint(grid) for grid in twice}) == 3  # a tile used twice, in its places


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_heif_cut_short_or_ill_formed_has_no_picture(fmt):
    data = heif(fmt, alpha=90)
    assert picture_fingerprint(data)
    for cut in (len(data) // 2, len(data) - 1, 200):
        assert picture_fingerprint(data[:cut]) is None
        assert heif_picture(data[:cut], hashlib.blake2b()) is None  # by the walker, whatever Pillow makes of it
    ftyp = struct.unpack(">I", data[:4])[0]
    assert heif_picture(data[:ftyp], hashlib.blake2b()) is None  # no meta box
    pitm = data.find(b"pitm")
    assert heif_picture(data[:pitm + 8] + b"\0\x63" + data[pitm + 10:], hashlib.blake2b()) is None  # no item 99


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        save(photo(160, 120, seed=10 + i), root / f"other{i}.jpg", quality=90)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_heif_whose_exif_alone_changed_keeps_its_vector_and_one_whose_pixels_changed_does_not(engine, library, fmt):
    path = library / ("phone.heic" if fmt == "HEIF" else "phone.avif")
    path.write_bytes(heif(fmt))
    edits_keep_the_vector(engine, library, path, [
        (lambda data: repack(data, Exif=exif_item("2021:08:01 12:00:00", artist="Ann Smith")), "2021-08-01T12:00:00"),
    ], repack(heif(fmt, seed=7), Exif=exif_item("2021:08:01 12:00:00")))
