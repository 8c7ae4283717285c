"""The stores beside an index that a pass of its own fills, when the index asks for it: the words
read in photos (``text.sqlite``, ``--ocr``) and the videos' moments (``videos.sqlite``,
``--videos``). Each is opened when first needed, made when the pass is first turned on, and
remembers itself whether it is on; an index without one answers as before.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import StoreWriteError, room_note
from .stores.sqlite_files import Transaction, read_as_it_is


class SideStore:
    """One side store of an index folder: ``opener(index_dir, create=)`` opens it, or answers None
    where there is none and ``create`` is false; the store has ``enabled``, ``set_enabled`` and
    ``close``."""

    def __init__(self, index_dir: str | Path, opener: Callable[..., Any]) -> None:
        self.index_dir = Path(index_dir)
        self._opener = opener
        self._index: Any = None
        self._lock = threading.Lock()

    def store(self, create: bool = False) -> Any:
        """The store (None when the index has none and ``create`` is false)."""
        with self._lock:
            if self._index is None:
                self._index = self._opener(self.index_dir, create=create)
            return self._index

    @property
    def enabled(self) -> bool:
        """Whether the index runs this store's pass."""
        store = self.store()
        return store is not None and store.enabled

    def set_enabled(self, on: bool) -> None:
        """Turn the pass on (the store is made if missing) or off (what it holds is kept)."""
        store = self.store(create=on)
        if store is not None:
            store.set_enabled(on)

    def close(self) -> None:
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None


class SideDb:
    """A side store's SQLite file in the index folder (``NAME``): made with ``SCHEMA`` when asked,
    its ``VERSION`` checked (a newer one is refused, not misread), its settings in a ``meta``
    table, whether its pass is on among them. Thread-safe; one process writes (under the index lock)."""

    NAME = ""
    SCHEMA = ""
    VERSION = 1
    WHAT = "the side store"  # for messages: "the text index"

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.RLock()

    @classmethod
    def exists(cls, index_dir: str | Path) -> bool:
        return (Path(index_dir) / cls.NAME).is_file()

    @classmethod
    def open(cls, index_dir: str | Path, *, create: bool = False) -> Any:
        """The store of ``index_dir``; None when it has none and ``create`` is false. An index made
        before the store existed gains it (``create``) in place."""
        path = Path(index_dir) / cls.NAME
        if not path.is_file() and not create:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                db.execute(f"PRAGMA {pragma}")
            if create:
                with Transaction(db, cls.WHAT):
                    for statement in cls.SCHEMA.split(";\n"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(cls.VERSION),))
        except sqlite3.Error as exc:
            why = room_note(exc, path.parent)  # a reader, where SQLite may not write: the file as it is
            db = None if create or not why else read_as_it_is(path)
            if db is None:
                raise StoreWriteError(f"could not open {cls.WHAT} {path}: {exc}{why}") from exc
        index = cls(path, db)
        version = index._meta("schema_version")
        if version is None:  # an empty file: its creation never committed
            db.close()
            return None
        if int(version) > cls.VERSION:
            db.close()
            raise StoreWriteError(f"{cls.WHAT} {path} has schema version {version}; this clipsearch "
                                  f"reads version {cls.VERSION}")
        return index

    @classmethod
    def empty(cls) -> Any:
        """A store of nothing, in memory: what a dry run reads where the index has none yet."""
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        for statement in cls.SCHEMA.split(";\n"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(cls.VERSION),))
        return cls(Path(":memory:"), db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str) -> str | None:
        with self._lock:
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            except sqlite3.OperationalError:  # a store still being created by another process
                return None
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._lock, Transaction(self._db, self.WHAT):
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def enabled(self) -> bool:
        """Whether the index runs this store's pass (``--ocr``, ``--videos``; their ``--no-`` forms)."""
        return self._meta("enabled") == "1"

    def set_enabled(self, on: bool) -> None:
        self._set_meta("enabled", "1" if on else "0")
