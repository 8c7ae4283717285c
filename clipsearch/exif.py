"""What a picture's EXIF says beyond its pixels: when it was taken, and how it stands upright."""

from __future__ import annotations

import re
from datetime import datetime

from PIL import Image

_EXIF_IFD = 0x8769
_DATE_TAGS = (0x9003, 0x9004)  # DateTimeOriginal, DateTimeDigitized (in the Exif IFD)
_DATETIME = 0x0132  # DateTime (in IFD0)


def upright_size(img: Image.Image, orientation: int) -> tuple[int, int]:
    """A picture's width and height as it is shown, from its header and its EXIF orientation.
    Pillow's TIFF reader (12 and later) already gives a turned TIFF's upright size when it
    opens it, and turns its pixels as it loads them: its size is not turned again."""
    width, height = img.size
    if orientation not in (5, 6, 7, 8):
        return width, height
    if img.format == "TIFF" and width != height and (img.tag_v2.get(256), img.tag_v2.get(257)) == (height, width):
        return width, height
    return height, width


def exif_date(exif: Image.Exif) -> str | None:
    """When the picture was taken (ISO 8601), from its EXIF: DateTimeOriginal, DateTimeDigitized,
    then DateTime; None where none is a plausible date."""
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
    except Exception:
        ifd = {}
    for value in [ifd.get(tag) for tag in _DATE_TAGS] + [exif.get(_DATETIME)]:
        match = _EXIF_DATE.match(value) if isinstance(value, str) else None
        if match is None:
            continue
        try:
            stamp = datetime(*(int(part or 0) for part in match.groups()))
        except ValueError:  # 2019:02:30, 0000:00:00
            continue
        if 1826 < stamp.year < 2200:
            return stamp.isoformat()
    return None


# EXIF says "2019:05:06 07:08:09"; some phones and editors write dashes or slashes, a "T", no
# seconds, or the date alone (then midnight). Anything after that (a fraction, a zone) is ignored.
_EXIF_DATE = re.compile(r"\s*(\d{4})[:/.-](\d{2})[:/.-](\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")
