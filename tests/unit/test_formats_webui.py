"""Camera RAW and AVIF photos in the web app: indexed, shown as JPEG thumbnails, and a RAW file
dropped in the drop zone searched with and shown as a JPEG (browsers draw no RAW file)."""

from __future__ import annotations

import shutil

import pytest
from gradio.components.image import ImageData
from PIL import Image

from clipsearch import SearchEngine, Settings, camera_raw
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save, upright_marker
from testsupport.rawfactory import dng
from webui.handlers import Handlers
from webui.page import Page
from webui.thumbnails import PREVIEW_SIZE, THUMB_SIZE
from webui.upload_image import upload_image

pytestmark = pytest.mark.skipif(not camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")


@pytest.fixture
def library(tmp_path):
    """A JPEG, an AVIF, a DNG shot sideways (its data stored turned), one with the camera's preview,
    and a broken NEF."""
    root = tmp_path / "photos"
    save(photo(480, 360, seed=1), root / "p1.jpg", quality=90)
    save(photo(480, 360, seed=2), root / "p2.avif", quality=90)
    (root / "IMG_0003.DNG").write_bytes(dng(upright_marker(200, 300), orientation=6))
    (root / "IMG_0004.dng").write_bytes(dng(photo(600, 400, seed=4), preview=photo(600, 400, seed=4)))
    (root / "DSC_0005.NEF").write_bytes(b"not a raw file " * 100)
    return root


@pytest.fixture
def handlers(tmp_path, library):
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    report = engine.index_folder(library)
    assert (report.added, report.skipped) == (4, {"not an image": [str(library / "DSC_0005.NEF")]})
    h = Handlers(engine, settings)
    yield h
    h.close()
    engine.close()


def test_raw_and_avif_photos_are_indexed_dated_and_shown_as_jpeg(handlers, library):
    records = {r.path.rsplit("/", 1)[1]: r for r in handlers.engine().store.records()}
    assert sorted(records) == ["IMG_0003.DNG", "IMG_0004.dng", "p1.jpg", "p2.avif"]
    raw = records["IMG_0003.DNG"]
    assert (raw.width, raw.height, raw.date_taken) == (200, 300, "2019-05-06T07:08:09")  # upright: portrait
    for name in records:
        for size in (THUMB_SIZE, PREVIEW_SIZE):
            shown = handlers.thumbs.get(str(library / name), size)
            assert shown != handlers.thumbs.placeholder(), name
            scale = min(1.0, size / max(records[name].width, records[name].height))
            with Image.open(shown) as jpeg:
                assert jpeg.format == "JPEG" and abs(jpeg.width - records[name].width * scale) <= 1 and \
                    abs(jpeg.height - records[name].height * scale) <= 1, name
    with Image.open(handlers.thumbs.get(str(library / "IMG_0003.DNG"))) as jpeg:
        assert jpeg.convert("RGB").getpixel((10, 10))[0] > 200  # red at the top left: upright


def test_a_dropped_raw_file_is_searched_and_shown_as_a_jpeg(handlers, library, tmp_path):
    """Gradio opens an upload with Pillow, which reads no RAW file: the drop zone takes it all the
    same (LibRaw reads it), the search uses it, and the drop zone shows a JPEG made of it."""
    page, api, shown = upload_image(), upload_image(refuse=True), Page(handlers)
    upload = tmp_path / "gradio" / "IMG_0003.DNG"
    upload.parent.mkdir()
    shutil.copy(library / "IMG_0003.DNG", upload)
    payload = ImageData(path=str(upload), orig_name="IMG_0003.DNG")
    with pytest.raises(Exception):  # noqa: B017 - Gradio's own reading, whatever it raises
        Image.open(upload)
    assert page.preprocess(payload) == api.preprocess(payload) == str(upload)
    gallery, results, _, status, _ = handlers.search("", str(upload), 20, 0.0, "relevance", "", "", "")
    assert results and results[0]["path"] == str(library / "IMG_0003.DNG"), status  # itself, first
    assert len(handlers.api_search_image(str(upload), 3)) == 3
    jpeg = shown.stand_in(str(upload))
    assert jpeg.endswith(".jpg") and handlers.thumbs.contains(jpeg)
    with Image.open(jpeg) as picture:
        assert (picture.format, picture.size) == ("JPEG", (200, 300))


def test_a_broken_raw_file_dropped_is_refused_for_its_reason(handlers, library, tmp_path, monkeypatch):
    page, api = upload_image(), upload_image(refuse=True)
    broken = ImageData(path=str(library / "DSC_0005.NEF"), orig_name="DSC_0005.NEF")
    assert page.preprocess(broken).reason == "not an image"
    with pytest.raises(Exception, match=r"\(not an image\)"):
        api.preprocess(broken)
    monkeypatch.setattr(camera_raw, "rawpy", None)
    good = ImageData(path=str(library / "IMG_0003.DNG"), orig_name="IMG_0003.DNG")
    assert page.preprocess(good).reason == "camera RAW needs rawpy (pip install rawpy)"


@pytest.mark.parametrize("name", ["file", "file.bin", "photo.tif"])
def test_a_raw_upload_without_a_raw_name_is_told_by_its_content(handlers, library, tmp_path, name):
    """A picture an assistant sends as a data: URL reaches the handler as a file Gradio names after
    its MIME type: "file" for image/x-adobe-dng, "file.bin" for application/octet-stream. A RAW file
    is told by its content there, as the REST route and the indexer tell it."""
    page, api = upload_image(), upload_image(refuse=True)
    upload = tmp_path / "gradio" / name
    upload.parent.mkdir()
    shutil.copy(library / "IMG_0003.DNG", upload)
    payload = ImageData(path=str(upload), orig_name=None)
    assert page.preprocess(payload) == api.preprocess(payload) == str(upload)
    assert handlers.api_search_image(str(upload), 1)[0]["file"] == str(library / "IMG_0003.DNG")
    (tmp_path / "gradio" / "not-raw").write_bytes(b"II*\0" + b"\0" * 60)  # a TIFF header, no picture
    with pytest.raises(Exception, match=r"\(not an image\)"):
        api.preprocess(ImageData(path=str(tmp_path / "gradio" / "not-raw"), orig_name=None))
