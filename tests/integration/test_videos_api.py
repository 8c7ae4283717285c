"""Moments in videos through the server: the REST route's ``moments``, their frames as thumbnails,
the named endpoint ``/search_videos`` and its MCP tool; a photo-only index answers as before."""

from __future__ import annotations

import ast
import asyncio
import random

import httpx
import pytest
from gradio_client import Client

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo import Scene, SceneObject, render_scene
from clipsearch.demo.clips import write_clip

from .test_rest_mcp import Served, _mcp_session

pytestmark = pytest.mark.usefixtures("same_gradio_temp")
STAR = Scene((SceneObject("yellow", "star"),), "black")
SHOTS = [Scene((SceneObject("red", "circle"),), "gray"), Scene((SceneObject("blue", "square"),), "white"), STAR]


@pytest.fixture(scope="module")
def served(tmp_path_factory, gradio_temp):
    root = tmp_path_factory.mktemp("videos-api")
    library = root / "library"
    library.mkdir()
    rng = random.Random(2)
    for i in range(10):
        render_scene(Scene((SceneObject("green", "triangle"),), ("brown", "white")[i % 2]), 224, rng).save(
            library / f"photo{i}.jpg")
    write_clip(library / "party.mp4", SHOTS, seconds_each=2.0, fps=10, size=160)
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec("demo"))
    writer = SearchEngine.for_writing(settings)
    writer.set_video_reading(True)
    writer.index_folder(library)
    assert writer.read_videos().read == 1
    writer.close()
    server = Served.uploading_to(gradio_temp, settings)
    yield server, library
    server.close()


def test_rest_search_lists_the_moments_with_their_frames(served):
    server, library = served
    answer = httpx.get(server.url + "api/search", params={"q": STAR.caption, "min_score": -1}, timeout=60).json()
    assert [m["file"] for m in answer["moments"]] == [str(library / "party.mp4")]
    moment = answer["moments"][0]
    assert 4.0 <= moment["at"] < 6.0 and moment["strong"] and moment["duration"] == pytest.approx(6.0, abs=0.2)
    frame = httpx.get(moment["thumbnail"], timeout=60)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg" and frame.content[:2] == b"\xff\xd8"
    assert "at=" in moment["thumbnail"]
    refused = httpx.get(server.url + "api/thumbnail", params={"file": str(library / "photo0.jpg"), "at": "1"},
                        timeout=30)
    assert refused.status_code == 404 and "video" in refused.json()["error"]
    wrong = httpx.get(server.url + "api/thumbnail", params={"file": str(library / "party.mp4"), "at": "soon"},
                      timeout=30)
    assert wrong.status_code == 400 and "seconds" in wrong.json()["error"]
    bare = httpx.get(server.url + "api/thumbnail", params={"file": str(library / "party.mp4")}, timeout=30)
    assert bare.status_code == 400 and "give at=SECONDS" in bare.json()["error"]  # was "not in the index"


def test_rest_similar_lists_the_moments_like_the_photo(served):
    server, library = served
    photo = str(library / "photo0.jpg")
    answer = httpx.get(server.url + "api/similar", params={"file": photo, "min_score": 0}, timeout=60).json()
    assert answer["file"] == photo and answer["results"] and photo not in [r["file"] for r in answer["results"]]
    assert [m["file"] for m in answer["moments"]] == [str(library / "party.mp4")]  # all, weaker ones too
    assert "at=" in answer["moments"][0]["thumbnail"] and answer["moments"][0]["score"] < 0.99
    strong = httpx.get(server.url + "api/similar", params={"file": photo, "min_score": -1}, timeout=60).json()
    assert strong["moments"] == []  # no green triangle in the clip: no moment is a match


def test_the_named_endpoint_and_the_mcp_tool_search_the_videos(served):
    server, library = served
    client = Client(server.url, verbose=False, ssl_verify=False)
    try:
        found = client.predict(STAR.caption, 5, -1, api_name="/search_videos")
    finally:
        client.close()
    assert [m["file"] for m in found] == [str(library / "party.mp4")] and 4.0 <= found[0]["at"] < 6.0

    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        answer = await session.call_tool("search_videos_by_text", {"text": SHOTS[1].caption, "min_score": -1})
        return tools, answer

    tools, answer = asyncio.run(_mcp_session(server.url, work=work))
    assert "moment" in tools["search_videos_by_text"].description
    moments = ast.literal_eval(answer.content[0].text)
    assert not answer.isError and moments[0]["file"] == str(library / "party.mp4") and 2.0 <= moments[0]["at"] < 4.0


def test_the_moments_like_a_photo_by_the_named_endpoint_and_the_mcp_tool(served):
    server, library = served
    photo = str(library / "photo0.jpg")
    client = Client(server.url, verbose=False, ssl_verify=False)
    try:
        like = client.predict(photo, 5, 0, api_name="/similar_videos")
        part = client.predict(photo, 5, 0, "", "", "", "0,0,0.5,0.5", api_name="/similar_videos")
        with pytest.raises(Exception, match="not in the index"):
            client.predict(str(library / "party.mp4"), 5, api_name="/similar_videos")
    finally:
        client.close()
    assert [m["file"] for m in like] == [str(library / "party.mp4")] and "at=" in like[0]["thumbnail"]
    assert [m["file"] for m in part] == [str(library / "party.mp4")]

    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        answer = await session.call_tool("find_video_moments_like_photo", {"path": photo, "min_score": -1})
        return tools, answer

    tools, answer = asyncio.run(_mcp_session(server.url, work=work))
    assert "photo" in tools["find_video_moments_like_photo"].description
    assert not answer.isError and ast.literal_eval(answer.content[0].text) == []  # no green triangle in the clip


def test_the_command_line_prints_the_servers_moments_as_it_prints_its_own(served, capsys):
    import cli.search

    server, library = served
    index = str(server.engine.settings.index_dir)
    for ask in ([STAR.caption], [SHOTS[1].caption, "--json"], ["a red circle on a gray background", "--min-score", "0"]):
        assert cli.search.main(["search", *ask, "--index", index]) == 0
        here = capsys.readouterr()
        assert cli.search.main(["search", *ask, "--server", server.url]) == 0
        there = capsys.readouterr()
        assert there.out == here.out and there.err == here.err and "party.mp4" in here.out, ask


def test_with_originals_a_video_plays_from_its_moment_a_range_at_a_time(served, tmp_path):
    from testsupport.browser import serve_app
    from webui.videos_view import moment_markdown

    server, library = served
    video = str(library / "party.mp4")
    refused = httpx.get(server.url + "api/photo", params={"file": video}, timeout=30)
    assert refused.status_code == 404 and "--originals" in refused.json()["error"]
    size = (library / "party.mp4").stat().st_size
    with serve_app(server.engine, server.engine.settings, originals=True) as url:
        whole = httpx.get(url + "api/photo", params={"file": video}, timeout=30)
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert whole.headers["content-disposition"].startswith("inline") and len(whole.content) == size
        part = httpx.get(url + "api/photo", params={"file": video}, headers={"Range": "bytes=100-199"}, timeout=30)
        assert part.status_code == 206 and part.content == (library / "party.mp4").read_bytes()[100:200]
        other = httpx.get(url + "api/photo", params={"file": str(tmp_path / "x.mp4")}, timeout=30)
        assert other.status_code == 404
    moment = server.engine.moments(STAR.caption)[0].to_dict()
    link = moment_markdown(moment, play=True)
    assert "[Play from 0:04](api/photo?file=" in link and "#t=4.0)" in link
    assert "Play" not in moment_markdown(moment)
    also = dict(moment, also=[0.0, 2.0])  # each other matching moment plays from its own time too
    assert "Also matching at [0:00](api/photo?file=" in moment_markdown(also, play=True) and "#t=2.0)" in \
        moment_markdown(also, play=True)
    assert "Also matching at 0:00, 0:02" in moment_markdown(also)
