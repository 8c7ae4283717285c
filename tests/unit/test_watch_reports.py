"""``--watch`` says a skipped file once, not after every later change in the folder."""

from __future__ import annotations

import threading
import time

import indexer.watch as watch
from clipsearch.reports import IndexReport


class ScriptedEngine:
    """Hands the watcher one prepared report per pass (the passes' indexing itself is tested elsewhere)."""

    def __init__(self, reports: list[IndexReport], stop: threading.Event) -> None:
        self.reports, self.stop, self.passes = reports, stop, 0

    def index_folder(self, folders, should_stop=None) -> IndexReport:
        report = self.reports[self.passes]
        self.passes += 1
        if self.passes == len(self.reports):
            self.stop.set()
        return report

    def read_texts(self, should_stop=None) -> None:
        return None

    def index_deleted(self) -> bool:
        return False

    def read_videos(self, should_stop=None) -> None:
        return None


def test_a_pass_is_reported_when_it_changes_something_or_meets_a_new_broken_file(tmp_path, monkeypatch):
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    broken = {"truncated": [str(tmp_path / "half.jpg")]}
    passes = [
        IndexReport(added=1, skipped=dict(broken)),  # said: a new photo, a broken one
        IndexReport(skipped=dict(broken)),  # a permission or scan error met again: not said again
        IndexReport(added=1, skipped=dict(broken)),  # said: a new photo
        IndexReport(skipped={**broken, "not an image": [str(tmp_path / "notes.jpg")]}),  # said: new
    ]
    stop = threading.Event()
    engine, said = ScriptedEngine(passes, stop), []
    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [tmp_path], stop, said.append))
    watcher.start()
    try:
        for i in range(len(passes)):
            deadline = time.monotonic() + 20
            while engine.passes <= i and time.monotonic() < deadline:
                (tmp_path / f"new-{i}.jpg").write_bytes(b"x")  # a file event starts a pass
                time.sleep(0.3)
            assert engine.passes > i, f"pass {i + 1} never ran"
    finally:
        stop.set()
        watcher.join(10)
    assert said == [passes[0], passes[2], passes[3]]


def test_with_every_folder_missing_the_watcher_waits_for_one_and_indexes_it_once_back(tmp_path, caplog,
                                                                                      monkeypatch):
    """README: a folder missing when --watch starts is looked for every 5 s and indexed once its disk
    is back. With every folder missing (one USB disk, unplugged) the watcher returned at once, exit 0."""
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 0.3)
    stop = threading.Event()
    engine, said = ScriptedEngine([IndexReport(added=1)], stop), []
    unplugged = tmp_path / "unplugged"
    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [unplugged], stop, said.append))
    watcher.start()
    try:
        time.sleep(1.0)
        assert watcher.is_alive() and engine.passes == 0  # waiting for it, not gone
        assert "unplugged is missing: not watched" in caplog.text and "every folder is missing" in caplog.text
        unplugged.mkdir()
        (unplugged / "a.jpg").write_bytes(b"x")  # the disk plugged in
        watcher.join(20)
        assert not watcher.is_alive() and engine.passes == 1 and said == [IndexReport(added=1)]
    finally:
        stop.set()
        watcher.join(10)


def test_out_of_os_watches_falls_back_to_polling(tmp_path, caplog):
    from watchdog.observers.polling import PollingObserver

    class OutOfWatches:
        def schedule(self, *args, **kwargs):
            raise OSError(28, "inotify watch limit reached")

    observer = watch._observer(OutOfWatches, [tmp_path], handler=object())
    assert isinstance(observer, PollingObserver)
    assert "looking for changes every few seconds instead" in caplog.text


def test_changes_the_scan_never_looks_at_wake_no_pass():
    """A Synology writes a thumbnail into @eaDir after every new photo: that is no change to index."""
    roots = ["/volume1/photo", "/home/me/.photos"]  # a watched folder's own name may be hidden
    assert watch._left_alone("/volume1/photo/2019/@eaDir/IMG_1.jpg/SYNOPHOTO_THUMB_XL.jpg", roots)
    assert watch._left_alone("/volume1/photo/#recycle/IMG_2.jpg", roots)
    assert watch._left_alone("/volume1/photo/2019/.IMG_3.jpg.Xa8Tq", roots)  # rsync's temporary file
    assert not watch._left_alone("/volume1/photo/2019/IMG_3.jpg", roots)
    assert not watch._left_alone("/home/me/.photos/2019/IMG_4.jpg", roots)


def test_a_photo_read_or_a_nas_thumbnail_wakes_no_pass_and_a_hidden_file_renamed_to_a_photo_does(tmp_path, monkeypatch,
                                                                                                   capsys):
    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    (tmp_path / "@eaDir").mkdir()
    (tmp_path / "IMG_0.jpg").write_bytes(b"x")
    stop = threading.Event()
    engine = ScriptedEngine([IndexReport(added=1)], stop)
    watcher = threading.Thread(target=watch.watch_folders, args=(engine, [tmp_path], stop, lambda r: None))
    watcher.start()
    try:
        said, deadline = "", time.monotonic() + 20
        while "watching " not in said:  # the observer is watching (started before it says so)
            assert time.monotonic() < deadline, said
            time.sleep(0.01)
            said += capsys.readouterr().err
        (tmp_path / "@eaDir" / "SYNOPHOTO_THUMB_XL.jpg").write_bytes(b"x")
        (tmp_path / ".IMG_1.jpg.Xa8Tq").write_bytes(b"x")  # rsync writes a hidden file first...
        for _ in range(3):  # a viewer, a backup or the web app reads a photo: nothing changed
            (tmp_path / "IMG_0.jpg").read_bytes()
        time.sleep(1.5)
        assert engine.passes == 0
        (tmp_path / ".IMG_1.jpg.Xa8Tq").rename(tmp_path / "IMG_1.jpg")  # ...then renames it: a new photo
        deadline = time.monotonic() + 20
        while engine.passes == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert engine.passes == 1
    finally:
        stop.set()
        watcher.join(10)


def test_a_pass_that_reads_a_video_is_reported_with_it(tmp_path, monkeypatch):
    from clipsearch import VideoReport

    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    stop = threading.Event()

    class WithVideos(ScriptedEngine):
        def read_videos(self, should_stop=None):
            return VideoReport(videos=1, read=1, moments=3) if self.passes == 1 else VideoReport(videos=1, unchanged=1)

    engine, said = WithVideos([IndexReport(), IndexReport()], stop), []
    watcher = threading.Thread(target=watch.watch_folders,
                               args=(engine, [tmp_path], stop, lambda r, **extra: said.append((r, extra))))
    watcher.start()
    try:
        for i in range(2):
            deadline = time.monotonic() + 20
            while engine.passes <= i and time.monotonic() < deadline:
                (tmp_path / f"new-{i}.mp4").write_bytes(b"x")  # a video's event starts a pass
                time.sleep(0.3)
            assert engine.passes > i, f"pass {i + 1} never ran"
    finally:
        stop.set()
        watcher.join(10)
    assert len(said) == 1 and said[0][1]["videos"].read == 1  # the first pass read it; the second, nothing


def test_a_watched_folder_that_goes_is_said_once(tmp_path, monkeypatch, capsys):
    """A pass over a folder gone keeps its photos and changes nothing, so nothing was said: the
    watcher went quiet about a disk unplugged under it."""
    import shutil

    monkeypatch.setattr(watch, "SETTLE_SECONDS", 0.1)
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 0.3)
    disk = tmp_path / "usb"
    disk.mkdir()
    (disk / "a.jpg").write_bytes(b"x")
    stop = threading.Event()
    watcher = threading.Thread(target=watch.watch_folders, args=(ScriptedEngine([IndexReport()] * 9, stop), [disk],
                                                                stop, print))
    watcher.start()
    said = ""
    try:
        time.sleep(0.6)
        shutil.rmtree(disk)
        deadline = time.monotonic() + 10
        while "is gone" not in said and time.monotonic() < deadline:
            time.sleep(0.2)
            said += capsys.readouterr().err
        time.sleep(1.0)  # more looks at the folder, still gone
        said += capsys.readouterr().err
    finally:
        stop.set()
        watcher.join(10)
    assert said.count("is gone") == 1, said  # once
    assert f"{disk} is gone or empty (a disk unmounted?): its indexed photos are kept; looking for it every 0.3 s" in said


def test_a_folder_watched_by_a_links_name_is_indexed_by_the_indexs_name(tmp_path):
    """Each pass handed the link's name to the indexer, which warned on every pass that the index
    knows that folder by another name."""
    real, link = tmp_path / "photos", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    passes = watch._Passes(None, [link], threading.Event(), print, covered=lambda: [str(real)])
    assert passes._still_covered() == [str(real)]
