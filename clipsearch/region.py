"""A region of a picture, to search with a part of a photo: the dog in the corner, not the beach.

A ``Region`` is a rectangle of the upright picture (EXIF orientation applied, as every viewer
shows it), given as ``LEFT,TOP,RIGHT,BOTTOM`` in one of three units:
- fractions of the width and height, 0 to 1: ``0.5,0,1,0.5`` is the top right quarter;
- percentages: ``50%,0%,100%,50%``, the same quarter;
- pixels of the whole photo: ``800,0,1600,600``.
Numbers of 1 or less read as fractions (a region of one pixel would be no region to search with).

A query term's picture is cut to its region before the model sees it (``QueryTerm.region``); a
JPEG is still decoded at a reduced scale, chosen so that the region keeps the size the model needs.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from . import camera_raw
from .errors import InvalidQuery, UnreadableImage
from .exif import upright_size
from .images import MAX_QUERY_BYTES, load_image, read_file_bytes, to_rgb
from .picture_modes import upright

MIN_SIDE = 16  # pixels of the photo, at least, on each side of a region
_NUMBER = r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*"
_FORM = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")
HOW = ("LEFT,TOP,RIGHT,BOTTOM as fractions of the picture (0.5,0,1,0.5: its top right quarter), "
       "percentages (50%,0%,100%,50%) or pixels (800,0,1600,600)")


@dataclass(frozen=True)
class Region:
    """A rectangle of the upright picture: fractions of its sides (``pixels`` False) or pixels."""

    left: float
    top: float
    right: float
    bottom: float
    pixels: bool = False

    def __post_init__(self) -> None:
        edges = (self.left, self.top, self.right, self.bottom)
        if not all(math.isfinite(edge) and edge >= 0 for edge in edges):
            raise InvalidQuery(f"a region's edges are numbers of 0 or more, not {self}")
        if self.right <= self.left or self.bottom <= self.top:
            raise InvalidQuery(f"the region {self} is empty: RIGHT must be more than LEFT and BOTTOM more than TOP "
                               f"({HOW})")
        if not self.pixels and max(edges) > 1:
            raise InvalidQuery(f"the region {self} reaches past the picture: fractions go from 0 to 1")

    def __str__(self) -> str:
        """As ``parse_region`` reads it back (plain decimals: no exponent)."""
        return ",".join(f"{edge:.6f}".rstrip("0").rstrip(".") for edge in (self.left, self.top, self.right, self.bottom))

    @property
    def whole(self) -> bool:
        """Whether the region is the whole picture (``0,0,1,1``)."""
        return not self.pixels and (self.left, self.top, self.right, self.bottom) == (0, 0, 1, 1)

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region in pixels of a ``width`` x ``height`` picture (``InvalidQuery`` when it reaches
        past the picture or is too small to search with)."""
        if self.pixels:
            if self.right > width or self.bottom > height:
                raise InvalidQuery(f"the region {self} reaches past the picture ({width} x {height} pixels)")
            edges = (self.left, self.top, self.right, self.bottom)
        else:
            edges = (self.left * width, self.top * height, self.right * width, self.bottom * height)
        left, top, right, bottom = (round(edge) for edge in edges)
        if min(right - left, bottom - top) < MIN_SIDE:
            # 0.5,0.5,1.2,0.9: fractions with one past 1, read as pixels (a number over 1): say so
            meant = (" (read as pixels, as a number is over 1: fractions go from 0 to 1)"
                     if self.pixels and 1 < max(edges) < 2 else "")
            raise InvalidQuery(f"the region {self} is {right - left} x {bottom - top} pixels of a {width} x {height} "
                               f"picture: too small to search with (at least {MIN_SIDE} on each side){meant}")
        return left, top, right, bottom

    def check(self, picture: str | os.PathLike) -> None:
        """``InvalidQuery``, as ``box`` says it, when the region reaches past the picture in the file
        ``picture`` or is too small to search with; only its header is read, so that a search can
        say so before it loads a model. A file that is no picture passes: the search says why."""
        self.fitted(picture)

    def fitted(self, picture: str | os.PathLike) -> Region:
        """This region as fractions of the picture in the file ``picture`` (a page draws those), once
        ``check``ed (``InvalidQuery`` as ``box`` says it); itself where the file is no picture, or is
        a pipe (read once, by the search: its header is not read here, nor waited for)."""
        if not os.path.isfile(picture):
            return self
        try:
            width, height = _upright_size(os.fspath(picture))
        except Exception:  # not a picture, or unreadable: the search's own error says which
            return self
        self.box(width, height)
        return self.in_fractions(width, height)

    def cut(self, image: Image.Image, width: int | None = None, height: int | None = None) -> Image.Image:
        """The region of ``image``; ``width`` and ``height`` are the whole photo's where ``image`` was
        decoded at a reduced scale (pixel regions are in the whole photo's pixels)."""
        width, height = width or image.width, height or image.height
        left, top, right, bottom = self.box(width, height)
        scale_x, scale_y = image.width / width, image.height / height
        return image.crop((math.floor(left * scale_x), math.floor(top * scale_y),
                           max(math.ceil(right * scale_x), math.floor(left * scale_x) + 1),
                           max(math.ceil(bottom * scale_y), math.floor(top * scale_y) + 1)))

    def in_fractions(self, width: int, height: int) -> Region:
        """The same region as fractions of a ``width`` x ``height`` picture (a page draws those)."""
        if not self.pixels:
            return self
        return Region(self.left / width, self.top / height, min(1.0, self.right / width), min(1.0, self.bottom / height))

    def decode_size(self, size: int | None) -> int | None:
        """The smallest side to decode a JPEG at so that this region keeps ``size`` pixels a side
        (None: the whole picture, as for a region in pixels, whose share is known only after)."""
        if size is None or self.pixels:
            return None
        return math.ceil(size / min(self.right - self.left, self.bottom - self.top))


def _upright_size(path: str) -> tuple[int, int]:
    """The upright size of the picture in a file, from its header; a camera RAW file's as developed
    (LibRaw's), not that of the camera's small JPEG, which Pillow opens as a TIFF where it is first."""
    if camera_raw.is_raw_name(path):
        return camera_raw.header(path, path, dated=False)[:2]
    try:
        with Image.open(path) as img:
            return upright_size(img, img.getexif().get(0x0112, 1))
    except Exception:  # a RAW file by its content alone
        return camera_raw.header(path, path, dated=False)[:2]


def parse_region(text: str | None) -> Region | None:
    """``LEFT,TOP,RIGHT,BOTTOM`` (fractions, percentages or pixels: the module's notes) as a
    ``Region``; None for an empty text or the whole picture."""
    text = (text or "").strip()
    if not text:
        return None
    match = _FORM.match(text)
    if not match:
        raise InvalidQuery(f"not a region: {text!r}; give {HOW}")
    numbers = [float(n) for n in match.groups()[0::2]]
    percent = [bool(sign) for sign in match.groups()[1::2]]
    if any(percent) and not all(percent):
        raise InvalidQuery(f"not a region: {text!r} mixes percentages with other numbers; give {HOW}")
    if all(percent):
        region = Region(*(n / 100 for n in numbers))
    else:
        region = Region(*numbers, pixels=max(numbers) > 1)
    return None if region.whole else region


def query_picture(image: Any, region: Region | None, size: int | None, **load: Any) -> Image.Image:
    """A query term's picture (a PIL image, a path or a file's bytes), upright RGB, cut to ``region``.
    ``size``: the model's input side, for a JPEG's reduced-scale decode; ``load``: ``load_image``'s
    other arguments (``path``, ``max_pixels``, ``timeout``). A PIL image is turned upright too, as a file
    is (its EXIF orientation: one opened with ``Image.open`` keeps it), before ``region`` is cut."""
    if isinstance(image, Image.Image):
        if not image.width or not image.height:
            raise UnreadableImage(load.get("path") or "the picture", "decode error",
                                  f"an empty picture, {image.width} x {image.height} pixels")
        picture = to_rgb(upright(image))  # the EXIF left unwritten: a mistyped tag fails no search
        return region.cut(picture) if region else picture
    loaded = load_image(image, min_size=region.decode_size(size) if region else size, **load)
    return region.cut(loaded.image, loaded.width, loaded.height) if region else loaded.image


QUERY_LIMIT = f"a picture to search with may be at most {MAX_QUERY_BYTES >> 20} MB"  # as the web app's uploads


def over_query_limit(exc: UnreadableImage) -> UnreadableImage:
    """A query picture's "file too large", saying the limit (any other refusal as it is)."""
    return UnreadableImage(exc.path, exc.reason, QUERY_LIMIT) if exc.reason == "file too large" else exc


def read_query_picture(path: str) -> bytes:
    """A picture to search with, read whole from a file the user named (``saved add --photo``, a saved
    search's photo by path): at most ``MAX_QUERY_BYTES`` and a byte are read, as ``search --image``
    reads, so an endless pipe is refused after 50 MB and not 1 GiB; a folder, a device (``/dev/zero``)
    and a pipe nothing is writing to are refused at once (``file_reading``)."""
    try:
        return read_file_bytes(path, MAX_QUERY_BYTES)
    except UnreadableImage as exc:
        raise over_query_limit(exc) from None
