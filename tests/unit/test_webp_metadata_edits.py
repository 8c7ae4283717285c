"""A WebP whose metadata alone changed keeps its vector, as a JPEG or PNG does; a change to its
pixels, alpha, colour profile or orientation does not.

The edits are made as exiftool makes them, in the RIFF bytes: the EXIF and XMP chunks replaced
or removed after the picture's, the VP8X header's EXIF and XMP flags set to match, a VP8X header
added to a simple WebP (one VP8 or VP8L chunk) that gains metadata and removed from one that
no longer needs it, and the RIFF size set right. The picture's chunks are left as they were.
"""

from __future__ import annotations

import hashlib
import io
import struct

import pytest
from PIL import Image, ImageCms

from clipsearch.picture_fingerprint import picture_fingerprint
from clipsearch.webp_picture import webp_picture
from testsupport.imagefactory import photo, save

from .test_metadata_edits import XMP, edits_keep_the_vector, exif_payload

VP8X_NEEDED_BY = {b"ANIM": 0x02, b"XMP ": 0x04, b"EXIF": 0x08, b"ALPH": 0x10, b"ICCP": 0x20}


def exif(date: str = "2019:05:06 07:08:09", orientation: int = 1, artist: str = "") -> bytes:
    """An EXIF chunk's payload, as exiftool writes it (the TIFF header first, no "Exif" prefix)."""
    return exif_payload(date, orientation, artist)[6:]


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos, end = [], 12, 8 + struct.unpack("<I", data[4:8])[0]
    while pos < end:
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def riff(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
                    for kind, payload in parts)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def with_metadata(data: bytes, exif_payload: bytes | None = None, xmp: bytes | None = None,
                  extra: tuple[bytes, bytes] | None = None) -> bytes:
    """The WebP ``data`` with its EXIF and XMP chunks replaced by these (or removed: None), and an
    ``extra`` chunk a tool of its own wrote, as exiftool rewrites a WebP."""
    parts = [part for part in chunks(data) if part[0] not in (b"EXIF", b"XMP ")]
    parts += [(kind, payload) for kind, payload in ((b"EXIF", exif_payload), (b"XMP ", xmp), extra or (b"", None))
              if payload is not None]
    flags = 0
    for kind, _ in parts:
        flags |= VP8X_NEEDED_BY.get(kind, 0)
    if parts[0][0] == b"VP8X":
        if flags & 0x3E == 0:
            return riff(parts[1:])  # no longer needed: removed
        old = parts[0][1]
        parts[0] = (b"VP8X", bytes([old[0] & ~0x0C | flags & 0x0C]) + old[1:])
    elif flags:  # a simple WebP that gains metadata: an extended one, its canvas the picture's size
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        parts.insert(0, (b"VP8X", bytes([flags, 0, 0, 0]) + canvas))
    return riff(parts)


def webp(seed: int = 1, alpha: int | None = None, **kwargs) -> bytes:
    """A 64x48 WebP (simple where Pillow writes one), with a corner of opacity ``alpha``."""
    img = photo(64, 48, seed=seed)
    if alpha is not None:
        opacity = Image.new("L", img.size, 255)
        opacity.paste(alpha, (0, 0, 16, 16))
        img.putalpha(opacity)
    buffer = io.BytesIO()
    img.save(buffer, "WEBP", **kwargs)
    return buffer.getvalue()


def animation(seed: int = 1, **kwargs) -> bytes:
    buffer = io.BytesIO()
    photo(64, 48, seed=seed).save(buffer, "WEBP", save_all=True, append_images=[photo(64, 48, seed=seed + 1)],
                                  **kwargs)
    return buffer.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGBA").tobytes()


SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
KINDS = {"lossy": webp, "lossless": lambda **kw: webp(lossless=True, **kw),
         "alpha": lambda **kw: webp(alpha=90, **kw), "lossless alpha": lambda **kw: webp(alpha=90, lossless=True, **kw),
         "icc": lambda **kw: webp(icc_profile=SRGB, **kw), "animation": animation}


@pytest.mark.parametrize("kind", KINDS)
def test_a_webps_picture_ignores_its_exif_and_xmp_as_a_tool_writes_them(kind):
    base = KINDS[kind]()
    picture = picture_fingerprint(base)
    assert picture and picture.startswith("webp1:")
    added = with_metadata(base, exif(artist="Ann Smith"), XMP)
    edited = [added, with_metadata(added, exif("2021:08:01 12:00:00")), with_metadata(added, None, XMP + b" "),
              with_metadata(added), with_metadata(base, extra=(b"C2PA", b"a tool's own chunk")),
              base + b"bytes after the RIFF size",
              KINDS[kind](exif=Image.Exif().tobytes())]  # libwebp's muxer sets VP8X's alpha flag, exiftool not
    assert chunks(added)[0][0] == b"VP8X" and chunks(with_metadata(added))[0][0] == chunks(base)[0][0]
    for same in edited:
        assert pixels(same) == pixels(base)  # the edit is a metadata edit
        assert picture_fingerprint(same) == picture
    assert picture_fingerprint(with_metadata(base, exif(orientation=6))) != picture
    assert picture_fingerprint(KINDS[kind](seed=2)) != picture


def test_a_webps_colour_profile_alpha_and_orientation_are_its_picture():
    lossy, lossless = webp(), webp(lossless=True)
    other_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    pairs = [(lossy, webp(icc_profile=SRGB)), (webp(icc_profile=SRGB), webp(icc_profile=other_profile)),
             (webp(alpha=90), webp(alpha=200)), (webp(alpha=90, lossless=True), webp(alpha=200, lossless=True)),
             (lossy, with_metadata(lossy, exif(orientation=3))),
             (with_metadata(lossy, exif(orientation=3)), with_metadata(lossy, exif(orientation=8))),
             (lossy, with_metadata(lossy, None, XMP.replace(b"/>", b' tiff:Orientation="6"/>'))),
             (lossy, webp(quality=70)), (lossy, lossless)]
    translucent = [photo(64, 48, seed=seed).convert("RGBA") for seed in (1, 2)]
    for frame in translucent:
        frame.putalpha(100)
    buffer = io.BytesIO()
    translucent[0].save(buffer, "WEBP", save_all=True, append_images=translucent[1:])
    parts = chunks(buffer.getvalue())
    opaque = riff([(b"VP8X", bytes([parts[0][1][0] & ~0x10]) + parts[0][1][1:])] + parts[1:])
    assert pixels(opaque) != pixels(buffer.getvalue())  # an animation's alpha flag: without it, no alpha
    pairs.append((buffer.getvalue(), opaque))
    for one, other in pairs:
        assert picture_fingerprint(one) and picture_fingerprint(other)
        assert picture_fingerprint(one) != picture_fingerprint(other)


def test_a_webp_cut_short_or_ill_formed_has_no_picture():
    for data in (webp(), webp(alpha=90), animation()):
        assert picture_fingerprint(data)
        assert picture_fingerprint(data[:len(data) // 2]) is None
        assert picture_fingerprint(data[:-1]) is None
        grown = data[:4] + struct.pack("<I", struct.unpack("<I", data[4:8])[0] + 20) + data[8:] + bytes(4)
        assert picture_fingerprint(grown) is None  # a chunk's worth of bytes missing
    parts = chunks(webp(alpha=90))
    wider = [(b"VP8X", parts[0][1][:4] + (64).to_bytes(3, "little") + parts[0][1][7:])] + parts[1:]
    assert picture_fingerprint(riff(parts)) and picture_fingerprint(riff(wider)) is None  # canvas 65 wide: refused
    assert webp_picture(riff(wider), hashlib.blake2b()) is None  # by the walker, whatever Pillow makes of it
    assert picture_fingerprint(riff([(b"EXIF", exif())])) is None  # no picture


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(3):
        save(photo(160, 120, seed=10 + i), root / f"other{i}.jpg", quality=90)
    (root / "edited.webp").write_bytes(webp())
    return root


def test_a_webp_whose_exif_alone_changed_keeps_its_vector_and_one_whose_pixels_changed_does_not(engine, library):
    edits_keep_the_vector(engine, library, library / "edited.webp", [
        (lambda data: with_metadata(data, exif("2021:08:01 12:00:00", artist="Ann Smith"), XMP), "2021-08-01T12:00:00"),
        (lambda data: with_metadata(data, exif("2022:02:02 02:02:02"), XMP), "2022-02-02T02:02:02"),
    ], with_metadata(webp(seed=7), exif("2022:02:02 02:02:02"), XMP))
