"""``--watch`` as a service: a cron run (or the web app's re-index) holding the index's lock when
files arrive makes the watcher wait for it, not quit; a disk away when it began, or unmounted
while it runs, is watched again once it is back."""

from __future__ import annotations

import threading
import time

import indexer.watch as watch
from clipsearch import IndexLocked
from clipsearch.reports import IndexReport


def watching(capsys, timeout: float = 20) -> str:
    """Wait for the watcher's "watching ..." line (its observer is started before it says so); what
    it wrote to stderr so far, which ``capsys`` no longer holds."""
    said, deadline = "", time.monotonic() + timeout
    while "watching " not in said:
        assert time.monotonic() < deadline, f"the watcher never said it was watching: {said!r}"
        time.sleep(0.01)
        said += capsys.readouterr().err
    return said


class Counting:
    """An engine that counts the passes run on it."""

    def __init__(self) -> None:
        self.passes = 0

    def index_folder(self, folders, should_stop=None) -> IndexReport:
        self.passes += 1
        return IndexReport(added=1)

    def read_texts(self, should_stop=None) -> None:
        return None

    def read_videos(self, should_stop=None) -> None:
        return None

    def index_deleted(self) -> bool:
        return False


class BusyThenFree(Counting):
    """The index is locked by another writer for the first ``busy`` passes, then free."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy, self.tries = busy, 0

    def index_folder(self, folders, should_stop=None) -> IndexReport:
        self.tries += 1
        if self.tries <= self.busy:
            raise IndexLocked("the index /i is being updated by process 42 on nas, since 2026-12-05 03:00:00; "
                              "wait for it to finish, then retry")
        return super().index_folder(folders, should_stop)


def test_a_change_that_arrives_while_another_writer_holds_the_index_waits_for_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(watch, "LOCKED_RETRY_SECONDS", 0.2, raising=False)
    engine, said, stop = BusyThenFree(busy=3), [], threading.Event()
    failed = []

    def run() -> None:
        try:
            watch.watch_folders(engine, [tmp_path], stop, lambda report, **_: said.append(report))
        except Exception as exc:  # what ended --watch with "error: ... being updated by process 42"
            failed.append(exc)

    watcher = threading.Thread(target=run)
    watcher.start()
    try:
        early = watching(capsys)  # the observer is on
        (tmp_path / "IMG_1.jpg").write_bytes(b"x")  # a photo arrives during the nightly cron run
        deadline = time.monotonic() + 20
        while not said and not failed and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not failed, failed
        assert engine.passes == 1 and len(said) == 1  # indexed once the other writer was done, with no new event
        assert watcher.is_alive()  # still watching
    finally:
        stop.set()
        watcher.join(10)
    err = early + capsys.readouterr().err
    assert err.count("being updated by process 42") == 1  # said once, not at every try
    assert "indexing the changes when it is done" in err


def test_a_folder_missing_when_watching_began_is_watched_once_its_disk_is_back(tmp_path, monkeypatch):
    """README: a covered folder gone when a run comes (a disk not mounted) keeps its photos and is
    indexed when it is back; --watch left it unwatched until restarted."""
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 0.3, raising=False)
    home, usb = tmp_path / "Pictures", tmp_path / "usb"
    home.mkdir()
    (home / "IMG_0.jpg").write_bytes(b"x")
    engine, stop = Counting(), threading.Event()

    def passes_after(action, at_least: int) -> bool:
        action()
        deadline = time.monotonic() + 20
        while engine.passes < at_least and time.monotonic() < deadline:
            time.sleep(0.1)
        return engine.passes >= at_least

    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [home, usb], stop, lambda r, **_: None))
    watcher.start()
    try:
        time.sleep(0.5)
        assert engine.passes == 0

        def mounted() -> None:
            (tmp_path / "disk").mkdir()
            (tmp_path / "disk" / "IMG_1.jpg").write_bytes(b"x")
            (tmp_path / "disk").rename(usb)  # the disk appears whole, as a mount does

        assert passes_after(mounted, 1), "the disk came back and nothing indexed it"
        time.sleep(1)  # (its arrival's pass is over)
        seen = engine.passes
        assert passes_after(lambda: (usb / "IMG_2.jpg").write_bytes(b"x"), seen + 1), "a photo on it went unseen"
        usb.rename(tmp_path / "disk")  # unmounted again...
        time.sleep(1)
        seen = engine.passes
        assert passes_after(lambda: (tmp_path / "disk").rename(usb), seen + 1), "...and back: unseen"
        seen = engine.passes
        assert passes_after(lambda: (usb / "IMG_3.jpg").write_bytes(b"x"), seen + 1), "a photo on it went unseen"
    finally:
        stop.set()
        watcher.join(10)
    assert not watcher.is_alive()


def test_an_empty_mount_point_is_watched_again_once_a_disk_is_mounted_on_it(tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 0.3, raising=False)
    home, nas = tmp_path / "Pictures", tmp_path / "nas"
    home.mkdir()
    (home / "IMG_0.jpg").write_bytes(b"x")
    nas.mkdir()  # the mount point, its disk away
    engine, stop = Counting(), threading.Event()
    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [home, nas], stop, lambda r, **_: None))
    watcher.start()
    try:
        time.sleep(1)  # looked at, empty
        (tmp_path / "disk").mkdir()
        (tmp_path / "disk" / "IMG_1.jpg").write_bytes(b"x")
        nas.rmdir()
        (tmp_path / "disk").rename(nas)  # another folder in its place: a disk mounted on it
        deadline = time.monotonic() + 20
        while engine.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        seen = engine.passes
        assert seen >= 1
        (nas / "IMG_2.jpg").write_bytes(b"x")  # a photo written on the mounted disk
        deadline = time.monotonic() + 20
        while engine.passes <= seen and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.passes > seen, "a photo on the mounted disk went unseen"
    finally:
        stop.set()
        watcher.join(10)


def test_a_folder_removed_while_watching_is_not_indexed_again(tmp_path, monkeypatch, capsys):
    """``indexer --remove B`` while a ``--watch`` service runs over A and B: the watcher's next
    pass (a photo arriving in A) indexed B again, every photo of it embedded anew."""
    from clipsearch import SearchEngine, Settings
    from clipsearch.stores import open_store
    from testsupport.fakes import FakeEncoder
    from testsupport.imagefactory import photo, save

    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    a, b = tmp_path / "A", tmp_path / "B"
    for i in range(6):
        save(photo(120, 90, seed=i), (a if i < 3 else b) / f"p{i}.jpg", quality=90)
    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    engine.index_folder([a, b])
    said, stop = [], threading.Event()
    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [a, b], stop, lambda r, **_: said.append(r)),
                               kwargs={"covered": engine.folders})  # as the indexer's --watch calls it
    watcher.start()
    try:
        watching(capsys)  # the observer is on
        assert engine.remove_folder(b) == 3  # what `python -m indexer --remove B` does meanwhile
        save(photo(120, 90, seed=9), a / "new.jpg", quality=90)
        deadline = time.monotonic() + 20
        while not said and time.monotonic() < deadline:
            time.sleep(0.1)
        assert said and said[0].added == 1
    finally:
        stop.set()
        watcher.join(10)
    assert engine.folders() == [str(a)]
    assert engine.store.count() == 4 and engine.record(b / "p3.jpg") is None
    engine.close()
