"""An empty answer says why on MCP as REST's ``note`` says it (webui/API.md): a folder the index does
not cover, a date range without a photo, no strong match, a flat ``min_score`` above every score.
The MCP tools answered a bare ``[]``, so an assistant could not tell "no such photo" from "wrong
folder"; the call API's scripts still read the bare list (``webui/api_answers.py``)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from gradio_client import Client

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo.render import make_sample_library
from tests.integration.test_rest_mcp import Served, _mcp_session

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("same_gradio_temp")]  # conftest.py: the server's uploads

RED = "a red circle"
NOTHING = "a dog on a skateboard"  # nothing the rendered shapes hold: no strong match
ELSEWHERE = "/nowhere/Pictures"


@pytest.fixture(scope="module")
def served(tmp_path_factory, gradio_temp):
    """(the served app, a photo of its library): 40 rendered pictures, the demo model."""
    root = tmp_path_factory.mktemp("notes")
    make_sample_library(root / "photos", n=40, seed=0)
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    engine.index_folder(root / "photos")
    photo = next(iter(engine.records())).path
    engine.close()
    server = Served.uploading_to(gradio_temp, settings)
    yield server, photo
    server.close()


def rest_note(server: Served, route: str, fields: dict) -> str | None:
    body = httpx.get(server.url + f"api/{route}", params={"k": 5, **fields}, timeout=120).json()
    assert body["results"] == [], body
    return body.get("note")


def called(server: Served, calls: list[tuple[str, dict]]) -> list[list[str]]:
    """The texts of each MCP tool call's answer."""
    async def work(session):
        return [[part.text for part in (await session.call_tool(tool, {"k": 5, **arguments})).content]
                for tool, arguments in calls]

    return asyncio.run(_mcp_session(server.url, work=work))


def test_an_mcp_tools_empty_answer_says_why_as_rest_does(served):
    server, photo = served
    searches = [{"folder": ELSEWHERE}, {"since": "2031"}, {"min_score": -1}, {"min_score": 0.99}]
    queries = [RED, RED, NOTHING, RED]
    said = [rest_note(server, "search", {"q": query, **fields}) for query, fields in zip(queries, searches, strict=True)]
    assert said[0].startswith(f"No results: the index holds no photo in {ELSEWHERE}: it covers ")
    assert said[1] == "No results: no indexed photo is in that folder and date range"
    assert said[2].startswith("No strong match (the best scored ")
    assert said[3].startswith("No result scores 0.99 or more (the best scored ")
    like = rest_note(server, "similar", {"file": photo, "since": "2031"})
    answers = called(server, [("search_photos_by_text", {"text": query, **fields})
                              for query, fields in zip(queries, searches, strict=True)]
                     + [("find_similar_photos", {"path": photo, "since": "2031"})])
    assert answers == [["[]", note] for note in [*said, like]], "the MCP tool answered a bare [] where REST says why"


def test_the_call_apis_empty_answer_stays_the_bare_list(served):
    """Scripts read the list (webui/API.md: "min_score -1 then returns an empty list")."""
    server, _ = served
    client = Client(server.url, verbose=False)
    try:
        assert client.predict(RED, 5, 0, ELSEWHERE, api_name="/search_text") == []
        assert client.predict(NOTHING, 5, -1, api_name="/search_text") == []
        assert len(client.predict(RED, 5, 0, api_name="/search_text")) == 5
    finally:
        client.close()
