"""Runs stopped at awkward moments: a first run killed before its first batch, a stop while a new
index is being made, a full disk under a transaction or the lock's note, a manifest's temp file
left by a killed writer, a watcher stopped at the end of its photos' pass or while idle."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import threading
import time
from types import SimpleNamespace

import pytest

import clipsearch.lock as lock
import clipsearch.pipeline as pipeline
import indexer.cli
import indexer.watch as watch
from clipsearch import IndexLocked, SearchEngine
from clipsearch.errors import StoreWriteError
from clipsearch.lock import IndexLock
from clipsearch.reports import IndexReport
from clipsearch.stores import open_store
from clipsearch.stores.sqlite_files import Transaction
from indexer import stopping
from testsupport.fakes import FakeEncoder


class Killed(BaseException):
    """A run ended where it stood (``kill -9``, a power cut): nothing after it runs."""


@pytest.fixture
def fake_model(monkeypatch):
    """Every engine the command line or ``for_writing`` opens runs the fake encoder."""
    monkeypatch.setattr("clipsearch.engine.load_encoder", lambda spec: FakeEncoder())


# --- 1. a first run stopped before its first batch -----------------------------------------------
def test_a_first_run_killed_during_its_scan_leaves_its_folder_covered_for_cron(settings, library, fake_model,
                                                                                monkeypatch):
    """The named folder was recorded only after the scan (the whole walk of a network share): a
    first run killed meanwhile left an index that covered no folder, and every later run naming
    none (cron's) exited 2 "the index covers none yet"."""

    def killed_while_walking(*args, **kwargs):
        raise Killed

    engine = SearchEngine.for_writing(settings)
    monkeypatch.setattr(pipeline, "scan_images", killed_while_walking)
    try:
        with pytest.raises(Killed):
            engine.index_folder(library)
    finally:
        engine.close()
    monkeypatch.undo()
    monkeypatch.setattr("clipsearch.engine.load_encoder", lambda spec: FakeEncoder())
    assert open_store(settings.index_dir).info()["folders"] == [str(library)]
    assert indexer.cli.main(["--index", str(settings.index_dir), "-q"]) == 0  # cron's run goes on
    store = open_store(settings.index_dir)
    assert store.count() == 6 and store.info()["folders"] == [str(library)]


def test_a_new_index_stopped_while_its_store_is_made_is_not_left_behind(settings, fake_model, monkeypatch):
    """SIGTERM (``Stopped``) or Ctrl-C as the new index's manifest.json was written (the store's
    last step) left records.sqlite and a manifest of no folder: the command said "nothing was
    indexed", and a run naming no folder then refused the index for good."""
    import clipsearch.stores.atomic as atomic

    real = atomic.fsync_dir

    def stopped_as_it_syncs(folder):
        real(folder)
        if os.path.samefile(folder, settings.index_dir):
            raise KeyboardInterrupt  # as a signal handler raises it, at any line

    monkeypatch.setattr(atomic, "fsync_dir", stopped_as_it_syncs)
    with pytest.raises(KeyboardInterrupt):
        SearchEngine.for_writing(settings)
    assert not settings.index_dir.exists(), sorted(os.listdir(settings.index_dir))


# --- 2. a full disk inside a transaction -----------------------------------------------------------
def full_database(path) -> sqlite3.Connection:
    """A database with room for nothing more: SQLite's "database or disk is full" (SQLITE_FULL)."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute("PRAGMA max_page_count=3")
    return db


def test_a_full_disk_in_a_transaction_is_said_not_hidden_by_its_rollback(tmp_path):
    """SQLite ends the transaction itself on SQLITE_FULL: the ROLLBACK after it raised "cannot
    rollback - no transaction is active", which replaced the full disk in the message."""
    db = full_database(tmp_path / "t.sqlite")
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        with Transaction(db, "the test store"):
            for _ in range(100):
                db.execute("INSERT INTO t VALUES (?)", (b"x" * 5000,))
    assert not db.in_transaction
    db.close()


class CommitOnAFullDisk:
    """A connection whose COMMIT fails on a full disk, SQLite having rolled the transaction back."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            self.db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)


def test_a_commit_that_fails_on_a_full_disk_names_the_full_disk(tmp_path):
    db = sqlite3.connect(str(tmp_path / "t.sqlite"), isolation_level=None)
    db.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreWriteError, match="^could not write the test store: database or disk is full"):
        with Transaction(CommitOnAFullDisk(db), "the test store"):
            db.execute("INSERT INTO t VALUES (1)")
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
    db.close()


# --- 3. the lock's note on a full disk ---------------------------------------------------------------
class NoRoom:
    """An open lock file on a full disk: writing the holder's note fails with ENOSPC."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._handle, name)


def test_the_lock_is_taken_when_a_full_disk_refuses_its_note(tmp_path, monkeypatch):
    """The note (who holds the lock) failed the run on a full disk, "could not write the index:
    [Errno 28]", also a run with nothing to write; ``flock`` is the lock, the note says who."""
    monkeypatch.setattr(lock, "open", lambda *args, **kwargs: NoRoom(open(*args, **kwargs)), raising=False)
    first = IndexLock(tmp_path / "index").acquire()
    try:
        with pytest.raises(IndexLocked):  # still the lock: a second writer is refused
            IndexLock(tmp_path / "index").acquire()
    finally:
        first.release()
    IndexLock(tmp_path / "index").acquire().release()


# --- 4. a manifest's temp file left by a writer killed ----------------------------------------------
def test_a_manifest_temp_file_a_killed_writer_left_is_removed_by_the_next_writer(settings):
    open_store(settings.index_dir, FakeEncoder().stamp, create=True).close()
    left = settings.index_dir / ".manifest.json.k1ll3d9x.tmp"
    left.write_text("{")
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))
    under_way = settings.index_dir / ".manifest.json.n0wn0w12.tmp"  # another process's write, now
    under_way.write_text("{")
    open_store(settings.index_dir, FakeEncoder().stamp, create=True).close()
    assert not left.exists()
    assert under_way.exists()


# --- 5. a watcher stopped at the end of its photos' pass, or while idle ----------------------------------
class WordsReadingEngine:
    """An index that reads words (--ocr); a Ctrl-C arrives as its photos' pass saves its graph."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop, self.passes = stop, []
        self.text, self.videos = SimpleNamespace(enabled=True), SimpleNamespace(enabled=False)

    def index_deleted(self) -> bool:
        return False

    def index_folder(self, folders, should_stop=None) -> IndexReport:
        self.stop.set()  # every photo done: only the save was left
        return IndexReport(added=1)

    def read_texts(self, should_stop=None):
        self.passes.append("words")

    def read_videos(self, should_stop=None):
        self.passes.append("videos")


def test_a_stop_during_a_watchers_photos_begins_no_words_pass(tmp_path):
    """The words' pass began after a stop all the same: it loaded the OCR model and read a batch
    of photos (seconds) before it said "interrupted"."""
    stop = threading.Event()
    engine = WordsReadingEngine(stop)
    passes = watch._Passes(engine, [tmp_path], stop, lambda *args, **kwargs: None)
    assert passes.run()
    assert engine.passes == []
    assert passes.interrupted  # the words wait for the next run, which the watcher's exit says


class Idle:
    """An engine whose watcher never runs a pass (no file changes)."""

    def index_deleted(self) -> bool:
        return False


def test_ctrl_c_on_an_idle_watcher_says_it_stops_not_after_a_batch(tmp_path, capsys):
    """Between passes no batch runs: "stopping after the current batch (again to quit at once)"
    promised a batch that was not there."""
    stop = stopping.stop_on_signals()
    watcher = threading.Thread(target=watch.watch_folders, args=(Idle(), [tmp_path], stop, lambda *a, **k: None))
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while not getattr(stop, "idle", False) and time.monotonic() < deadline:
            time.sleep(0.05)
        signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    finally:
        stop.set()
        watcher.join(10)
    err = capsys.readouterr().err
    assert "\nstopping\n" in err and "after the current batch" not in err, err
    running = stopping.stop_on_signals()  # a run's batch in flight: the stop waits for it, and says so
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
    assert running.is_set()
    assert "stopping after the current batch (again to quit at once)" in capsys.readouterr().err


def test_a_stop_during_the_photos_last_save_begins_no_words_pass(tmp_path, capsys):
    """Ctrl-C while the run saved its last batch: the photos were all done, so the words' pass began,
    loaded the OCR model and read a batch (about 9 s) before the run said "interrupted"."""
    import threading
    from types import SimpleNamespace

    from clipsearch.reports import IndexReport
    from indexer.cli import _index, build_parser

    stop, passes = threading.Event(), []

    class Engine:
        text, videos = SimpleNamespace(enabled=True), SimpleNamespace(enabled=True)

        def index_folder(self, folders, **kwargs):
            stop.set()  # the signal lands as the last batch is saved
            return IndexReport(folders=[str(f) for f in folders], found=3, added=3, embedded=3)

        def read_texts(self, **kwargs):
            passes.append("words")

        def read_videos(self, **kwargs):
            passes.append("videos")

    report = _index(Engine(), [tmp_path], build_parser().parse_args([str(tmp_path)]), stop)
    assert passes == [] and report.interrupted
    assert "interrupted" in capsys.readouterr().err
