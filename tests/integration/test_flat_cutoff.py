"""A flat cut-off (a number) filters the plain ranking everywhere, as the command line's
``clipsearch search --min-score 0.45`` does: REST's ``min_score``, the call API's and the MCP tool's,
and the page's score slider. The automatic cut-off lists a composite query's strong results first
(k in all); a number filtering that list missed photos over the number outside those k."""

from __future__ import annotations

import ast
import asyncio
import json

import httpx
import pytest
from gradio_client import Client

from cli.search import main as cli_main
from tests.integration.test_rest_mcp import Served, _mcp_session
from webui.handlers import SORT_RELEVANCE

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder

K = 40
COMPOSITE = "a red circle + a blue square"  # on the sample library, photos past the automatic list's k rank in its top k
QUERIES = (COMPOSITE, "a red circle - a blue square", "a red circle")


@pytest.fixture(scope="module")
def cut(demo_engine) -> float:
    """A flat cut-off at which the case that was wrong arises on this machine's scores: a photo of
    the plain ranking's k over it that the automatic list's k leaves out. It was 0.45, which that
    photo's score passed by less than 0.001 with one CPU's arithmetic and missed with another's;
    now it lies halfway between that photo's score and the next one down, so no route's sums can
    put a photo on the other side of it."""
    ranking = demo_engine.search(COMPOSITE, k=K, cutoff=None)
    listed = {h.path for h in demo_engine.search_text(COMPOSITE, k=K)}
    for above, below in zip(ranking, ranking[1:]):
        if above.path not in listed and above.score - below.score > 1e-3:
            return (above.score + below.score) / 2
    raise AssertionError("the automatic list's k holds the plain ranking's: the case this module checks is gone")


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


def cli_listed(capsys, settings, query: str, cut: str, server: str | None = None) -> list[str]:
    """The paths ``clipsearch search QUERY --min-score CUT -k K --json`` prints (``--server URL``: asked of it)."""
    capsys.readouterr()
    where = ["--server", server] if server else ["--index", str(settings.index_dir)]
    assert cli_main(["search", query, *where, "-k", str(K), "--min-score", cut, "--json", "--no-fold"]) == 0
    return [hit["path"] for hit in json.loads(capsys.readouterr().out)]


@pytest.mark.parametrize("query", QUERIES)
def test_a_flat_min_score_lists_what_the_command_line_lists(served, demo_engine, capsys, query, cut):
    want = cli_listed(capsys, demo_engine.settings, query, str(cut))
    assert want and all(h.score >= cut for h in demo_engine.search_text(query, k=K) if h.path in want)
    if query == COMPOSITE:  # the case that was wrong: over the number, outside the automatic list's k
        auto = [h.path for h in demo_engine.search_text(query, k=K) if h.score >= cut]
        assert set(auto) < set(want), (auto, want)

    assert cli_listed(capsys, demo_engine.settings, query, str(cut), server=served.url) == want
    rest = httpx.get(served.url + "api/search", params={"q": query, "k": K, "min_score": cut}, timeout=60).json()
    assert [r["file"] for r in rest["results"]] == want

    client = Client(served.url, verbose=False)
    try:
        called = client.predict(query, K, cut, api_name="/search_text")
        everything = client.predict(query, K, 0.0, api_name="/search_text")
    finally:
        client.close()
    assert [r["file"] for r in called] == want
    assert len(everything) == K  # 0: all k, as before

    async def work(session):
        return await session.call_tool("search_photos_by_text", {"text": query, "k": K, "min_score": cut})

    by_tool = asyncio.run(_mcp_session(served.url, work=work))
    assert not by_tool.isError, by_tool.content
    assert [r["file"] for r in ast.literal_eval(by_tool.content[0].text)] == want


def test_the_pages_score_slider_filters_the_plain_ranking(served, demo_engine, capsys, cut):
    handlers = served.demo.handlers
    want = cli_listed(capsys, demo_engine.settings, COMPOSITE, str(cut))
    _, results, shown, status, _ = handlers.search(COMPOSITE, None, K, cut, SORT_RELEVANCE, "", "", "")
    assert [r["path"] for r in shown] == want, status
    # The slider moved after the search: back to 0, the automatic cut-off's list (strong first, k in
    # all); up again, the ranking over the number.
    _, shown_all, _ = handlers.refilter(results, 0.0, SORT_RELEVANCE)
    assert [r["path"] for r in shown_all] == [h.path for h in demo_engine.search_text(COMPOSITE, k=K)]
    _, shown_again, status = handlers.refilter(results, cut, SORT_RELEVANCE)
    assert [r["path"] for r in shown_again] == want
    assert status == f"{len(want)} of {K} results score {cut:.2f} or more"
    # Searched with the slider at 0, then moved up: the same.
    _, results_first, shown_first, _, _ = handlers.search(COMPOSITE, None, K, 0.0, SORT_RELEVANCE, "", "", "")
    assert [r["path"] for r in shown_first] == [r["path"] for r in shown_all]
    _, shown_later, _ = handlers.refilter(results_first, cut, SORT_RELEVANCE)
    assert [r["path"] for r in shown_later] == want


def test_min_score_0_lists_the_plain_ranking_asked_of_a_server_as_here(served, demo_engine, capsys, cut):
    """`clipsearch search --min-score 0 "a + b"` lists the plain ranking's k; asked of a server
    (--server) it listed the automatic cut-off's list (strong first, then the rest), REST's min_score=0.
    REST's ranked=1 asks for the plain ranking, and --server sends it; min_score=0 alone keeps its meaning."""
    want = cli_listed(capsys, demo_engine.settings, COMPOSITE, "0")
    assert want == [h.path for h in demo_engine.search(COMPOSITE, k=K, cutoff=None)]
    automatic = [h.path for h in demo_engine.search_text(COMPOSITE, k=K)]
    assert want != automatic  # the case that differed: the two orders of a composite query

    assert cli_listed(capsys, demo_engine.settings, COMPOSITE, "0", server=served.url) == want
    with httpx.Client(base_url=served.url, timeout=60) as http:
        def listed(**params):
            answer = http.get("api/search", params={"q": COMPOSITE, "k": K, **params})
            assert answer.status_code == 200, answer.text
            return [r["file"] for r in answer.json()["results"]]

        assert listed(min_score=0, ranked=1) == listed(ranked="true") == want
        assert listed(min_score=0) == listed() == listed(ranked=0) == automatic  # as before, for existing callers
        assert listed(min_score=cut, ranked=1) == listed(min_score=cut)  # a flat cut-off: the plain ranking either way
        strong = listed(min_score="auto", ranked=1)  # the strong ones of the plain ranking, in its order
        assert strong == [path for path in want if path in set(listed(min_score="auto"))]
        wrong = http.get("api/search", params={"q": COMPOSITE, "ranked": "maybe"})
        assert wrong.status_code == 400 and "ranked is 1 or 0" in wrong.json()["error"]
