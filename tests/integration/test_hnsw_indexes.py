"""HnswStore's SQLite layout: rows fill their pages, date filters read no table rows, old folders upgrade."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from clipsearch.encoders.base import normalize
from clipsearch.errors import ModelMismatch
from clipsearch.stores import ImageRecord, SearchFilter, WriteBatch
from clipsearch.stores.hnsw import DB_NAME, HnswStore

DIM = 16
STAMP = {"model": "fake", "pretrained": None, "dim": DIM, "image_size": 32, "preprocess": {}}
YEAR_2021 = SearchFilter(date_from="2021-01-01", date_to="2021-12-31")


def fill(folder) -> np.ndarray:
    vectors = normalize(np.random.default_rng(0).standard_normal((30, DIM)))
    store = HnswStore.open(folder, STAMP, create=True)
    store.write(WriteBatch(put=[
        (ImageRecord(f"/p/{i}.jpg", 100, 10**18, f"fp{i}", 640, 480, f"20{20 + i // 10}-06-01T12:00:00"), vectors[i])
        for i in range(30)
    ]))
    store.save()
    store.close()
    return vectors


def index_names(folder) -> set[str]:
    with sqlite3.connect(folder / DB_NAME) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def date_filter_plan(store: HnswStore) -> str:
    sql, args = store._where_sql(YEAR_2021, "label")
    return store._records.explain(sql, args)


def test_a_date_filter_is_answered_from_a_covering_index(tmp_path):
    vectors = fill(tmp_path)
    store = HnswStore.open(tmp_path, STAMP)
    try:
        assert "COVERING INDEX images_date" in date_filter_plan(store)
        hits = store.search(vectors[15], 30, where=YEAR_2021)
        assert sorted(int(r.path[3:-4]) for r, _ in hits) == list(range(10, 20))
    finally:
        store.close()


def test_an_index_made_before_the_covering_index_still_reads_and_upgrades_on_write(tmp_path):
    vectors = fill(tmp_path)
    with sqlite3.connect(tmp_path / DB_NAME) as db:  # the layout indexes had before
        db.executescript("DROP INDEX images_date; CREATE INDEX images_sort_date ON images (sort_date);"
                         "DELETE FROM meta WHERE key IN ('revision', 'purged_gen');")

    reader = HnswStore.open(tmp_path, STAMP)
    try:
        assert len(reader.search(vectors[15], 30, where=YEAR_2021)) == 10
    finally:
        reader.close()
    assert "images_date" not in index_names(tmp_path)  # reading changes nothing
    with pytest.raises(ModelMismatch):
        HnswStore.open(tmp_path, {**STAMP, "model": "another"}, create=True)
    assert "images_date" not in index_names(tmp_path)  # nor does a refused writer

    writer = HnswStore.open(tmp_path, STAMP, create=True)
    try:
        assert "COVERING INDEX images_date" in date_filter_plan(writer)
        assert len(writer.search(vectors[15], 30, where=YEAR_2021)) == 10
    finally:
        writer.close()
    names = index_names(tmp_path)
    assert "images_date" in names and "images_sort_date" not in names


def test_rows_with_512_d_vectors_fill_their_pages(tmp_path):
    """A 2 KB vector per row must not leave every page half empty (two never fit 4 KB pages)."""
    dim, n = 512, 700
    stamp = {**STAMP, "dim": dim}
    vectors = normalize(np.random.default_rng(1).standard_normal((n, dim)))
    store = HnswStore.open(tmp_path, stamp, create=True)
    store.write(WriteBatch(put=[
        (ImageRecord(f"/photos/2024/IMG_{i:05d}.jpg", 3_000_000, 10**18, f"{i:032x}", 4000, 3000, None), vectors[i])
        for i in range(n)
    ]))
    store.save()
    store.close()  # the last connection folds the write-ahead log into the database file
    assert (tmp_path / DB_NAME).stat().st_size < 1.4 * n * dim * 4
