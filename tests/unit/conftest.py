"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from clipsearch import SearchEngine, Settings, cutoff
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


@pytest.fixture
def settings(tmp_path) -> Settings:
    """An index in ``tmp_path / "index"``, thumbnails in ``tmp_path / "cache"``."""
    return Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")


@pytest.fixture
def library(tmp_path):
    """Six photos, three in ``a/`` and three in ``b/`` under ``tmp_path / "photos"`` (a module that
    needs other photos defines its own ``library``, which pytest prefers)."""
    root = tmp_path / "photos"
    for i in range(6):
        save(photo(160, 120, seed=i), root / ("a" if i < 3 else "b") / f"p{i}.jpg", quality=90)
    return root


@pytest.fixture
def engine(settings):
    """A writable engine over an empty store in ``tmp_path / "index"``, with the fake encoder (a
    module that needs another defines its own ``engine``, which pytest prefers)."""
    encoder = FakeEncoder()
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
