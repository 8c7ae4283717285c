"""The hnswlib store keeps resolved records per label for one generation: never past a write."""

from __future__ import annotations

from clipsearch.stores import WriteBatch, open_store
from tests.contract.test_store_contract import STAMP, rec, vecs


def test_searches_see_deletes_renames_and_updates_made_after_they_cached_records(tmp_path):
    writer = open_store(tmp_path / "idx", STAMP, create=True)
    vectors = vecs(10)
    writer.write(WriteBatch(put=[(rec(f"/p/{i}.jpg"), vectors[i]) for i in range(10)]))
    reader = open_store(tmp_path / "idx", STAMP, create=False)
    try:
        for store in (writer, reader):  # both resolve all ten, and keep them
            assert len(store.search(vectors[3], 10)) == 10
        writer.write(WriteBatch(delete=["/p/3.jpg"],
                                rename=[("/p/4.jpg", rec("/q/four.jpg", fp=rec("/p/4.jpg").fingerprint))],
                                update=[rec("/p/5.jpg", mtime_ns=42)]))
        for store in (writer, reader):  # the reader has not refreshed: its graph still has /p/3.jpg
            hits = {r.path: r for r, _ in store.search(vectors[3], 10)}
            assert "/p/3.jpg" not in hits and "/p/4.jpg" not in hits
            assert hits["/p/5.jpg"].mtime_ns == 42
        assert writer.search(vectors[4], 1)[0][0].path == "/q/four.jpg"
        reader.refresh()
        assert reader.search(vectors[4], 1)[0][0].path == "/q/four.jpg"
    finally:
        reader.close()
        writer.close()
