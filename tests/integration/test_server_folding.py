"""Near-duplicates folded by the server: REST's fold=1 marks them, and `clipsearch search --server`
prints what a search in this process prints, folded or not (demo model, a library with copies)."""

from __future__ import annotations

import os

import httpx
import pytest

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo.near_copies import make_near_copy_library
from tests.integration.test_rest_mcp import Served

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder

QUERIES = ("a red circle", "a blue star", "a green square", "a yellow triangle", "a purple cross", "a white circle")


@pytest.fixture(scope="module")
def copies_served(tmp_path_factory, gradio_temp):
    root = tmp_path_factory.mktemp("folding")
    truth = make_near_copy_library(root / "photos", originals=36, seed=1)
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    assert engine.index_folder(root / "photos").added == len(truth)
    engine.close()
    server = Served.uploading_to(gradio_temp, settings)
    yield server
    server.close()


def test_fold_marks_each_near_duplicate_with_the_result_it_copies(copies_served):
    engine, marked_any = copies_served.engine, False
    for query in QUERIES:
        plain = httpx.get(copies_served.url + "api/search", params={"q": query, "k": 30}, timeout=60).json()
        answer = httpx.get(copies_served.url + "api/search", params={"q": query, "k": 30, "fold": "1"}, timeout=60)
        assert answer.status_code == 200, answer.text
        marked = answer.json()["results"]
        assert [r["file"] for r in marked] == [r["file"] for r in plain["results"]]  # the same list, in order
        assert not any("near_duplicate_of" in r for r in plain["results"])
        expected = {copy.path: head.path for head, copies in engine.fold(engine.search_text(query, k=30))
                    for copy in copies}
        assert {r["file"]: r["near_duplicate_of"] for r in marked if "near_duplicate_of" in r} == expected
        marked_any |= bool(expected)
    assert marked_any, "no query here has a near-duplicate among its results"
    refused = httpx.get(copies_served.url + "api/search", params={"q": "a dog", "fold": "maybe"}, timeout=60)
    assert refused.status_code == 400 and "fold is 1 or 0" in refused.json()["error"]


def test_the_rest_route_lists_the_groups_the_page_and_the_call_api_find(copies_served):
    """GET /api/duplicates: the groups `clipsearch duplicates` and `/duplicates` find, for curl and
    scripts (the REST route had no way to them), each photo with its thumbnail's URL."""
    engine, url = copies_served.engine, copies_served.url
    for bursts, asked in ((False, {}), (False, {"bursts": "0"}), (True, {"bursts": "1"}), (True, {"bursts": "yes"})):
        answer = httpx.get(url + "api/duplicates", params=asked, timeout=120)
        assert answer.status_code == 200, answer.text
        groups = answer.json()["groups"]
        assert [(g["kind"], g["paths"]) for g in groups] == [
            (g.kind, g.paths) for g in engine.duplicates(bursts=bursts).groups], asked
        assert groups and all([p["file"] for p in g["photos"]] == g["paths"] for g in groups)
    assert "burst" not in {g["kind"] for g in httpx.get(url + "api/duplicates", timeout=120).json()["groups"]}
    best = groups[0]["photos"][0]
    assert "path" not in best and best["exists"] is True and best["similarity"] == 1.0
    thumbnail = httpx.get(best["thumbnail"], timeout=60)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    refused = httpx.get(url + "api/duplicates", params={"bursts": "maybe"}, timeout=60)
    assert refused.status_code == 400 and "bursts is 1 or 0" in refused.json()["error"]


def test_a_best_copy_deleted_after_the_pass_is_named_last_and_missing(copies_served):
    """The app reuses its last pass while the index is unchanged, and reused what it said of each
    file then: a best copy deleted since stayed first, "exists": true (keep it, delete the rest:
    every real copy lost); put back, it stayed last and missing."""
    def group_of(path: str) -> dict:
        groups = httpx.get(copies_served.url + "api/duplicates", timeout=120).json()["groups"]
        return next(g for g in groups if path in g["paths"])

    first = httpx.get(copies_served.url + "api/duplicates", timeout=120).json()["groups"][0]
    best = first["paths"][0]
    os.replace(best, best + ".away")
    try:
        gone = group_of(best)
        assert gone["paths"][-1] == best and gone["photos"][-1]["exists"] is False
        assert gone["photos"][0]["exists"] is True and sorted(gone["paths"]) == sorted(first["paths"])
    finally:
        os.replace(best + ".away", best)
    assert group_of(best)["paths"] == first["paths"] and group_of(best)["photos"][0]["exists"] is True


def test_the_command_line_through_a_server_folds_as_it_does_here(copies_served, capsys):
    import cli.search

    index, folded = str(copies_served.engine.settings.index_dir), 0
    for query in QUERIES:
        for ask in (["-k", "30"], ["-k", "30", "--json"], ["-k", "30", "--min-score", "0"], ["-k", "30", "--no-fold"]):
            assert cli.search.main(["search", query, *ask, "--index", index]) == 0, (query, ask)
            here = capsys.readouterr()
            assert cli.search.main(["search", query, *ask, "--server", copies_served.url]) == 0, (query, ask)
            there = capsys.readouterr()
            assert (there.out, there.err) == (here.out, here.err) and here.out, (query, ask)
            folded += "folded under" in here.err or "near_duplicate_of" in here.out
    assert folded, "nothing folded: the folding went untested"
