"""A WebP's picture fingerprint: the RIFF chunks that make its pixels, not its EXIF or XMP.

A WebP is a RIFF file of chunks. The picture is in its bitstream (VP8 lossy or VP8L lossless),
its alpha (ALPH), its colour profile (ICCP) and, animated, its ANIM and ANMF (frame) chunks:
those are hashed whole, in their order. EXIF, XMP and any chunk the format does not define are
not (a metadata tool writes them), nor is anything after the RIFF size (decoders ignore it).

VP8X, the extended format's header, needs care: its flags say which chunks are there, EXIF and
XMP among them, and a tool that adds EXIF to a simple WebP (one VP8 or VP8L chunk, no header)
adds a VP8X, as exiftool does; removing it again removes the VP8X. The pixels are the same, so
the fingerprint must be: VP8X is never hashed as it is written, only what of it changes the
picture. For a still picture its canvas is the bitstream's size (libwebp refuses a file where it
is not, and so does this: None), its alpha comes from the bitstream or the ALPH chunk (the flag
alone adds an alpha that is opaque everywhere: exiftool and webpmux set it differently for a
lossless picture with alpha), so only the ICC flag is hashed (libwebp reads the ICCP chunk only
where it is set); a simple file hashes as one with no flag. For an animation the canvas size and
the alpha flag are hashed too: frames are placed on that canvas, and without the flag the decoder
gives no alpha. The EXIF orientation is hashed by the caller, as for the other formats.
"""

from __future__ import annotations

VERSION = "webp1"  # changes with what is hashed: a fingerprint of another version never matches
_PICTURE = {b"VP8 ", b"VP8L", b"ALPH", b"ICCP", b"ANIM", b"ANMF"}
_BITSTREAMS = (b"VP8 ", b"VP8L")
_ICC, _ALPHA, _ANIMATION = 0x20, 0x10, 0x02


def is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def webp_picture(data: bytes, digest) -> str | None:
    """The fingerprint of the WebP in ``data`` ("webp1:" and 32 hex digits), its hash ``digest``
    begun (with the orientation); None where its chunks cannot be walked or make no picture."""
    chunks = _chunks(data)
    if not chunks:
        return None
    kind, start, _ = chunks[0]
    if kind in _BITSTREAMS:  # simple: what follows the bitstream no decoder reads
        header, chunks = b"still icc 0;", chunks[:1]
    elif kind == b"VP8X" and (header := _extended(data, start, chunks)):
        chunks = [chunk for chunk in chunks if chunk[0] in _PICTURE]
    else:
        return None
    digest.update(header)
    view = memoryview(data)
    for _, begin, end in chunks:
        digest.update(view[begin:end])  # its name and size too; not its padding
    return f"{VERSION}:{digest.hexdigest()}"


def _extended(data: bytes, start: int, chunks: list[tuple[bytes, int, int]]) -> bytes | None:
    """What of an extended WebP's VP8X header (at ``start``) changes its picture, for the hash;
    None where it is too short or its still picture's canvas is not its bitstream's size."""
    if int.from_bytes(data[start + 4:start + 8], "little") < 10:
        return None
    flags, payload = data[start + 8], start + 8
    canvas = (int.from_bytes(data[payload + 4:payload + 7], "little") + 1,
              int.from_bytes(data[payload + 7:payload + 10], "little") + 1)
    icc = int(bool(flags & _ICC))
    if flags & _ANIMATION:
        return f"animation {canvas[0]}x{canvas[1]} alpha {int(bool(flags & _ALPHA))} icc {icc};".encode()
    bitstream = next((chunk for chunk in chunks if chunk[0] in _BITSTREAMS), None)
    if bitstream is None or _bitstream_size(data, bitstream) != canvas:
        return None
    return f"still icc {icc};".encode()


def _bitstream_size(data: bytes, chunk: tuple[bytes, int, int]) -> tuple[int, int] | None:
    """The width and height a VP8 or VP8L chunk's own header gives (None: no such header)."""
    kind, start, end = chunk
    payload = data[start + 8:end]
    if kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":  # a key frame
        return (int.from_bytes(payload[6:8], "little") & 0x3FFF, int.from_bytes(payload[8:10], "little") & 0x3FFF)
    if kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _chunks(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """Each chunk's name, start and end (its padding left out), to the RIFF size; None where the
    file is cut short or a chunk runs past it."""
    if len(data) < 20 or not is_webp(data):
        return None
    riff_end, pos, chunks = 8 + int.from_bytes(data[4:8], "little"), 12, []
    if riff_end > len(data):
        return None
    while pos + 8 <= riff_end:
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        end = pos + 8 + size
        if end > riff_end:
            return None
        chunks.append((data[pos:pos + 4], pos, end))
        pos = end + (size & 1)
    return chunks if pos >= riff_end else None  # no bytes left over that make no chunk
