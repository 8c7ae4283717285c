"""An index the indexer may not write (a read-only share or volume, a folder without write access):
one line that says so and why, exit 1, nothing changed (the OS's refusal of the lock file
simulated: the tests run as root, whom a ``chmod`` does not stop)."""

from __future__ import annotations

import errno
import os

import pytest

import clipsearch.lock
from clipsearch import Settings
from clipsearch.errors import StoreWriteError
from clipsearch.lock import IndexLock
from clipsearch.stores import open_store
from indexer.cli import main
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save

REFUSALS = {
    "read-only": (errno.EROFS, "read-only file system"),
    "no write access": (errno.EACCES, "permission denied (give write access to it, or use another index folder)"),
}


def refuse_the_lock(monkeypatch, code: int) -> None:
    """``open`` of the index's lock file fails as the OS fails it (``code``); other files open."""
    def refusing(path, *args, **kwargs):
        if os.fspath(path).endswith("index.lock"):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(clipsearch.lock, "open", refusing, raising=False)


@pytest.fixture
def indexed(tmp_path):
    """An index of two photos in ``photos/a`` (a fake model's), and the photos' folder."""
    root = tmp_path / "photos"
    for i in range(2):
        save(photo(160, 120, seed=i), root / "a" / f"p{i}.jpg", quality=90)
    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    from clipsearch import SearchEngine

    engine = SearchEngine(encoder, store, settings=settings)
    engine.index_folder(root)
    engine.close()
    return root, settings.index_dir


@pytest.mark.parametrize("refusal", REFUSALS, ids=list(REFUSALS))
def test_a_lock_file_the_os_refuses_is_a_write_error_that_says_why(tmp_path, monkeypatch, refusal):
    """``IndexLock.acquire`` let the OS's error out (a traceback in the indexer) for anything but a
    missing folder, a folder or a pipe in the lock's place."""
    code, why = REFUSALS[refusal]
    (tmp_path / "index").mkdir()
    refuse_the_lock(monkeypatch, code)
    with pytest.raises(StoreWriteError) as refused:
        IndexLock(tmp_path / "index").acquire()
    assert str(refused.value) == f"cannot write the index in {tmp_path / 'index'}: {why}"
    assert not clipsearch.lock.held_here(tmp_path / "index")


@pytest.mark.parametrize("refusal", REFUSALS, ids=list(REFUSALS))
@pytest.mark.parametrize("run", [["--remove", "{root}/a"], ["{root}"], []], ids=["--remove", "a folder", "no folder"])
def test_the_indexer_says_it_cannot_write_the_index_and_changes_nothing(indexed, monkeypatch, capsys, refusal, run):
    root, index = indexed
    before = {p.name: p.read_bytes() for p in index.iterdir() if p.is_file()}
    code, why = REFUSALS[refusal]
    refuse_the_lock(monkeypatch, code)
    assert main([arg.format(root=root) for arg in run] + ["--index", str(index)]) == 1
    out = capsys.readouterr()
    assert out.err == f"error: cannot write the index in {index}: {why}\n" and out.out == ""
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in index.iterdir() if p.is_file()} == before
    store = open_store(index)
    try:
        assert store.count() == 2 and store.info()["folders"] == [str(root)] and store.info()["left_out"] == []
    finally:
        store.close()
