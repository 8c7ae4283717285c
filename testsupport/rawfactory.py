"""Camera RAW files for tests, written here: DNG (Adobe's open RAW format, a TIFF), which LibRaw
reads as it reads a camera's.

``dng`` turns a picture into the sensor data a camera would record of it: linear light (the sRGB
curve undone), 16 bits, behind a Bayer colour filter (RGGB; each pixel one colour, which LibRaw
interpolates back) or, ``cfa=False``, three colours a pixel ("LinearRaw"). The colour matrix is
sRGB's, so developed it is the picture again. ``preview`` adds the JPEG a camera stores beside its
data, in the first directory with the raw data below it (a SubIFD), as Adobe's converter writes it.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from .imagefactory import _STORE_OPS

_XYZ_TO_SRGB = ((3.2406, -1.5372, -0.4986), (-0.9689, 1.8758, 0.0415), (0.0557, -0.2040, 1.0570))
_FORMATS = {1: "B", 2: "B", 3: "H", 4: "I", 5: "I", 10: "i"}  # BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL
_DATA, _SUB_IFD = "data", "sub-ifd"  # placeholders for offsets known once laid out


def dng(picture: Image.Image, orientation: int = 1, preview: Image.Image | None = None,
        date: str = "2019:05:06 07:08:09", cfa: bool = True) -> bytes:
    """The bytes of a DNG file of the upright ``picture``, stored turned as a camera held sideways
    stores it, with the EXIF ``orientation`` that turns it upright again (1, 3, 6 or 8; a preview
    is stored turned too); ``date``: EXIF's form, "" for none."""
    for turn in _STORE_OPS[orientation]:
        picture = picture.transpose(turn)
        preview = preview.transpose(turn) if preview is not None else None
    rgb = np.asarray(picture.convert("RGB"), np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    samples = (linear * 65535).round().astype("<u2")
    height, width = samples.shape[:2]
    if cfa:  # red, green / green, blue
        mosaic = samples[..., 1].copy()
        mosaic[0::2, 0::2], mosaic[1::2, 1::2] = samples[0::2, 0::2, 0], samples[1::2, 1::2, 2]
        samples = mosaic
    channels = 1 if cfa else 3
    raw = {254: (4, [0]), 256: (4, [width]), 257: (4, [height]), 258: (3, [16] * channels), 259: (3, [1]),
           262: (3, [32803 if cfa else 34892]), 273: (4, [_DATA]), 277: (3, [channels]), 278: (4, [height]),
           279: (4, [samples.nbytes]), 284: (3, [1]), 50717: (4, [65535])}
    if cfa:
        raw.update({33421: (3, [2, 2]), 33422: (1, [0, 1, 1, 2]), 50710: (1, [0, 1, 2])})
    main = {271: (2, b"Clipsearch\0"), 272: (2, b"Test DNG\0"), 274: (3, [orientation]),
            50706: (1, [1, 4, 0, 0]), 50707: (1, [1, 1, 0, 0]), 50708: (2, b"Clipsearch Test DNG\0"),
            50721: (10, [n for row in _XYZ_TO_SRGB for v in row for n in (round(v * 10000), 10000)]),
            50728: (5, [1, 1] * 3), 50778: (3, [21])}
    if date:
        main[306] = (2, date.encode() + b"\0")
    if preview is None:
        return _tiff([({**main, **raw}, samples.tobytes())])
    jpeg = io.BytesIO()
    preview.convert("RGB").save(jpeg, "JPEG", quality=90)
    first = {**main, 254: (4, [1]), 256: (4, [preview.width]), 257: (4, [preview.height]), 258: (3, [8] * 3),
             259: (3, [7]), 262: (3, [6]), 273: (4, [_DATA]), 277: (3, [3]), 278: (4, [preview.height]),
             279: (4, [len(jpeg.getvalue())]), 284: (3, [1]), 330: (4, [_SUB_IFD])}
    return _tiff([(first, jpeg.getvalue()), (raw, samples.tobytes())])


def _tiff(directories: list[tuple[dict, bytes]]) -> bytes:
    """A little-endian TIFF of ``(tags, data)`` directories: the first is IFD0, the second (if any)
    its SubIFD. Tags: number -> (TIFF type, values); each directory's data is its one strip."""
    starts, data_at, position = [], [], 8
    for tags, data in directories:
        starts.append(position)
        position += 2 + 12 * len(tags) + 4 + sum(_padded(len(_payload(k, v))) for k, v in tags.values()
                                                 if len(_payload(k, v)) > 4)
        data_at.append(position)
        position += _padded(len(data))
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for (tags, data), start, at in zip(directories, starts, data_at, strict=True):
        extra = bytearray()
        extra_at = start + 2 + 12 * len(tags) + 4
        out += struct.pack("<H", len(tags))
        for tag, (kind, values) in sorted(tags.items()):
            values = [at if v == _DATA else starts[1] if v == _SUB_IFD else v for v in values]
            payload = _payload(kind, values)
            count = len(payload) if kind in (1, 2) else len(values) // (2 if kind in (5, 10) else 1)
            if len(payload) > 4:
                out += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += payload + b"\0" * (len(payload) % 2)
            else:
                out += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
        out += struct.pack("<I", 0) + extra
        out += data + b"\0" * (len(data) % 2)
    return bytes(out)


def _payload(kind: int, values: list) -> bytes:
    if kind in (1, 2):
        return bytes(values)
    return struct.pack("<" + _FORMATS[kind] * len(values), *(0 if isinstance(v, str) else v for v in values))


def _padded(n: int) -> int:
    return n + n % 2
