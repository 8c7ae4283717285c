"""A folder covered by name inside another covered folder (indexed on its own first, or brought
back after ``--remove``): deleted, it leaves quietly; empty (a disk not mounted on its mount
point), it keeps its photos as a covered folder does."""

from __future__ import annotations

import os
import shutil

import pytest

from clipsearch import SearchEngine, Settings
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(8):
        save(photo(160, 120, seed=i), root / ("a" if i < 4 else "nas") / f"p{i:02d}.jpg", quality=90)
    return root


def test_a_folder_deleted_inside_a_covered_one_leaves_without_a_skipped_file_every_night(engine, library):
    inner = library / "nas"
    engine.index_folder(inner)  # tried on one folder first...
    engine.index_folder(library)  # ...then the whole library: both are covered
    assert sorted(engine.folders()) == sorted([str(library), str(inner)])
    shutil.rmtree(inner)  # deleted inside a folder that is there: its photos leave
    run = engine.index_folder(engine.folders())  # cron
    assert run.removed == 4 and not run.kept and engine.store.count() == 4
    assert run.skipped == {}  # not "vanished: .../nas", as if a file could not be read
    assert engine.folders() == [str(library)]  # the library covers its place; nothing "missing now"
    again = engine.index_folder(engine.folders())  # the next night says nothing of it
    assert again.skipped == {} and again.unchanged == 4


def test_an_empty_mount_point_inside_a_covered_folder_keeps_its_photos(engine, library, tmp_path):
    """README: a folder gone or empty when a run comes (a disk not mounted) keeps its photos, and
    nothing is embedded again when it is back. ~/Pictures/nas, a mount point indexed by name."""
    inner = library / "nas"
    engine.index_folder(library)
    engine.index_folder(inner)  # indexed by name too: a folder of its own
    before = engine.encoder.images_embedded
    inner.rename(tmp_path / "disk")
    inner.mkdir()  # unmounted: its empty mount point
    run = engine.index_folder(engine.folders())  # cron
    assert run.kept == {str(inner): 4} and run.removed == 0 and engine.store.count() == 8
    inner.rmdir()
    (tmp_path / "disk").rename(inner)  # mounted again
    back = engine.index_folder(engine.folders())
    assert back.unchanged == 8 and back.added == 0 and engine.encoder.images_embedded == before


def test_the_thumbnail_cache_inside_a_photo_folder_is_not_indexed(library, tmp_path):
    """CLIPSEARCH_CACHE=~/Pictures/clipsearch-cache: the web app's thumbnails are JPEGs there, and
    were indexed as photos (each one a near-duplicate of its photo), as the index folder is not."""
    from webui.thumbnails import ThumbnailCache

    cache = library / "clipsearch-cache"
    encoder = FakeEncoder()
    settings = Settings(index_dir=library / "clipsearch-index", cache_dir=cache)
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        engine.index_folder(library)
        thumbs = ThumbnailCache(cache)
        assert os.path.isfile(thumbs.get(str(library / "a" / "p00.jpg"), 256))  # the web app showed a result
        again = engine.index_folder(library)
        assert again.added == 0 and again.unchanged == 8 and engine.store.count() == 8
    finally:
        engine.close()


def test_thumbnails_written_inside_a_watched_folder_wake_no_pass(tmp_path, monkeypatch):
    import threading
    import time

    import indexer.watch as watch
    from clipsearch.reports import IndexReport

    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    cache = tmp_path / "clipsearch-cache"
    (cache / "thumbs" / "256").mkdir(parents=True)
    stop, passes = threading.Event(), []

    class Engine:
        def index_folder(self, folders, should_stop=None):
            passes.append(1)
            return IndexReport()

        def read_texts(self, should_stop=None):
            return None

        def read_videos(self, should_stop=None):
            return None

    watcher = threading.Thread(target=watch.watch_folders,
                               args=(Engine(), [tmp_path], stop, lambda r, **_: None), kwargs={"ignore": [cache]})
    watcher.start()
    try:
        time.sleep(0.5)  # the observer is on
        for i in range(3):  # the web app shows results: their thumbnails are written
            (cache / "thumbs" / "256" / f"{i:032x}.jpg").write_bytes(b"x")
        time.sleep(1.5)
        assert passes == []
        (tmp_path / "IMG_1.jpg").write_bytes(b"x")  # a photo still does
        deadline = time.monotonic() + 20
        while not passes and time.monotonic() < deadline:
            time.sleep(0.1)
        assert passes
    finally:
        stop.set()
        watcher.join(10)
