"""AVIF and camera RAW files: found, read upright with their sizes and dates, shown as JPEG, and a
broken one refused for its reason. The RAW files are real DNG files written by
``testsupport.rawfactory`` that LibRaw reads as it reads a camera's."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from clipsearch import camera_raw
from clipsearch.decoding import header_facts
from clipsearch.dryrun import header_problem
from clipsearch.errors import UnreadableImage
from clipsearch.images import FileStat, is_image_name, load_image, scan_images
from testsupport.imagefactory import photo, upright_marker
from testsupport.rawfactory import dng

pytestmark = pytest.mark.skipif(not camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")


def alike(a: Image.Image, b: Image.Image, tolerance: float = 12.0) -> bool:
    """The same picture (each channel's mean difference under ``tolerance`` of 255) at the same size."""
    b = b.resize(a.size) if a.size != b.size else b
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b.convert("RGB"), np.float32)).mean()) < tolerance


def test_avif_is_found_and_read():
    """AVIF (Android phones, the web): Pillow 11.3 and later read it (requirements.txt's floor)."""
    picture = photo(320, 240, seed=4)
    data = io.BytesIO()
    picture.save(data, "AVIF", quality=90)
    assert is_image_name("PXL_0001.AVIF")
    loaded = load_image(data.getvalue(), path="PXL_0001.avif", min_size=224)
    assert (loaded.width, loaded.height) == (320, 240) and alike(loaded.image, picture)
    with pytest.raises(UnreadableImage, match="not an image"):  # cut short: refused, not a crash
        load_image(data.getvalue()[: len(data.getvalue()) // 2], path="PXL_0002.avif")


@pytest.mark.parametrize("cfa", [True, False], ids=["bayer", "linear"])
@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_dng_is_developed_upright_with_its_size_and_date(orientation, cfa):
    upright = upright_marker(120, 80)
    data = dng(upright, orientation, cfa=cfa)
    loaded = load_image(data, path="IMG_0001.DNG")
    assert (loaded.width, loaded.height) == (120, 80) and loaded.image.size == (120, 80)
    assert alike(loaded.image, upright), f"orientation {orientation}"
    assert loaded.date_taken == "2019-05-06T07:08:09"
    assert header_facts(data, "IMG_0001.DNG") == (120, 80, "2019-05-06T07:08:09")


@pytest.mark.parametrize("orientation", [1, 6, 8])
def test_the_cameras_preview_is_used_where_it_is_large_enough(orientation, monkeypatch):
    """The JPEG a camera stores beside its data is the picture it showed: read instead of developing
    the sensor's data, where it is large enough for what is asked, turned upright as the file says."""
    upright = photo(1200, 800, seed=3)
    marker = upright_marker(1200, 800)
    data = dng(upright, orientation, preview=marker)  # a preview that differs, to tell which was read
    developed = []
    real = camera_raw._developed
    monkeypatch.setattr(camera_raw, "_developed", lambda raw, size: developed.append(size) or real(raw, size))
    small = load_image(data, path="DSC_0001.dng", min_size=224)
    assert developed == [] and alike(small.image, marker) and min(small.image.size) >= 224
    assert (small.width, small.height) == (1200, 800) and small.image.size[0] > small.image.size[1]
    whole = load_image(data, path="DSC_0001.dng")
    assert developed == [] and alike(whole.image, marker) and whole.image.size == (1200, 800)
    tiny = dng(upright, orientation, preview=marker.resize((150, 100)))
    assert alike(load_image(tiny, path="DSC_0002.dng", min_size=224).image, upright)
    assert developed == [224]  # too small for the model: the sensor's data developed


def test_a_raw_upload_without_a_name_is_told_by_its_content():
    """REST and MCP uploads have no name: DNG is told by its first directory's tags, the other
    makers' formats by their signatures (the start of a file, LibRaw would say more)."""
    upright = photo(160, 120, seed=5)
    assert alike(load_image(dng(upright), path="the uploaded file").image, upright)
    assert camera_raw.is_raw(dng(upright, preview=upright))
    for head in (b"\0\0\0\x18ftypcrx \0\0\0\x01", b"FUJIFILMCCD-RAW 0201", b"IIRO\x08\0\0\0", b"IIU\0\x08\0\0\0",
                 b"II*\0\x10\0\0\0CR\x02\0"):
        assert camera_raw.is_raw(head + bytes(64)), head
    buffer = io.BytesIO()
    upright.save(buffer, "TIFF")
    assert not camera_raw.is_raw(buffer.getvalue(), "scan.tif")


def test_a_picture_of_another_kind_under_a_raw_name_is_read_as_what_it_is():
    buffer = io.BytesIO()
    photo(200, 100, seed=1).save(buffer, "JPEG")
    assert load_image(buffer.getvalue(), path="IMG_0002.CR2").image.size == (200, 100)
    assert header_facts(buffer.getvalue(), "IMG_0002.CR2")[:2] == (200, 100)


def test_broken_raw_files_are_refused_for_their_reason(tmp_path):
    data = dng(photo(400, 300, seed=2))
    cases = {"cut.dng": (data[: len(data) // 2], "truncated"), "junk.nef": (b"not a raw file " * 200, "not an image"),
             "head.dng": (data[:300], "truncated")}
    for name, (content, reason) in cases.items():
        with pytest.raises(UnreadableImage) as refused:
            load_image(content, path=name)
        assert refused.value.reason == reason, name
        assert reason in UnreadableImage.LASTING  # not read again until it changes
    with pytest.raises(UnreadableImage, match="too many pixels"):
        load_image(data, path="big.dng", max_pixels=100_000)
    (tmp_path / "junk.nef").write_bytes(b"not a raw file " * 200)
    (tmp_path / "ok.dng").write_bytes(data)
    stat = tmp_path / "ok.dng"
    assert header_problem(FileStat(str(stat), stat.stat().st_size, 0), None) is None
    junk = tmp_path / "junk.nef"
    assert header_problem(FileStat(str(junk), junk.stat().st_size, 0), None) == "not an image"
    assert header_problem(FileStat(str(stat), stat.stat().st_size, 0), 100_000) == "too many pixels"


def test_without_rawpy_a_raw_file_is_skipped_saying_how_to_read_it(monkeypatch, tmp_path):
    monkeypatch.setattr(camera_raw, "rawpy", None)
    with pytest.raises(UnreadableImage) as refused:
        load_image(dng(photo(64, 64)), path="IMG_0003.dng")
    assert refused.value.reason == "camera RAW needs rawpy (pip install rawpy)"
    assert refused.value.reason not in UnreadableImage.LASTING  # read again once it is installed


def test_a_folder_scan_finds_raw_and_avif_files_in_any_case(tmp_path):
    for name in ("a.DNG", "b.cr3", "c.NEF", "d.arw", "e.raf", "f.avif", "g.xmp", "h.ORF", "i.RW2"):
        (tmp_path / name).write_bytes(b"x")
    scan = scan_images([tmp_path])
    assert sorted(f.path.rsplit("/", 1)[1] for f in scan.files) == \
        ["a.DNG", "b.cr3", "c.NEF", "d.arw", "e.raf", "f.avif", "h.ORF", "i.RW2"]
    assert dict(scan.others) == {".xmp": 1}  # a sidecar: no picture
