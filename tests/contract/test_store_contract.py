"""The VectorStore contract: every store implementation must pass these."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from clipsearch.encoders.base import normalize
from clipsearch.errors import IndexNotFound, ModelMismatch
from clipsearch.stores import ImageRecord, SearchFilter, VectorStore, WriteBatch, open_store

DIM = 16
STAMP = {"model": "fake", "pretrained": None, "dim": DIM, "image_size": 32, "preprocess": {}}
_NO_MILVUS = importlib.util.find_spec("pymilvus") is None or importlib.util.find_spec("milvus_lite") is None
STORE_KINDS = [
    "hnsw",
    pytest.param("milvus", marks=pytest.mark.skipif(
        _NO_MILVUS, reason="pymilvus and milvus-lite are not installed (pip install -r requirements-scale.txt)")),
]


def rec(path: str, fp: str | None = None, date: str | None = None, mtime_ns: int = 1_600_000_000 * 10**9):
    return ImageRecord(path, 100, mtime_ns, fp or f"fp-{path!r}", 640, 480, date)


def vecs(n: int, seed: int = 0) -> np.ndarray:
    return normalize(np.random.default_rng(seed).standard_normal((n, DIM)))


@pytest.fixture(params=STORE_KINDS)
def make_store(request, tmp_path):
    stores = []

    def make(create: bool = True, stamp=STAMP):
        store = open_store(tmp_path / "idx", stamp, create=create, kind=request.param)
        stores.append(store)
        return store

    make.kind = request.param
    yield make
    for store in stores:
        store.close()
    if request.param == "milvus":  # milvus-lite serves each file from threads in this process
        from milvus_lite import server_manager_instance

        server_manager_instance.release_server(str(tmp_path / "idx" / "milvus.db"))


def test_every_store_declares_the_whole_protocol(make_store):
    store = make_store()
    assert isinstance(store, VectorStore)  # every method the engine and the pipeline call
    store.set_folders(["/p"])
    assert store.file_states() == {} and store.info()["folders"] == ["/p"] and store.refresh() is False


def test_the_folders_left_out_are_kept_beside_the_covered_ones(make_store):
    store = make_store()
    assert store.info()["left_out"] == []  # a new index, or one of an earlier release
    store.set_folders(["/p"], ["/p/screenshots", "/p/old"])
    assert store.info()["folders"] == ["/p"] and store.info()["left_out"] == ["/p/old", "/p/screenshots"]
    store.set_folders(["/p"])
    assert store.info()["left_out"] == []


def test_a_run_that_changes_nothing_is_still_recorded_as_a_check(make_store):
    store = make_store()
    assert store.info()["last_indexed"] is None and store.info()["last_checked"] is None
    store.write(WriteBatch(put=[(rec("/p/a.jpg"), vecs(1)[0])]))
    store.set_folders(["/p"])  # what the end of every indexing run does
    first = store.info()
    assert first["last_checked"] >= first["last_indexed"] > 0
    time.sleep(0.05)
    store.set_folders(["/p"])  # a nightly run that found nothing new
    again = store.info()
    assert again["last_indexed"] == first["last_indexed"] and again["last_checked"] > first["last_checked"]


def test_missing_index_is_index_not_found(make_store):
    with pytest.raises(IndexNotFound):
        make_store(create=False)


def test_put_get_search_exact_top_hit(make_store):
    store = make_store()
    vectors = vecs(50)
    store.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(50)]))
    assert store.count() == 50
    assert store.get("/p/7.jpg").width == 640
    np.testing.assert_allclose(store.vector("/p/7.jpg"), vectors[7], atol=1e-6)
    hits = store.search(vectors[7], 5)
    assert hits[0][0].path == "/p/7.jpg"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    exact = np.argsort(-(vectors @ vectors[7]))[:5]
    assert [h[0].path for h in hits] == [f"/p/{i}.jpg" for i in exact]


def test_reopen_keeps_everything_and_stamp_mismatch_is_refused(make_store, tmp_path):
    store = make_store()
    vectors = vecs(20)
    store.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(20)]))
    store.save()
    store.write(WriteBatch(put=[(rec("/p/late.jpg"), vectors[0])]))  # after the snapshot
    store.close()
    again = make_store(create=False)
    assert again.count() == 21
    assert {h[0].path for h in again.search(vectors[0], 2)} == {"/p/0.jpg", "/p/late.jpg"}
    with pytest.raises(ModelMismatch):
        make_store(create=False, stamp={**STAMP, "model": "other"})


def test_delete_rename_update(make_store):
    store = make_store()
    vectors = vecs(10)
    store.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(10)]))
    store.write(WriteBatch(delete=["/p/3.jpg"], rename=[("/p/4.jpg", rec("/q/four.jpg", fp=rec("/p/4.jpg").fingerprint))],
                           update=[rec("/p/5.jpg", mtime_ns=42)]))
    assert store.get("/p/3.jpg") is None and store.get("/p/4.jpg") is None
    assert store.get("/q/four.jpg") is not None
    assert store.get("/p/5.jpg").mtime_ns == 42
    paths = [h[0].path for h in store.search(vectors[3], 10)]
    assert "/p/3.jpg" not in paths and len(paths) == 9
    assert store.search(vectors[4], 1)[0][0].path == "/q/four.jpg"


def test_replacing_a_vector_and_fingerprint_lookup(make_store):
    store = make_store()
    a, b = vecs(2)
    store.write(WriteBatch(put=[(rec("/p/x.jpg", fp="one"), a)]))
    store.write(WriteBatch(put=[(rec("/p/x.jpg", fp="two"), b)]))
    assert store.count() == 1
    assert store.search(b, 1)[0][0].path == "/p/x.jpg"
    found = store.vectors_by_fingerprint(["one", "two"])
    assert set(found) == {"two"}


def test_filters_folder_and_date(make_store):
    store = make_store()
    vectors = vecs(30)
    batch = WriteBatch()
    for i in range(30):
        folder = "/photos/2020" if i < 10 else "/photos/2021/summer" if i < 20 else "/other"
        batch.put.append((rec(f"{folder}/{i}.jpg", date=f"20{20 + i // 10}-06-01T12:00:00"), vectors[i]))
    store.write(batch)
    hits = store.search(vectors[25], 30, where=SearchFilter(folder="/photos"))
    assert len(hits) == 20 and all(h[0].path.startswith("/photos/") for h in hits)
    hits = store.search(vectors[0], 30, where=SearchFilter(folder="/photos/2021"))
    assert {h[0].path.split("/")[3] for h in hits} == {"summer"}
    hits = store.search(vectors[0], 30, where=SearchFilter(date_from="2021-01-01", date_to="2021-12-31"))
    assert len(hits) == 10 and all("2021" in h[0].date_taken for h in hits)
    # a folder that is a prefix of another name is not its parent
    assert store.search(vectors[0], 5, where=SearchFilter(folder="/photo")) == []


def test_many_writes_grow_capacity_and_compaction_keeps_results(make_store):
    store = make_store()
    vectors = vecs(3000, seed=1)
    for start in range(0, 3000, 500):
        store.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(start, start + 500)]))
    store.write(WriteBatch(delete=[f"/p/{i}.jpg" for i in range(0, 3000, 2)]))
    if make_store.kind == "hnsw":
        assert store.deleted_slots() == 1500  # the graph still holds the deleted vectors
    store.save()  # more than a third deleted: compacts
    assert store.count() == 1500
    for i in (1, 999, 2999):
        assert store.search(vectors[i], 1)[0][0].path == f"/p/{i}.jpg"
    hits = store.search(vectors[2], 100)  # a deleted photo's own vector finds only live ones
    assert len(hits) == 100 and all(int(h[0].path[3:-4]) % 2 == 1 for h in hits)
    assert store.check() == []
    if make_store.kind == "hnsw":  # compacted: the graph was rebuilt with the 1500 live vectors only
        assert store.deleted_slots() == 0 and store._graph.slots == 1500
        store.close()
        again = make_store(create=False)
        assert again._graph.slots == 1500 and again.deleted_slots() == 0 and again.check() == []
        assert [p.name for p in again.folder.glob("vectors-*.hnsw")] == [f"vectors-{again.generation()}.hnsw"]
        assert again.search(vectors[999], 1)[0][0].path == "/p/999.jpg"


def test_text_like_queries_match_exact_search(make_store):
    store = make_store()
    vectors = vecs(2000, seed=3)
    store.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(2000)]))
    query = normalize(np.random.default_rng(9).standard_normal((1, DIM)))[0]
    hits = store.search(query, 10, text_like=True)
    exact = np.argsort(-(vectors @ query))[:10]
    assert [h[0].path for h in hits] == [f"/p/{i}.jpg" for i in exact]


def test_paths_with_odd_bytes_round_trip(make_store):
    store = make_store()
    weird = ["/p/with space.jpg", "/p/ünïcödé.jpg", "/p/new\nline.jpg", "/p/bad-\udcff-byte.jpg"]
    vectors = vecs(len(weird))
    store.write(WriteBatch(put=[(rec(p), v) for p, v in zip(weird, vectors)]))
    assert sorted(r.path for r in store.records()) == sorted(weird)
    assert store.search(vectors[3], 1)[0][0].path == weird[3]
