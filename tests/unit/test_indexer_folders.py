"""``python -m indexer FOLDER``: a FOLDER that is the index folder, or inside it, is a usage error;
an index folder inside the photo folder is a layout of its own (a fake encoder, a real store)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

import indexer.cli
from clipsearch import SearchEngine, Settings
from clipsearch.config import INDEX_ENV
from clipsearch.stores import open_store
from indexer.cli import main
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


@pytest.fixture
def library(tmp_path, monkeypatch):
    """Two photos in ``photos/``, and the engine ``main`` gets: its index in ``photos/clipsearch-index``."""
    root = tmp_path / "photos"
    for i in range(2):
        save(photo(160, 120, seed=i), root / f"p{i:02d}.jpg", quality=90)
    encoder = FakeEncoder()
    settings = Settings(index_dir=root / "clipsearch-index", cache_dir=tmp_path / "cache")
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    asked = []

    def for_writing(settings, **_):
        asked.append(settings.index_dir)
        return engine

    monkeypatch.setattr(indexer.cli, "SearchEngine", SimpleNamespace(for_writing=for_writing))
    monkeypatch.setattr(indexer.cli, "stop_on_signals", threading.Event)
    monkeypatch.setattr(engine, "close", lambda: None)  # main closes it; the test reads it after
    yield SimpleNamespace(root=root, index=settings.index_dir, engine=engine, asked=asked)
    SearchEngine.close(engine)


@pytest.mark.parametrize("named, said", [
    ("{index}", "{index} is the index folder, not a folder of photos: name your photos' folder"),
    ("{index}/", "{index} is the index folder, not a folder of photos"),
    ("{index}/saved-photos", "{index}/saved-photos is inside the index folder {index}: name a folder of your photos"),
    ("{through}", "{through} is the index folder, not a folder of photos"),
], ids=["the index folder", "with a slash", "a folder inside it", "through a symlink"])
def test_the_index_folder_named_as_a_photo_folder_is_a_usage_error_before_any_model(library, named, said, tmp_path,
                                                                                     capsys):
    """``python -m indexer FOLDER --index FOLDER`` recorded the index folder as a covered folder
    (and read its own files as photos): refused now, exit 2, with no engine (no model) made."""
    (library.index / "saved-photos").mkdir()
    (tmp_path / "through").symlink_to(library.index)
    where = {"index": library.index, "through": tmp_path / "through"}
    with pytest.raises(SystemExit) as stopped:
        main([named.format(**where), "--index", str(library.index), "-q"])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # the usage, then one line
    assert stopped.value.code == 2 and last.startswith(f"python -m indexer: error: {said.format(**where)}"), last
    assert library.asked == [] and library.engine.folders() == []


def test_the_index_folder_from_the_environment_is_refused_too(library, monkeypatch, capsys):
    monkeypatch.setenv(INDEX_ENV, str(library.index))
    with pytest.raises(SystemExit) as stopped:
        main([str(library.index), "-q"])
    assert stopped.value.code == 2 and "is the index folder" in capsys.readouterr().err
    assert library.asked == []


def test_an_index_folder_inside_the_photo_folder_is_indexed_as_before(library):
    """The supported layout: the photos' folder is covered, and the index's own files are no photos."""
    assert main([str(library.root), "--index", str(library.index), "-q"]) == 0
    assert library.asked == [library.index]
    assert library.engine.folders() == [str(library.root)] and library.engine.store.count() == 2
