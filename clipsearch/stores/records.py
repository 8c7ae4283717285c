"""The SQLite half of the hnsw store: records, vectors, tombstones and the index's meta values.

SQLite is the source of truth: every batch is one transaction that also bumps the generation, and
each row remembers the generation (``vgen``) that wrote its vector, each deleted label the
generation that deleted it (``tombstones``), so the graph can be brought up to date from here.
This module knows nothing of the graph: a write returns what changed (``Change``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexNotFound, StoreWriteError, disk_full_note
from .base import ImageRecord, SearchFilter, WriteBatch, sort_date
from .migrations import migrate, new_index_script
from .sqlite_files import connect

_COLUMNS = "path, size, mtime_ns, fingerprint, width, height, date_taken"
RESOLVE_CACHE = 100_000  # records kept for resolve (about 300 bytes each)
_CHUNK_ROWS = 20_000


@dataclass
class Change:
    """What one committed batch did: its generation, the labels it added and the labels it freed."""

    generation: int
    labels: np.ndarray
    vectors: np.ndarray
    dead: list[int] = field(default_factory=list)


class RecordStore:
    """Records and vectors in one SQLite file; thread-safe through ``lock`` (shared with the owner)."""

    def __init__(self, path: Path, dim: int, db: sqlite3.Connection | None = None):
        self.path = path
        self.dim = dim
        self._db = db or connect(path)
        self.lock = threading.RLock()
        self._counted: tuple[int, int] | None = None  # (generation, row count)
        self._by_label: dict[int, ImageRecord] = {}  # resolve's cache, valid for one generation
        self._by_label_gen = -1

    # --- opening ---------------------------------------------------------------------------
    @staticmethod
    def create(db: sqlite3.Connection, stamp: dict[str, Any]) -> None:
        """Make the tables of a new index, stamped, in one transaction."""
        db.executescript(new_index_script(json.dumps(stamp)))

    @staticmethod
    def upgrade(db: sqlite3.Connection, folder: Path) -> None:
        """Bring an index made by an earlier release to today's layout (atomic; idempotent)."""
        migrate(db, folder)

    # --- meta ------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    def purged_gen(self) -> int | None:
        """Tombstones up to this generation were dropped (None: an index that does not say)."""
        value = self.meta("purged_gen")
        return int(value) if value is not None else None

    def count(self, gen: int | None = None) -> int:
        # COUNT(*) scans an index (~8 ms at 1M rows) and search() asks on every query; rows only
        # change with the generation, so count once per generation (read first, so a count is
        # never kept past the commit that changed it; ``gen``: the caller read it just now).
        with self.lock:
            gen = self.generation() if gen is None else gen
            if self._counted is None or self._counted[0] != gen:
                self._counted = (gen, self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0])
            return self._counted[1]

    def set_meta(self, **values: str) -> None:
        with self.lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def make_durable(self, gen: int) -> None:
        """Commit with a synced WAL, so every batch up to ``gen`` survives a power loss.

        Batches commit with ``synchronous=NORMAL`` (fast, but the last ones may roll back after an
        OS crash); a graph snapshot of generation ``gen`` must never outlive them.
        """
        with self.lock:
            self._db.execute("PRAGMA synchronous=FULL")
            try:
                self.set_meta(durable_gen=str(gen))
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")

    # --- reading ---------------------------------------------------------------------------
    def get(self, path: str) -> ImageRecord | None:
        with self.lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM images WHERE path=?", (_key(path),)).fetchone()
        return _record(row) if row else None

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        sql, args = f"SELECT {_COLUMNS} FROM images", ()
        if folder:
            sql, args = sql + " WHERE path >= ? AND path < ?", prefix_range(folder)
        with self.lock:
            rows = self._db.execute(sql + " ORDER BY path", args).fetchall()
        return (_record(row) for row in rows)

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        with self.lock:
            rows = self._db.execute("SELECT path, size, mtime_ns, fingerprint FROM images").fetchall()
        return {os.fsdecode(r[0]): (r[1], r[2], r[3]) for r in rows}

    def file_ids(self) -> dict[str, tuple[int, int]]:
        """path -> (inode, ctime_ns) of the file each record was read from, where known (none
        in an index a reader has not upgraded yet)."""
        with self.lock:
            try:
                rows = self._db.execute("SELECT path, ino, ctime_ns FROM file_ids").fetchall()
            except sqlite3.OperationalError:  # revision 2 or before, opened to read
                return {}
        return {os.fsdecode(r[0]): (r[1], r[2]) for r in rows}

    def pictures(self) -> dict[str, str]:
        """fingerprint -> the fingerprint of its picture (``picture_fingerprint``), where known."""
        with self.lock:
            try:
                return dict(self._db.execute("SELECT fingerprint, picture FROM pictures"))
            except sqlite3.OperationalError:  # revision 3 or before, opened to read
                return {}

    def vector(self, path: str) -> np.ndarray | None:
        with self.lock:
            row = self._db.execute("SELECT vector FROM images WHERE path=?", (_key(path),)).fetchone()
        return np.frombuffer(row[0], np.float32).copy() if row else None

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        rows: list[tuple[str, bytes]] = []
        unique = list(set(fingerprints))
        with self.lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(f"SELECT fingerprint, vector FROM images WHERE fingerprint IN ({marks})",
                                         chunk).fetchall()
        # One array for all the rows (a composite query reads ~150): an array a row cost more than the SQL.
        matrix = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), self.dim).copy()
        return dict(zip([r[0] for r in rows], matrix))

    def vectors_between(self, after: int, upto: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(labels, vectors) chunks of the rows written in generations ``after`` < vgen <= ``upto``."""
        with self.lock:
            rows = self._db.execute("SELECT label, vector FROM images WHERE vgen > ? AND vgen <= ? ORDER BY label",
                                    (after, upto))
            while chunk := rows.fetchmany(_CHUNK_ROWS):
                yield self._unpack(chunk)

    def labelled_records(self, upto: int) -> tuple[np.ndarray, list[ImageRecord]]:
        """Labels and records of the rows of generations up to ``upto``, by label."""
        with self.lock:
            rows = self._db.execute(f"SELECT label, {_COLUMNS} FROM images WHERE vgen <= ? ORDER BY label",
                                    (upto,)).fetchall()
        return np.array([r[0] for r in rows], np.int64), [_record(r[1:]) for r in rows]

    def vectors_of_labels(self, low: int, high: int, upto: int) -> dict[int, bytes]:
        """label -> vector bytes for the labels from ``low`` to ``high`` (generations up to ``upto``)."""
        with self.lock:
            return dict(self._db.execute("SELECT label, vector FROM images WHERE label >= ? AND label <= ? "
                                         "AND vgen <= ?", (low, high, upto)))

    def tombstones_after(self, gen: int) -> list[int]:
        with self.lock:
            return [r[0] for r in self._db.execute("SELECT label FROM tombstones WHERE gen > ?", (gen,))]

    def purge_tombstones(self, gen: int) -> None:
        """Forget the labels freed up to ``gen`` (a graph rebuilt at ``gen`` holds none of them)."""
        with self.lock, self._db:
            self._db.execute("DELETE FROM tombstones WHERE gen <= ?", (gen,))
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('purged_gen', ?)", (str(gen),))

    def live_vectors(self) -> list[tuple[int, bytes]]:
        with self.lock:
            return self._db.execute("SELECT label, vector FROM images").fetchall()

    # --- filtered and exact search ---------------------------------------------------------
    def labels_where(self, where: SearchFilter, upto: int) -> set[int]:
        sql, args = where_sql(where, "label", upto)
        with self.lock:
            return {r[0] for r in self._db.execute(sql, args)}

    def exact(self, query: np.ndarray, k: int, where: SearchFilter | None, upto: int):
        """Exact inner products over the rows that pass ``where``, with vectors from SQLite.

        (Reading a few thousand vectors from SQLite is 10x faster than hnswlib's get_items.)
        """
        sql, args = where_sql(where, "label, vector", upto)
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        labels, vectors = self._unpack(rows)
        scores = vectors @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return labels[top], scores[top]

    def resolve(self, labels: np.ndarray, scores: np.ndarray,
                gen: int | None = None) -> list[tuple[ImageRecord, float]]:
        """The records of graph labels, in order, less those without a record (``gen``: read just now)."""
        if len(labels) == 0:
            return []
        # Every search resolves its 100 candidates (the cut-off reads that many): records are
        # kept per label until the generation moves (a write, here or in another process).
        wanted = np.asarray(labels).tolist()
        with self.lock:
            gen = self.generation() if gen is None else gen
            if gen != self._by_label_gen or len(self._by_label) > RESOLVE_CACHE:
                self._by_label, self._by_label_gen = {}, gen
            cached = self._by_label
            missing = [lb for lb in wanted if lb not in cached]
            if missing:
                marks = ",".join("?" * len(missing))
                rows = self._db.execute(f"SELECT label, {_COLUMNS} FROM images WHERE label IN ({marks})",
                                        missing).fetchall()
                cached.update((row[0], _record(row[1:])) for row in rows)
        return [(cached[lb], s) for lb, s in zip(wanted, np.asarray(scores).tolist()) if lb in cached]

    def explain(self, sql: str, args: list) -> str:
        """SQLite's query plan (for tests of the layout)."""
        with self.lock:
            return " ".join(str(row[-1]) for row in self._db.execute("EXPLAIN QUERY PLAN " + sql, args))

    # --- writing ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch, before: Callable[[int], None] = lambda gen: None) -> Change:
        """Apply one batch in one transaction; returns what changed.

        ``before(generation)`` runs inside the transaction, once no other writer can commit, with
        the generation the batch builds on (a writer catches its graph up there).
        """
        now = time.time()
        with self.lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    gen = self.generation()
                    before(gen)
                    change = self._apply(batch, gen + 1, now)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreWriteError(f"could not write the index in {self.path.parent}: {exc}{disk_full_note(exc)}") from exc
        return change

    def _apply(self, batch: WriteBatch, gen: int, now: float) -> Change:
        if not len(batch):  # files seen again, no photo changed: no new generation (nor a picture gone)
            self._note_file_ids(batch)
            return Change(gen - 1, np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32))
        next_label = int(self.meta("next_label"))
        dead: list[int] = []
        gone: list[tuple[str]] = []  # the fingerprints of the contents records leave: their pictures may go
        for path in batch.delete:
            dead += self._drop(path, gone)
        for old_path, record in batch.rename:
            dead += self._drop(record.path, gone) if record.path != old_path else []
            self._db.execute("DELETE FROM file_ids WHERE path=?", (_key(old_path),))
            self._db.execute(
                "UPDATE images SET path=?, size=?, mtime_ns=?, width=?, height=?, date_taken=?, sort_date=?, "
                "indexed_at=? WHERE path=?",
                (_key(record.path), record.size, record.mtime_ns, record.width, record.height,
                 record.date_taken, sort_date(record), now, _key(old_path)))
        for record in batch.update:
            gone += self._db.execute("SELECT fingerprint FROM images WHERE path=?", (_key(record.path),)).fetchall()
            self._db.execute(
                "UPDATE images SET size=?, mtime_ns=?, width=?, height=?, date_taken=?, sort_date=?, "
                "fingerprint=? WHERE path=?",
                (record.size, record.mtime_ns, record.width, record.height, record.date_taken,
                 sort_date(record), record.fingerprint, _key(record.path)))
        vectors = np.zeros((len(batch.put), self.dim), np.float32)
        for i, (record, vector) in enumerate(batch.put):
            vectors[i] = np.asarray(vector, np.float32).reshape(self.dim)
            dead += self._drop(record.path, gone)
            self._db.execute(
                "INSERT INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (_key(record.path), record.size, record.mtime_ns, record.fingerprint, record.width,
                 record.height, record.date_taken, sort_date(record), next_label + i, gen,
                 vectors[i].tobytes(), now))
        labels = np.arange(next_label, next_label + len(batch.put), dtype=np.int64)
        self._note_file_ids(batch, gone)
        self._db.executemany("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", [(d, gen) for d in dead])
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("next_label", str(next_label + len(batch.put))), ("generation", str(gen)),
            ("last_indexed", str(now))])
        return Change(gen, labels, vectors, dead)

    def _note_file_ids(self, batch: WriteBatch, gone: list[tuple[str]] = ()) -> None:
        """Record the file ids and pictures of a batch; forget the pictures of contents no record has."""
        self._db.executemany("INSERT OR REPLACE INTO file_ids VALUES (?, ?, ?)",
                             [(_key(p), ino, ctime) for p, ino, ctime in batch.file_ids])
        self._db.executemany("INSERT OR REPLACE INTO pictures VALUES (?, ?)", batch.pictures)
        self._db.executemany("DELETE FROM pictures WHERE fingerprint=?1 AND NOT EXISTS "
                             "(SELECT 1 FROM images WHERE fingerprint=?1)", set(gone))

    def _drop(self, path: str, gone: list[tuple[str]]) -> list[int]:
        row = self._db.execute("SELECT label, fingerprint FROM images WHERE path=?", (_key(path),)).fetchone()
        if row is None:
            return []
        gone.append(row[1:])
        self._db.execute("DELETE FROM images WHERE path=?", (_key(path),))
        self._db.execute("DELETE FROM file_ids WHERE path=?", (_key(path),))
        return [row[0]]

    def set_folders(self, folders: Iterable[str], left_out: Iterable[str] = ()) -> None:
        """The folders covered, those runs leave out, and when a run last brought the index up to date."""
        self.set_meta(folders=json.dumps(sorted(set(folders))), left_out=json.dumps(sorted(set(left_out))),
                      last_checked=str(time.time()))

    def _unpack(self, rows) -> tuple[np.ndarray, np.ndarray]:
        labels = np.array([r[0] for r in rows], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(-1, self.dim)
        return labels, vectors

    def close(self) -> None:
        with self.lock:
            self._db.close()


def read_stamp(db: sqlite3.Connection) -> dict | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key='stamp'").fetchone()
    except sqlite3.OperationalError:
        return None
    return json.loads(row[0]) if row else None


def read_stamp_of(path: Path) -> dict[str, Any]:
    """The stamp of the SQLite file at ``path`` (``IndexNotFound`` when there is none)."""
    if not path.exists():
        raise IndexNotFound(f"no index in {path.parent}", location=path.parent)
    db = connect(path, reader=True)
    try:
        stamp = read_stamp(db)
    finally:
        db.close()
    if stamp is None:
        raise IndexNotFound(f"the index in {path.parent} is empty or unfinished", location=path.parent)
    return stamp


def where_sql(where: SearchFilter | None, columns: str, upto: int) -> tuple[str, list]:
    """SQL for the rows that pass ``where`` among those written up to generation ``upto``."""
    # Only rows the in-memory graph already holds: a writer may have committed newer ones.
    clauses, args = filter_clauses(where)
    return f"SELECT {columns} FROM images WHERE " + " AND ".join(["vgen <= ?", *clauses]), [upto, *args]


def filter_clauses(where: SearchFilter | None, table: str = "") -> tuple[list[str], list]:
    """SQL conditions (and their arguments) for ``where`` on a table with ``path`` and
    ``sort_date`` columns; ``table``: its alias, such as ``"f."``."""
    clauses: list[str] = []
    args: list = []
    if where is not None and where.folder:
        clauses.append(f"{table}path >= ? AND {table}path < ?")
        args += list(prefix_range(where.folder))
    if where is not None and where.date_from:
        clauses.append(f"{table}sort_date >= ?")
        args.append(where.date_from)
    if where is not None and where.date_to:
        clauses.append(f"{table}sort_date <= ?")
        args.append(where.date_to + ("" if "T" in where.date_to else "T23:59:59"))
    return clauses, args


def prefix_range(folder: str) -> tuple[bytes, bytes]:
    """The byte range of paths strictly inside ``folder``."""
    prefix = os.fsencode(os.path.join(os.path.abspath(folder), ""))
    return prefix, prefix[:-1] + bytes([prefix[-1] + 1])


def _key(path: str) -> bytes:
    return os.fsencode(path)


def _record(row) -> ImageRecord:
    return ImageRecord(os.fsdecode(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])
