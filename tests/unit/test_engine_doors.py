"""The engine as the one door: opening an index, what front ends ask it, and pluggable embedding."""

from __future__ import annotations

import os

import numpy as np
import pytest

from clipsearch import IndexLocked, IndexNotFound, ModelMismatch, ModelSpec, SearchEngine, Settings
from clipsearch.decoding import inspect_file
from clipsearch.lock import IndexLock
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder


def test_for_writing_without_create_refuses_a_missing_index_and_makes_nothing(settings):
    with pytest.raises(IndexNotFound):
        SearchEngine.for_writing(settings, create=False)
    assert not settings.index_dir.exists()


def test_for_writing_runs_the_index_model_when_asked_and_refuses_another(settings):
    open_store(settings.index_dir, FakeEncoder().stamp, create=True).close()
    asked = Settings(index_dir=settings.index_dir, model=ModelSpec("ViT-B-32", device="cpu", threads=1))
    engine = SearchEngine.for_writing(asked, use_index_model=True)
    try:
        spec = engine.settings.model
        assert (spec.name, spec.pretrained, spec.device, spec.threads) == ("fake", None, "cpu", 1)
    finally:
        engine.close()
    with pytest.raises(ModelMismatch, match="was built with model fake") as error:
        SearchEngine.for_writing(asked)
    assert "--" not in str(error.value)  # the library's words; front ends add their flags


def test_a_reader_engine_indexes_through_a_store_of_its_own(settings, library):
    encoder = FakeEncoder()
    open_store(settings.index_dir, encoder.stamp, create=True).close()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp), settings=settings,
                          writable=False)
    try:
        reading = engine.store
        report = engine.index_folder(library)
        assert report.added == 6
        # The writes went through a writer store of its own (the reader is read-only); the reader
        # caught up in place with what it committed (issue 11: no second store opened per batch).
        assert engine.store is reading and reading.count() == 6 and not reading._writable
        assert engine.info()["count"] == 6 and engine.folders() == [str(library)]
        assert sorted(os.path.basename(r.path) for r in engine.records(library / "a")) == ["p0.jpg", "p1.jpg", "p2.jpg"]
        record = engine.record(library / "b" / "p4.jpg")
        assert record is not None and (record.width, record.height) == (160, 120)
        assert engine.record(library / "nope.jpg") is None
        assert engine.remove_folder(library / "b") == 3 and engine.info()["count"] == 3
    finally:
        engine.close()


def test_indexing_takes_the_lock_for_readers_and_writers(settings, library):
    open_store(settings.index_dir, FakeEncoder().stamp, create=True).close()
    writer = SearchEngine.for_writing(settings, use_index_model=True)  # the model never loads here
    try:
        with IndexLock(settings.index_dir), pytest.raises(IndexLocked):
            writer.index_folder(library)
    finally:
        writer.close()


def test_a_new_index_is_claimed_before_its_model_loads(settings, library, monkeypatch):
    """A second first run, while the first loads its model and before the index exists, is
    refused at once (the first holds the lock), loads no model and makes nothing; the claim is
    let go when the model cannot load, and passes to the first write, which lets it go."""
    loaded = []
    monkeypatch.setattr("clipsearch.engine.load_encoder", lambda spec: loaded.append(spec) or FakeEncoder())
    with IndexLock(settings.index_dir), pytest.raises(IndexLocked, match="being updated by process"):
        SearchEngine.for_writing(settings)
    assert loaded == [] and os.listdir(settings.index_dir) == ["index.lock"]

    def cannot_load(spec):
        raise OSError("no weights")

    monkeypatch.setattr("clipsearch.engine.load_encoder", cannot_load)
    with pytest.raises(OSError):
        SearchEngine.for_writing(settings)
    fresh = Settings(index_dir=settings.index_dir.parent / "fresh")
    with pytest.raises(OSError):
        SearchEngine.for_writing(fresh)
    assert not fresh.index_dir.exists()  # the folder made for the lock goes too: no index left
    monkeypatch.setattr("clipsearch.engine.load_encoder", lambda spec: FakeEncoder())
    engine = SearchEngine.for_writing(settings)
    try:
        with pytest.raises(IndexLocked):  # claimed: a second writer is refused until the first write ends
            IndexLock(settings.index_dir).acquire()
        assert engine.index_folder(library).added == 6
        IndexLock(settings.index_dir).acquire().release()  # the first write let it go
    finally:
        engine.close()
    unused = SearchEngine.for_writing(Settings(index_dir=settings.index_dir.parent / "other"))
    unused.close()  # an engine that never wrote lets its claim go when closed
    IndexLock(settings.index_dir.parent / "other").acquire().release()


def test_a_lock_file_its_holder_removed_is_not_taken_for_the_lock(tmp_path, monkeypatch):
    """A lock file opened by a second writer just before its holder removed it (a new index given
    up: ``IndexLock.remove``) is no lock once the holder lets go: the second writer takes the file
    at the path, so a third is refused, instead of both holding a lock of their own."""
    import clipsearch.lock as lock

    first = IndexLock(tmp_path / "index").acquire()
    real, calls = lock.fcntl.flock, []

    def holder_gives_up_first(fd, operation):  # between the second writer's open and its flock
        if not calls:
            calls.append(fd)
            first.remove()
        return real(fd, operation)

    monkeypatch.setattr(lock.fcntl, "flock", holder_gives_up_first)
    second = IndexLock(tmp_path / "index").acquire()
    try:
        assert calls and (tmp_path / "index" / "index.lock").exists()
        with pytest.raises(IndexLocked):
            IndexLock(tmp_path / "index").acquire()
    finally:
        second.release()


class VectorsElsewhere:
    """A FileEmbedder that embeds the files itself (as the Ray one does on a cluster)."""

    def __init__(self, encoder: FakeEncoder) -> None:
        self.encoder = encoder
        self.files = 0

    def embed_files(self, files, reusable):
        for stat in files:
            self.files += 1
            item = inspect_file(stat, reusable, self.encoder, None)
            if item.prepared is not None:
                item.vector = self.encoder.embed_prepared([item.prepared])[0]
                item.prepared = None
            yield item


def test_an_embedder_is_a_parameter_of_the_one_indexing_path(settings, library):
    local, remote = FakeEncoder(), FakeEncoder()
    engine = SearchEngine(local, open_store(settings.index_dir, local.stamp, create=True), settings=settings)
    try:
        embedder = VectorsElsewhere(remote)
        report = engine.index_folder(library, embedder=embedder)
        assert (report.added, report.embedded, embedder.files) == (6, 6, 6)
        assert local.images_embedded == 0 and remote.images_embedded == 6
        path = library / "a" / "p0.jpg"
        np.testing.assert_allclose(engine.store.vector(str(path)), remote.embed_images([photo_of(path)])[0],
                                   atol=1e-6)
        (library / "a" / "p0.jpg").rename(library / "b" / "moved.jpg")
        again = engine.index_folder(library, embedder=embedder)
        assert (again.moved, again.embedded, again.unchanged) == (1, 0, 5)
    finally:
        engine.close()


def photo_of(path):
    from clipsearch.images import load_image

    return load_image(str(path), min_size=32).image


@pytest.mark.parametrize("in_the_way", ["folder", "fifo"])
def test_a_lock_file_that_is_no_file_is_said_plainly(settings, library, in_the_way):
    """An ``index.lock`` that is a folder or a named pipe (a restore or a sync that got it wrong)
    ended the indexer in a traceback: IsADirectoryError, or "File or stream is not seekable"."""
    from clipsearch import IndexUnusable

    open_store(settings.index_dir, FakeEncoder().stamp, create=True).close()
    lock = settings.index_dir / "index.lock"
    lock.unlink()
    lock.mkdir() if in_the_way == "folder" else os.mkfifo(lock)
    with pytest.raises(IndexUnusable, match=f"^cannot take the lock {lock}: it is not a file; remove it"):
        SearchEngine.for_writing(settings, use_index_model=True).index_folder(library)
    store = open_store(settings.index_dir)  # the index as it was, and searched
    assert store.count() == 0
    store.close()
