"""The default store: an HNSW graph over unit vectors, with records and vectors in SQLite.

``HnswStore`` composes a ``RecordStore`` (SQLite, the source of truth) and an ``HnswGraph``
(hnswlib, rebuilt from SQLite whenever in doubt); the folder's files are named in ``layout``.

Every ``write`` is one SQLite transaction, so a crash loses at most the batch in flight. Before it
writes, a writer brings its graph up to every batch another process committed (inside the
transaction, so nobody commits in between). The graph snapshot may lag behind SQLite: on open, the
rows written after it (``vgen`` > its generation) are added and the labels deleted after it
(``tombstones``) are marked deleted. A snapshot is only written once SQLite has made its
generation durable, and one that is ahead of SQLite anyway (a restored or damaged database) is
ignored: the graph is rebuilt from SQLite.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexNotFound, ModelMismatch
from ..lock import sole_writer
from .atomic import atomic_write_text, stale_temps
from .base import SCHEMA_VERSION, ImageRecord, SearchFilter, WriteBatch, check_stamp
from .graph import EF_CONSTRUCTION, EF_IMAGE, EF_TEXT, MIN_CANDIDATES, HnswGraph, M, beam  # noqa: F401
from .layout import (
    DB_NAME,
    MANIFEST_NAME,
    forget_snapshots,
    is_snapshot_temp,
    make_folder,
    snapshot_path,
    snapshot_temp_path,
    snapshots,
)
from .records import RecordStore, connect, read_stamp, read_stamp_of, where_sql
from .self_join import graph_self_join

log = logging.getLogger(__name__)

EXACT_BELOW = 5_000  # filtered subsets this small are searched exactly
COMPACT_FRACTION = 0.3  # rebuild when this share of the graph is deleted slots


class HnswStore:
    """A ``VectorStore`` in one folder: hnswlib for the graph, SQLite for everything else.

    Open it with ``HnswStore.open``. One process writes at a time (the caller holds the index
    lock); any number read. Methods are thread-safe within a process: searches and graph changes
    take one lock, since hnswlib's ``add_items`` is not safe beside ``knn_query``.
    """

    def __init__(self, folder: Path, records: RecordStore, stamp: dict[str, Any], writable: bool):
        self.folder = folder
        self._records = records
        self.pictures = records.pictures  # fingerprint -> its picture's fingerprint, where known
        self._lock = records.lock
        self._stamp = stamp
        self._writable = writable
        self._dim = int(stamp["dim"])
        self._graph: HnswGraph | None = None
        self._graph_gen = 0  # generation the in-memory graph reflects
        self._snapshot_gen = 0  # of the newest snapshot this object wrote or loaded; -1 after a rebuild
        self.ef_image = EF_IMAGE
        self.ef_text = EF_TEXT

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path, stamp: dict[str, Any] | None = None, *, create: bool = False,
             uri: str | None = None) -> HnswStore:
        """Open the index in ``folder`` (``uri`` is for stores elsewhere; ignored). With ``create``, a
        missing index is made (``stamp`` required; the graph snapshots of records deleted by hand are
        removed, not warned of as ahead of the records) and the store is writable; an index made by an
        earlier release is upgraded in place. With ``stamp``, another model's index is ``ModelMismatch``."""
        folder = Path(folder)
        db_path = folder / DB_NAME
        if not db_path.exists():
            if not create:
                raise IndexNotFound(f"no index in {folder}", location=folder)
            if stamp is None:
                raise ValueError("a new index needs the stamp of the model that fills it")
            make_folder(folder)
            forget_snapshots(folder)
        db = connect(db_path, reader=not create)
        try:
            if create:  # first: a folder it may not write in is said before anything is upgraded
                _remove_stale_temp_files(folder)
            have = _open_stamp(db, folder, stamp, create)
            store = cls(folder, RecordStore(db_path, int(have["dim"]), db), have, writable=create)
            store._graph, store._graph_gen = store._fresh_graph()
            store._catch_up()
            if create:
                store._write_manifest()
        except BaseException:  # a stop (Ctrl-C, SIGTERM) too: a new index given up is removed (IndexLock.remove)
            db.close()
            raise
        return store

    @staticmethod
    def read_stamp(folder: str | Path, uri: str | None = None) -> dict[str, Any]:
        """The stamp of the index in ``folder``, read from SQLite alone."""
        db_path = Path(folder) / DB_NAME
        if not db_path.exists():
            raise IndexNotFound(f"no index in {folder}", location=folder)
        return read_stamp_of(db_path)

    # --- keeping the graph up to date ------------------------------------------------------
    def _fresh_graph(self) -> tuple[HnswGraph, int]:
        """The newest snapshot SQLite vouches for, else a graph rebuilt from SQLite; and its generation."""
        db_gen = self._records.generation()
        floor = self._purged_gen()
        for gen, path in reversed(snapshots(self.folder)):
            if gen > db_gen:  # SQLite lost batches this snapshot holds (a power loss, a restored file)
                log.warning("ignoring snapshot %s: it is ahead of the records (generation %d)", path, db_gen)
                if self._writable:
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            if gen < floor:  # the tombstones needed to catch it up are gone
                break
            graph = HnswGraph.load(path, self._dim)
            if graph is not None:
                self._snapshot_gen = gen
                return graph, gen
        self._snapshot_gen = -1  # no whole snapshot of it on disk (none, or torn): the next save writes one
        return HnswGraph.build(self._dim, self._records.count(), self._records.vectors_between(0, db_gen)), db_gen

    def _purged_gen(self) -> int:
        purged = self._records.purged_gen()
        if purged is None:  # a first-release index: it dropped tombstones at every snapshot
            db_gen = self._records.generation()
            return max((gen for gen, _ in snapshots(self.folder) if gen <= db_gen), default=0)
        return purged

    def _needs_rebuild(self, db_gen: int) -> bool:
        return db_gen < self._graph_gen or self._graph_gen < self._purged_gen()

    def _catch_up(self, db_gen: int | None = None) -> bool:
        """Apply to the graph what SQLite committed after it: incrementally, or by a fresh graph."""
        with self._lock:
            gen = self._records.generation() if db_gen is None else db_gen
            if gen == self._graph_gen:
                return False
            for _ in range(3):  # a compaction may drop the tombstones while they are read
                if self._needs_rebuild(gen):
                    self._graph, self._graph_gen = self._fresh_graph()
                    gen = max(gen, self._graph_gen)
                dead = self._records.tombstones_after(self._graph_gen)
                if self._graph_gen >= self._purged_gen():
                    break
            self._graph.delete(dead)
            for labels, vectors in self._records.vectors_between(self._graph_gen, gen):
                self._add_to_graph(vectors, labels)
            self._graph_gen = gen
            return True

    def refresh(self) -> bool:
        """A reader's catch-up with the writers: True when the graph changed.

        New batches are applied in place (searches wait for the few milliseconds that takes).
        When the graph cannot be caught up (a compaction by the writer, SQLite went back), a new
        one is loaded while searches go on with the old one, then swapped in; the old graph is
        freed once the last search using it ends.
        """
        db_gen = self._records.generation()
        if db_gen == self._graph_gen:
            return False
        if self._needs_rebuild(db_gen):
            graph, gen = self._fresh_graph()
            with self._lock:
                if self._needs_rebuild(self._records.generation()):
                    self._graph, self._graph_gen = graph, gen
        self._catch_up()
        return True

    def _add_to_graph(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self._graph.add(vectors, labels)

    # --- reading ---------------------------------------------------------------------------
    @property
    def stamp(self) -> dict[str, Any]:
        return dict(self._stamp)

    def count(self) -> int:
        return self._records.count()

    def generation(self) -> int:
        return self._records.generation()

    def stale(self) -> bool:
        return self.generation() != self._graph_gen

    def info(self) -> dict[str, Any]:
        last, folders = self._records.meta("last_indexed"), self._records.meta("folders")
        checked = self._records.meta("last_checked")
        return {
            "count": self.count(),
            "generation": self.generation(),
            "stamp": self.stamp,
            "last_indexed": float(last) if last else None,
            "last_checked": float(checked) if checked else None,
            "folders": json.loads(folders) if folders else [],
            "left_out": json.loads(self._records.meta("left_out") or "[]"),
            "location": str(self.folder),
        }

    def get(self, path: str) -> ImageRecord | None:
        return self._records.get(path)

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        return self._records.records(folder)

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, fingerprint) for every record: what a re-scan compares with."""
        return self._records.file_states()

    def file_ids(self) -> dict[str, tuple[int, int]]:
        """path -> (inode, ctime_ns) of the file each record was read from, where known."""
        return self._records.file_ids()

    def vector(self, path: str) -> np.ndarray | None:
        return self._records.vector(path)

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        return self._records.vectors_by_fingerprint(fingerprints)

    def search(self, vector: np.ndarray, k: int, *, where: SearchFilter | None = None,
               text_like: bool = False) -> list[tuple[ImageRecord, float]]:
        query = np.asarray(vector, np.float32).reshape(self._dim)
        with self._lock:
            gen = self._records.generation()  # read once: the count and the records' cache go by it
            total = self._records.count(gen)
            if total == 0 or k <= 0:
                return []
            allowed = None
            if where is not None and not where.is_empty():
                allowed = self._records.labels_where(where, self._graph_gen)
                if not allowed:
                    return []
            if allowed is not None and len(allowed) <= max(EXACT_BELOW, total // 20):
                labels, scores = self._records.exact(query, k, where, self._graph_gen)
            else:
                labels, scores = self._approximate(query, k, total, allowed, text_like, where)
            # All the beam's best, not just k: a writer may have deleted some since the last refresh.
            return self._records.resolve(labels, scores, gen)[:k]

    def neighbours(self, k: int, *, chunk: int = 2048, progress: Callable[[int, int], None] | None = None,
                   ) -> tuple[list[ImageRecord], np.ndarray, np.ndarray]:
        """Every record's ``k`` nearest other records by the graph: a batched kNN self-join.

        Returns the records, an (n, k) array of row numbers into them (-1 where there are fewer)
        and the (n, k) similarities. The lock is held one chunk at a time, so searches go on.
        """
        return graph_self_join(self._records, lambda: self._graph, self._lock, self._graph_gen, k,
                               chunk=chunk, progress=progress)

    def beam(self, total: int, text_like: bool) -> int:
        """The HNSW search beam (ef) for a graph of ``total`` vectors."""
        return beam(self.ef_text if text_like else self.ef_image, total)

    def _approximate(self, query, k, total, allowed, text_like, where):
        limit = len(allowed) if allowed is not None else total
        want = min(max(k, MIN_CANDIDATES), limit)
        found = self._graph.search(query, want, self.beam(total, text_like),
                                   allowed.__contains__ if allowed is not None else None)
        if found is None:  # fewer reachable points than asked: search exactly instead
            return self._records.exact(query, k, where, self._graph_gen)
        return found

    def _where_sql(self, where: SearchFilter | None, columns: str) -> tuple[str, list]:
        return where_sql(where, columns, self._graph_gen)

    # --- writing ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        """Apply one batch in one SQLite transaction, then to the in-memory graph."""
        self._require_writable()
        if not (len(batch) or batch.file_ids or batch.pictures):
            return
        with self._lock:
            # Catch up inside the transaction: the graph then holds every batch before this one.
            change = self._records.write(batch, before=self._catch_up)
            self._graph.delete(change.dead)
            self._add_to_graph(change.vectors, change.labels)
            self._graph_gen = change.generation
        self._write_manifest()

    def set_folders(self, folders: Iterable[str], left_out: Iterable[str] = ()) -> None:
        """Record which folders this index covers (shown in the app, used by re-index), and those left out."""
        self._require_writable()
        self._records.set_folders(folders, left_out)
        self._write_manifest()

    def save(self) -> None:
        """Snapshot the graph (compacting it first when deletions piled up); atomic."""
        self._require_writable()
        with self._lock:
            self._catch_up()
            if self._graph_gen == self._snapshot_gen and snapshots(self.folder):
                return
            if self.deleted_slots() > COMPACT_FRACTION * max(1, self._graph.slots):
                self.compact()
                return
            self._write_snapshot(self._graph, self._graph_gen)

    def compact(self) -> None:
        """Rebuild the graph from SQLite without deleted slots, and snapshot it."""
        self._require_writable()
        with self._lock:
            gen = self.generation()
            graph = HnswGraph.build(self._dim, self.count(), self._records.vectors_between(0, gen))
            self._write_snapshot(graph, gen)
            # Kept until now so that any graph could be caught up; readers older than this rebuild.
            self._records.purge_tombstones(gen)
            self._graph, self._graph_gen = graph, gen
            log.info("compacted the graph to %d vectors", graph.slots)

    def deleted_slots(self) -> int:
        """Slots of the in-memory graph whose image is gone (until the next compaction)."""
        with self._lock:
            return self._graph.slots - self.count()

    def _write_snapshot(self, graph: HnswGraph, gen: int) -> None:
        self._records.make_durable(gen)  # never a snapshot ahead of what SQLite keeps
        graph.save(snapshot_path(self.folder, gen), snapshot_temp_path(self.folder, gen))
        self._snapshot_gen = gen
        for path in [path for old_gen, path in snapshots(self.folder) if old_gen < gen]:
            with contextlib.suppress(OSError):
                path.unlink()

    def _write_manifest(self) -> None:
        info = {key: value for key, value in self.info().items() if key != "location"}
        with contextlib.suppress(OSError):
            atomic_write_text(self.folder / MANIFEST_NAME, json.dumps(info, indent=2, sort_keys=True))

    def _require_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("this store was opened read-only")

    def close(self) -> None:
        with self._lock:
            self._records.close()
            self._graph = None

    # --- checks for tests and tools --------------------------------------------------------
    def graph_labels(self) -> set[int]:
        """Labels live in the in-memory graph (for consistency checks)."""
        with self._lock:
            return self._graph.labels() & {label for label, _ in self._records.live_vectors()}

    def check(self) -> list[str]:
        """Consistency problems between SQLite and the graph; empty when all is well."""
        problems = []
        with self._lock:
            rows = self._records.live_vectors()
            in_graph = self._graph.labels()
            for label, blob in rows:
                if label not in in_graph:
                    problems.append(f"label {label} missing from the graph")
                elif not np.allclose(np.frombuffer(blob, np.float32), self._graph.vector(label), atol=1e-6):
                    problems.append(f"label {label}: graph vector differs from SQLite")
            live = {label for label, _ in rows}
            for label in sorted(in_graph - live):  # must be a deleted slot, never a live orphan
                if not self._graph.is_deleted(label):
                    problems.append(f"label {label} is live in the graph but has no record")
        return problems


def _remove_stale_temp_files(folder: Path) -> None:
    """Delete snapshots and manifests a crashed writer left half-written, unless another writer runs now."""
    with sole_writer(folder) as alone:  # else its temp file may be a snapshot being saved now
        for path in [e.path for e in os.scandir(folder) if is_snapshot_temp(e.name)] + stale_temps(folder / MANIFEST_NAME) if alone else ():
            with contextlib.suppress(OSError):
                os.unlink(path)


def _open_stamp(db, folder: Path, stamp: dict[str, Any] | None, create: bool) -> dict[str, Any]:
    """The stamp of the index behind ``db``: made when new, checked, and upgraded for a writer."""
    have = read_stamp(db)
    existed = have is not None
    if have is None:
        if not create:
            raise IndexNotFound(f"the index in {folder} is empty or unfinished", location=folder)
        have = {**stamp, "schema_version": SCHEMA_VERSION}
        RecordStore.create(db, have)
    if have.get("schema_version") != SCHEMA_VERSION:
        raise ModelMismatch(
            f"the index in {folder} has schema version {have.get('schema_version')}, "
            f"this clipsearch reads version {SCHEMA_VERSION}: re-index into a new folder"
        )
    if stamp is not None:
        check_stamp(have, stamp, folder)
    if create and existed:  # only once its schema and model are known to be ours
        RecordStore.upgrade(db, folder)
    return have
