"""Finding and opening images: formats, modes, orientation, hostile files."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from clipsearch import Settings
from clipsearch.errors import UnreadableImage
from clipsearch.images import DEFAULT_MAX_PIXELS, load_image, scan_images
from testsupport.imagefactory import big_jpeg, bomb_png, exif_rotated, photo, save, truncated, upright_marker


def test_scan_finds_images_recursively_case_insensitive(tmp_path):
    save(photo(), tmp_path / "a" / "one.JPG")
    save(photo(), tmp_path / "a" / "b" / "two.png")
    save(photo(), tmp_path / "three.WebP")
    (tmp_path / "notes.txt").write_text("not an image")
    save(photo(), tmp_path / ".hidden" / "secret.jpg")
    save(photo(), tmp_path / ".dotfile.jpg")
    result = scan_images([tmp_path])
    names = sorted(os.path.basename(f.path) for f in result.files)
    assert names == ["one.JPG", "three.WebP", "two.png"]
    assert result.errors == [] and result.others == {".txt": 1}  # what else is there, for an empty run


def test_an_upper_case_heic_from_a_phone_is_found_and_read(tmp_path):
    """IMG_0001.HEIC, as an iPhone names it: the indexer's scan and decoder take any case."""
    pytest.importorskip("pillow_heif")
    photo(64, 48).save(tmp_path / "IMG_0001.HEIC", format="HEIF")
    found = scan_images([tmp_path]).files
    assert [os.path.basename(f.path) for f in found] == ["IMG_0001.HEIC"]
    loaded = load_image(found[0].path)
    assert (loaded.width, loaded.height) == (64, 48)


def test_scan_skips_the_folders_a_nas_or_an_os_keeps_beside_the_photos(tmp_path):
    save(photo(), tmp_path / "2019" / "IMG_1.jpg")
    for system in ("@eaDir/IMG_1.jpg", "#recycle", "#snapshot/2019", "@Recycle", "$RECYCLE.BIN",
                   "System Volume Information", "lost+found", "2019/.@__thumb"):
        save(photo(), tmp_path / system / "SYNOPHOTO_THUMB_XL.jpg")  # a thumbnail or a copy of each photo
    save(photo(), tmp_path / "my #recycle ideas" / "kept.jpg")  # only the exact names
    assert [os.path.relpath(f.path, tmp_path) for f in scan_images([tmp_path]).files] == [
        os.path.join("2019", "IMG_1.jpg"), os.path.join("my #recycle ideas", "kept.jpg")]
    named = scan_images([tmp_path / "#recycle"])  # a folder named on its own is walked
    assert [os.path.basename(f.path) for f in named.files] == ["SYNOPHOTO_THUMB_XL.jpg"]


def test_scan_skips_excluded_index_folder_and_survives_symlink_loops(tmp_path):
    save(photo(), tmp_path / "photos" / "x.jpg")
    index = tmp_path / "photos" / "index"
    save(photo(), index / "thumb.jpg")
    os.symlink(tmp_path / "photos", tmp_path / "photos" / "loop")
    result = scan_images([tmp_path / "photos"], exclude=[index])
    assert [os.path.basename(f.path) for f in result.files] == ["x.jpg"]


def test_scan_reports_unreadable_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder; permissions cannot be tested as root")
    locked = tmp_path / "locked"
    save(photo(), locked / "x.jpg")
    locked.chmod(0)
    try:
        result = scan_images([tmp_path])
        assert result.errors and result.errors[0][1] == "permission denied"
    finally:
        locked.chmod(0o755)


def test_scan_reports_dangling_symlink_and_missing_root(tmp_path):
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "dangling.jpg")
    result = scan_images([tmp_path, tmp_path / "missing"])
    reasons = dict(result.errors)
    assert reasons[str(tmp_path / "dangling.jpg")] == "broken link"  # the link is there: not "vanished"
    assert reasons[str(tmp_path / "missing")] == "vanished"


@pytest.mark.parametrize("kind", ["jpg", "tif"])  # Pillow turns a TIFF itself, as it loads it
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_pixels_and_size(tmp_path, orientation, kind):
    from clipsearch.decoding import header_facts

    upright = upright_marker(120, 80)
    path = exif_rotated(upright, orientation, tmp_path / f"o{orientation}.{kind}")
    loaded = load_image(path)
    assert (loaded.width, loaded.height) == (120, 80)
    assert header_facts(path.read_bytes(), str(path))[:2] == (120, 80)  # from the header alone
    assert loaded.image.size == (120, 80)
    top_left = np.asarray(loaded.image)[10, 10]
    bottom_right = np.asarray(loaded.image)[70, 110]
    assert top_left[0] > 200 and top_left[2] < 60, f"orientation {orientation}: {top_left}"
    assert bottom_right[2] > 200 and bottom_right[0] < 60
    assert loaded.date_taken == "2021-06-15T10:30:00"


@pytest.mark.parametrize("written, read", [
    ("2019:05:06 07:08:09", "2019-05-06T07:08:09"),  # as EXIF says
    ("2019:05:06 07:08:09\x00", "2019-05-06T07:08:09"),
    ("2019-05-06 07:08:09", "2019-05-06T07:08:09"),  # as some phones and editors write it
    ("2019/05/06 07:08", "2019-05-06T07:08:00"),
    ("2019-05-06T07:08:09.123+02:00", "2019-05-06T07:08:09"),
    ("2021:07:04", "2021-07-04T00:00:00"),  # the date alone
    ("0000:00:00 00:00:00", None), ("    :  :     :  :  ", None), ("2019:02:30 10:00:00", None),
    ("garbage", None), ("9999:12:31 23:59:59", None),
])
def test_a_date_taken_is_read_as_cameras_and_editors_write_it(tmp_path, written, read):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = written  # DateTimeOriginal
    path = tmp_path / "dated.jpg"
    photo(64, 48).save(path, exif=exif)
    assert load_image(path).date_taken == read


def test_draft_decoding_keeps_at_least_the_requested_size(tmp_path):
    path = save(photo(4000, 3000), tmp_path / "big.jpg", quality=90)
    loaded = load_image(path, min_size=224)
    assert (loaded.width, loaded.height) == (4000, 3000)
    assert min(loaded.image.size) >= 224
    assert max(loaded.image.size) <= 1000  # decoded at reduced scale, not full size


def test_a_200_megapixel_phone_photo_decodes_at_reduced_scale(tmp_path):
    path = big_jpeg(tmp_path / "phone.jpg", 16320, 12240)  # over Pillow's own 89.5 MP limit
    loaded = load_image(path, min_size=224, max_pixels=Settings().max_pixels)
    assert (loaded.width, loaded.height) == (16320, 12240)
    assert loaded.image.size == (16320 // 8, 12240 // 8)  # draft decoding: an eighth of each side
    assert Settings().max_pixels >= 250_000_000 and DEFAULT_MAX_PIXELS >= 250_000_000


@pytest.mark.parametrize("width, height", [(20480, 15632), (29264, 21920)])  # 1.07x and 2.1x the limit
def test_jpeg_bombs_beyond_the_limit_are_refused_with_the_reason(tmp_path, width, height):
    path = big_jpeg(tmp_path / "bomb.jpg", width, height)
    with pytest.raises(UnreadableImage) as info:
        load_image(path, min_size=224, max_pixels=300_000_000)
    assert info.value.reason == "too many pixels"
    assert f"{width}x{height}" in str(info.value) or f"{width * height} pixels" in str(info.value)


def test_the_limit_is_the_callers_whatever_pillow_was_told(tmp_path):
    path = big_jpeg(tmp_path / "phone.jpg", 10240, 7680)  # 79 MP
    with pytest.raises(UnreadableImage, match="too many pixels"):
        load_image(path, max_pixels=50_000_000)
    assert load_image(path, min_size=224, max_pixels=80_000_000).width == 10240


def test_modes_convert_to_correct_rgb(tmp_path):
    # palette with transparency -> transparent pixels become white, not black
    pal = Image.new("P", (20, 20), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    pal.paste(1, (0, 0, 10, 20))
    save(pal, tmp_path / "pal.png", transparency=0)
    rgb = np.asarray(load_image(tmp_path / "pal.png").image)
    assert tuple(rgb[5, 5]) == (255, 0, 0) and tuple(rgb[5, 15]) == (255, 255, 255)
    # grey with alpha
    la = Image.new("LA", (10, 10), (50, 0))
    save(la, tmp_path / "la.png")
    assert tuple(np.asarray(load_image(tmp_path / "la.png").image)[0, 0]) == (255, 255, 255)
    # 16-bit grey: scaled, not clipped to white
    arr = np.full((10, 10), 32768, np.uint16)
    save(Image.fromarray(arr), tmp_path / "g16.png")
    value = np.asarray(load_image(tmp_path / "g16.png").image)[0, 0]
    assert 120 <= value[0] <= 135
    # CMYK JPEG: pure cyan-free, magenta+yellow -> red
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    save(cmyk, tmp_path / "cmyk.jpg", quality=95)
    red = np.asarray(load_image(tmp_path / "cmyk.jpg").image)[8, 8]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    first = np.asarray(load_image(tmp_path / "anim.gif").image)[8, 8]
    assert first[0] > 200 and first[1] < 60


@pytest.mark.parametrize(
    "name, make, reason",
    [
        ("empty.jpg", lambda p: p.write_bytes(b""), "empty file"),
        ("text.jpg", lambda p: p.write_text("just some text"), "not an image"),
        ("page.png", lambda p: p.write_text("<html><body>hi</body></html>"), "not an image"),
        ("bomb.png", bomb_png, "too many pixels"),
        ("trunc.jpg", lambda p: truncated(photo(), p, "JPEG"), "truncated"),
        ("trunc.png", lambda p: truncated(photo(), p, "PNG"), "truncated"),
    ],
)
def test_bad_files_raise_a_typed_reason(tmp_path, name, make, reason):
    path = tmp_path / name
    make(path)
    with pytest.raises(UnreadableImage) as info:
        load_image(path)
    assert info.value.reason == reason
    assert info.value.path == str(path)


def test_missing_file_is_vanished(tmp_path):
    with pytest.raises(UnreadableImage) as info:
        load_image(tmp_path / "gone.jpg")
    assert info.value.reason == "vanished"
