"""Decoding at its edges: a file replaced just after the indexer read it, a photo whose decoder
fails with its own error when its thumbnail is made, and a few bytes of text under a RAW name."""

from __future__ import annotations

import logging
import os
import struct
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

import clipsearch.decoding
import clipsearch.images
import webui.thumbnails
from clipsearch import UnreadableImage, camera_raw
from clipsearch.dryrun import header_problem
from clipsearch.errors import InvalidQuery
from clipsearch.image_formats import NO_AVIF
from clipsearch.images import FileStat, fingerprint_bytes, load_image
from clipsearch.region import parse_region
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save
from webui.handlers import Handlers
from webui.rest import build_router
from webui.rest_auth import Auth
from webui.thumbnails import ThumbnailCache

TEXT = b"hello, not a photo\n"


def _bmp(path, colour: str, mtime: int) -> None:
    """A 200 x 120 BMP of one ``colour`` put in place whole (a sync's rename): every one is as long."""
    temp = f"{path}.tmp"
    Image.new("RGB", (200, 120), colour).save(temp, "BMP")
    os.utime(temp, (mtime, mtime))
    os.replace(temp, path)


@pytest.fixture
def handlers(engine, library, settings):
    engine.index_folder(library)
    made = Handlers(engine, settings)
    yield made
    made.close()


@pytest.fixture
def api(handlers):
    """The REST routes over ``handlers``, for an app run without --auth."""
    app = FastAPI()
    app.include_router(build_router(handlers, Auth(SimpleNamespace(auth=None, cookie_id="t", tokens={}))))
    with TestClient(app) as http:
        yield http


# --- a file replaced just after it was read -----------------------------------------------------------

def _replaced_after_its_read(monkeypatch, shot) -> list[str]:
    """The indexer's read of ``shot``, after which a sync puts the newest version (green) in place."""
    real, replaced = clipsearch.decoding.read_file_bytes, []

    def read_then_replaced(path, *args, **kwargs):
        data = real(path, *args, **kwargs)
        if path == str(shot) and not replaced:
            replaced.append(path)
            _bmp(shot, "green", 1_700_000_300)
        return data

    monkeypatch.setattr(clipsearch.decoding, "read_file_bytes", read_then_replaced)
    return replaced


def test_a_file_replaced_just_after_it_was_read_is_read_again_by_the_next_run(engine, tmp_path, monkeypatch):
    """The indexer stats a file again after reading it; one replaced by a file of the same length
    just then (a sync) was recorded with the new file's stat and the old bytes' vector, so every later
    run found it unchanged and the index kept a picture no longer there."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shot = folder / "a.bmp"
    _bmp(shot, "red", 1_700_000_100)
    _bmp(folder / "copy.bmp", "blue", 1_700_000_100)  # blue's vector is in the index: reused, not decoded
    engine.index_folder(folder)
    _bmp(shot, "blue", 1_700_000_200)  # changed: the next run reads it
    replaced = _replaced_after_its_read(monkeypatch, shot)
    engine.index_folder(folder)
    assert replaced
    monkeypatch.undo()
    again = engine.index_folder(folder)
    assert again.updated == 1, "the file replaced after its read was taken as unchanged"
    assert engine.store.get(str(shot)).fingerprint == fingerprint_bytes(shot.read_bytes())
    settled = engine.index_folder(folder)
    assert settled.unchanged == 2 and settled.updated == settled.embedded == 0


def test_a_file_decoded_then_replaced_is_recorded_as_the_scan_saw_it(tmp_path, monkeypatch):
    """The same where the file is decoded for the model (the indexer's threads once it loaded it)."""
    shot = tmp_path / "a.bmp"
    _bmp(shot, "blue", 1_700_000_200)
    scanned = FileStat.of(str(shot), os.stat(shot))
    blue = fingerprint_bytes(shot.read_bytes())
    _replaced_after_its_read(monkeypatch, shot)
    item = clipsearch.decoding.inspect_file(scanned, set(), FakeEncoder(), None)
    assert item.error is None and item.prepared is not None and item.fingerprint == blue
    assert item.stat == scanned != FileStat.of(str(shot), os.stat(shot))  # the next run reads it again


def test_a_file_rewritten_between_the_scan_and_its_read_is_recorded_as_read(tmp_path):
    """The other side: a file that stood still across its read is recorded with its own stat, though
    the scan saw an older one, so the next run does not read it again."""
    shot = tmp_path / "a.bmp"
    _bmp(shot, "red", 1_700_000_100)
    scanned = FileStat.of(str(shot), os.stat(shot))
    _bmp(shot, "green", 1_700_000_300)
    item = clipsearch.decoding.inspect_file(scanned, set(), None, None)
    assert item.error is None and item.stat == FileStat.of(str(shot), os.stat(shot)) != scanned
    assert item.fingerprint == fingerprint_bytes(shot.read_bytes())


# --- a decoder's own error when a thumbnail is made --------------------------------------------------

def _failing(monkeypatch, broken: str, error: BaseException) -> None:
    """Thumbnails of ``broken`` fail as a damaged AVIF's codec or a mistyped EXIF tag make them fail."""
    real = webui.thumbnails.load_image

    def load(source, *args, **kwargs):
        if os.fspath(source) == broken:
            raise error
        return real(source, *args, **kwargs)

    monkeypatch.setattr(webui.thumbnails, "load_image", load)


@pytest.mark.parametrize("error", [RuntimeError("Failed to decode frame 0: Decoding of color planes failed"),
                                   struct.error("required argument is not an integer")])
def test_a_photo_whose_decoder_fails_its_own_way_shows_the_placeholder(handlers, library, api, monkeypatch,
                                                                       caplog, error):
    """A photo replaced since it was indexed by a damaged AVIF (the codec's RuntimeError) or a JPEG
    with one mistyped EXIF tag (struct.error): its thumbnail was a 500 and every page of results
    showing it failed; now it is the grey cross, and the other results show as they are."""
    broken = str(library / "a" / "p0.jpg")
    _failing(monkeypatch, broken, error)
    caplog.set_level(logging.WARNING, logger="webui.thumbnails")
    placeholder = handlers.thumbs.placeholder()
    assert handlers.thumbs.get(broken) == placeholder
    assert handlers.thumbs.get(broken, 1024) == placeholder
    answer = api.get("/api/thumbnail", params={"file": broken})
    assert answer.status_code == 200 and answer.content == open(placeholder, "rb").read()
    gallery, results, _, status, _ = handlers.search("a photo", None, 20, 0.0, "relevance", "", "", "")
    shown = dict(zip((r["path"] for r in results), (thumb for thumb, _ in gallery), strict=True))
    assert broken in shown and shown[broken] == placeholder, status
    assert len(shown) == 6 and all(thumb != placeholder for path, thumb in shown.items() if path != broken)
    said = [r for r in caplog.records if broken in r.getMessage()]
    assert said and all(r.exc_info is None and "\n" not in r.getMessage() for r in said)  # a line, no traceback
    assert type(error).__name__ in said[0].getMessage()


def test_a_region_the_photo_does_not_hold_is_still_refused_as_such(tmp_path):
    cache = ThumbnailCache(tmp_path / "cache")
    save(photo(160, 120, seed=1), tmp_path / "p.jpg")
    with pytest.raises(InvalidQuery):
        cache.get_part(str(tmp_path / "p.jpg"), parse_region("0,0,4000,3000"), 512)
    cache.close()


# --- text under a RAW name --------------------------------------------------------------------------

raw = pytest.mark.skipif(not camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")


@raw
@pytest.mark.parametrize("name", ["notes.nef", "hello.CR2", "x.dng", "x.raf", "x.cr3", "x.orf"])
def test_a_few_bytes_of_text_under_a_raw_name_are_not_an_image(name, tmp_path):
    """LibRaw says "Input/output error" of any file too short for its header: a few bytes of text
    named .nef were "truncated" here and "not an image" through --server, which does not send the name."""
    with pytest.raises(UnreadableImage) as refused:
        load_image(TEXT, path=name)
    assert refused.value.reason == "not an image"
    (tmp_path / name).write_bytes(TEXT)
    with pytest.raises(UnreadableImage) as refused:  # search --image notes.nef
        load_image(tmp_path / name)
    assert refused.value.reason == "not an image"
    assert header_problem(FileStat(str(tmp_path / name), len(TEXT), 0), None) == "not an image"  # --dry-run


@raw
@pytest.mark.parametrize("head", [b"II*\0\x08\0\0\0\xff\xff", b"MM\0*\0\0\0\x08", b"IIRO\x08\0\0\0", b"IIU\0\x08\0",
                                  b"FUJIFILMCCD-RAW 0201", b"\0\0\0\x18ftypcrx ", b"II\x1a\0\0\0HEAPCCDR", b"\0MRM\0\0"])
def test_a_raw_file_cut_short_is_still_truncated(head):
    """Bytes that begin as a RAW or TIFF file does are a RAW file cut short, whatever else they are."""
    with pytest.raises(UnreadableImage) as refused:
        load_image(head, path="IMG_0001.dng")
    assert refused.value.reason == "truncated"


@raw
def test_the_indexer_lists_text_under_raw_names_as_not_an_image(engine, tmp_path):
    folder = tmp_path / "photos"
    save(photo(160, 120, seed=1), folder / "p.jpg")
    (folder / "hello.cr2").write_bytes(b"hello")
    (folder / "text.nef").write_bytes(TEXT)
    (folder / "tiny.dng").write_bytes(b"II*\0\x08\0\0\0\xff\xff")  # a DNG cut short
    report = engine.index_folder(folder)
    assert {reason: sorted(paths) for reason, paths in report.skipped.items()} == {
        "not an image": [str(folder / "hello.cr2"), str(folder / "text.nef")], "truncated": [str(folder / "tiny.dng")]}


@raw
def test_an_upload_is_read_under_its_own_name(api, monkeypatch):
    """POST /api/search reads the picture under the upload's name, as a file of the library is read
    (a RAW file's by its extension): it was "the uploaded file" whatever the upload's name."""
    answer = api.post("/api/search", files={"image": ("notes.nef", TEXT)}).json()
    assert answer["unreadable"]["reason"] == "not an image"  # as search --image notes.nef says
    monkeypatch.setattr(clipsearch.images, "AVIF_SUPPORTED", False)  # an install without an AVIF codec
    answer = api.post("/api/search", files={"image": ("photo.avif", b"\0\0\0\x1cftypavif" + bytes(64))}).json()
    assert answer["unreadable"]["reason"] == NO_AVIF, answer


def test_a_raw_file_named_beyond_ascii_is_read_from_its_bytes(tmp_path, monkeypatch):
    """LibRaw opens a name as UTF-8 whatever the locale: under a Latin-1 one, ``café.dng`` (its name
    in the locale's bytes) was "truncated (Input/output error)" in a dry run and a region's read,
    while ``plain.dng`` read. Only a name in ASCII is the same bytes in every locale."""
    from PIL import Image

    from clipsearch import camera_raw
    from testsupport.rawfactory import dng

    opened = []
    real = camera_raw.rawpy.imread
    monkeypatch.setattr(camera_raw.rawpy, "imread", lambda source: opened.append(type(source)) or real(source))
    data = dng(Image.new("RGB", (64, 48), (200, 30, 30)))
    for name in ("plain.dng", "café.dng"):
        (tmp_path / name).write_bytes(data)
        assert camera_raw.header(str(tmp_path / name), name)[:2] == (64, 48)
    assert opened[0] is str and opened[1] is not str  # the accented name's bytes, read by Python
