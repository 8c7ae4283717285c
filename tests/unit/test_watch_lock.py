"""``--watch`` beside another writer: a cron run (or the web app's re-index) holding the index's
lock when files arrive makes the watcher wait for it, not quit."""

from __future__ import annotations

import threading
import time

import indexer.watch as watch
from clipsearch import IndexLocked
from clipsearch.reports import IndexReport


class BusyThenFree:
    """The index is locked by another writer for the first ``busy`` passes, then free."""

    def __init__(self, busy: int) -> None:
        self.busy, self.tries, self.passes = busy, 0, 0

    def index_folder(self, folders, should_stop=None) -> IndexReport:
        self.tries += 1
        if self.tries <= self.busy:
            raise IndexLocked("the index /i is being updated by process 42 on nas, since 2026-12-05 03:00:00; "
                              "wait for it to finish, then retry")
        self.passes += 1
        return IndexReport(added=1)

    def read_texts(self, should_stop=None) -> None:
        return None

    def read_videos(self, should_stop=None) -> None:
        return None


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
        time.sleep(0.5)  # the observer is on
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
    err = capsys.readouterr().err
    assert err.count("being updated by process 42") == 1  # said once, not at every try
    assert "indexing the changes when it is done" in err
