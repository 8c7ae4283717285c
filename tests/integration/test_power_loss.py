"""Power loss: SQLite rolls back batches that a graph snapshot already holds.

Batches commit with ``synchronous=NORMAL``, so after an OS crash the last ones may be gone while a
snapshot written after them survived. Simulated here by restoring the SQLite file to its state
before a batch while keeping the newer snapshot: the store must notice, rebuild its graph from
SQLite, and never answer with a vector SQLite does not hold, even once labels are handed out again.
"""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np

from clipsearch.stores import ImageRecord, WriteBatch, open_store
from tests.contract.test_store_contract import STAMP, vecs

DB_NAME = "records.sqlite"  # spelled out: this test also runs against the first release


def rec(path: str) -> ImageRecord:
    return ImageRecord(path, 100, 1_600_000_000 * 10**9, f"fp-{path}", 640, 480)


def write_and_save(folder, batch: WriteBatch) -> None:
    store = open_store(folder, STAMP, create=True)
    try:
        store.write(batch)
        store.save()
    finally:
        store.close()


def labels_of(folder) -> dict[str, int]:
    with sqlite3.connect(folder / DB_NAME) as db:
        return {bytes(p).decode(): label for p, label in db.execute("SELECT path, label FROM images")}


def test_a_snapshot_ahead_of_sqlite_is_ignored_and_labels_handed_out_again_stay_right(tmp_path):
    folder, saved = tmp_path / "idx", tmp_path / "before"
    first, lost, later = vecs(20, seed=1), vecs(10, seed=2), vecs(10, seed=3)
    write_and_save(folder, WriteBatch(put=[(rec(f"/a/{i}.jpg"), first[i]) for i in range(20)]))
    saved.mkdir()
    for path in folder.glob(DB_NAME + "*"):
        shutil.copy2(path, saved / path.name)
    # The batch the power loss takes away: new photos and a deletion, snapshotted.
    write_and_save(folder, WriteBatch(put=[(rec(f"/b/{i}.jpg"), lost[i]) for i in range(10)],
                                      delete=["/a/0.jpg"]))
    assert (folder / "vectors-2.hnsw").exists()
    for path in folder.glob(DB_NAME + "*"):
        path.unlink()
    for path in saved.iterdir():
        shutil.copy2(path, folder / path.name)

    reader = open_store(folder, STAMP)  # a reader first: it must not trust the snapshot either
    try:
        assert reader.count() == 20 and reader.check() == []
        for i in range(20):
            assert reader.search(first[i], 1)[0][0].path == f"/a/{i}.jpg"
        for vector in lost:  # what SQLite lost is gone from search too: only /a photos come back
            assert all(r.path.startswith("/a/") for r, _ in reader.search(vector, 25))
    finally:
        reader.close()

    # The next run hands out labels 20..29 again, to other photos, and generation 2 again: the
    # stale vectors-2.hnsw must not pass for a snapshot of it, even before a new one is saved.
    writer = open_store(folder, STAMP, create=True)
    try:
        writer.write(WriteBatch(put=[(rec(f"/c/{i}.jpg"), later[i]) for i in range(10)]))
        assert writer.check() == []
    finally:
        writer.close()
    assert sorted(v for k, v in labels_of(folder).items() if k.startswith("/c/")) == list(range(20, 30))
    assert not (folder / "vectors-2.hnsw").exists()
    for save in (False, True):
        store = open_store(folder, STAMP, create=save)
        try:
            check_after_new_labels(store, first, lost, later)
            if save:
                store.save()
        finally:
            store.close()
    store = open_store(folder, STAMP)
    try:
        assert (folder / "vectors-2.hnsw").exists()
        check_after_new_labels(store, first, lost, later)
    finally:
        store.close()


def check_after_new_labels(store, first, lost, later) -> None:
    assert store.count() == 30 and store.check() == []
    for i in range(10):
        hits = store.search(later[i], 1)
        assert hits[0][0].path == f"/c/{i}.jpg" and hits[0][1] > 0.999
    for i in range(20):
        assert store.search(first[i], 1)[0][0].path == f"/a/{i}.jpg"
    for vector in lost:  # no old vector answers under a label that now names another photo
        hits = store.search(vector, 1)
        assert hits[0][1] < 0.999 and np.isfinite(hits[0][1])


def test_a_snapshot_is_only_written_after_sqlite_made_its_batches_durable(tmp_path, monkeypatch):
    """The order that makes the above impossible: SQLite's WAL is synced before a snapshot is."""
    folder = tmp_path / "idx"
    store = open_store(folder, STAMP, create=True)
    events = []
    records = store._records
    real_execute = records._db.execute

    class Spy:
        def __getattr__(self, name):
            return getattr(real_db, name)

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA synchronous"):
                events.append(sql)
            return real_execute(sql, *args)

        def __enter__(self):
            return real_db.__enter__()

        def __exit__(self, *exc):
            return real_db.__exit__(*exc)

    real_db = records._db
    records._db = Spy()
    from clipsearch.stores.graph import HnswGraph

    real_save = HnswGraph.save
    monkeypatch.setattr(HnswGraph, "save", lambda self, final, temp: (events.append("snapshot"),
                                                                         real_save(self, final, temp)))
    try:
        store.write(WriteBatch(put=[(rec("/a/1.jpg"), vecs(1)[0])]))
        store.save()
    finally:
        records._db = real_db
        store.close()
    assert events == ["PRAGMA synchronous=FULL", "PRAGMA synchronous=NORMAL", "snapshot"]


def test_a_torn_snapshot_is_written_anew_by_the_next_writer_even_when_nothing_changed(tmp_path, caplog):
    """A snapshot that a disk fault tore (the only one, of SQLite's own generation) was ignored and
    the graph rebuilt from SQLite at every open, with a warning each time, for as long as no photo
    changed: the writer saw its graph at the snapshot's generation and saved nothing."""
    folder = tmp_path / "idx"
    vectors = vecs(40, seed=4)
    write_and_save(folder, WriteBatch(put=[(rec(f"/a/{i}.jpg"), vectors[i]) for i in range(40)]))
    torn = folder / "vectors-1.hnsw"
    torn.write_bytes(torn.read_bytes()[:1000])
    write_and_save(folder, WriteBatch())  # a run that finds nothing to change
    caplog.clear()
    store = open_store(folder, STAMP)
    try:
        assert "unreadable snapshot" not in caplog.text  # a whole snapshot again, read as it is
        assert store.count() == 40 and store.check() == []
        for i in range(40):
            assert store.search(vectors[i], 1)[0][0].path == f"/a/{i}.jpg"
    finally:
        store.close()
