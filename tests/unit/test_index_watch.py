"""A reader notices its index folder deleted or replaced (``clipsearch.index_watch``), cheaply."""

from __future__ import annotations

import shutil

import pytest

import clipsearch.index_watch as index_watch
from clipsearch import IndexNotFound, SearchEngine, Settings
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


def test_the_folder_is_looked_at_once_a_second_at_most(tmp_path, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(index_watch.time, "monotonic", lambda: now[0])
    (tmp_path / "records.sqlite").write_bytes(b"")
    watch = index_watch.IndexWatch(tmp_path)
    assert watch.same() and not watch.due()  # just opened
    now[0] += 0.5
    assert not watch.due()
    now[0] += 0.6
    assert watch.due() and not watch.due()  # once, then not before the next second
    (tmp_path / "records.sqlite").unlink()
    assert not watch.same() and watch.identity() is None


def test_a_reader_says_its_index_is_gone_then_searches_the_one_built_in_its_place(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    for i in range(4):
        save(photo(seed=i), tmp_path / "photos" / f"p{i}.jpg")

    def build() -> None:
        writer = SearchEngine(FakeEncoder(), open_store(settings.index_dir, FakeEncoder().stamp, create=True),
                              settings=settings)
        writer.index_folder(tmp_path / "photos")
        writer.close()

    build()
    reader = SearchEngine(FakeEncoder(), open_store(settings.index_dir, FakeEncoder().stamp), settings=settings,
                          writable=False)
    reader._watch.every = 0
    try:
        assert len(reader.search_text("red", k=10, cutoff=None)) == 4
        shutil.rmtree(settings.index_dir)
        assert reader.reload_if_changed() is False
        for _ in range(2):  # said each time, not served from the file still open
            with pytest.raises(IndexNotFound, match="is gone: it was deleted or moved while this program ran"):
                reader.search_text("red", k=10)
        assert reader.record(tmp_path / "photos" / "p0.jpg") is None
        build()
        assert reader.reload_if_changed() is True
        assert len(reader.search_text("red", k=10, cutoff=None)) == 4 and reader.info()["count"] == 4
    finally:
        reader.close()
