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


class MountedOn:
    """``os`` as the scan sees it where a disk is mounted on ``folder``: that folder is on another
    device than its parent (a test mounts nothing)."""

    def __init__(self, folder):
        self.folder = str(folder)

    def __getattr__(self, name):
        return getattr(os, name)

    def stat(self, path, *args, **kwargs):
        st = os.stat(path, *args, **kwargs)
        if os.fspath(path) != self.folder:
            return st
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev + 1, *tuple(st)[3:]))


def test_a_disk_not_mounted_on_a_folder_covered_through_its_parent_keeps_its_photos(engine, library, tmp_path,
                                                                                     monkeypatch):
    """README: ~/Pictures/nas, a mount point covered through ~/Pictures only: when its disk is not
    mounted (its folder empty, on its parent's disk) its photos are kept and the summary says so;
    when they are deleted from the disk while it is mounted, or from a folder that is no mount
    point, they leave."""
    from pathlib import Path

    import clipsearch.images

    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    assert ("A disk mounted on a folder inside a covered one (`~/Pictures/nas`, covered through `~/Pictures`) "
            "keeps its photos too when it is not mounted") in readme
    nas = library / "nas"
    save(photo(160, 120, seed=20), library / "top.jpg", quality=90)
    with monkeypatch.context() as mounted:
        mounted.setattr(clipsearch.images, "os", MountedOn(nas))
        assert engine.index_folder(library).added == 9
    save(photo(160, 120, seed=21), tmp_path / "phone" / "IMG_1.jpg", quality=90)
    engine.index_folder(tmp_path / "phone")  # a run over another folder forgets no mount point
    before = engine.encoder.images_embedded
    nas.rename(tmp_path / "disk")  # unmounted: its empty mount point, on its parent's disk
    nas.mkdir()
    run = engine.index_folder(engine.folders())  # cron
    assert run.kept == {str(nas): 4} and run.removed == 0 and engine.store.count() == 10
    assert engine.index_folder(engine.folders()).kept == {str(nas): 4}  # and the night after
    nas.rmdir()
    (tmp_path / "disk").rename(nas)
    with monkeypatch.context() as mounted:
        mounted.setattr(clipsearch.images, "os", MountedOn(nas))  # mounted again: nothing embedded
        back = engine.index_folder(engine.folders())
        assert back.unchanged == 10 and not back.kept and engine.encoder.images_embedded == before
        for photo_file in nas.iterdir():  # deleted from the disk, which is mounted: they leave
            photo_file.unlink()
        gone = engine.index_folder(engine.folders())
        assert gone.removed == 4 and not gone.kept and engine.store.count() == 6
    for photo_file in (library / "a").iterdir():  # emptied, and never a mount point: they leave too
        photo_file.unlink()
    emptied = engine.index_folder(engine.folders())
    assert emptied.removed == 4 and not emptied.kept and engine.store.count() == 2


def test_info_and_the_index_panel_say_what_a_disk_not_mounted_inside_a_covered_folder_keeps(engine, library, tmp_path,
                                                                                            monkeypatch):
    """A user who unplugged the disk on ~/Pictures/nas is told, by ``clipsearch info`` and the web
    app's Index panel (and REST's info), that its photos are kept and how to forget them: only the
    indexer's run said so, and only while it ran."""
    import clipsearch.images
    import clipsearch.mount_points
    from cli.search import format_info
    from webui.markdown import info_markdown, md

    nas = library / "nas"
    with monkeypatch.context() as mounted:
        mounted.setattr(clipsearch.images, "os", MountedOn(nas))
        assert engine.index_folder(library).added == 8
        mounted.setattr(clipsearch.mount_points, "os", MountedOn(nas))
        assert engine.info()["not_mounted"] == {}  # mounted: nothing to say
    nas.rename(tmp_path / "disk")  # unplugged: its empty mount point, on its parent's disk
    nas.mkdir()
    assert engine.info()["not_mounted"] == {str(nas): 4}  # before a run too: the index holds them
    assert engine.index_folder(engine.folders()).kept == {str(nas): 4}
    said = format_info(SearchEngine.index_info(engine.settings))  # python -m clipsearch info
    assert (f"Not mounted:   {nas}: its 4 indexed photos are kept while it is not mounted; if it moved or is "
            f"gone for good, `python -m indexer --remove {nas}` forgets them") in said
    panel = info_markdown(engine.info())
    assert (f"\n  - not mounted: {md(str(nas))}, its 4 indexed photos kept while it is not mounted (if it moved "
            "or is gone for good, `python -m indexer --remove` with this folder forgets them)") in panel
    nas.rmdir()  # its mount point gone too
    assert engine.info()["not_mounted"] == {str(nas): 4}
    assert engine.info()["folders"] == [str(library)]  # a folder inside, not one covered by name
    assert engine.remove_folder(nas) == 4
    assert engine.info()["not_mounted"] == {} and "Not mounted" not in format_info(engine.info())


def test_info_says_no_disk_is_away_from_a_former_mount_point_that_holds_photos_as_the_run_does(
        engine, library, tmp_path, monkeypatch):
    """``info`` decided "not mounted" by device alone, a run also by what the folder holds: an
    unplugged disk's mount point into which photos were put, on its parent's disk, was said to keep
    the disk's photos, which the next run let leave (a folder that holds photos, as any other)."""
    import clipsearch.images

    nas = library / "nas"
    with monkeypatch.context() as mounted:
        mounted.setattr(clipsearch.images, "os", MountedOn(nas))
        assert engine.index_folder(library).added == 8
    nas.rename(tmp_path / "disk")  # unplugged: its empty mount point, on its parent's disk
    nas.mkdir()
    (nas / "notes.txt").write_text("not a photo")
    (nas / ".hidden.jpg").write_bytes((library / "a" / "p00.jpg").read_bytes())  # the scan skips it
    assert engine.info()["not_mounted"] == {str(nas): 4}
    assert engine.index_folder(engine.folders()).kept == {str(nas): 4}  # both: it holds no photo
    save(photo(160, 120, seed=30), nas / "sub" / "new.jpg", quality=90)  # a photo put there
    assert engine.info()["not_mounted"] == {}
    run = engine.index_folder(engine.folders())  # and the run does not keep them
    assert (run.kept, run.removed, run.added) == ({}, 4, 1) and engine.store.count() == 5
    assert engine.info()["not_mounted"] == {}


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

        def index_deleted(self):
            return False

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


def test_a_covered_folder_replaced_by_a_file_of_its_name_keeps_its_photos(engine, library, tmp_path):
    """A covered folder that is a file now (moved away, a file left in its place) was scanned as a
    file named on its own: read as a photo ("not an image"), the model loaded for it, and every
    photo of the folder forgotten, to be embedded again once the folder was back."""
    engine.index_folder(library)
    before = engine.encoder.images_embedded
    library.rename(tmp_path / "away")
    library.write_text("not a folder")
    run = engine.index_folder(engine.folders())  # a cron run
    assert run.kept == {str(library): 8} and run.removed == 0 and run.skipped == {} and run.added == 0
    assert engine.store.count() == 8 and engine.encoder.images_embedded == before
    library.unlink()
    (tmp_path / "away").rename(library)
    back = engine.index_folder(engine.folders())
    assert back.unchanged == 8 and not back.kept and engine.encoder.images_embedded == before
