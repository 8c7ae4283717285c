"""A reader (the web app) catches up with a writer in place, and frees what it replaces."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import weakref

from clipsearch.config import Settings
from clipsearch.engine import SearchEngine
from clipsearch.lock import IndexLock
from clipsearch.stores import WriteBatch, open_store
from tests.contract.test_store_contract import STAMP, rec, vecs
from tests.integration.conftest import REPO
from testsupport.fakes import FakeEncoder


def test_a_reader_applies_new_batches_to_the_graph_it_has(tmp_path):
    vectors = vecs(60, seed=1)
    writer = open_store(tmp_path, STAMP, create=True)
    writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(30)]))
    writer.save()
    reader = open_store(tmp_path, STAMP)
    try:
        graph = reader._graph
        writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(30, 60)],
                                delete=["/p/0.jpg"]))
        assert reader.stale() and reader.refresh() is True
        assert reader.refresh() is False and not reader.stale()
        assert reader._graph is graph  # in place: no snapshot load, no new store
        assert reader.count() == 59 and reader.check() == []
        assert all(reader.search(vectors[i], 1)[0][0].path == f"/p/{i}.jpg" for i in range(1, 60))
        assert "/p/0.jpg" not in {r.path for r, _ in reader.search(vectors[0], 60)}
    finally:
        reader.close()
        writer.close()


def test_after_a_compaction_a_reader_swaps_in_a_new_graph_and_frees_the_old(tmp_path):
    vectors = vecs(100, seed=2)
    writer = open_store(tmp_path, STAMP, create=True)
    writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(100)]))
    writer.save()
    reader = open_store(tmp_path, STAMP)
    try:
        old = weakref.ref(reader._graph)
        writer.write(WriteBatch(delete=[f"/p/{i}.jpg" for i in range(50)]))
        writer.save()  # half deleted: compacts, and drops the tombstones the reader would need
        assert writer.deleted_slots() == 0
        assert reader.refresh() is True
        gc.collect()
        assert old() is None  # the replaced graph is gone with its last user
        assert reader.deleted_slots() == 0 and reader.count() == 50 and reader.check() == []
        assert all(reader.search(vectors[i], 1)[0][0].path == f"/p/{i}.jpg" for i in range(50, 100))
    finally:
        reader.close()
        writer.close()


def test_searches_beside_refreshes_never_fail_nor_miss(tmp_path):
    vectors = vecs(400, seed=3)  # /p/0-49 stay throughout, /p/50-349 come and go
    writer = open_store(tmp_path, STAMP, create=True)
    writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(100)]))
    writer.save()
    reader = open_store(tmp_path, STAMP)
    errors, stop = [], threading.Event()

    def search_loop():
        while not stop.is_set():
            try:
                hits = reader.search(vectors[150], 5)
                assert len(hits) == 5
                assert reader.search(vectors[10], 1)[0][0].path == "/p/10.jpg"
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=search_loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for start in range(100, 400, 25):
            writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(start, start + 25)],
                                    delete=[f"/p/{i}.jpg" for i in range(start - 50, start - 25)]))
            if start % 100 == 0:
                writer.compact()  # a generation jump for the reader
            reader.refresh()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        assert errors == []
        reader.refresh()
        assert reader.check() == [] and reader.count() == 100
        assert all(reader.search(vectors[i], 1)[0][0].path == f"/p/{i}.jpg" for i in [*range(50), *range(350, 400)])
    finally:
        reader.close()
        writer.close()


def test_the_engine_catches_up_without_opening_another_store_and_closes_its_own(tmp_path):
    vectors = vecs(10, seed=4)
    writer = open_store(tmp_path, STAMP, create=True)
    store = open_store(tmp_path, STAMP)
    engine = SearchEngine(FakeEncoder(dim=16), store, settings=Settings(index_dir=tmp_path))
    writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(10)]))
    assert engine.reload_if_changed() is True and engine.reload_if_changed() is False
    assert engine.store is store and store.count() == 10 and store.check() == []
    engine.close()
    writer.close()
    assert store._graph is None  # released


def test_stale_temp_files_are_removed_when_this_process_holds_the_lock(tmp_path):
    """The web app's re-index opens the store under its own lock: the clean-up must still run."""
    open_store(tmp_path, STAMP, create=True).close()
    stale = tmp_path / ".vectors-7.hnsw.tmp"
    stale.write_bytes(b"half a snapshot")
    with IndexLock(tmp_path):
        open_store(tmp_path, STAMP, create=True).close()
    assert not stale.exists()


def test_stale_temp_files_stay_while_another_process_writes(tmp_path):
    open_store(tmp_path, STAMP, create=True).close()
    saving = tmp_path / ".vectors-7.hnsw.tmp"
    saving.write_bytes(b"a snapshot being saved")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from clipsearch.lock import IndexLock
        with IndexLock({str(tmp_path)!r}):
            print("locked", flush=True)
            sys.stdin.read()
    """)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        open_store(tmp_path, STAMP, create=True).close()
        assert saving.exists()
    finally:
        holder.stdin.close()
        holder.wait(30)
