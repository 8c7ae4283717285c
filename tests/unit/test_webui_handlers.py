"""The web app's handlers, called directly: a fake encoder, a real store, no server, no browser."""

from __future__ import annotations

import builtins
import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from PIL import Image

import clipsearch.images
import webui.handlers
from clipsearch import IndexNotFound, SearchEngine, Settings
from clipsearch.lock import IndexLock
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import bomb_png, photo, save
from webui import rest
from webui.api_errors import ApiError
from webui.duplicates_view import caption as gallery_caption
from webui.handlers import (
    SORT_DATE,
    SORT_RELEVANCE,
    Handlers,
    NoIndexYet,
    api_record,
    details_markdown,
    parse_filter,
)
from webui.paths import web_path
from webui.reindex import INTERACTIVE_BATCH
from webui.thumbnails import PREVIEW_SIZE, THUMB_SIZE

NO_FILTER = ("", "", "")  # folder, date from, date to


class Select:
    """Stands in for gr.SelectData: ``index``, and ``value`` where the page said what it showed
    there (Gradio's gallery sends ``{"image": ..., "caption": ...}``)."""

    def __init__(self, index: int, value: dict | None = None) -> None:
        self.index = index
        self.value = value


@pytest.fixture(scope="module")
def pristine_library(tmp_path_factory) -> Path:
    """Ten photos in two folders (one large enough for a downscaled preview) and a text file."""
    root = tmp_path_factory.mktemp("pristine") / "photos"
    for i in range(10):
        size = (1600, 1200) if i == 2 else (480, 360)
        save(photo(*size, seed=i), root / ("trips" if i < 5 else "home/garden") / f"p{i:02d}.jpg", quality=90)
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture
def library(tmp_path, pristine_library) -> Path:
    return Path(shutil.copytree(pristine_library, tmp_path / "photos"))


def fake_engine(settings: Settings, encoder: FakeEncoder | None = None) -> SearchEngine:
    encoder = encoder or FakeEncoder()
    return SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)


@pytest.fixture
def handlers(settings, library):
    engine = fake_engine(settings)
    engine.index_folder(library)
    h = Handlers(engine, settings)
    yield h
    h.close()
    engine.close()


def search(h: Handlers, text="red sky", image=None, k=20, min_score=0.0, sort=SORT_RELEVANCE, where=NO_FILTER):
    return h.search(text, image, k, min_score, sort, *where)


def test_search_returns_cached_thumbnails_with_score_captions(handlers, library):
    gallery, results, shown, status, banner = search(handlers)
    assert len(gallery) == len(results) == len(shown) == 10
    assert status.startswith("10 results")
    for (thumb, caption), result in zip(gallery, results, strict=True):
        assert handlers.thumbs.contains(thumb) and not handlers.thumbs.contains(result["path"])
        assert caption == f"{result['score']:.3f} · {result['name']}"
        with Image.open(thumb) as im:
            assert im.format == "JPEG" and max(im.size) <= THUMB_SIZE
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_an_index_deleted_under_the_app_is_said_gone_and_one_built_there_again_is_searched(settings, library, tmp_path):
    """The app held its SQLite file open: an index folder deleted (or replaced) under it was served
    on, photos no index held, until a restart. Now the next search says it is gone, and an index
    built there again (or put in its place) is searched, without a restart."""
    def build(photos: Path) -> None:
        writer = fake_engine(settings)
        writer.index_folder(photos)
        writer.close()

    build(library)
    reader = SearchEngine(FakeEncoder(), open_store(settings.index_dir, FakeEncoder().stamp), settings=settings,
                          writable=False)  # as python -m webui opens it (for_reading)
    reader._watch.every = 0  # a look at the folder every time (once a second in the app)
    h = Handlers(reader, settings)
    try:
        assert len(search(h)[1]) == 10
        shutil.rmtree(settings.index_dir)
        gallery, results, shown, status, _ = search(h)
        assert gallery == results == shown == [] and status.startswith("⚠️") and "is gone" in status, status
        info, banner, _ = h.index_panel()  # the Index panel and the banner say it too
        assert info == "No index now." and banner["visible"] and "is gone" in banner["value"]
        other = tmp_path / "other"
        for i in range(3):
            save(photo(seed=40 + i), other / f"o{i}.jpg")
        build(other)  # built again where it was
        assert sorted(r["name"] for r in search(h)[1]) == ["o0.jpg", "o1.jpg", "o2.jpg"]
        assert h.index_panel()[2]["choices"][1:] == [(str(other), str(other))]  # its folders, not the old ones
        shutil.rmtree(settings.index_dir)
        build(library)  # replaced between two searches
        assert len(search(h)[1]) == 10 and h.engine().info()["count"] == 10
    finally:
        h.close()
        reader.close()


def test_a_result_not_on_disk_now_says_so_under_its_kept_thumbnail(handlers, library, tmp_path):
    """A disk not mounted keeps its photos in the index: their results say where they are."""
    gallery, results, shown, *_ = search(handlers)
    away = results[0]["path"]
    os.rename(away, tmp_path / "unplugged.jpg")
    gallery, results, shown, *_ = search(handlers)
    at = [r["path"] for r in shown].index(away)
    thumb, caption = gallery[at]
    assert caption == f"{shown[at]['score']:.3f} · not on disk now · {shown[at]['name']}"
    assert handlers.thumbs.contains(thumb) and Image.open(thumb).size != (THUMB_SIZE, THUMB_SIZE)  # not the placeholder
    assert "**Not on disk now**" in details_markdown(shown[at])
    preview, details, _ = handlers.select(shown, SimpleNamespace(index=at))  # no preview was made before
    assert preview == thumb and "**Not on disk now**" in details  # the small thumbnail, not a grey cross
    assert all(c.endswith(r["name"]) for (_, c), r in zip(gallery, shown) if r["path"] != away)
    assert "Not on disk" not in details_markdown(shown[at - 1 if at else 1])
    from webui import rest

    assert rest.thumbnail(handlers, {"file": away}).path == thumb  # the REST route's thumbnail too


def test_a_search_on_a_full_disk_shows_its_results_and_says_why_thumbnails_are_missing(handlers, monkeypatch):
    import errno

    import webui.thumbnails

    def full(picture, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(webui.thumbnails, "_save_jpeg", full)
    gallery, results, shown, status, banner = search(handlers)
    assert len(gallery) == len(results) == 10 and all(t == handlers.thumbs.placeholder() for t, _ in gallery)
    assert status.startswith("10 results") and "⚠️ cannot save thumbnails in" in status
    assert "No space left on device" in status


def test_a_folder_typed_outside_the_index_says_what_the_index_covers(handlers, library, tmp_path):
    gallery, results, shown, status, banner = search(handlers, where=(str(tmp_path / "Phone"), "", ""))
    from webui.markdown import md

    assert results == [] and status.startswith(
        "No results: " + md(f"the index holds no photo in {tmp_path / 'Phone'}: it covers {library}") + ".")
    inside = search(handlers, where=(str(library / "trips"), "2999-01-01", ""))  # covered: nothing that new
    assert inside[1] == [] and "the index holds no photo" not in inside[3]


def test_thumbnails_are_cached_and_follow_edits(handlers, library):
    photo_path = str(library / "trips" / "p00.jpg")
    first = handlers.thumbs.get(photo_path)
    stamp = os.stat(first).st_mtime_ns
    assert handlers.thumbs.get(photo_path) == first and os.stat(first).st_mtime_ns == stamp
    save(photo(800, 600, seed=99), Path(photo_path), quality=90)
    os.utime(photo_path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert handlers.thumbs.get(photo_path) != first


def test_unreadable_or_vanished_photos_get_a_placeholder(handlers, library):
    broken = library / "trips" / "p01.jpg"
    broken.write_bytes(b"garbage")
    assert handlers.thumbs.get(str(broken)) == handlers.thumbs.placeholder()
    assert handlers.thumbs.get(str(library / "gone.jpg")) == handlers.thumbs.placeholder()


def test_a_found_photo_whose_file_broke_since_it_was_indexed_says_why_it_shows_nothing(handlers, library):
    """An indexed photo overwritten since (a sync cut short) keeps its record, and a search finds
    it by the picture last read; the page showed a grey cross and, opened, the facts of that
    picture, without a word of why. The details say its file changed since it was indexed."""
    broken = library / "trips" / "p01.jpg"
    broken.write_bytes(broken.read_bytes()[:200])
    _, _, shown, _, _ = search(handlers)
    at = [r["name"] for r in shown].index("p01.jpg")
    preview, details, _ = handlers.select(shown, Select(at))
    assert preview == handlers.thumbs.placeholder()
    assert "**Changed on disk since indexed:** found by the picture last read there" in details
    assert "keeps that picture until it does" in details
    assert "Changed on disk" not in handlers.select(shown, Select(1 - min(at, 1)))[1]  # another, as indexed


def test_cut_off_hides_the_tail_and_says_so(handlers):
    _, results, _, _, _ = search(handlers)
    # The fake encoder's text scores are arbitrary: give the results a clear ladder of scores.
    results = [dict(r, score=0.9 - 0.1 * i) for i, r in enumerate(results)]
    middle = results[4]["score"]
    gallery, shown, status = handlers.refilter(results, middle, SORT_RELEVANCE)
    assert len(gallery) == len(shown) == 5 and all(r["score"] >= middle for r in shown)
    assert status.startswith(f"5 of 10 results score {middle:.2f}")
    gallery, shown, status = handlers.refilter(results, 0.999, SORT_RELEVANCE)
    assert gallery == [] and "lower the cut-off" in status


def test_sort_by_date_among_the_relevant(handlers, library):
    for i, path in enumerate(sorted((library / "trips").glob("*.jpg"))):
        os.utime(path, (1_600_000_000 + i * 86_400,) * 2)
    handlers.engine().index_folder(library)
    _, results, _, _, _ = search(handlers)
    _, shown, _ = handlers.refilter(results, 0.0, SORT_DATE)
    dates = [r["sort_date"] for r in shown]
    assert dates == sorted(dates, reverse=True)


def test_select_shows_a_preview_and_the_facts(handlers):
    _, _, shown, _, _ = search(handlers)
    big = next(i for i, r in enumerate(shown) if r["name"] == "p02.jpg")
    preview, details, selected = handlers.select(shown, Select(big))
    assert selected == shown[big]["path"]
    assert handlers.thumbs.contains(preview)
    with Image.open(preview) as im:
        assert max(im.size) == PREVIEW_SIZE  # the 1600 px original, downscaled
    assert "1600 × 1200 px" in details and "Taken:" in details and "KB" in details
    assert handlers.select(shown, Select(99)) == (None, "", None)


def test_a_click_on_results_refiltered_since_opens_the_photo_the_page_showed(handlers):
    """A slider moved, then a click before the page shows the new order: the server's results are
    already the new ones, and the place clicked holds another photo there; the one the page showed
    opens, and one no longer among the results opens nothing."""
    gallery, results, shown, _, _ = search(handlers)
    by_score, at = shown, 0
    resorted = by_score[::-1]  # the server's results sorted otherwise since (by date, say)
    on_page = {"image": {"path": gallery[at][0]}, "caption": gallery[at][1]}
    assert resorted[at]["path"] != by_score[at]["path"]
    assert handlers.select(resorted, Select(at, on_page))[2] == by_score[at]["path"]
    assert handlers.select(by_score, Select(at, on_page))[2] == by_score[at]["path"]
    _, fewer, _ = handlers.refilter(results, by_score[at]["score"] + 1e-6, SORT_RELEVANCE)
    assert by_score[at]["path"] not in {r["path"] for r in fewer}
    assert handlers.select(fewer, Select(0, on_page)) == (None, "", None)


def test_a_click_opens_a_photo_whose_name_is_not_utf8_as_the_page_shows_it(handlers):
    """The page shows a name's bytes that are not UTF-8 as \\xNN (``paths.web_path``): the
    caption it sends back with a click is that form, and still names the result."""
    _, _, shown, _, _ = search(handlers)
    odd = [dict(shown[0], name="caf\udce9.jpg", path=shown[0]["path"]), *shown[1:]]
    said = {"caption": web_path(gallery_caption(odd[0]))}
    assert "caf\\xe9.jpg" in said["caption"]
    assert handlers.select(odd[::-1], Select(0, said))[2] == odd[0]["path"]


def test_find_similar_searches_with_the_selected_photo(handlers):
    _, _, shown, _, _ = search(handlers)
    target = shown[0]["path"]
    gallery, results, _, status, _ = handlers.find_similar(target, 5, 0.0, SORT_RELEVANCE, *NO_FILTER)
    assert len(results) == 5 and target not in [r["path"] for r in results]
    assert f"photos like {os.path.basename(target)}" in status


@pytest.mark.parametrize("path", ["/etc/passwd", "notes.txt", "trips/../notes.txt", "trips/p00.jpg/.."])
def test_similar_refuses_paths_that_are_not_indexed(handlers, library, path, monkeypatch):
    full = path if path.startswith("/") else str(library / path)
    opened = spy_on_file_opening(monkeypatch)
    with pytest.raises(gr.Error, match="not in the index"):
        handlers.similar_to(full, 5)
    with pytest.raises(gr.Error, match="not in the index"):
        handlers.api_similar(full, 5)
    assert os.path.realpath(full) not in {os.path.realpath(p) for p in opened}, "the refused file was read"


def spy_on_file_opening(monkeypatch) -> list[str]:
    """Record every path this process opens from now on (Python's, the OS's and Pillow's open)."""
    opened: list[str] = []

    def spy(real):
        def opening(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)):
                opened.append(os.fsdecode(file))
            return real(file, *args, **kwargs)
        return opening

    monkeypatch.setattr(builtins, "open", spy(builtins.open))
    monkeypatch.setattr(os, "open", spy(os.open))
    monkeypatch.setattr(Image, "open", spy(Image.open))
    return opened


def test_the_file_spy_sees_an_image_being_read(library, monkeypatch):
    from clipsearch.images import load_image

    opened = spy_on_file_opening(monkeypatch)
    load_image(str(library / "trips" / "p00.jpg"))
    assert str(library / "trips" / "p00.jpg") in opened


def test_a_hanging_decoder_times_out_uploads_and_thumbnails(tmp_path, library, monkeypatch):
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", file_timeout=0.5)
    engine = fake_engine(settings)
    engine.index_folder(library)
    h = Handlers(engine, settings)
    upload = save(photo(480, 360, seed=3), tmp_path / "upload.png")
    real_decode = clipsearch.images._decode
    release = threading.Event()

    def hanging(img, name, *args):
        release.wait(5)  # a decoder that does not come back in time (until the test ends)
        return real_decode(img, name, *args)

    monkeypatch.setattr(clipsearch.images, "_decode", hanging)
    try:  # without a time-out both would wait for the decoder, then succeed
        with pytest.raises(gr.Error, match="timed out"):
            h.query("", str(upload), 5)
        assert h.thumbs.get(str(library / "trips" / "p01.jpg")) == h.thumbs.placeholder()
    finally:
        release.set()
        h.close()
        engine.close()
    assert not list((tmp_path / "cache" / "thumbs").glob("*/*.jpg"))  # no thumbnail was made


def test_uploads_decode_on_the_handlers_thread_where_bounded_and_time_out_where_not(tmp_path, library, monkeypatch):
    """An upload the server wrote, a JPEG or PNG, is decoded where it is asked for (a thread of its
    own costs hand-overs of the interpreter lock under load); a WebP keeps the time limit, through
    the call API and the REST route alike (the REST route had none)."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", file_timeout=0.5)
    engine = fake_engine(settings)
    engine.index_folder(library)
    h = Handlers(engine, settings)
    uploads = tmp_path / "gradio"
    monkeypatch.setattr(webui.handlers, "get_upload_folder", lambda: str(uploads))
    jpeg, webp = save(photo(480, 360, seed=3), uploads / "a.jpg"), save(photo(480, 360, seed=3), uploads / "a.webp")
    outside = save(photo(480, 360, seed=3), tmp_path / "elsewhere.jpg")
    real_decode, threads, release = clipsearch.images._decode, [], threading.Event()

    def noting(img, name, *args):
        if name in ("the uploaded file", str(outside)):  # not the library's photos (their thumbnails)
            threads.append(threading.current_thread().name)
        if img.format == "WEBP":
            release.wait(5)  # a decoder that does not come back in time (until the test ends)
        return real_decode(img, name, *args)

    monkeypatch.setattr(clipsearch.images, "_decode", noting)
    try:
        assert h.query("", str(jpeg), 5) and h.query("", str(outside), 5)
        assert threads == [threading.current_thread().name, "decode"]  # a file elsewhere: its disk may hang
        with pytest.raises(gr.Error, match="timed out"):
            h.query("", str(webp), 5)
        with pytest.raises(ApiError, match="timed out"):
            rest.search(h, None, {}, webp.read_bytes())
    finally:
        release.set()
        h.close()
        engine.close()


def test_similar_accepts_an_indexed_path_written_with_dots(handlers, library):
    results = handlers.api_similar(str(library / "home" / ".." / "trips" / "p00.jpg"), 3)
    assert len(results) == 3


def test_image_and_text_make_one_query(handlers, library, tmp_path):
    upload = save(photo(480, 360, seed=3), tmp_path / "upload.png")  # p03.jpg's pixels
    _, text_only, _, _, _ = search(handlers, "red sky")
    _, image_only, _, _, _ = search(handlers, "", str(upload))
    _, both, _, status, _ = search(handlers, "red sky", str(upload))
    assert image_only[0]["path"] == str(library / "trips" / "p03.jpg")
    assert [r["path"] for r in both] != [r["path"] for r in text_only]
    assert "the dropped photo" in status


def test_a_text_file_uploaded_as_an_image_is_an_error_and_search_goes_on(handlers, tmp_path, caplog):
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    gallery, results, shown, status, _ = search(handlers, "", str(fake))
    assert gallery == results == shown == gr.skip()  # the previous results stay
    assert status.startswith("⚠️") and "is not a picture clipsearch can read" in status  # said once, on the page
    assert [r.getMessage() for r in caplog.records if "uploaded" in r.getMessage()] == [
        "refused an uploaded query file: not an image"]  # one line in the log
    with pytest.raises(gr.Error):
        handlers.api_search_image(str(fake), 5)
    gallery, *_ = search(handlers, "red sky")
    assert len(gallery) == 10


def test_an_upload_gradio_cannot_open_is_refused_for_its_true_reason(handlers, tmp_path):
    """Gradio opens an upload before any handler runs: what it raised says why (as REST and the
    indexer say it), not "not an image" for every file, nor an exception's class name for the API."""
    from gradio.components.image import ImageData

    from webui.app import upload_image

    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is not a picture")
    files = {"huge.png": "too many pixels", "empty.jpg": "empty file", "notes.png": "not an image"}
    bomb_png(tmp_path / "huge.png", 30_000, 30_000)
    page, api = upload_image(), upload_image(refuse=True)
    for name, reason in files.items():
        payload = ImageData(path=str(tmp_path / name), orig_name=name)
        dropped = page.preprocess(payload)
        assert dropped.reason == reason, name
        status = search(handlers, "", dropped)[3]
        assert status == f"⚠️ The uploaded file is not a picture clipsearch can read ({reason}).", name
        with pytest.raises(gr.Error) as refused:
            api.preprocess(payload)
        assert refused.value.message == f"The uploaded file is not a picture clipsearch can read ({reason}).", name
        with pytest.raises(gr.Error, match=rf"\({reason}\)"):
            handlers.api_search_image(dropped, 5)


def test_a_dropped_heic_or_tiff_shows_as_a_jpeg_and_a_search_again_uses_the_original(handlers, tmp_path,
                                                                                     monkeypatch):
    """Browsers cannot draw HEIC or TIFF: the drop zone gets a JPEG of it (``Page.stand_in``). The
    page then holds the JPEG, and sends it with the next search (new filters): the original is
    searched, not a re-encoded copy of it."""
    from webui.handlers import UnreadableUpload
    from webui.page import Page

    page, picture = Page(handlers), photo(300, 200, seed=7)
    png = tmp_path / "shot.png"
    picture.save(png)
    assert page.stand_in(str(png)) == str(png)  # browsers draw it: the value as it is
    assert page.stand_in(None) is None and page.stand_in(UnreadableUpload("an unreadable upload")) is None
    searched = []
    real = handlers.search
    monkeypatch.setattr(handlers, "search", lambda text, image, *rest, **named: searched.append(image) or real(text, image, *rest, **named))
    for original, kind in ((tmp_path / "IMG_4032.HEIC", "HEIF"), (tmp_path / "scan.tiff", "TIFF")):
        picture.save(original, format=kind)
        shown = page.stand_in(str(original))
        assert shown.endswith(".jpg") and handlers.thumbs.contains(shown)
        with Image.open(shown) as jpeg:
            assert (jpeg.format, jpeg.size) == ("JPEG", (300, 200))
        sent_back = tmp_path / "gradio" / kind / Path(shown).name  # Gradio's copy: another folder, the same name
        sent_back.parent.mkdir(parents=True)
        shutil.copy(shown, sent_back)
        out = page.search(None, str(sent_back), 20, 0.0, SORT_RELEVANCE, "", "", "")
        assert searched[-1] == str(original) and len(out[2]) == 10


def test_the_drop_zone_types_every_picture_name_the_indexer_reads():
    """The page gives a file the browser left untyped (Chromium: an upper-case .HEIC) the type of
    its extension (``webui.file_types``): one for each extension the indexer takes, each a picture's."""
    from clipsearch.images import IMAGE_EXTENSIONS
    from webui.file_types import TYPES, TYPES_JS

    assert set(TYPES) == set(IMAGE_EXTENSIONS) and all(t.startswith("image/") for t in TYPES.values())
    assert '".heic": "image/heic"' in TYPES_JS and "toLowerCase()" in TYPES_JS


@pytest.mark.parametrize("query", ["", "   ", "2:", "a + 2: - b"])
def test_empty_or_broken_queries_say_why_without_failing(handlers, query):
    gallery, results, shown, status, _ = search(handlers, query)
    assert gallery == results == shown == gr.skip()  # the previous results stay
    assert status.startswith("⚠️")


def test_folder_and_date_filters(handlers, library):
    _, results, _, _, _ = search(handlers, where=(str(library / "home"), "", ""))
    assert len(results) == 5 and all("/home/garden/" in r["path"] for r in results)
    _, results, _, _, _ = search(handlers, where=("", "1999-01-01", "1999-12-31"))
    assert results == []
    _, _, _, status, _ = search(handlers, where=("", "yesterday", ""))
    assert "not a date like" in status
    _, _, _, status, _ = search(handlers, where=("", "2024-05-01", "2024-04-01"))
    assert "date range is empty" in status


def test_parse_filter():
    assert parse_filter("", " ", None) is None
    where = parse_filter("/photos/2020/", "2020-01-01", "")
    assert (where.folder, where.date_from, where.date_to) == ("/photos/2020", "2020-01-01", None)


def test_a_folder_typed_on_the_page_is_a_full_path_as_the_api_asks(handlers, library, monkeypatch):
    """Not a folder of the server's working folder: said in the status line, nothing searched."""
    from webui.markdown import md

    monkeypatch.chdir(library)  # where "trips" would be a folder of the library
    gallery, results, shown, status, _ = search(handlers, where=("trips", "", ""))
    assert gallery == results == shown == gr.skip()  # the previous results stay
    assert status == "⚠️ " + md("the folder is a full path, as the Folder list shows the indexed folders, not "
                                "'trips'"), status
    with pytest.raises(gr.Error, match="folder is a full path"):  # the API's own message, as before
        handlers.api_search_text("red sky", 5, 0.0, "trips")
    _, results, _, status, _ = search(handlers, where=(str(library / "trips"), "", ""))
    assert len(results) == 5 and status.startswith("5 results")
    assert parse_filter("~/Pictures", "", "").folder == os.path.expanduser("~/Pictures")  # the server's user's


def test_index_panel_lists_count_model_and_folders(handlers, library):
    info, banner, folders = handlers.index_panel()
    assert "**Photos:** 10" in info and "fake" in info and str(library) in info.replace("\\_", "_")
    assert banner["visible"] is False
    values = [value for _, value in folders["choices"]]
    assert str(library / "home" / "garden") in values and str(library / "home") in values


def test_no_index_explains_how_to_build_one_then_finds_it(settings, library):
    def open_engine() -> SearchEngine:
        if not (settings.index_dir / "records.sqlite").exists():
            raise IndexNotFound("no index")
        return fake_engine(settings)

    h = Handlers(None, settings, open_engine=open_engine)
    gallery, _, _, status, banner = search(h)
    assert gallery == [] and banner["visible"] is True and "python -m indexer" in banner["value"]
    assert "--model demo" in banner["value"] and str(settings.index_dir) in banner["value"]
    info, banner, _ = h.index_panel()
    assert banner["visible"] is True
    with pytest.raises(gr.Error, match="No index"):
        h.api_search_text("red sky")
    writer = fake_engine(settings)
    writer.index_folder(library)
    writer.close()
    gallery, *_ = search(h)
    assert len(gallery) == 10
    h.close()


def test_api_results_are_plain_json_records(handlers):
    results = handlers.api_search_text("red sky", 4)
    assert len(results) == 4
    assert set(results[0]) == {"file", "name", "score", "width", "height", "date_taken", "size", "mtime_ns",
                               "strong"}
    assert max(r["score"] for r in results) < 0.99  # the fake encoder's text scores are low
    assert handlers.api_search_text("red sky", 4, 0.99) == []
    assert api_record({"path": "/p.jpg", "score": 1.0, "sort_date": "x"}) == {"file": "/p.jpg", "score": 1.0}


def test_api_k_is_clamped_and_checked(handlers):
    assert len(handlers.api_search_text("red sky", 10_000)) == 10
    for k, found in ((0, 1), (-3, 1), (2.7, 2), ("4", 4), (1000, 10)):  # as webui/API.md says: clamped, not refused
        assert len(handlers.api_search_text("red sky", k)) == found, k
        assert len(handlers.api_similar(handlers.api_search_text("red sky", 1)[0]["file"], k)) == min(found, 9), k
    with pytest.raises(gr.Error, match="whole number"):
        handlers.api_search_text("red sky", "many")


def test_k_is_read_by_one_rule_and_what_is_no_number_is_one_clear_error(handlers, tmp_path):
    from webui.filters import read_k

    assert [read_k(k) for k in (2.7, "2.7", " 3 ", 0, -3, 10**30, 1e30)] == [2, 2, 3, 1, 1, 500, 500]
    with pytest.raises(ValueError, match="k is from 1 to 500, not 0.5"):
        read_k("0.5", clamp=False)  # REST's: out of range refused
    picture = save(photo(64, 64, seed=3), tmp_path / "q.png")
    for k in ("many", float("nan"), float("inf"), True, None, "1e400"):  # inf was an OverflowError, unexplained
        for call, first in ((handlers.api_search_text, "red sky"), (handlers.api_search_image, str(picture))):
            with pytest.raises(gr.Error, match=r"k must be a whole number of results \(1 to 500\)"):
                call(first, k)


def test_reindex_runs_in_the_background_and_searches_see_new_photos(handlers, library):
    save(photo(640, 480, seed=42), library / "trips" / "new.jpg")
    status, timer = handlers.start_reindex()
    assert timer.active is True
    assert handlers.job.wait(30)
    status, info, _, timer = handlers.poll_reindex()
    assert status.startswith("Re-index done") and "1 added" in status and timer.active is False
    assert "**Photos:** 11" in info
    _, results, _, _, _ = search(handlers)
    assert str(library / "trips" / "new.jpg") in [r["path"] for r in results]


def test_reindex_says_which_files_it_skipped_and_why(handlers, library):
    """As the indexer's summary does: by reason, with paths (not "2 skipped" and the rest in the log)."""
    from webui.markdown import md

    (library / "trips" / "notes.jpg").write_text("a text file named .jpg")
    whole = (library / "trips" / "p00.jpg").read_bytes()
    (library / "trips" / "half.jpg").write_bytes(whole[:len(whole) // 2])
    handlers.start_reindex()
    assert handlers.job.wait(30)
    status, *_ = handlers.poll_reindex()
    assert status.startswith("Re-index done") and "2 skipped" in status, status
    listed = status.split("\n\nSkipped, by reason:\n", 1)[1].split("\n")
    assert listed == [f"- not an image (1): {md(str(library / 'trips' / 'notes.jpg'))}",
                      f"- truncated (1): {md(str(library / 'trips' / 'half.jpg'))}"], status


def test_reindex_embeds_in_small_batches_so_searches_do_not_wait_long(settings, library):
    encoder = FakeEncoder(batch_size=32)  # what a throughput-minded encoder asks for
    engine = fake_engine(settings, encoder)
    h = Handlers(engine, settings)
    try:
        engine.store.set_folders([str(library)])
        h.start_reindex()
        assert h.job.wait(30)
        assert h.job.status.report.added == encoder.images_embedded > INTERACTIVE_BATCH
        assert encoder.largest_batch == INTERACTIVE_BATCH
    finally:
        h.close()
        engine.close()


def test_reindex_beside_searches_decodes_on_4_threads_even_where_the_model_has_a_gpu(settings, library,
                                                                                    monkeypatch):
    import os

    from clipsearch import decoding, pipeline

    seen = []

    class CountedPool(decoding.DecodePool):
        def __init__(self, workers: int) -> None:
            seen.append(workers)
            super().__init__(workers)

    monkeypatch.setattr(decoding, "DecodePool", CountedPool)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    encoder = FakeEncoder()
    encoder.device = "cuda"  # the command-line indexer would decode on all 16 cores
    engine = fake_engine(settings, encoder)
    h = Handlers(engine, settings)
    try:
        engine.store.set_folders([str(library)])
        h.start_reindex()
        assert h.job.wait(30) and h.job.status.report.added > 0
        assert seen == [4] and pipeline.IndexingPipeline(encoder, store=None).workers == 16
    finally:
        h.close()
        engine.close()


def test_reindex_reports_a_locked_index(handlers, settings):
    with IndexLock(settings.index_dir):
        handlers.start_reindex()
        assert handlers.job.wait(30)
    status, *_ = handlers.poll_reindex()
    assert status.startswith("Re-index failed") and "being updated by" in status
    gallery, *_ = search(handlers)  # searching went on all along
    assert len(gallery) == 10


def test_details_escape_markdown_in_file_names():
    text = details_markdown({"name": "a_*b*_.jpg", "path": "/x/a_*b*_.jpg", "score": 0.5, "width": 1,
                             "height": 2, "size": 3, "mtime_ns": 0, "date_taken": "2020-01-02T03:04:05"})
    assert "a\\_\\*b\\*\\_.jpg" in text and "2020-01-02 03:04:05" in text


def test_engine_errors_without_index_are_typed(settings):
    h = Handlers(None, settings)
    with pytest.raises(NoIndexYet):
        h.engine()
    h.close()


def test_the_index_panel_and_rest_info_list_the_folders_left_out(handlers, library):
    from webui import rest
    from webui.markdown import info_markdown, md

    engine = handlers.engine()
    assert rest.info(handlers)["left_out"] == []
    assert engine.remove_folder(library / "trips") > 0  # inside the covered folder: left out from now on
    assert rest.info(handlers)["left_out"] == [str(library / "trips")]
    assert rest.info(handlers)["not_mounted"] == {}  # no disk inside a covered folder is away
    assert f"left out: {md(str(library / 'trips'))}" in info_markdown(engine.info())


def test_a_box_on_the_dropped_photo_or_on_a_preview_searches_with_that_part(handlers, library, tmp_path,
                                                                           monkeypatch):
    """The page's region: the dropped photo's part goes to the model (cut at full resolution where
    it needs it), the status says so, new filters keep the part, and a part without its photo is none."""
    from webui.page import OUTPUT_NAMES, Page

    page, seen = Page(handlers), []
    real = handlers.engine().encoder.embed_images
    monkeypatch.setattr(handlers.engine().encoder, "embed_images", lambda images: seen.extend(
        i.size for i in images) or real(images))
    dropped = tmp_path / "dropped.jpg"
    save(photo(1600, 1200, seed=3), dropped, quality=90)
    status = OUTPUT_NAMES.index("status")
    size = handlers.engine().encoder.input_size

    def cut_of(width: int, height: int) -> bool:  # the model saw a part of that shape, at the size it needs
        return abs(seen[-1][0] / seen[-1][1] - width / height) < 0.05 and min(seen[-1]) >= size

    out = page.search(None, str(dropped), 20, 0.0, SORT_RELEVANCE, "", "", "", False, "0.5,0,1,0.25")
    assert "a part of the dropped photo" in out[status] and cut_of(800, 300), seen
    out = page.search(None, str(dropped), 20, 0.0, SORT_RELEVANCE, "", "", "", False, "0.5,0,0.2,0.5")
    assert out[status].startswith("⚠️") and "RIGHT must be more than LEFT" in out[status]
    out = page.search("red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "", False, "0.5,0,1,0.5")
    assert not out[status].startswith("⚠️") and "part" not in out[status]  # the box of a photo now gone
    similar = page.find_similar(str(library / "trips" / "p02.jpg"), 20, 0.0, SORT_RELEVANCE, "", "", "", False,
                                "0,0,0.5,0.25")
    assert "photos like a part of p02.jpg" in similar[status] and cut_of(800, 300), seen
    last = similar[OUTPUT_NAMES.index("last")]
    seen.clear()
    again = page.rerun(last, "", None, 20, 0.0, SORT_RELEVANCE, str(library / "trips"), "", "", False, "")
    assert "photos like a part of p02.jpg" in again[status] and cut_of(800, 300), (seen, again[status])


def test_a_date_put_right_after_a_refused_one_runs_the_search_again(handlers):
    """A date that is no date was said in the status line, and the results before stayed; the date
    put back as it was then changed nothing (the filters were those of the results shown), and the
    warning stayed above results it no longer spoke of. It now runs the search again."""
    from webui.page import OUTPUT_NAMES, Page

    page = Page(handlers)
    status, last, changed = (OUTPUT_NAMES.index(name) for name in ("status", "last", "changed"))
    found = page.search("red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    refused = page.rerun(found[last], "red sky", None, 20, 0.0, SORT_RELEVANCE, "", "not a date", "")
    assert refused[status].startswith("⚠️") and "is not a date" in refused[status] and refused[changed] is False
    assert refused[OUTPUT_NAMES.index("results")] == gr.skip()  # the results before stay
    kept = found[last] if refused[last] == gr.skip() else refused[last]  # the page's state after it
    again = page.rerun(kept, "red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    assert again[changed] is True and again[status] == found[status][:found[status].rfind(" · ")] + again[status][
        again[status].rfind(" · "):]  # the same search, its own time
    assert again[last]["filters"] == ["", "", ""]
    unchanged = page.rerun(again[last], "red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    assert unchanged[changed] is False and unchanged[status] == gr.skip()  # a box left as it was: nothing



def test_a_date_typed_before_the_address_s_search_answered_runs_that_search_with_it(handlers, library):
    """The page opened at ``/?q=red+sky&since=2020-01-01`` and, before that search answered, a To date
    typed with the search box still empty: the re-run, asked with the boxes empty, runs the address's
    search again with the To date (it searched the empty box: a warning, the To date not applied); so
    with an indexed photo and a part of it in the address (``/?indexed=PATH&region=...``), the photo's.
    After a search of the user's, the box emptied by hand: nothing to search, as before."""
    from webui.page import ADDRESS_NAMES, OUTPUT_NAMES, Page

    page = Page(handlers)
    status, last = OUTPUT_NAMES.index("status"), OUTPUT_NAMES.index("last")
    opened = page.from_address(20, 0.0, SORT_RELEVANCE, False,
                               SimpleNamespace(query_params={"q": "red sky", "since": "2020-01-01"}))
    assert opened[:len(ADDRESS_NAMES)] == ("red sky", "", "2020-01-01", "")
    first = opened[len(ADDRESS_NAMES):]
    again = page.rerun(first[last], "", None, 20, 0.0, SORT_RELEVANCE, "", "", "2030-12-31")
    assert "red sky" in again[status] and not again[status].startswith("⚠️"), again[status]
    assert again[last]["filters"] == ["", "2020-01-01", "2030-12-31"] and "address" not in again[last]
    assert page.rerun(first[last], "", None, 20, 0.0, SORT_RELEVANCE, "", "", "")[status] == gr.skip()  # as it was
    chosen, n = str(library / "trips" / "p02.jpg"), len(ADDRESS_NAMES)
    at_photo = page.from_indexed(chosen, 20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(
        query_params={"q": "- red", "indexed": chosen, "region": "0,0,0.5,0.5", "since": "2000"}))
    photo_again = page.rerun(at_photo[n + 2:][last], "", None, 20, 0.0, SORT_RELEVANCE, "", "", "2030-12-31")
    assert "“- red” + a part of p02.jpg" in photo_again[status], photo_again[status]
    assert photo_again[last]["filters"] == ["", "2000", "2030-12-31"]
    mine = page.search("red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    emptied = page.rerun(mine[last], "", None, 20, 0.0, SORT_RELEVANCE, "", "", "2030-12-31")
    assert emptied[status].startswith("⚠️") and "type some words" in emptied[status], emptied[status]


@pytest.mark.parametrize("kind", ["query", "similar", "topic"])
def test_how_many_changed_runs_the_last_search_again_with_the_new_count(handlers, library, kind):
    """How many (``k``) changed after a search: it changed nothing until the next search (the re-run
    compared the folder and dates only). The last search, of words, Find similar or a topic, now
    runs again with the new count; the count left as it was runs nothing."""
    from webui.page import OUTPUT_NAMES, Page

    page = Page(handlers)
    results, last, changed = (OUTPUT_NAMES.index(name) for name in ("results", "last", "changed"))
    view = (0.0, SORT_RELEVANCE, *NO_FILTER)
    if kind == "query":
        found = page.search("red sky", None, 20, *view)
    elif kind == "similar":
        found = page.find_similar(str(library / "trips" / "p02.jpg"), 20, *view)
    else:
        found = page.topic(handlers.engine().topics()[0].name, 20, *view)
    assert len(found[results]) > 3
    fewer = page.rerun(found[last], "red sky", None, 3, *view)
    assert fewer[changed] is True and len(fewer[results]) == 3 and fewer[last]["kind"] == kind
    assert [r["path"] for r in fewer[results]] == [r["path"] for r in found[results][:3]]
    unchanged = page.rerun(fewer[last], "red sky", None, 3, *view)
    assert unchanged[changed] is False and unchanged[results] == gr.skip()


@pytest.mark.parametrize("words", ["red - red", "2:"])
def test_the_photo_removed_with_words_that_are_refused_clears_the_results_and_says_why(handlers, library, words):
    """The dropped photo removed, the words left refused ("red - red" cancel out; "2:" weighs
    nothing): the photo's results stayed, and the address kept naming the photo (the step was
    refused, ``changed`` False). Now, as with no words left, the results go and the status says why."""
    import json

    from webui.page import OUTPUT_NAMES, Page

    page = Page(handlers)
    named = lambda out: dict(zip(OUTPUT_NAMES, out, strict=True))  # noqa: E731
    dropped = str(library / "trips" / "p02.jpg")
    assert named(page.search("", dropped, 20, 0.0, SORT_RELEVANCE, *NO_FILTER))["results"]
    out = named(page.photo_removed(words, None, 20, 0.0, SORT_RELEVANCE, *NO_FILTER))
    assert out["changed"] is True and out["results"] == out["shown"] == out["gallery"] == []
    assert out["status"].startswith("⚠️ The photo is removed") and "dropped photo" not in out["status"]
    reason = named(page.search(words, None, 20, 0.0, SORT_RELEVANCE, *NO_FILTER))["status"].removeprefix("⚠️ ")
    assert out["status"].endswith(f": {reason}"), (out["status"], reason)
    assert json.loads(page.query_address(words, None, *NO_FILTER, None, out["changed"]))["photo"] == ""

def test_search_with_this_photo_puts_a_result_in_the_drop_zone_and_searches_with_the_photo_itself(
        handlers, library, monkeypatch):
    """The drop zone gets the result's preview JPEG (a file Gradio may serve); a search with it uses
    the indexed photo itself, and the status line names it."""
    from webui.page import OUTPUT_NAMES, Page

    page, searched = Page(handlers), []
    real = handlers.search
    monkeypatch.setattr(handlers, "search", lambda text, image, *rest, **named: searched.append(image) or real(text, image, *rest, **named))
    chosen = str(library / "trips" / "p02.jpg")
    shown = page.use_selected(chosen)
    assert handlers.thumbs.contains(shown) and "/1024/" in shown
    out = page.search("red sky", shown, 20, 0.0, SORT_RELEVANCE, "", "", "", False, "0,0,0.5,0.5")
    status = out[OUTPUT_NAMES.index("status")]
    assert searched[-1] == chosen and "“red sky” + a part of p02.jpg" in status, status
    for wrong in (None, "", str(library / "notes.txt")):
        with pytest.raises(gr.Error):
            page.use_selected(wrong)


def test_the_page_saves_the_dropped_photo_and_its_box_and_opens_them_again(handlers, library, tmp_path,
                                                                          monkeypatch):
    """Save keeps the photo in the drop zone (an upload under its own name; a result put there, or a
    HEIC's stand-in, as the photo it stands for) and the box on it; opening the search puts a JPEG
    of the kept copy in the drop zone, hands the page its box as fractions and runs the search."""
    from clipsearch.saved import SavedSearches
    from webui.handlers import ALL_FOLDERS
    from webui.page import OUTPUT_NAMES, Page
    from webui.saved_view import SavedView

    page, searched, warned = Page(handlers), [], []
    view = SavedView(page)
    real = handlers.search
    monkeypatch.setattr(handlers, "search", lambda text, image, *rest, **named: searched.append(image) or real(text, image, *rest, **named))
    monkeypatch.setattr(gr, "Warning", lambda message: warned.append(message))
    upload = tmp_path / "gradio" / "0a1b" / "phone-shot.png"
    upload.parent.mkdir(parents=True)
    photo(800, 400, seed=5).save(upload)
    view.save("From my phone", "", ALL_FOLDERS, "", "", str(upload), "0,0,400,400")
    chosen = str(library / "trips" / "p02.jpg")
    view.save("Like p02", "red sky", ALL_FOLDERS, "", "", page.use_selected(chosen), "")
    saved = SavedSearches(handlers.settings.index_dir)
    kept, like = saved.get("From my phone"), saved.get("Like p02")
    assert (kept.photo_name, kept.region, like.photo_name, like.region) == ("phone-shot.png", "0,0,400,400", "p02.jpg", None)
    index = handlers.settings.index_dir
    assert Path(like.photo_path(index)).read_bytes() == Path(chosen).read_bytes() and not warned

    status = 6 + OUTPUT_NAMES.index("status")  # after the four boxes, the drop zone and the box
    opened = view.open("From my phone", 20, 0.0, SORT_RELEVANCE, False)
    assert opened[:4] == ("", ALL_FOLDERS, "", "") and handlers.thumbs.contains(opened[4])
    assert opened[5] == "0,0,0.5,1"  # pixels of the 800 x 400 photo, as the page draws them
    assert searched[-1] == kept.photo_path(index) and "a part of phone-shot.png" in opened[status], opened[status]
    opened = view.open("Like p02", 20, 0.0, SORT_RELEVANCE, False)
    assert opened[5] == "" and "“red sky” + p02.jpg" in opened[status]
    again = page.search("red sky", opened[4], 20, 0.0, SORT_RELEVANCE, "", "", "", False, "")  # Enter, later
    assert searched[-1] == like.photo_path(index) and "“red sky” + p02.jpg" in again[OUTPUT_NAMES.index("status")]

    asked = SimpleNamespace(query_params={"saved": "From my phone"})  # the address /?saved=From+my+phone
    assert view.listed_at_load(asked).value == "From my phone"  # chosen in the list (the page then opens it)
    view.open("Gone", 20, 0.0, SORT_RELEVANCE, False)  # an address naming a search forgotten since
    assert "No saved search is called “Gone”" in warned[-1]

    similar = page.find_similar(chosen, 20, 0.0, SORT_RELEVANCE, "", "", "", False, "0,0,0.5,0.5")
    view.save("Like its corner", "words left in the box", ALL_FOLDERS, "", "", None, "",
              similar[OUTPUT_NAMES.index("last")])  # after Find similar: its photo and part, as shown
    corner = saved.get("Like its corner")
    assert (corner.query, corner.photo_name, corner.region) == ("", "p02.jpg", "0,0,0.5,0.5")

    view.save("Nothing", "  ", ALL_FOLDERS, "", "", None, "")
    assert "Type words or drop a photo" in warned[-1] and saved.get("Nothing") is None
    os.unlink(like.photo_path(index))  # a copy removed by hand: said so in the status line, the drop zone emptied
    told = len(warned)
    opened = view.open("Like p02", 20, 0.0, SORT_RELEVANCE, False)
    assert "missing beside the index" in opened[status] and opened[4] is None and len(warned) == told


def test_open_similar_without_a_selected_result_says_to_click_one_first(handlers, monkeypatch):
    from webui.duplicates_view import open_similar

    told = []
    monkeypatch.setattr(gr, "Info", told.append)
    _, _, shown, _, _ = search(handlers)
    for selected in (None, "", "/a/photo/of/an/earlier/search.jpg"):
        assert open_similar(handlers, shown, selected) == (
            gr.skip(), gr.skip(), "Click a result first, then open the near-duplicates folded under it."), selected
    assert told == []  # said once, in the status line, as Find similar says it (no toast besides)
    assert open_similar(handlers, shown, shown[0]["path"]) == (gr.skip(), gr.skip(), gr.skip())  # none folded
    assert told == ["The selected photo has no near-duplicates folded under it."]
    from webui.page import Page

    assert Page(handlers).open_similar(shown, None)[3] == ""  # nothing opened: the address is left as it is


def test_words_with_a_photo_go_in_the_address_with_the_photo_named_and_never_run_without_it(handlers, tmp_path):
    """A photo cannot go in an address: ``query_address`` names it beside the words, and the page
    opened there runs nothing (the words alone are another query); it asks for the photo."""
    import json

    from webui.page import ADDRESS_NAMES, OUTPUT_NAMES, Page

    page, dropped = Page(handlers), tmp_path / "gradio" / "abc" / "rex.png"
    dropped.parent.mkdir(parents=True)
    photo(64, 48).save(dropped)
    asked = json.loads(page.query_address("+ snow", str(dropped), "", "2020", ""))
    assert asked == {"q": "+ snow", "photo": "rex.png", "folder": "", "since": "2020", "until": ""}
    assert json.loads(page.query_address("red sky", None, "", "", ""))["photo"] == ""  # words alone
    assert page.query_address("red sky", None, "", "not a date", "", "", False) == ""  # refused: the address kept
    opened = page.from_address(20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(query_params=asked))
    assert opened[:len(ADDRESS_NAMES)] == ("+ snow", "", "2020", "")  # the words and filters in their boxes
    shown = dict(zip(OUTPUT_NAMES, opened[len(ADDRESS_NAMES):], strict=True))
    assert "rex.png" in shown["status"] and "drop or paste it again" in shown["status"]
    assert shown["changed"] is False and all(shown[n] == gr.skip() for n in ("gallery", "results", "last"))


def test_words_with_an_indexed_photo_go_in_the_address_by_its_path_and_run_again(handlers, library, tmp_path,
                                                                                 monkeypatch):
    """Search with this photo puts an indexed photo in the drop zone: the address names it by its
    path (``indexed``, with the box drawn on it), and the page opened there puts it back and runs
    the same search. A path the index does not hold is said in the status line, nothing is run,
    and its file is never opened."""
    import json

    from webui.page import ADDRESS_NAMES, OUTPUT_NAMES, Page

    page, chosen, n = Page(handlers), str(library / "trips" / "p02.jpg"), len(ADDRESS_NAMES)
    jpeg = page.use_selected(chosen)
    asked = json.loads(page.query_address("- red", jpeg, "", "2000", "", "0,0,0.5,0.5"))
    assert asked == {"q": "- red", "indexed": chosen, "region": "0,0,0.5,0.5", "folder": "", "since": "2000",
                     "until": ""}
    request = SimpleNamespace(query_params=asked)
    assert page.from_address(20, 0.0, SORT_RELEVANCE, False, request) == tuple(
        gr.skip() for _ in ADDRESS_NAMES + OUTPUT_NAMES)  # not the words alone: from_indexed runs it
    fresh = Page(handlers)  # another page, opened at that address
    opened = fresh.from_indexed(asked["indexed"], 20, 0.0, SORT_RELEVANCE, False, request)
    assert opened[:n] == ("- red", "", "2000", "") and opened[n + 1] == "0,0,0.5,0.5"
    assert opened[n] == handlers.indexed_picture(chosen, PREVIEW_SIZE)  # the photo back in the drop zone
    shown = dict(zip(OUTPUT_NAMES, opened[n + 2:], strict=True))
    direct = dict(zip(OUTPUT_NAMES, page.search("- red", jpeg, 20, 0.0, SORT_RELEVANCE, "", "2000", "", False,
                                                "0,0,0.5,0.5"), strict=True))
    assert [r["path"] for r in shown["results"]] == [r["path"] for r in direct["results"]]
    assert "“- red” + a part of p02.jpg" in shown["status"]
    assert json.loads(fresh.query_address("- red", opened[n], "", "2000", "", "0,0,0.5,0.5")) == asked  # the same again
    typed = fresh.from_indexed(chosen, 20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(
        query_params={**asked, "region": "the top left"}))  # a region typed wrong: said once, then forgotten
    assert "not a region" in dict(zip(OUTPUT_NAMES, typed[n + 2:], strict=True))["status"] and typed[n + 1] == ""

    outside = tmp_path / "outside.png"  # a picture on disk that the index does not hold
    photo(64, 48).save(outside)
    opened_files = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda f, *a, **k: opened_files.append(str(f)) or real_open(f, *a, **k))
    for path in (str(outside), "/etc/passwd", str(library / "notes.txt")):
        refused = fresh.from_indexed(path, 20, 0.0, SORT_RELEVANCE, False,
                                     SimpleNamespace(query_params={"q": "- red", "indexed": path}))
        assert refused[:n + 2] == ("- red", "", "", "", None, "")  # the words back, the drop zone empty
        shown = dict(zip(OUTPUT_NAMES, refused[n + 2:], strict=True))
        assert shown["status"].startswith("⚠️ This address's photo") and "is not in the index" in shown["status"]
        assert shown["changed"] is False and all(shown[k] == gr.skip() for k in ("gallery", "results", "last"))
    assert not [f for f in opened_files if "outside" in f or "passwd" in f or "notes" in f], opened_files


def test_a_region_past_the_addresss_photo_is_said_once_then_forgotten(handlers, library):
    """``?indexed=PATH&region=...`` with a region that reads as one but lies past the photo (pixels
    beyond its 1600 x 1200, say) was refused in the status line, and then kept in the drop zone's
    hidden box, where the page could not draw it: every search after it was refused again, with no
    box in sight. It is said once, as the command line says it, and forgotten, as a region typed
    wrong is: the next search is of the whole photo. One inside the photo comes back as fractions,
    the box the page draws."""
    from webui.page import ADDRESS_NAMES, OUTPUT_NAMES, Page

    page, chosen, n = Page(handlers), str(library / "trips" / "p02.jpg"), len(ADDRESS_NAMES)
    for region, says in (("5000,5000,6000,6000", "reaches past the picture (1600 x 1200 pixels)"),
                         ("0,0,1601,1200", "reaches past the picture (1600 x 1200 pixels)"),
                         ("0.9,0.9,0.5,0.5", "is empty"), ("0.5,0.5,1.5,1.5", "too small to search with")):
        opened = page.from_indexed(chosen, 20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(
            query_params={"q": "red sky", "indexed": chosen, "region": region}))
        shown = dict(zip(OUTPUT_NAMES, opened[n + 2:], strict=True))
        assert shown["status"].startswith("⚠️ ") and says in shown["status"], (region, shown["status"])
        assert opened[n + 1] == "", region  # the box forgotten
        again = dict(zip(OUTPUT_NAMES, page.search("red sky", opened[n], 20, 0.0, SORT_RELEVANCE, "", "", "", False,
                                                   opened[n + 1]), strict=True))
        assert again["results"] and "“red sky” + p02.jpg" in again["status"], again["status"]  # the whole photo
    inside = page.from_indexed(chosen, 20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(
        query_params={"q": "red sky", "indexed": chosen, "region": "0,0,800,600"}))
    assert inside[n + 1] == "0,0,0.5,0.5"  # the top left quarter, which the page can draw
    assert "“red sky” + a part of p02.jpg" in dict(zip(OUTPUT_NAMES, inside[n + 2:], strict=True))["status"]


def test_find_similar_keeps_the_photo_searched_with_in_the_preview(handlers, library):
    """The preview showed the photo (and the box drawn on it), then emptied with the old results:
    Find similar now keeps that photo there, selected, as what the results are like."""
    from webui.page import OUTPUT_NAMES, Page

    page, chosen = Page(handlers), str(library / "trips" / "p02.jpg")
    for region, said in (("0,0,0.5,0.5", "the part boxed of"), (None, "all of")):
        out = dict(zip(OUTPUT_NAMES, page.find_similar(chosen, 20, 0.0, SORT_RELEVANCE, "", "", "", False, region),
                       strict=True))
        assert out["preview"] == handlers.indexed_picture(chosen, PREVIEW_SIZE) and out["selected"] == chosen
        assert f"photos like {said} **p02.jpg**" in out["details"]
    gone = dict(zip(OUTPUT_NAMES, page.find_similar("/etc/passwd", 20, 0.0, SORT_RELEVANCE, "", "", ""), strict=True))
    assert gone["preview"] is None and gone["selected"] is None  # refused: nothing selected, as before


def test_find_similar_goes_in_the_address_and_the_address_runs_it_again(handlers, library):
    """``/?similar=PATH&region=...&since=...`` (as ``Page.similar_address`` writes it after Find
    similar): the same photos; a path that is not indexed is said in the status line, as other bad input is."""
    import json

    from webui.page import ADDRESS_NAMES, OUTPUT_NAMES, Page

    page, chosen = Page(handlers), str(library / "trips" / "p02.jpg")
    status, last = OUTPUT_NAMES.index("status"), OUTPUT_NAMES.index("last")
    found = page.find_similar(chosen, 20, 0.0, SORT_RELEVANCE, "", "2000", "", False, "0,0,0.5,0.5")
    asked = json.loads(page.similar_address(found[last]))
    assert asked == {"similar": chosen, "region": "0,0,0.5,0.5", "folder": "", "since": "2000", "until": ""}
    assert page.similar_address(found[last], False) == ""  # a re-run refused (a date that is no date): kept
    again = page.from_address(20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(query_params=asked))
    assert again[1:len(ADDRESS_NAMES)] == ("", "2000", "")
    shown = again[len(ADDRESS_NAMES):]
    assert [r["path"] for r in shown[OUTPUT_NAMES.index("results")]] == [
        r["path"] for r in found[OUTPUT_NAMES.index("results")]] and "photos like a part of p02.jpg" in shown[status]
    words = page.search("red sky", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    assert page.similar_address(words[last]) == ""  # a search of words: ADDRESS_JS writes its address
    for gone in (str(library / "notes.txt"), "/etc/passwd"):  # a bookmark of a photo deleted since, say
        refused = page.from_address(20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(query_params={"similar": gone}))
        shown = refused[len(ADDRESS_NAMES):]  # said in the status line, as a wrong region is: no error, no toast
        assert shown[status] == "⚠️ That photo is not in the index.", shown[status]
        assert shown[OUTPUT_NAMES.index("changed")] is False and shown[last] == gr.skip()
    wrong = page.from_address(20, 0.0, SORT_RELEVANCE, False, SimpleNamespace(query_params={
        "similar": chosen, "region": "abc"}))
    assert wrong[len(ADDRESS_NAMES) + status].startswith("⚠️ ")
