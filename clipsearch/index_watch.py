"""A reader's catch-up with its index folder: new batches, and the folder deleted or replaced.

A reader (the web app, open for days) asks ``reload_if_changed`` before its requests, and applies
what other processes committed (``store.refresh``). An index folder deleted under it, or replaced
(a new index built in its place), went unnoticed: its open SQLite file still held the old index,
and it went on serving photos that no index held any more, until a restart. ``IndexWatch`` notices
it: one ``stat`` of the folder's main file (the hnsw store's ``records.sqlite``, a Milvus index's
``store.json``), at most once a second, compared with the file the reader opened. The reader then
lets its store go (searches under way finish on it; it is freed after them) and opens the index
found there now; where there is none, every search says that the index is gone (``IndexNotFound``),
and one built there later is opened, as an index that appears after a reader starts is. One built
there with another model cannot be searched with this engine's (``ModelMismatch``): the reader
says so (``replaced_by_another_model``), and its owner opens an engine with that model instead.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from pathlib import Path
from typing import Any

from .calibration import Calibration
from .errors import ClipSearchError, IndexNotFound, ModelMismatch
from .stores.layout import DB_NAME, POINTER_NAME
from .textsearch import TextSide

EVERY = 1.0  # seconds between two looks at the folder, at most one a second
MAIN_FILES = (DB_NAME, POINTER_NAME)  # what an index folder holds, by store (stores/layout.py)


class IndexWatch:
    """Whether an index folder's main file is still the one a reader opened (checked when ``due``)."""

    def __init__(self, folder: str | Path, every: float = EVERY) -> None:
        self.folder = Path(folder)
        self.every = every
        self._lock = threading.Lock()
        self._looked = time.monotonic()
        self.seen = self.identity()

    def identity(self) -> tuple[str, int, int] | None:
        """(file name, device, inode) of the folder's main file; None where there is none."""
        for name in MAIN_FILES:
            try:
                st = os.stat(self.folder / name)
            except OSError:
                continue
            return name, st.st_dev, st.st_ino
        return None

    def due(self) -> bool:
        """True at most once every ``every`` seconds: time for a look at the folder."""
        with self._lock:
            now = time.monotonic()
            if now - self._looked < self.every:
                return False
            self._looked = now
            return True

    def same(self) -> bool:
        """True while the folder's main file is the one opened (one ``stat``)."""
        return self.identity() == self.seen


class IndexFollowing:
    """The engine's catch-up with its index (a mixin of ``SearchEngine``, which sets ``_watch``)."""

    _watch: IndexWatch
    _gone: ClipSearchError | None = None  # why there is no index to search now, after one was let go
    _swap_lock: Any
    _writable: bool
    store: Any
    index: Any
    encoder: Any
    settings: Any

    def index_deleted(self) -> bool:
        """Whether the folder's main file is no longer the one this engine opened: the index folder
        deleted (``rm -rf``) or another index built in its place. A writer open for long (``--watch``)
        went on writing into the deleted files, its work lost, the readers saying there is no index."""
        return self._watch.seen is not None and not self._watch.same()

    def reload_if_changed(self) -> bool:
        """Catch up with what other processes committed to the index; True when it changed.

        The store catches up in place (``refresh``), beside running searches; a store is only
        opened here when the index appeared after the engine started, or when the folder a reader
        opened was deleted or replaced (``IndexWatch``): then the index there now, if any.
        """
        with self._swap_lock:
            if self.store is not None:
                if self._writable or not self._watch.due() or self._watch.same():
                    return self.store.refresh()
                self._let_go()
            elif self._gone is not None and not self._watch.due():
                return False  # still gone: a look at the folder once a second, no more
            return self._open_again()

    def replaced_by_another_model(self) -> bool:
        """Whether the index in the folder now, put in place of the one opened, was built with
        another model than this engine's: every search then raises ``ModelMismatch``, and only an
        engine opened anew, with that index's own model, can search it (the web app opens one)."""
        return isinstance(self._gone, ModelMismatch)

    def writer_elsewhere(self) -> str | None:
        """Who else is updating the index now ("process 42 on nas, since ..."), else None; asked
        without taking its lock or writing anything: a dry run's figures may change meanwhile."""
        return self.index.writer_elsewhere()

    def _open_again(self) -> bool:
        seen = self._watch.identity()
        try:
            self.store = self.index.open_reader(self.encoder.stamp)
        except IndexNotFound:
            return False
        except ClipSearchError as exc:  # an index there now, but one this engine cannot read (another model)
            self._gone = exc
            return False
        self._watch.seen, self._gone = seen, None
        return True

    def _let_go(self) -> None:
        """The index folder was deleted or replaced: its store, and what was kept of it, let go."""
        folder = self.settings.index_dir
        self.store = None  # searches under way keep their reference, and finish on it
        self._gone = IndexNotFound(
            f"the index in {folder} is gone: it was deleted or moved while this program ran. Index the "
            "photos there again, and the new index is searched without a restart", location=folder)
        self.text = TextSide(folder)  # the words and videos of the index gone: their files opened anew
        self.__dict__.pop("_video_side", None)
        self.calibration = Calibration(self.encoder)
        self._topics_kept = None
        self._signature_cache = None

    def _gone_error(self) -> ClipSearchError | None:
        """A fresh copy of why there is no index now (raised anew each time), or None."""
        return copy.copy(self._gone) if self._gone is not None else None
