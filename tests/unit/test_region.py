"""A region of a picture: its three spellings, its checks, and the cut the model sees."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clipsearch import InvalidQuery, QueryTerm, Region, parse_region
from clipsearch.region import MIN_SIDE, query_picture


def quarters(width: int = 400, height: int = 300) -> Image.Image:
    """Four colours, one a quarter: red top left, green top right, blue bottom left, white bottom right."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[: height // 2, : width // 2] = (255, 0, 0)
    pixels[: height // 2, width // 2:] = (0, 255, 0)
    pixels[height // 2:, : width // 2] = (0, 0, 255)
    pixels[height // 2:, width // 2:] = (255, 255, 255)
    return Image.fromarray(pixels)


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {colour for _, colour in image.convert("RGB").getcolors(1 << 16)}


@pytest.mark.parametrize("text", ["0.5,0,1,0.5", "50%,0%,100%,50%", " 50 % , 0% ,100%, 50%", ".5,0,1.,.5"])
def test_fractions_and_percentages_name_the_same_quarter(text):
    region = parse_region(text)
    assert (region.left, region.top, region.right, region.bottom, region.pixels) == (0.5, 0, 1, 0.5, False)
    assert colours(region.cut(quarters())) == {(0, 255, 0)}


def test_pixels_are_pixels_of_the_whole_photo_even_when_it_was_decoded_smaller():
    region = parse_region("200,150,400,300")
    assert region.pixels
    assert colours(region.cut(quarters())) == {(255, 255, 255)}
    # the same photo decoded at half its size (a JPEG's draft): the same quarter
    half = quarters().resize((200, 150), Image.NEAREST)
    cut = region.cut(half, 400, 300)
    assert cut.size == (100, 75) and colours(cut) == {(255, 255, 255)}


@pytest.mark.parametrize("text", ["", "  ", None, "0,0,1,1", "0%,0%,100%,100%"])
def test_nothing_or_the_whole_picture_is_no_region(text):
    assert parse_region(text) is None


@pytest.mark.parametrize("text, says", [
    ("0.5,0.5,0.2,0.9", "RIGHT must be more than LEFT"),
    ("0.1,0.5,0.2,0.5", "is empty"),
    ("0,0,1,1.5%", "mixes percentages"),
    ("50%,0%,150%,50%", "reaches past the picture"),
    ("1,2,3", "not a region"),
    ("a,b,c,d", "not a region"),
    ("-1,0,100,100", "not a region"),
    ("10;10;200;200", "not a region"),
])
def test_a_wrong_region_says_what_is_wrong(text, says):
    with pytest.raises(InvalidQuery, match=says) as caught:
        parse_region(text)
    assert "LEFT,TOP,RIGHT,BOTTOM" in str(caught.value) or says in ("reaches past the picture", "is empty")


def test_a_region_past_the_photo_or_too_small_is_refused_with_the_photos_size():
    with pytest.raises(InvalidQuery, match=r"reaches past the picture \(400 x 300 pixels\)"):
        parse_region("0,0,401,300").cut(quarters())
    with pytest.raises(InvalidQuery, match=f"too small to search with .at least {MIN_SIDE}"):
        parse_region("0,0,0.02,0.5").cut(quarters())  # 8 pixels wide
    with pytest.raises(InvalidQuery, match=r"1 x 1 pixels .* \(read as pixels, as a number is over 1: fractions go "
                                           r"from 0 to 1\)$"):
        parse_region("0.5,0.5,1.2,0.9").cut(quarters())  # fractions meant, one past 1: "1 x 1 pixels" alone
    with pytest.raises(InvalidQuery, match=r"on each side\)$"):
        parse_region("0,0,10,10").cut(quarters())  # pixels meant: no word of fractions
    with pytest.raises(InvalidQuery, match="numbers of 0 or more"):
        Region(float("nan"), 0, 1, 1)


def test_a_region_fitted_to_a_photo_file_is_in_fractions_or_refused(tmp_path):
    """``Region.fitted``: the page draws fractions, so a region in pixels comes back as fractions of
    the file's picture; one past it, or too small, is refused as ``box`` refuses it."""
    quarters().save(tmp_path / "q.png")
    assert str(parse_region("100,0,400,150").fitted(tmp_path / "q.png")) == "0.25,0,1,0.5"
    assert parse_region("0.5,0,1,0.5").fitted(tmp_path / "q.png") == parse_region("0.5,0,1,0.5")
    with pytest.raises(InvalidQuery, match=r"reaches past the picture \(400 x 300 pixels\)"):
        parse_region("0,0,401,300").fitted(tmp_path / "q.png")
    with pytest.raises(InvalidQuery, match="too small"):
        parse_region("0,0,10,10").fitted(tmp_path / "q.png")


def test_the_decode_size_keeps_the_region_as_large_as_the_model_needs():
    assert parse_region("0.25,0,0.75,0.1").decode_size(224) == 2240  # a tenth of the height
    assert parse_region("0,0,0.5,0.5").decode_size(224) == 448
    assert parse_region("10,10,300,300").decode_size(224) is None  # pixels: the whole photo
    assert parse_region("0,0,0.5,0.5").decode_size(None) is None


def test_a_jpeg_is_cut_after_its_reduced_scale_decode_at_the_size_the_model_needs(tmp_path):
    photo = tmp_path / "big.jpg"
    quarters(3200, 2400).save(photo, quality=95)
    whole = query_picture(str(photo), None, 224)
    assert min(whole.size) < 2400  # decoded at a reduced scale
    cut = query_picture(str(photo), parse_region("0.5,0.5,0.6,0.6"), 224)
    assert min(cut.size) >= 224  # the region itself keeps the model's size
    assert np.asarray(cut).mean(axis=(0, 1)).min() > 240  # white: the bottom right quarter
    in_pixels = query_picture(photo.read_bytes(), parse_region("0,1200,1600,2400"), 224, path="upload")
    assert in_pixels.size == (1600, 1200)
    assert np.asarray(in_pixels)[..., 2].mean() > 240 and np.asarray(in_pixels)[..., 0].mean() < 15  # blue


def test_a_pil_picture_and_the_query_term_carry_the_region():
    term = QueryTerm(1.0, image=quarters(), region=parse_region("0,0.5,0.5,1"))
    assert colours(query_picture(term.image, term.region, 224)) == {(0, 0, 255)}
    buffer = io.BytesIO()
    quarters().convert("L").save(buffer, format="PNG")
    grey = query_picture(buffer.getvalue(), None, 224, path="upload")
    assert grey.mode == "RGB"


@pytest.mark.parametrize("region", [Region(0.00001, 0, 0.5, 0.25), Region(0.5, 0.125, 1, 1),
                                    Region(0, 0, 1_000_000, 2_000_000, pixels=True), Region(10, 20, 300.5, 400, pixels=True)])
def test_a_region_reads_back_from_its_own_text(region):
    """The command line sends a region to a server as text: it must read back as the same region."""
    assert parse_region(str(region)) == region and "e" not in str(region)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_region_is_of_the_upright_photo_as_a_viewer_shows_it(tmp_path, orientation):
    """A phone's photo is stored on its side with an EXIF orientation: the box a user draws on it
    (the browser draws it upright) is of the upright picture, in fractions and in pixels alike."""
    from testsupport.imagefactory import exif_rotated, upright_marker

    path = exif_rotated(upright_marker(480, 320), orientation, tmp_path / f"exif-{orientation}.jpg")
    for spelled in ("0,0,0.5,0.5", "0,0,240,160"):  # the red top-left quadrant of the upright picture
        red = np.asarray(query_picture(str(path), parse_region(spelled), 64), float).mean(axis=(0, 1))
        assert red[0] > 200 and red[1] < 60 and red[2] < 60, (spelled, red)
    corner = np.asarray(query_picture(str(path), parse_region("0.8,0,1,0.2"), 64), float).mean(axis=(0, 1))
    assert corner[0] > 200 and corner[1] > 200 and corner[2] < 60, corner  # yellow: the top-right corner


@pytest.mark.skipif(not __import__("clipsearch").camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")
@pytest.mark.parametrize("preview", [False, True], ids=["raw-only", "with-camera-preview"])
def test_a_region_is_checked_against_a_camera_raw_photo_upright(tmp_path, preview):
    """``search --image X.dng --region`` checks the region before any search (exit 2), as for a
    JPEG: against the developed picture, upright (a portrait shot stored sideways), not against the
    small JPEG a camera keeps in the file's first directory, which Pillow opens as a TIFF."""
    from testsupport.rawfactory import dng

    picture = quarters(200, 300)  # upright: a portrait
    small = picture.resize((40, 60)) if preview else None
    path = tmp_path / "IMG_0001.DNG"
    path.write_bytes(dng(picture, orientation=6, preview=small))
    parse_region("0,0,20,250").check(path)  # inside the upright photo
    parse_region("0,0,0.5,0.5").check(str(path))
    with pytest.raises(InvalidQuery, match=r"reaches past the picture \(200 x 300 pixels\)"):
        parse_region("0,0,250,20").check(path)
    with pytest.raises(InvalidQuery, match="too small to search with"):
        parse_region("0,0,10,10").check(path)
