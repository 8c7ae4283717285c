"""Opening the index's SQLite files: for writing, or for reading where SQLite may not write.

SQLite writes small files beside a database in WAL mode even to read it (its shared memory and
its log). Where it cannot (a read-only share or container volume, a full disk), a reader reads the
file as it is, when nothing newer waits in a log beside it; a writer is told why it cannot.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

from ..errors import StoreWriteError, disk_full_note, room_note

log = logging.getLogger(__name__)
MMAP_BYTES = 256 << 20  # SQLite reads this much of records.sqlite through a memory map


def connect(path: Path, reader: bool = False) -> sqlite3.Connection:
    """The index's SQLite file, opened; ``StoreWriteError`` when it cannot be (SQLite writes small
    files beside it even to read it: a full disk or a folder without write access refuses them).
    A ``reader`` then reads the file as it is, if it can (``read_as_it_is``)."""
    try:
        return _connect(path)
    except sqlite3.Error as exc:
        why = room_note(exc, path.parent)  # a full disk or a folder it may not write in: else no fallback
        db = read_as_it_is(path) if reader and why else None
        if db is None:
            raise StoreWriteError(f"cannot open the index in {path.parent}: {exc}{why}") from exc
        return db


def read_as_it_is(path: Path) -> sqlite3.Connection | None:
    """``path`` opened to read, trusting that nothing changes it, where SQLite may not write beside
    it (a read-only share or container volume, a full disk); None when that would miss changes: a
    write-ahead log left beside it (a writer still at work, or one that died) holds the newest."""
    log_file = path.with_name(path.name + "-wal")
    if log_file.exists() and log_file.stat().st_size > 0:
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=30,
                             check_same_thread=False, isolation_level=None)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        return None
    db.isolation_level = "DEFERRED"
    db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    log.info("reading %s as it is: SQLite cannot write beside it here (a read-only folder, a full disk)", path)
    return db


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    db.isolation_level = "DEFERRED"
    # A row holds a 2 KB vector (512 float32): two never fit a 4 KB page, which would then be half
    # empty. 16 KB pages hold seven. Only a new, empty database takes this (before WAL is on).
    db.execute("PRAGMA page_size=16384")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=30000")
    # Reads through a memory map instead of a copy per page: a 1% folder filter at 100k vectors
    # (exact search over 1,000 scattered rows) took 2 ms instead of 8. Mapped pages count in the
    # process's resident memory once read, so the map covers the first 256 MB (100k photos) only.
    db.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    return db


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (the connection is in autocommit);
    a failed COMMIT is a ``StoreWriteError`` that names ``what`` could not be written."""

    def __init__(self, db: sqlite3.Connection, what: str) -> None:
        self.db = db
        self.what = what

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            try:
                self.db.execute("COMMIT")
                return
            except sqlite3.Error as error:
                self._roll_back()
                raise StoreWriteError(f"could not write {self.what}: {error}{disk_full_note(error)}") from error
        self._roll_back()

    def _roll_back(self) -> None:
        """ROLLBACK, where the transaction is still open: SQLite ends it itself on some errors (a full
        disk, an I/O error), and a ROLLBACK then raises "no transaction is active", which hid the
        error that ended it. One that fails leaves the first error to be said, too."""
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
