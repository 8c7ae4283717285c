"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from clipsearch import SearchEngine, Settings, cutoff
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


@pytest.fixture(params=["numpy", "compiled"])
def fitted_by(request, monkeypatch):
    """Every decision holds with both EMs: NumPy's, and the compiled one a server uses (the cut-off's
    tests use it for all of theirs: ``pytestmark = pytest.mark.usefixtures("fitted_by")``)."""
    monkeypatch.setattr(cutoff, "SHARED_FITS", cutoff.SHARED_FITS)  # put back after the test
    if request.param == "compiled":
        assert cutoff.use_compiled_fits()
    return request.param
