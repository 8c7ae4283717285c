"""A TIFF whose metadata alone changed keeps its vector, as a JPEG or PNG does; a change to its
pixels, colour profile, orientation or compression does not; a camera RAW file built on TIFF has
no TIFF fingerprint.

The edits are made as exiftool makes them, in the TIFF's bytes (``testsupport.tiffedit``): tags
added, replaced and removed in the first directory (ImageDescription, Artist, DateTime, XMP,
IPTC, Photoshop, Rating, the EXIF and GPS sub-directories), the directory and its values laid
out again (first or last, a longer string moving every strip) or written anew at the file's end.
"""

from __future__ import annotations

import hashlib
import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms

from clipsearch.picture_fingerprint import picture_fingerprint
from clipsearch.tiff_picture import tiff_picture
from testsupport.imagefactory import photo, save
from testsupport.rawfactory import dng
from testsupport.tiffedit import appended, ascii_tag, directory, read, rewrite, short

from .test_metadata_edits import XMP, edits_keep_the_vector

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
LAB = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def tiff(seed: int = 1, mode: str = "RGB", **kwargs) -> bytes:
    img = photo(64, 48, seed=seed)
    img = img.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else img.convert(mode)
    buffer = io.BytesIO()
    img.save(buffer, "TIFF", **kwargs)
    return buffer.getvalue()


def tiled(seed: int = 1, side: int = 16) -> bytes:
    """An uncompressed RGB TIFF in tiles of ``side`` px (Pillow reads them but writes strips)."""
    base = tiff(seed)
    order, tags, _, _ = read(base)
    samples = np.asarray(photo(64, 48, seed=seed))
    padded = np.zeros((-(-48 // side) * side, 64, 3), np.uint8)
    padded[:48] = samples
    tiles = [padded[y:y + side, x:x + side].tobytes() for y in range(0, padded.shape[0], side)
             for x in range(0, 64, side)]
    body = b"".join(tiles)
    changes = {273: None, 279: None, 278: None, 322: short(side), 323: short(side),
               324: (4, tuple(8 + i * len(tiles[0]) for i in range(len(tiles)))), 325: (4, (len(tiles[0]),) * len(tiles))}
    head = b"II*\0" + struct.pack("<I", 8 + len(body))
    tags = {tag: value for tag, value in {**tags, **changes}.items() if value is not None}
    return head + body + directory(order, tags, 8 + len(body))


def metadata(artist: str = "Ann Smith", date: str = "2021:08:01 12:00:00", xmp: bytes = XMP) -> dict:
    return {270: ascii_tag("A walk by the river"), 315: ascii_tag(artist), 306: ascii_tag(date), 700: (1, xmp),
            33723: (7, b"\x1c\x02\x19\x00\x05river"), 34377: (7, b"8BIM\x04\x04\0\0\0\0\0\0"), 18246: short(4),
            34665: (4, {36867: ascii_tag(date)}), 34853: (4, {0: (1, b"\x02\x03\0\0"), 1: ascii_tag("N")})}


def pixels(data: bytes) -> tuple[str, bytes]:
    with Image.open(io.BytesIO(data)) as img:
        return img.mode, img.tobytes()


KINDS = {"uncompressed": tiff, "lzw": lambda **kw: tiff(compression="tiff_lzw", **kw),
         "adobe deflate": lambda **kw: tiff(compression="tiff_adobe_deflate", **kw),
         "packbits": lambda **kw: tiff(compression="packbits", **kw),
         "jpeg": lambda **kw: tiff(compression="jpeg", **kw), "grey": lambda **kw: tiff(mode="L", **kw),
         "rgba": lambda **kw: tiff(mode="RGBA", compression="tiff_lzw", **kw),
         "cmyk": lambda **kw: tiff(mode="CMYK", **kw), "palette": lambda **kw: tiff(mode="P", **kw),
         "16 bit": lambda **kw: tiff(mode="I;16", **kw), "icc": lambda **kw: tiff(icc_profile=SRGB, **kw),
         "tiled": tiled, "big endian": lambda **kw: rewrite(tiff(**kw), order=">")}


@pytest.mark.parametrize("kind", KINDS)
def test_a_tiffs_picture_ignores_its_metadata_as_a_tool_writes_it(kind):
    base = KINDS[kind]()
    picture = picture_fingerprint(base)
    assert picture and picture.startswith("tiff1:")
    added = rewrite(base, metadata())
    longer = rewrite(added, {270: ascii_tag("A much longer description of a walk by the river"), 18246: short(5)},
                     ifd_first=True)  # the strips move
    removed = rewrite(longer, {700: None, 33723: None, 34377: None, 34665: None, 34853: None, 270: None})
    edited = [added, longer, removed, appended(added, metadata("Bob Jones", "2022:02:02 02:02:02")),
              appended(base, {274: short(1)}), rewrite(base, ifd_first=True)]
    offsets = 273 if 273 in read(base)[1] else 324
    assert read(longer)[1][offsets] != read(added)[1][offsets]
    for same in edited:
        assert pixels(same) == pixels(base)  # the edit is a metadata edit
        assert picture_fingerprint(same) == picture
    assert picture_fingerprint(rewrite(base, {274: short(6)})) != picture
    assert picture_fingerprint(KINDS[kind](seed=2)) != picture


def test_a_tiffs_colour_profile_orientation_and_compression_are_its_picture():
    plain = tiff()
    xmp_turned = XMP.replace(b"/>", b' xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="8"/>')
    pairs = [(plain, tiff(icc_profile=SRGB)), (tiff(icc_profile=SRGB), tiff(icc_profile=LAB)),
             (plain, rewrite(plain, {274: short(3)})), (rewrite(plain, {274: short(3)}), rewrite(plain, {274: short(6)})),
             (plain, rewrite(plain, {700: (1, xmp_turned)})),  # no Orientation tag: Pillow follows XMP's
             (plain, tiff(compression="tiff_lzw")), (tiff(compression="tiff_lzw"), tiff(compression="tiff_adobe_deflate")),
             (plain, tiff(compression="jpeg")), (tiff(compression="jpeg"), tiff(compression="jpeg", quality=50)),
             (plain, tiff(mode="RGBA")), (plain, rewrite(plain, {262: short(6)}))]  # the same samples read as YCbCr
    for one, other in pairs:
        assert picture_fingerprint(one) and picture_fingerprint(other)
        assert picture_fingerprint(one) != picture_fingerprint(other)
    # the same picture in the other byte order is read again once (16-bit samples differ in it)
    assert picture_fingerprint(rewrite(plain, order=">")) != picture_fingerprint(plain)


def test_only_a_tiffs_first_page_is_its_picture():
    def pages(*seeds: int) -> bytes:
        buffer = io.BytesIO()
        first, *rest = (photo(64, 48, seed=seed) for seed in seeds)
        first.save(buffer, "TIFF", save_all=True, append_images=rest)
        return buffer.getvalue()

    one = picture_fingerprint(pages(1))
    assert one == picture_fingerprint(pages(1, 2)) == picture_fingerprint(pages(1, 3))  # what the indexer embeds
    assert picture_fingerprint(pages(4, 2)) != one
    two = pages(1, 2)
    assert picture_fingerprint(appended(two, metadata())) == one  # page two still follows


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's, reading the orientation of a broken file
def test_a_tiff_cut_short_ill_formed_or_absurd_has_no_picture():
    base = tiff(compression="tiff_lzw")
    order, tags, _, _ = read(base)
    last, first = rewrite(base), rewrite(base, ifd_first=True)
    assert picture_fingerprint(last) and picture_fingerprint(first)
    for data in (base, last, first):
        assert picture_fingerprint(data[:len(data) // 2]) is None
    assert picture_fingerprint(first[:-1]) is None  # the last strip cut short
    assert picture_fingerprint(last[:-4]) is None  # the directory cut short
    big = b"II+\0\x08\0\0\0" + base[8:]
    assert picture_fingerprint(big) is None  # BigTIFF
    nowhere = base[:4] + struct.pack("<I", len(base) + 10) + base[8:]
    assert picture_fingerprint(nowhere) is None
    strip_count = appended(base, {279: (4, (5, 5))})
    assert picture_fingerprint(strip_count) is None  # offsets and byte counts that do not pair
    assert picture_fingerprint(appended(base, {273: None})) is None  # no image data
    assert picture_fingerprint(appended(base, {324: (4, (8,)), 325: (4, (8,))})) is None  # strips and tiles
    assert picture_fingerprint(appended(base, {259: short(6)})) is None  # old-style JPEG
    past = appended(base, {273: (4, (len(base) * 4,))})
    assert picture_fingerprint(past) is None
    at = struct.unpack("<I", last[4:8])[0]
    twice = bytearray(last)
    twice[at + 2 + 12:at + 2 + 14] = twice[at + 2:at + 4]  # the second entry has the first's tag
    assert picture_fingerprint(bytes(twice)) is None
    absurd = bytearray(last)
    absurd[at:at + 2] = struct.pack("<H", 60000)
    assert picture_fingerprint(bytes(absurd)) is None
    assert tiff_picture(strip_count, hashlib.blake2b()) is None  # by the walker, whatever Pillow makes of it


def test_a_camera_raw_file_built_on_tiff_has_no_tiff_picture():
    upright = photo(96, 64, seed=3)
    for data in (dng(upright), dng(upright, preview=upright), dng(upright, cfa=False)):
        assert picture_fingerprint(data) is None and picture_fingerprint(data, "photo.tif") is None
        assert tiff_picture(data, hashlib.blake2b()) is None  # DNG version tag, CFA or LinearRaw data
    plain = tiff()
    assert picture_fingerprint(plain, "photo.tif")
    for name in ("DSC_0001.NEF", "IMG_1.pef", "a.arw", "b.dng", "c.cr2"):
        assert picture_fingerprint(plain, name) is None  # read by LibRaw: its first directory is a preview
    nikon = rewrite(plain, {271: ascii_tag("NIKON CORPORATION"), 330: (4, (8,))})
    assert picture_fingerprint(nikon, "photo.tif") is None  # a camera's TIFF with its raw data below
    cr2 = plain[:8] + b"CR\x02\0" + plain[12:]
    assert picture_fingerprint(cr2) is None
    assert tiff_picture(rewrite(plain, {262: short(32803)}), hashlib.blake2b()) is None


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        save(photo(160, 120, seed=10 + i), root / f"other{i}.jpg", quality=90)
    (root / "edited.tif").write_bytes(tiff(compression="tiff_lzw"))
    return root


def test_a_tiff_whose_metadata_alone_changed_keeps_its_vector_and_one_whose_pixels_changed_does_not(engine, library):
    edits_keep_the_vector(engine, library, library / "edited.tif", [
        (lambda data: rewrite(data, metadata(date="2021:08:01 12:00:00")), "2021-08-01T12:00:00"),
        (lambda data: rewrite(data, metadata("Bob", date="2022:02:02 02:02:02"), ifd_first=True), "2022-02-02T02:02:02"),
    ], rewrite(tiff(seed=7, compression="tiff_lzw"), metadata(date="2022:02:02 02:02:02")))
