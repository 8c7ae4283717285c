"""The indexer loads the model only for a file whose content the index lacks.

A run that finds only moved, touched or copied photos (a reorganised library, a cron run after a
backup restored the files' times) reuses every vector: it must not spend seconds importing torch
and loading the model for nothing. A fake encoder here records each use of what the real one
loads its model for, and from which thread.
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import closing

import numpy as np
import pytest

from clipsearch import SearchEngine, Settings
from clipsearch.errors import ModelMismatch
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


class WatchedEncoder(FakeEncoder):
    """A FakeEncoder that notes (what, thread) each time its model would be needed."""

    def __init__(self, name: str = "fake") -> None:
        super().__init__(name=name)
        self.used: list[tuple[str, str]] = []

    def _note(self, what: str) -> None:
        self.used.append((what, threading.current_thread().name))

    @property
    def stamp(self):
        self._note("stamp")
        return FakeEncoder.stamp.fget(self)

    @property
    def input_size(self) -> int:
        self._note("input_size")
        return FakeEncoder.input_size.fget(self)

    @property
    def batch_size(self) -> int:
        self._note("batch_size")
        return FakeEncoder.batch_size.fget(self)

    def prepare(self, image):
        self._note("prepare")
        return super().prepare(image)

    def embed_prepared(self, batch):
        self._note("embed_prepared")
        return super().embed_prepared(batch)


def engine_on(index, encoder: WatchedEncoder) -> SearchEngine:
    settings = Settings(index_dir=index, cache_dir=index.parent / "cache")
    return SearchEngine(encoder, open_store(index, FakeEncoder().stamp, create=True), settings=settings)


@pytest.fixture
def library(tmp_path):
    """JPEGs in two folders, and 40 BMPs of one size (a file rewritten with new pixels keeps it)."""
    root = tmp_path / "photos"
    for i in range(12):
        save(photo(160, 120, seed=i), root / ("a" if i < 6 else "b") / f"p{i:02d}.jpg", quality=90)
    (root / "scans").mkdir()
    for i in range(40):
        photo(64, 48, seed=100 + i).save(root / "scans" / f"s{i:02d}.bmp")
    return root


@pytest.fixture
def indexed(tmp_path, library):
    """The library indexed; then a fresh encoder (as a new process has) over the same index."""
    with closing(engine_on(tmp_path / "index", WatchedEncoder())) as first:
        first.index_folder(library)
    engine = engine_on(tmp_path / "index", WatchedEncoder())
    yield engine
    engine.close()


def test_moved_touched_and_copied_photos_never_need_the_model(indexed, library):
    vectors = {p.name: indexed.store.vector(str(p)) for p in (library / "a").iterdir()}
    os.rename(library / "a", library / "moved")
    os.utime(library / "b" / "p07.jpg", ns=(10**18, 10**18))  # touched: same bytes, a new time
    shutil.copy(library / "b" / "p08.jpg", library / "b" / "copy.jpg")
    (library / "b" / "p09.jpg").unlink()
    report = indexed.index_folder(library)
    assert (report.moved, report.updated, report.added, report.reused, report.removed, report.embedded) == \
        (6, 1, 1, 1, 1, 0)
    assert indexed.encoder.used == []
    for name, vector in vectors.items():
        np.testing.assert_array_equal(indexed.store.vector(str(library / "moved" / name)), vector)
    assert indexed.store.check() == []


def test_new_content_in_a_known_size_loads_the_model_then_the_threads_decode(indexed, library, tmp_path):
    for i in range(40):  # new pixels, the same size: every file might have been a move or a copy
        photo(64, 48, seed=500 + i).save(library / "scans" / f"s{i:02d}.bmp")
    os.rename(library / "a", library / "moved")
    report = indexed.index_folder(library)
    assert (report.updated, report.embedded, report.moved) == (40, 40, 6)
    used = indexed.encoder.used
    assert used[0] == ("stamp", "MainThread")  # checked against the index before any decoding
    decoded_by = {thread for what, thread in used if what == "prepare"}
    assert decoded_by == {"MainThread", "decode"}  # the files hashed before it loaded, then the threads
    with closing(engine_on(tmp_path / "fresh", WatchedEncoder())) as fresh:
        fresh.index_folder(library)
        for path in (library / "scans").iterdir():
            np.testing.assert_allclose(indexed.store.vector(str(path)), fresh.store.vector(str(path)), atol=1e-6)


def test_a_file_of_a_new_size_loads_the_model_before_the_threads_start(indexed, library):
    os.rename(library / "a", library / "moved")
    save(photo(200, 150, seed=77), library / "b" / "new.jpg", quality=80)
    report = indexed.index_folder(library)
    assert (report.added, report.embedded, report.moved) == (1, 1, 6)
    assert indexed.encoder.used[0] == ("stamp", "MainThread")
    assert {thread for what, thread in indexed.encoder.used if what == "prepare"} == {"decode"}


def test_another_model_is_refused_before_it_embeds_a_file_it_would_have_waited_for(tmp_path, library):
    with closing(engine_on(tmp_path / "index", WatchedEncoder())) as first:
        first.index_folder(library)
    photo(64, 48, seed=999).save(library / "scans" / "s00.bmp")
    with closing(engine_on(tmp_path / "index", WatchedEncoder(name="another"))) as other:
        with pytest.raises(ModelMismatch):
            other.index_folder(library)
        assert not [what for what, _ in other.encoder.used if what == "embed_prepared"]
