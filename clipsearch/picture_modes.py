"""A decoded picture made what the model sees: upright (its EXIF orientation) and 8-bit RGB.

``images._decode`` hands its pictures here. Two things make them costly or fragile, and this module
avoids both: Pillow's ``ImageOps.exif_transpose`` writes the whole EXIF anew and fails (``struct.error``)
on one tag of an unexpected type that a viewer ignores, and flattening alpha through full-size RGBA
copies made a 281 KB 17000x17000 palette PNG with transparency cost 6 GB to decode.
"""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

ORIENTATION = 0x0112  # the EXIF tag
_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}  # as ImageOps.exif_transpose turns each orientation
# What says a picture's orientation besides its pixels; a turned copy keeps none of it, or it would be turned again.
_ORIENTATION_INFO = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")
_REDUCIBLE = ("L", "LA", "RGB", "RGBA")  # reduce() averages these rightly (alpha premultiplied); not P's indices
WHITE = (255, 255, 255)  # what alpha is flattened onto
# A picture no draft reduced, of more pixels than this, is reduced before its mode is converted: a
# smaller one is converted whole, as before, so that its vector is the one an earlier run embedded.
REDUCE_OVER = 24_000_000


def orientation_of(img: Image.Image) -> int:
    """A picture's EXIF orientation, 1 to 8; 1 (as it is) where its EXIF cannot be read or says
    something else."""
    try:
        value = img.getexif().get(ORIENTATION, 1)
    except Exception as exc:  # EXIF broken beyond Pillow's reading: show the pixels as they are
        log.debug("EXIF unreadable: %s: %s", type(exc).__name__, exc)
        return 1
    return value if isinstance(value, int) and value in _TURNS else 1


def upright(img: Image.Image, orientation: int | None = None) -> Image.Image:
    """``img`` turned as its EXIF orientation says (``orientation``: read from it where None), or
    ``img`` itself where it is upright. Only the pixels are turned: the EXIF is left unwritten (the
    copy keeps none), so a tag of a type Pillow does not expect cannot fail the picture."""
    method = _TURNS.get(orientation_of(img) if orientation is None else orientation)
    if method is None:
        return img
    turned = img.transpose(method)
    turned.info = {key: value for key, value in img.info.items() if key not in _ORIENTATION_INFO}
    return turned


def upright_rgb(img: Image.Image, min_size: int | None = None) -> Image.Image:
    """A loaded picture upright and in RGB. With ``min_size``, one of more than ``REDUCE_OVER`` pixels
    not decoded at reduced scale already (a JPEG's draft) is reduced as a draft would be: by 2, 4 or 8,
    both sides kept at least ``min_size``; before its mode is converted where the mode allows (an
    RGBA PNG), after it else."""
    orientation = orientation_of(img)  # of the loaded picture: a TIFF's reader turned it and dropped it as it loaded
    big = img.width * img.height > REDUCE_OVER and img.format != "JPEG"
    factor = _factor(img.size, min_size) if min_size and big else 1
    early = factor > 1 and img.mode in _REDUCIBLE
    img = upright(img.reduce(factor) if early else img, orientation)
    if factor == 1 or early:
        return to_rgb(img)
    return _palette_reduced(img, factor) if img.mode == "P" else to_rgb(img).reduce(factor)


def _factor(size: tuple[int, int], min_size: int) -> int:
    """The scale Pillow's JPEG draft picks for a picture of ``size`` asked at ``min_size`` a side."""
    return next((factor for factor in (8, 4, 2) if min(size) // min_size >= factor), 1)


def _palette_reduced(img: Image.Image, factor: int) -> Image.Image:
    """A palette picture in RGB reduced by ``factor``, a band of rows at a time: its indices cannot be
    averaged, and the whole of it in RGB would cost four bytes a pixel."""
    width, height = img.size
    reduced = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = 64 * factor
    for top in range(0, height, rows):
        band = img.crop((0, top, width, min(top + rows, height)))
        reduced.paste(to_rgb(band).reduce(factor), (0, top // factor))
    return reduced


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB the way a viewer would show it."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if mode == "F" and arr.size and arr.max() <= 1.0 else 65535.0
        if mode == "I" and arr.size and arr.max() <= 255:
            top = 255.0
        grey = np.clip(arr * (255.0 / top), 0, 255).round().astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if mode == "CMYK":
        return _cmyk_to_rgb(img)
    if mode == "P":
        return _palette_to_rgb(img) if "transparency" in img.info else img.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _flattened(img)
    return img.convert("RGB")


def _flattened(img: Image.Image) -> Image.Image:
    """Alpha flattened onto white: the picture pasted through its alpha onto one white RGB picture
    (not composed in full-size RGBA copies: three of them, each 4 bytes a pixel)."""
    if img.mode in ("PA", "RGBa", "La"):  # Pillow pastes LA and RGBA through their alpha; has no La to RGBA
        img = img.convert("LA" if img.mode == "La" else "RGBA")
    flat = Image.new("RGB", img.size, WHITE)
    flat.paste(img, (0, 0), img)
    return flat


def _palette_to_rgb(img: Image.Image) -> Image.Image:
    """A palette picture with transparency in RGB: its palette's colours flattened onto white, then
    each pixel looked up once (a byte a pixel copied, not RGBA's four, three times)."""
    if img.palette is None:
        return _flattened(img.convert("RGBA"))
    colours = Image.frombytes("P", (256, 1), bytes(range(256)))  # every index, Pillow reading its alpha
    colours.putpalette(img.getpalette(img.palette.mode), img.palette.mode)
    colours.info["transparency"] = img.info["transparency"]
    shown = img.copy()
    shown.putpalette(_flattened(colours.convert("RGBA")).tobytes(), "RGB")
    del shown.info["transparency"]
    return shown.convert("RGB")


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if icc:
        try:
            from PIL import ImageCms

            return ImageCms.profileToProfile(img, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                             ImageCms.createProfile("sRGB"), outputMode="RGB")
        except Exception as exc:  # a broken profile: fall back to the plain formula
            log.debug("ICC conversion failed: %s", exc)
    return img.convert("RGB")
