"""The default store: an hnswlib index over unit vectors, with records and vectors in SQLite.

Layout of an index folder::

    records.sqlite       records + float32 vectors + stamp (WAL mode): the source of truth
    vectors-<gen>.hnsw   a snapshot of the HNSW graph covering every batch up to generation <gen>
    manifest.json        stamp, count and generation, for people and for cheap reload checks
    index.lock           the writer's lock (flock: a dead process never leaves it stuck)

Every ``write`` is one SQLite transaction, so a crash loses at most the batch in flight. The HNSW
snapshot may lag behind: on open, the rows written after it (``vgen`` > its generation) are added
and the labels deleted after it (``tombstones``) are marked deleted. Snapshots are written to a
temporary file, fsynced and renamed, so a crash while saving leaves the previous one usable.

This is the only module that imports hnswlib.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from ..errors import IndexNotFound, ModelMismatch, StoreWriteError
from .base import SCHEMA_VERSION, ImageRecord, SearchFilter, WriteBatch, check_stamp
from .files import atomic_write_text, fsync_dir

log = logging.getLogger(__name__)

DB_NAME = "records.sqlite"
MANIFEST_NAME = "manifest.json"
SNAPSHOT_RE = re.compile(r"^vectors-(\d+)\.hnsw$")
# Tuned with benchmarks/bench_recall.py (CLIP-like vectors): recall@10 >= 0.99 for both kinds.
M = 16  # M=32 gained little recall per millisecond for text queries, and builds 1.5x slower
EF_CONSTRUCTION = 200
EF_IMAGE = 256  # image-like queries (in distribution), at 1M vectors: 0.991 at 128, 0.999 at 256
EF_TEXT = 2048  # text queries sit across the modality gap, at 1M: 0.98 at 512, 0.992 at 1024, 0.997 at 2048
EF_REFERENCE_SIZE = 1_000_000  # the beams above are for this many vectors; they scale as size ** 0.3
MIN_CANDIDATES = 64  # the beam never narrows below this; the top k of the beam are exact
EXACT_BELOW = 5_000  # filtered subsets this small are searched exactly
COMPACT_FRACTION = 0.3  # rebuild when this share of the graph is deleted slots
MMAP_BYTES = 256 << 20  # SQLite reads this much of records.sqlite through a memory map

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    date_taken TEXT,
    sort_date TEXT NOT NULL,
    label INTEGER NOT NULL UNIQUE,
    vgen INTEGER NOT NULL,
    vector BLOB NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS images_fingerprint ON images (fingerprint);
CREATE INDEX IF NOT EXISTS images_vgen ON images (vgen);
-- Covering, so a date filter reads neither table rows nor vectors (10x faster at 10% of 100k).
CREATE INDEX IF NOT EXISTS images_date ON images (sort_date, vgen, label);
DROP INDEX IF EXISTS images_sort_date;  -- what indexes made before had instead
CREATE TABLE IF NOT EXISTS tombstones (label INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
"""
_COLUMNS = "path, size, mtime_ns, fingerprint, width, height, date_taken"


class HnswStore:
    """A ``VectorStore`` in one folder: hnswlib for the graph, SQLite for everything else.

    Open it with ``HnswStore.open``. One process writes (the caller holds the index lock);
    any number read. Methods are thread-safe within a process.
    """

    def __init__(self, folder: Path, db: sqlite3.Connection, stamp: dict[str, Any], writable: bool):
        self.folder = folder
        self._db = db
        self._stamp = stamp
        self._writable = writable
        self._lock = threading.RLock()
        self._dim = int(stamp["dim"])
        self._index: hnswlib.Index | None = None
        self._index_gen = 0  # generation the in-memory graph reflects
        self._snapshot_gen = 0  # generation of the newest snapshot on disk
        self.ef_image = EF_IMAGE
        self.ef_text = EF_TEXT
        self._counted: tuple[int, int] | None = None  # (generation, row count)

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls, folder: str | Path, stamp: dict[str, Any] | None = None, *, create: bool = False
    ) -> HnswStore:
        """Open the index in ``folder``.

        With ``create``, a missing index is made (``stamp`` required) and the store is writable.
        With ``stamp``, an index built by another model raises ``ModelMismatch``.
        """
        folder = Path(folder)
        db_path = folder / DB_NAME
        if not db_path.exists():
            if not create:
                raise IndexNotFound(f"no index in {folder}: build one with `python -m indexer FOLDER --index {folder}`")
            if stamp is None:
                raise ValueError("a new index needs the stamp of the model that fills it")
            folder.mkdir(parents=True, exist_ok=True)
        db = _connect(db_path)
        try:
            have = _read_stamp(db)
            upgrade = create and have is not None  # an existing index gets today's SQLite indexes
            if have is None:
                if not create:
                    raise IndexNotFound(f"the index in {folder} is empty or unfinished")
                have = {**stamp, "schema_version": SCHEMA_VERSION}
                with db:
                    db.executescript(_SCHEMA)
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('stamp', ?)", (json.dumps(have),))
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('next_label', '0')")
            if have.get("schema_version") != SCHEMA_VERSION:
                raise ModelMismatch(
                    f"the index in {folder} has schema version {have.get('schema_version')}, "
                    f"this clipsearch reads version {SCHEMA_VERSION}: re-index into a new folder"
                )
            if stamp is not None:
                check_stamp(have, stamp, folder)
            if upgrade:  # only once its schema and model are known to be ours (idempotent)
                with db:
                    db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        store = cls(folder, db, have, writable=create)
        store._load_graph()
        if create:
            store._remove_stale_temp_files()
            store._write_manifest()
        return store

    @staticmethod
    def read_stamp(folder: str | Path) -> dict[str, Any]:
        """The stamp of the index in ``folder``, read from SQLite alone."""
        db_path = Path(folder) / DB_NAME
        if not db_path.exists():
            raise IndexNotFound(f"no index in {folder}: build one with `python -m indexer FOLDER --index {folder}`")
        db = _connect(db_path)
        try:
            stamp = _read_stamp(db)
        finally:
            db.close()
        if stamp is None:
            raise IndexNotFound(f"the index in {folder} is empty or unfinished")
        return stamp

    def _load_graph(self) -> None:
        """Load the newest readable snapshot, then catch up from SQLite."""
        index, gen = None, 0
        for gen, path in sorted(self._snapshots(), reverse=True):
            index = hnswlib.Index(space="ip", dim=self._dim)
            try:
                index.load_index(str(path), allow_replace_deleted=True)
                break
            except (RuntimeError, OSError, MemoryError) as exc:  # vanished or torn file
                log.warning("ignoring unreadable snapshot %s: %s", path, exc)
                index, gen = None, 0
        if index is None:
            index = hnswlib.Index(space="ip", dim=self._dim)
            index.init_index(
                max_elements=max(1024, self.count()), M=M, ef_construction=EF_CONSTRUCTION,
                random_seed=100, allow_replace_deleted=True,
            )
        self._index, self._index_gen, self._snapshot_gen = index, gen, gen
        self._catch_up()

    def _catch_up(self) -> None:
        """Apply to the in-memory graph what SQLite committed after ``_index_gen``."""
        with self._lock:
            gen = self.generation()
            if gen == self._index_gen:
                return
            dead = [row[0] for row in self._db.execute(
                "SELECT label FROM tombstones WHERE gen > ?", (self._index_gen,))]
            for label in dead:
                with contextlib.suppress(RuntimeError):  # not in this snapshot, or already gone
                    self._index.mark_deleted(label)
            rows = self._db.execute(
                "SELECT label, vector FROM images WHERE vgen > ? ORDER BY label", (self._index_gen,)
            )
            while chunk := rows.fetchmany(20_000):
                labels = np.array([r[0] for r in chunk], dtype=np.int64)
                vectors = np.frombuffer(b"".join(r[1] for r in chunk), np.float32).reshape(-1, self._dim)
                self._add_to_graph(vectors, labels)
            self._index_gen = gen

    def _add_to_graph(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        index = self._index
        free = index.get_max_elements() - index.get_current_count()
        if len(labels) > free:
            index.resize_index(max(2 * index.get_max_elements(), index.get_current_count() + len(labels)))
        index.add_items(vectors, labels, replace_deleted=True)

    # --- reading ---------------------------------------------------------------------------
    @property
    def stamp(self) -> dict[str, Any]:
        return dict(self._stamp)

    def count(self) -> int:
        # COUNT(*) scans an index (~8 ms at 1M rows) and search() asks on every query; rows only
        # change with the generation, so count once per generation (read first, so a count is
        # never kept past the commit that changed it).
        with self._lock:
            gen = self.generation()
            if self._counted is None or self._counted[0] != gen:
                self._counted = (gen, self._db.execute("SELECT COUNT(*) FROM images").fetchone()[0])
            return self._counted[1]

    def generation(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def stale(self) -> bool:
        return self.generation() != self._index_gen

    def info(self) -> dict[str, Any]:
        with self._lock:
            last = self._db.execute("SELECT value FROM meta WHERE key='last_indexed'").fetchone()
            folders = self._db.execute("SELECT value FROM meta WHERE key='folders'").fetchone()
        return {
            "count": self.count(),
            "generation": self.generation(),
            "stamp": self.stamp,
            "last_indexed": float(last[0]) if last else None,
            "folders": json.loads(folders[0]) if folders else [],
            "location": str(self.folder),
        }

    def get(self, path: str) -> ImageRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM images WHERE path=?", (_key(path),)).fetchone()
        return _record(row) if row else None

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        sql, args = f"SELECT {_COLUMNS} FROM images", ()
        if folder:
            low, high = _prefix_range(folder)
            sql, args = sql + " WHERE path >= ? AND path < ?", (low, high)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY path", args).fetchall()
        return (_record(row) for row in rows)

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, fingerprint) for every record: what a re-scan compares with."""
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns, fingerprint FROM images").fetchall()
        return {os.fsdecode(r[0]): (r[1], r[2], r[3]) for r in rows}

    def vector(self, path: str) -> np.ndarray | None:
        with self._lock:
            row = self._db.execute("SELECT vector FROM images WHERE path=?", (_key(path),)).fetchone()
        return np.frombuffer(row[0], np.float32).copy() if row else None

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for chunk in _chunks(list(set(fingerprints)), 500):
                marks = ",".join("?" * len(chunk))
                for fp, blob in self._db.execute(
                    f"SELECT fingerprint, vector FROM images WHERE fingerprint IN ({marks})", chunk
                ):
                    out[fp] = np.frombuffer(blob, np.float32).copy()
        return out

    def search(
        self, vector: np.ndarray, k: int, *, where: SearchFilter | None = None, hard: bool = False
    ) -> list[tuple[ImageRecord, float]]:
        query = np.asarray(vector, np.float32).reshape(self._dim)
        with self._lock:
            total = self.count()
            if total == 0 or k <= 0:
                return []
            allowed = None
            if where is not None and not where.is_empty():
                allowed = self._labels_where(where)
                if not allowed:
                    return []
            if allowed is not None and len(allowed) <= max(EXACT_BELOW, total // 20):
                labels, scores = self._exact(query, k, where)
            else:
                labels, scores = self._approximate(query, k, total, allowed, hard, where)
            return self._resolve(labels, scores)

    def beam(self, total: int, hard: bool) -> int:
        """The HNSW search beam (ef) for a graph of ``total`` vectors.

        The beam a given recall needs grows with the graph (x2 from 100k to 1M vectors for text
        queries), and a 2048-wide beam over 100k vectors costs as much as exact search.
        """
        ef = self.ef_text if hard else self.ef_image
        return max(MIN_CANDIDATES, round(ef * (total / EF_REFERENCE_SIZE) ** 0.3))

    def _approximate(self, query, k, total, allowed, hard, where):
        limit = len(allowed) if allowed is not None else total
        want = min(max(k, MIN_CANDIDATES), limit)
        self._index.set_ef(max(self.beam(total, hard), want))
        try:
            labels, distances = self._index.knn_query(
                query[None], k=want, filter=allowed.__contains__ if allowed is not None else None
            )
        except RuntimeError:  # fewer reachable points than asked: search exactly instead
            return self._exact(query, k, where)
        scores = 1.0 - distances[0]
        order = np.argsort(-scores, kind="stable")[:k]
        return labels[0][order].astype(np.int64), scores[order]

    def _exact(self, query: np.ndarray, k: int, where: SearchFilter | None):
        """Exact inner products over the rows that pass ``where``, with vectors from SQLite.

        (Reading a few thousand vectors from SQLite is 10x faster than hnswlib's get_items.)
        """
        sql, args = self._where_sql(where, "label, vector")
        labels, blobs = [], []
        for label, blob in self._db.execute(sql, args):
            labels.append(label)
            blobs.append(blob)
        if not labels:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        vectors = np.frombuffer(b"".join(blobs), np.float32).reshape(-1, self._dim)
        scores = vectors @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return np.asarray(labels, np.int64)[top], scores[top]

    def _labels_where(self, where: SearchFilter) -> set[int]:
        sql, args = self._where_sql(where, "label")
        return {r[0] for r in self._db.execute(sql, args)}

    def _where_sql(self, where: SearchFilter | None, columns: str) -> tuple[str, list]:
        # Only rows the in-memory graph already holds: a writer may have committed newer ones.
        clauses, args = ["vgen <= ?"], [self._index_gen]
        if where is not None and where.folder:
            low, high = _prefix_range(where.folder)
            clauses.append("path >= ? AND path < ?")
            args += [low, high]
        if where is not None and where.date_from:
            clauses.append("sort_date >= ?")
            args.append(where.date_from)
        if where is not None and where.date_to:
            clauses.append("sort_date <= ?")
            args.append(where.date_to + ("" if "T" in where.date_to else "T23:59:59"))
        return f"SELECT {columns} FROM images WHERE " + " AND ".join(clauses), args

    def _resolve(self, labels: np.ndarray, scores: np.ndarray) -> list[tuple[ImageRecord, float]]:
        if len(labels) == 0:
            return []
        marks = ",".join("?" * len(labels))
        rows = self._db.execute(
            f"SELECT label, {_COLUMNS} FROM images WHERE label IN ({marks})", [int(x) for x in labels]
        ).fetchall()
        by_label = {row[0]: _record(row[1:]) for row in rows}
        return [(by_label[int(lb)], float(s)) for lb, s in zip(labels, scores) if int(lb) in by_label]

    # --- writing ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        """Apply one batch in one SQLite transaction, then to the in-memory graph."""
        self._require_writable()
        if not len(batch):
            return
        now = time.time()
        with self._lock:
            gen = self.generation() + 1
            next_label = int(self._db.execute("SELECT value FROM meta WHERE key='next_label'").fetchone()[0])
            new_vectors, new_labels, dead = [], [], []
            try:
                with self._db:
                    for path in batch.delete:
                        dead += self._drop(path)
                    for old_path, record in batch.rename:
                        dead += self._drop(record.path) if record.path != old_path else []
                        self._db.execute(
                            "UPDATE images SET path=?, size=?, mtime_ns=?, width=?, height=?, "
                            "date_taken=?, sort_date=?, indexed_at=? WHERE path=?",
                            (_key(record.path), record.size, record.mtime_ns, record.width,
                             record.height, record.date_taken, _sort_date(record), now, _key(old_path)),
                        )
                    for record in batch.update:
                        self._db.execute(
                            "UPDATE images SET size=?, mtime_ns=?, width=?, height=?, date_taken=?, "
                            "sort_date=?, fingerprint=? WHERE path=?",
                            (record.size, record.mtime_ns, record.width, record.height,
                             record.date_taken, _sort_date(record), record.fingerprint, _key(record.path)),
                        )
                    for record, vector in batch.put:
                        vector = np.asarray(vector, np.float32).reshape(self._dim)
                        dead += self._drop(record.path)
                        self._db.execute(
                            "INSERT INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (_key(record.path), record.size, record.mtime_ns, record.fingerprint,
                             record.width, record.height, record.date_taken, _sort_date(record),
                             next_label, gen, vector.tobytes(), now),
                        )
                        new_vectors.append(vector)
                        new_labels.append(next_label)
                        next_label += 1
                    self._db.executemany("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", [(d, gen) for d in dead])
                    self._db.execute("UPDATE meta SET value=? WHERE key='next_label'", (str(next_label),))
                    self._db.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_indexed', ?)", (str(now),))
            except sqlite3.Error as exc:
                raise StoreWriteError(f"could not write the index in {self.folder}: {exc}") from exc
            for label in dead:
                with contextlib.suppress(RuntimeError):
                    self._index.mark_deleted(label)
            if new_labels:
                self._add_to_graph(np.stack(new_vectors), np.array(new_labels, np.int64))
            self._index_gen = gen
        self._write_manifest()

    def _drop(self, path: str) -> list[int]:
        row = self._db.execute("SELECT label FROM images WHERE path=?", (_key(path),)).fetchone()
        if row is None:
            return []
        self._db.execute("DELETE FROM images WHERE path=?", (_key(path),))
        return [row[0]]

    def set_folders(self, folders: Iterable[str]) -> None:
        """Record which folders this index covers (shown in the app, used by re-index)."""
        self._require_writable()
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('folders', ?)", (json.dumps(sorted(set(folders))),)
            )
        self._write_manifest()

    def save(self) -> None:
        """Snapshot the graph (compacting it first when deletions piled up); atomic."""
        self._require_writable()
        with self._lock:
            self._catch_up()
            if self._index_gen == self._snapshot_gen and self._snapshots():
                return
            if self._deleted_slots() > COMPACT_FRACTION * max(1, self._index.get_current_count()):
                self.compact()
                return
            self._write_snapshot(self._index, self._index_gen)

    def compact(self) -> None:
        """Rebuild the graph from SQLite without deleted slots, and snapshot it."""
        self._require_writable()
        with self._lock:
            gen = self.generation()
            index = hnswlib.Index(space="ip", dim=self._dim)
            index.init_index(max_elements=max(1024, self.count()), M=M,
                             ef_construction=EF_CONSTRUCTION, random_seed=100, allow_replace_deleted=True)
            rows = self._db.execute("SELECT label, vector FROM images WHERE vgen <= ?", (gen,))
            while chunk := rows.fetchmany(20_000):
                labels = np.array([r[0] for r in chunk], np.int64)
                index.add_items(np.frombuffer(b"".join(r[1] for r in chunk), np.float32).reshape(-1, self._dim), labels)
            self._write_snapshot(index, gen)
            self._index, self._index_gen = index, gen
            log.info("compacted the graph to %d vectors", index.get_current_count())

    def _deleted_slots(self) -> int:
        return self._index.get_current_count() - self.count()

    def _write_snapshot(self, index: hnswlib.Index, gen: int) -> None:
        final = self.folder / f"vectors-{gen}.hnsw"
        temp = self.folder / f".vectors-{gen}.hnsw.tmp"
        try:
            index.save_index(str(temp))
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temp, final)
            fsync_dir(self.folder)
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise StoreWriteError(f"could not save the index in {self.folder}: {exc}") from exc
        self._snapshot_gen = gen
        for old_gen, path in self._snapshots():
            if old_gen < gen:
                with contextlib.suppress(OSError):
                    path.unlink()
        with self._lock, self._db:  # readers of older snapshots re-open the newest one
            self._db.execute("DELETE FROM tombstones WHERE gen <= ?", (gen,))

    def _snapshots(self) -> list[tuple[int, Path]]:
        out = []
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                match = SNAPSHOT_RE.match(entry.name)
                if match:
                    out.append((int(match.group(1)), Path(entry.path)))
        return sorted(out)

    def _remove_stale_temp_files(self) -> None:
        """Delete snapshots a crashed writer left half-written, unless a writer is running now."""
        from ..errors import IndexLocked
        from ..lock import IndexLock

        try:
            lock = IndexLock(self.folder).acquire()
        except IndexLocked:
            return  # its temp file may be a snapshot being saved right now
        try:
            self._remove_temp_files()
        finally:
            lock.release()

    def _remove_temp_files(self) -> None:
        for entry in os.scandir(self.folder):
            if entry.name.startswith(".vectors-") and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)

    def _write_manifest(self) -> None:
        info = self.info()
        info.pop("location")
        with contextlib.suppress(OSError):
            atomic_write_text(self.folder / MANIFEST_NAME, json.dumps(info, indent=2, sort_keys=True))

    def _require_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("this store was opened read-only")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._index = None

    # --- checks for tests and tools --------------------------------------------------------
    def graph_labels(self) -> set[int]:
        """Labels live in the in-memory graph (for consistency checks)."""
        with self._lock:
            labels = self._index.get_ids_list()
            live = {r[0] for r in self._db.execute("SELECT label FROM images")}
        return {int(x) for x in labels} & live

    def check(self) -> list[str]:
        """Consistency problems between SQLite and the graph; empty when all is well."""
        problems = []
        with self._lock:
            rows = self._db.execute("SELECT label, vector FROM images").fetchall()
            in_graph = {int(x) for x in self._index.get_ids_list()}
            for label, blob in rows:
                if label not in in_graph:
                    problems.append(f"label {label} missing from the graph")
                    continue
                stored = np.frombuffer(blob, np.float32)
                got = self._index.get_items([label], return_type="numpy")[0]
                if not np.allclose(stored, got, atol=1e-6):
                    problems.append(f"label {label}: graph vector differs from SQLite")
            live = {label for label, _ in rows}
            for label in in_graph - live:  # must be a deleted slot, never a live orphan
                try:
                    self._index.unmark_deleted(label)  # succeeds only on a deleted slot
                except RuntimeError as exc:
                    if "not deleted" in str(exc):
                        problems.append(f"label {label} is live in the graph but has no record")
                    continue
                self._index.mark_deleted(label)
        return problems


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


def _read_stamp(db: sqlite3.Connection) -> dict | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key='stamp'").fetchone()
    except sqlite3.OperationalError:
        return None
    return json.loads(row[0]) if row else None


def _key(path: str) -> bytes:
    return os.fsencode(path)


def _record(row) -> ImageRecord:
    return ImageRecord(os.fsdecode(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])


def _sort_date(record: ImageRecord) -> str:
    if record.date_taken:
        return record.date_taken
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.mtime_ns / 1e9))


def _prefix_range(folder: str) -> tuple[bytes, bytes]:
    """The byte range of paths strictly inside ``folder``."""
    prefix = os.fsencode(os.path.join(os.path.abspath(folder), ""))
    return prefix, prefix[:-1] + bytes([prefix[-1] + 1])


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
