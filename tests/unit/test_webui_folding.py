"""The web app folds near-duplicates under the result they copy ("+2 similar"), and Open similar
shows them all again (the page's own tests click through it; these need no browser)."""

from __future__ import annotations

import shutil

import pytest

from clipsearch import SearchEngine
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save
from webui.duplicates_view import open_similar
from webui.handlers import SORT_RELEVANCE, Handlers


@pytest.fixture
def copies(tmp_path):
    """Five photos, one of them twice more under other names."""
    root = tmp_path / "photos"
    for i in range(5):
        save(photo(320, 240, seed=i), root / f"p{i}.jpg", quality=90)
    for name in ("copy-a.jpg", "copy-b.jpg"):
        shutil.copy(root / "p2.jpg", root / name)
    return root


@pytest.fixture
def handlers(settings, copies):
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    engine.index_folder(copies)
    h = Handlers(engine, settings)
    yield h
    h.close()
    engine.close()


def test_copies_fold_under_one_result_and_open_similar_shows_them_all(handlers, copies):
    gallery, results, shown, _, _ = handlers.search("anything", None, 20, 0.0, SORT_RELEVANCE, "", "", "")
    assert len(results) == len(gallery) == 5  # seven photos, two folded away
    head = next(r for r in results if r["similar"])
    group = {head["path"], *(s["path"] for s in head["similar"])}
    assert group == {str(copies / n) for n in ("p2.jpg", "copy-a.jpg", "copy-b.jpg")}
    assert [c for _, c in gallery if "(+2 similar)" in c] == [gallery[results.index(head)][1]]
    opened, listed, status = open_similar(handlers, results, head["path"])
    assert len(opened) == 3 and {r["path"] for r in listed} == group
    assert status.endswith("and 2 near-duplicates")


@pytest.mark.parametrize("k", [1, 3, 5, 6])
def test_how_many_counts_the_results_shown_copies_folded_under_them(handlers, copies, k):
    """"How many" 10 showed 8 where two copies folded away: the page asks for more until ``k`` show."""
    gallery, results, _, _, _ = handlers.search("anything", None, k, 0.0, SORT_RELEVANCE, "", "", "")
    assert len(results) == len(gallery) == min(k, 5)  # seven photos, five once the copies fold
    names = [r["name"] for r in results] + [s["name"] for r in results for s in r["similar"]]
    assert len(names) == len(set(names))  # each photo once
    if k >= 5:
        assert sum(len(r["similar"]) for r in results) == 2
    assert len(handlers.api_search_text("anything", k)) == min(k, 7)  # the API lists every photo: no fold
