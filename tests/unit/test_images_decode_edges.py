"""Opening pictures at their edges: a damaged AVIF or HEIC whose codec raises its own error, a JPEG
with one mistyped EXIF tag beside its orientation, a huge palette PNG with transparency, and the
limit a decompression bomb is told of."""

from __future__ import annotations

import functools
import io
import math
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageOps

from clipsearch import UnreadableImage
from clipsearch.image_formats import AVIF_SUPPORTED
from clipsearch.images import load_image, to_rgb
from testsupport.imagefactory import bomb_png
from webui.handlers import Handlers
from webui.rest import build_router
from webui.rest_auth import Auth

try:
    import pillow_heif
except ImportError:  # pragma: no cover: requirements.txt has it
    pillow_heif = None


@pytest.fixture
def api(engine, library, settings):
    """The REST routes over an indexed ``library``, for an app run without --auth."""
    engine.index_folder(library)
    handlers = Handlers(engine, settings)
    app = FastAPI()
    app.include_router(build_router(handlers, Auth(SimpleNamespace(auth=None, cookie_id="t", tokens={}))))
    with TestClient(app) as http:
        yield http
    handlers.close()


# --- a codec's own error ----------------------------------------------------------------------------

def _flipped_avif() -> bytes:
    """A 320x240 AVIF with one byte of its image data flipped (bit rot, a bad copy)."""
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "red").save(out, "AVIF")
    data = bytearray(out.getvalue())
    data[data.find(b"mdat") + 4] ^= 0xFF
    return bytes(data)


def _wide_heic() -> bytes:
    """A 64x48 HEIC whose 'ispe' box declares a width of 167772224."""
    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "HEIF")
    data = bytearray(out.getvalue())
    at = data.find(b"ispe") + 8
    data[at:at + 4] = (167772224).to_bytes(4, "big")
    return bytes(data)


DAMAGED = [pytest.param("flipped.avif", _flipped_avif, marks=pytest.mark.skipif(not AVIF_SUPPORTED, reason="no AVIF")),
           pytest.param("wide.heic", _wide_heic, marks=pytest.mark.skipif(pillow_heif is None, reason="no pillow_heif"))]


@pytest.mark.parametrize("name, make", DAMAGED)
def test_a_damaged_avif_or_heic_is_a_decode_error_not_a_crash(name, make, tmp_path, engine, api):
    """The AVIF and HEIF codecs raise RuntimeError of a damaged file: it escaped ``load_image``, so
    ``search --image`` was a traceback, a REST upload a 500. Now it is "decode error", as any bad file
    (a REST upload's 400)."""
    data = make()
    (tmp_path / name).write_bytes(data)
    for source in (tmp_path / name, data):
        with pytest.raises(UnreadableImage) as refused:
            load_image(source, path=name, min_size=224)
        assert refused.value.reason == "decode error" and refused.value.detail.startswith("RuntimeError: ")
        assert "\n" not in refused.value.detail
    with pytest.raises(UnreadableImage, match="decode error"):  # search --image, Python's search_image
        engine.search_image(str(tmp_path / name))
    answer = api.post("/api/search", files={"image": (name, data)})
    assert answer.status_code == 400 and answer.json()["unreadable"]["reason"] == "decode error", answer.text


# --- EXIF orientation beside a mistyped tag -------------------------------------------------------

def _drawn() -> Image.Image:
    img = Image.new("RGB", (200, 120), "white")
    ImageDraw.Draw(img).ellipse((20, 20, 100, 100), fill="red")
    return img


def _jpeg(img: Image.Image, mistyped: bool) -> bytes:
    """``img`` as a JPEG with EXIF orientation 6 and a description; ``mistyped``: the description
    under tag 0x011C (PlanarConfiguration, a SHORT to Pillow), as an ASCII value."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010E] = "desc"
    raw = exif.tobytes()
    if mistyped:
        big = raw[6:8] == b"MM"
        raw = raw.replace(b"\x01\x0e\x00\x02", b"\x01\x1c\x00\x02") if big else \
            raw.replace(b"\x0e\x01\x02\x00", b"\x1c\x01\x02\x00")
    out = io.BytesIO()
    img.save(out, "JPEG", exif=raw, quality=95)
    return out.getvalue()


def test_a_mistyped_exif_tag_beside_the_orientation_still_gives_the_photo_upright(tmp_path, engine, api):
    """Pillow opens such a JPEG, but ``ImageOps.exif_transpose`` wrote its whole EXIF anew and failed
    (struct.error): the indexer skipped the photo as "decode error" for good, an upload was a 500."""
    bad, good = _jpeg(_drawn(), mistyped=True), _jpeg(_drawn(), mistyped=False)
    loaded = load_image(bad, path="bad.jpg", min_size=64)
    assert (loaded.width, loaded.height) == (120, 200) and loaded.image.size == (120, 200)
    assert np.array_equal(np.asarray(loaded.image), np.asarray(load_image(good, path="good.jpg").image))
    assert loaded.image.getpixel((60, 40)) != loaded.image.getpixel((60, 180))  # red at the top: turned
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "bad.jpg").write_bytes(bad)
    report = engine.index_folder(folder)
    assert not report.skipped and report.added == 1, report.skipped
    engine.search_image(str(folder / "bad.jpg"))  # search --image
    answer = api.post("/api/search", files={"image": ("bad.jpg", bad)})
    assert answer.status_code == 200 and "unreadable" not in answer.json(), answer.text


def test_a_pil_image_with_a_mistyped_exif_tag_is_searched_upright_too(engine):
    """``search_image(Image.open(...))`` and a region of it (``region.query_picture``) still wrote the
    EXIF anew through ``ImageOps.exif_transpose``, and failed as the file did."""
    from clipsearch.region import Region, query_picture

    bad, good = _jpeg(_drawn(), mistyped=True), _jpeg(_drawn(), mistyped=False)
    with Image.open(io.BytesIO(bad)) as opened, Image.open(io.BytesIO(good)) as clean:
        assert np.array_equal(np.asarray(query_picture(opened, None, 224)), np.asarray(query_picture(clean, None, 224)))
        top = query_picture(opened, Region(0, 0, 1, 0.5), 224)
        assert top.size == (120, 100)
        engine.search_image(opened)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_orientation_is_turned_as_pillow_turns_it_and_only_once(orientation):
    from clipsearch.picture_modes import upright  # (here: the module is new, the other tests run without it)

    stored = _drawn()
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "PNG", exif=exif.tobytes())
    opened = Image.open(io.BytesIO(out.getvalue()))
    turned = upright(opened)
    assert np.array_equal(np.asarray(turned), np.asarray(ImageOps.exif_transpose(opened)))
    assert turned.getexif().get(0x0112, 1) == 1  # what is turned says so: nothing turns it again


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_an_orientation_that_cannot_be_read_leaves_the_pixels_as_they_are():
    from clipsearch.picture_modes import upright

    img = _drawn()
    img.info["exif"] = b"Exif\x00\x00MM\x00*garbage"
    assert np.array_equal(np.asarray(upright(img)), np.asarray(_drawn()))


# --- alpha flattened without full-size RGBA copies --------------------------------------------------

def _composed(img: Image.Image) -> Image.Image:
    """Alpha flattened onto white the way it was before: through full-size RGBA copies."""
    rgba = (img.convert("LA") if img.mode == "La" else img).convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")


MODES = ("RGBA", "LA", "La", "RGBa", "PA", "P+tRNS", "P+index")


@functools.cache
def _random_rgba(width: int, height: int) -> tuple[Image.Image, bytes]:
    """Random RGBA pixels, and the random transparency of a 200-colour palette (the same every time)."""
    rng = np.random.default_rng(7)
    rgba = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    return rgba, bytes(rng.integers(0, 256, 200, dtype=np.uint8))


@functools.cache
def _made(mode: str, width: int, height: int) -> Image.Image:
    rgba, transparency = _random_rgba(width, height)
    if mode in ("P+tRNS", "PA"):
        palette = rgba.convert("RGB").quantize(200)
        palette.info["transparency"] = transparency
        return palette if mode == "P+tRNS" else palette.convert("PA")
    if mode == "P+index":
        one_clear = rgba.convert("RGB").quantize(64)
        one_clear.info["transparency"] = 5
        return one_clear
    return {"RGBA": rgba, "LA": rgba.convert("LA"), "La": rgba.convert("LA").convert("La"),
            "RGBa": rgba.convert("RGBa")}[mode]


def _picture(mode: str, width: int = 301, height: int = 203) -> Image.Image:
    """A copy of the test picture of ``mode`` (``MODES``), each made once per size, and only the one
    asked for: quantizing 1801x1237 random pixels to a palette took seconds in each test that used it."""
    return _made(mode, width, height).copy()


@pytest.mark.parametrize("mode", MODES)
def test_alpha_is_flattened_onto_white_as_before(mode):
    img = _picture(mode)
    flat, before = np.asarray(to_rgb(img), int), np.asarray(_composed(img), int)
    assert flat.shape == before.shape and np.abs(flat - before).max() <= 1


@pytest.mark.parametrize("mode", ["P+tRNS", "RGBA", "LA"])
def test_a_picture_asked_at_a_small_size_is_reduced_as_a_jpeg_draft_would_be(mode, tmp_path, monkeypatch):
    import clipsearch.picture_modes

    img = _picture(mode, 1801, 1237)
    out = io.BytesIO()
    img.save(out, "PNG")
    whole = load_image(out.getvalue(), min_size=224)  # under REDUCE_OVER pixels: converted whole, as before
    assert whole.image.size == (1801, 1237)
    monkeypatch.setattr(clipsearch.picture_modes, "REDUCE_OVER", 1801 * 1237 - 1)  # a big picture, made small
    out = io.BytesIO()
    img.save(out, "PNG")
    loaded = load_image(out.getvalue(), min_size=224)
    assert (loaded.width, loaded.height) == (1801, 1237)
    assert loaded.image.size == (math.ceil(1801 / 4), math.ceil(1237 / 4))  # 1237 // 224 = 5: a quarter
    wanted = np.asarray(_composed(Image.open(io.BytesIO(out.getvalue()))).reduce(4), int)
    assert np.abs(np.asarray(loaded.image, int) - wanted).max() <= 2
    assert load_image(out.getvalue()).image.size == (1801, 1237)  # no min_size: the whole picture


def test_a_palette_png_with_transparency_is_never_made_whole_in_rgba(monkeypatch):
    """A 281 KB 17000x17000 palette PNG with a tRNS chunk cost 6 GB to decode: three full-size RGBA
    copies (4 bytes a pixel) of a picture Pillow holds in one byte a pixel. No conversion makes a
    full-size RGBA picture now, and asked at a small size, not even a full-size RGB one."""
    img = _picture("P+tRNS", 1801, 1237)
    out = io.BytesIO()
    img.save(out, "PNG")
    made, convert = [], Image.Image.convert

    def watched(self, mode=None, *args, **kwargs):
        converted = convert(self, mode, *args, **kwargs)
        made.append((converted.mode, converted.size))
        return converted

    monkeypatch.setattr(Image.Image, "convert", watched)
    assert load_image(out.getvalue()).image.size == (1801, 1237)
    assert made and all(size != (1801, 1237) for mode, size in made if mode in ("RGBA", "RGBa")), made
    made.clear()
    import clipsearch.picture_modes

    monkeypatch.setattr(clipsearch.picture_modes, "REDUCE_OVER", 1801 * 1237 - 1)  # as big as the bomb
    assert load_image(out.getvalue(), min_size=224).image.size == (451, 310)
    assert made and all(size[0] * size[1] < 1801 * 1237 // 4 for _, size in made), made


# --- the limit a bomb is told of --------------------------------------------------------------------

def test_a_bomb_is_told_the_real_limit(tmp_path):
    """Pillow refuses at twice ``Image.MAX_IMAGE_PIXELS`` and says so: "exceeds limit of 600000000
    pixels" of a limit of 300 MP. The detail says the limit that is ours."""
    with pytest.raises(UnreadableImage) as refused:
        load_image(bomb_png(tmp_path / "bomb.png", 30_000, 30_000), max_pixels=300_000_000)
    assert refused.value.reason == "too many pixels"
    assert refused.value.detail in ("900000000 pixels, more than the 300,000,000 allowed",  # Pillow's refusal
                                    "30000x30000 pixels, more than the 300,000,000 allowed"), refused.value.detail
    with pytest.raises(UnreadableImage) as refused:
        load_image(bomb_png(tmp_path / "wide.png", 200, 100), max_pixels=10_000)
    assert refused.value.detail == "200x100 pixels, more than the 10,000 allowed"
