"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from clipsearch import SearchEngine, Settings
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder


@pytest.fixture
def engine(tmp_path):
    """A writable engine over an empty store in ``tmp_path / "index"``, with the fake encoder (a
    module that needs another defines its own ``engine``, which pytest prefers)."""
    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    eng = SearchEngine(encoder, store, settings=settings)
    yield eng
    eng.close()
