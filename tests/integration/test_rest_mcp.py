"""The REST route and the MCP endpoint on the real server (demo model, sample library): answers,
refusals, concurrent clients each getting their own answers, and --auth on every route."""

from __future__ import annotations

import ast
import asyncio
import base64
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from clipsearch import SearchEngine
from testsupport.imagefactory import bomb_png
from testsupport.net import free_port
from webui import build_demo, launch_options
from webui.rest import MAX_UPLOAD_BYTES, launch

AUTH = ("alice", "s3cret")
pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the servers' upload folder


class Served:
    """The app as ``python -m webui`` serves it; ``launch_kwargs`` beside its own (``root_path``)."""

    def __init__(self, settings, auth=None, mcp=True, **launch_kwargs) -> None:
        self.engine = SearchEngine.for_reading(settings)
        self.demo = build_demo(self.engine, settings)
        self.demo.queue()
        self.port = free_port()
        launch(self.demo, mcp=mcp, server_name="127.0.0.1", server_port=self.port, quiet=True, auth=auth,
               **launch_options(settings, self.engine), **launch_kwargs)
        self.url = f"http://127.0.0.1:{self.port}/"

    @classmethod
    def uploading_to(cls, gradio_temp, settings, **kwargs) -> Served:
        """Served with Gradio's upload folder ``gradio_temp`` (GRADIO_TEMP_DIR, read as it launches)."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GRADIO_TEMP_DIR", str(gradio_temp))
            return cls(settings, **kwargs)

    def close(self) -> None:
        self.demo.close()
        self.engine.close()


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


@pytest.fixture(scope="module")
def secured(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings, auth=AUTH)
    yield server
    server.close()


def png_bytes(path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def test_get_search_returns_json_hits_with_thumbnails(served, demo_engine):
    with httpx.Client(base_url=served.url, timeout=60) as http:
        answer = http.get("api/search", params={"q": "a red circle", "k": 5})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        want = [h.path for h in demo_engine.search_text("a red circle", k=5)]
        assert [r["file"] for r in body["results"]] == want
        first = body["results"][0]
        assert {"file", "score", "width", "height", "date_taken", "thumbnail"} <= set(first)
        thumb = http.get(first["thumbnail"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(thumb.content)).size[0] <= 256


def test_get_search_filters_by_folder_date_and_cut_off(served, demo_engine, sample_library):
    folders = sorted({os.path.dirname(r.path) for r in demo_engine.records()})
    sub = next(f for f in folders if f != str(sample_library))
    with httpx.Client(base_url=served.url, timeout=60) as http:
        inside = http.get("api/search", params={"q": "a blue star", "k": 50, "folder": sub}).json()["results"]
        assert inside and all(r["file"].startswith(sub + os.sep) for r in inside)
        everything = http.get("api/search", params={"q": "a blue star", "k": 50}).json()["results"]
        cut = everything[10]["score"]
        kept = http.get("api/search", params={"q": "a blue star", "k": 50, "min_score": cut}).json()["results"]
        assert kept and all(r["score"] >= cut for r in kept) and len(kept) < len(everything)
        strong = http.get("api/search", params={"q": "a blue star", "k": 50, "min_score": -1}).json()["results"]
        assert [r["file"] for r in strong] == [r["file"] for r in everything if r["strong"]]
        auto = http.get("api/search", params={"q": "a blue star", "k": 50, "min_score": "auto"}).json()["results"]
        assert auto == strong  # as the command line spells it
        future = http.get("api/search", params={"q": "a blue star", "since": "2999-01-01"}).json()
        assert future["results"] == []  # said, as the command line says it (an empty list before)
        assert future["note"] == "No results: no indexed photo is in that folder and date range"
        past = http.get("api/search", params={"q": "a blue star", "until": "2999-01-01", "k": 7}).json()
        assert len(past["results"]) == 7
        # Words that name nothing this library holds (clipsearch.calibration; with the demo model
        # "a bowl of soup" lies 0.23 under every vague word's best photo): all k, none strong.
        soup = http.get("api/search", params={"q": "a bowl of soup", "k": 10}).json()["results"]
        assert len(soup) == 10 and not any(r["strong"] for r in soup)
        none_strong = http.get("api/search", params={"q": "a bowl of soup", "min_score": -1}).json()
        assert none_strong["results"] == []  # said, as the page's status line and the command line say it
        assert none_strong["note"] == f"No strong match (the best scored {soup[0]['score']:.3f}): min_score=0 " \
                                      "lists all k, each marked strong or not"
        too_high = http.get("api/search", params={"q": "a blue star", "min_score": 1.5}).json()
        assert too_high["results"] == [] and too_high["note"] == (
            f"No result scores 1.5 or more (the best scored {everything[0]['score']:.3f}): a lower min_score, or 0, "
            "lists them")
        assert "note" not in http.get("api/search", params={"q": "a blue star", "min_score": cut}).json()


@pytest.mark.parametrize("params, status, words", [
    ({}, 400, "q=TEXT"),
    ({"q": "a dog", "k": "many"}, 400, "whole number"),
    ({"q": "a dog", "k": 0}, 400, "k is from 1"),
    ({"q": "a dog", "k": 501}, 400, "k is from 1"),
    ({"q": "a dog", "since": "yesterday"}, 400, "since 'yesterday' is not a date"),
    ({"q": "a dog", "until": "2024-13-01"}, 400, "until '2024-13-01' is not a date"),
    ({"q": "a dog", "since": "2024-02-01", "until": "2024-01-01"}, 400, "empty"),
    ({"q": "a dog", "min_score": "high"}, 400, "a number or auto"),
    ({"q": "a dog", "min_score": "nan"}, 400, "a number or auto"),  # was every result hidden, silently
    ({"q": "2:"}, 400, "weight"),
    ({"q": "1" + "0" * 400 + ":a dog + a cat"}, 400, "a weight is too large"),  # was a 500
    ({"q": "a dog", "folder": "photos/2019"}, 400, "folder is a full path, as /api/info lists"),
    ({"q": " + ".join(f"thing{i}" for i in range(11))}, 400, "at most 10 terms joined by + and -; this one has 11"),
    ({"q": "a dog on a beach, " * 200}, 400, "at most 2,000 characters long; this one has 3,599"),
])
def test_bad_input_gets_a_4xx_with_a_clear_json_error(served, params, status, words):
    answer = httpx.get(served.url + "api/search", params=params, timeout=60)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_post_search_with_an_uploaded_picture_and_words(served, demo_engine, sample_library):
    picture = next(p for p in sorted(sample_library.rglob("*.png")))
    data = png_bytes(picture)
    with httpx.Client(base_url=served.url, timeout=60) as http:
        answer = http.post("api/search", files={"image": ("q.png", data, "image/png")}, data={"k": "3"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["file"] == str(picture)  # itself, first
        both = http.post("api/search", files={"image": ("q.png", data)}, data={"q": "a red circle", "k": "4"})
        assert both.status_code == 200 and len(both.json()["results"]) == 4


def test_post_search_refuses_what_the_web_app_refuses(served, tmp_path):
    with httpx.Client(base_url=served.url, timeout=120) as http:
        text = http.post("api/search", files={"image": ("x.png", b"not a picture at all", "image/png")})
        assert text.status_code == 400 and "cannot be used as a picture" in text.json()["error"]
        bomb = http.post("api/search", files={"image": ("b.png", bomb_png(tmp_path / "b.png").read_bytes())})
        assert bomb.status_code == 400 and "too many pixels" in bomb.json()["error"]
        big = http.post("api/search", files={"image": ("big.jpg", b"\0" * (MAX_UPLOAD_BYTES + 200_000))})
        assert big.status_code == 413 and "50 MB" in big.json()["error"]
        missing = http.post("api/search", files={"photo": ("q.png", b"x")})
        assert missing.status_code == 400 and "'image'" in missing.json()["error"]
        plain = http.post("api/search", json={"q": "a dog"})
        assert plain.status_code == 415


def test_gradio_uploads_arrive_whole_and_over_the_limit_are_refused(served):
    """Gradio's own upload route, its chunks written on the event loop (webui/uploads.py)."""
    from gradio.route_utils import GradioUploadFile

    from webui import uploads

    assert GradioUploadFile.write is uploads.write, "the served app writes uploads as they arrive"
    data = os.urandom(3 * 1024 * 1024 + 123)  # many socket reads' worth
    with httpx.Client(base_url=served.url, timeout=120) as http:
        answer = http.post("gradio_api/upload", files={"files": ("q.jpg", data, "image/jpeg")})
        assert answer.status_code == 200, answer.text
        assert open(answer.json()[0], "rb").read() == data
        big = http.post("gradio_api/upload", files={"files": ("big.jpg", b"\0" * (MAX_UPLOAD_BYTES + 200_000))})
        assert big.status_code == 413


def test_similar_and_thumbnail_refuse_paths_that_are_not_indexed(served, demo_engine, sample_library):
    indexed = next(iter(demo_engine.records())).path
    with httpx.Client(base_url=served.url, timeout=60) as http:
        like = http.get("api/similar", params={"file": indexed, "k": 3}).json()["results"]
        assert len(like) == 3 and indexed not in [r["file"] for r in like]
        for route in ("api/similar", "api/thumbnail"):
            for path in ("/etc/passwd", str(sample_library / "manifest.json")):
                answer = http.get(route, params={"file": path})
                assert answer.status_code == 404, (route, path)
                assert "not in the index" in answer.json()["error"]
            for none in ({"file": ""}, {}):  # no path at all: what to give, not "not in the index" (a 404 before)
                answer = http.get(route, params=none)
                assert answer.status_code == 400, (route, none)
                assert answer.json()["error"].startswith("give file=PATH, the path of an indexed photo"), answer.json()


def test_concurrent_clients_on_both_routes_each_get_their_own_answers(served, demo_engine):
    colours, shapes = ["red", "green", "blue", "yellow"], ["circle", "square", "star", "triangle"]
    queries = [f"a {c} {s}" for c in colours for s in shapes]
    # Every photo's score for every query, alone. Batched model calls may differ in the third
    # decimal (bf16), which can swap near-ties: an answer is right when each hit's score is that
    # photo's score for this query, and the scores are this query's top five.
    want = {q: {h.path: h.score for h in demo_engine.search_text(q, k=300)} for q in queries}
    tops = {q: sorted(v.values(), reverse=True)[:5] for q, v in want.items()}
    assert len({tuple(sorted(v, key=v.get)[-5:]) for v in want.values()}) > 8  # different answers
    wrong: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        # One client per thread, as users have: half through gradio_client, half through REST.
        client = Client(served.url, verbose=False, ssl_verify=False) if n % 2 else None
        http = httpx.Client(base_url=served.url, timeout=60)
        try:
            for i in range(12):
                query = queries[(n * 5 + i) % len(queries)]
                if client is not None:
                    got = client.predict(query, 5, 0.0, api_name="/search_text")
                else:
                    got = http.get("api/search", params={"q": query, "k": 5}).json()["results"]
                own = [abs(want[query][r["file"]] - r["score"]) < 0.01 for r in got]
                top = [abs(a - b) < 0.01 for a, b in zip(tops[query], [r["score"] for r in got], strict=True)]
                if not (all(own) and all(top)):
                    with lock:
                        wrong.append(query)
        finally:
            http.close()
            if client is not None:
                client.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    stats = httpx.get(served.url + "api/info", timeout=30).json()["batches"]
    assert wrong == []
    assert sum(stats["text"].values()) > 0


def test_existing_gradio_endpoints_keep_their_names_and_inputs(served, sample_library):
    client = Client(served.url, verbose=False, ssl_verify=False)
    try:
        hits = client.predict("a red circle", 3, 0.0, api_name="/search_text")
        assert len(hits) == 3 and "file" in hits[0]
        hits = client.predict(text="a red circle", k=2, min_score=0.0, api_name="/search_text")
        assert len(hits) == 2
        picture = next(iter(sorted(sample_library.rglob("*.png"))))
        hits = client.predict(handle_file(str(picture)), 2, api_name="/search_image")
        assert hits[0]["file"] == str(picture)
        hits = client.predict(hits[0]["file"], 2, api_name="/similar")
        assert len(hits) == 2 and hits[0]["thumbnail"].startswith(served.url.rstrip("/"))
    finally:
        client.close()


async def _mcp_session(url: str, headers: dict | None = None, work=None):
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    async with sse_client(url + "gradio_api/mcp/sse", headers=headers) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


def test_a_picture_an_assistant_sends_inline_is_deleted_with_the_uploads(demo_engine, gradio_temp, sample_library):
    """Gradio's MCP server saves a data: URL as a file in its cache that no list of the app held:
    neither the hourly clean-up nor the stop deleted it (``webui/mcp_files.py``)."""
    from gradio import mcp as gradio_mcp
    from gradio.processing_utils import hash_base64

    picture = next(iter(sorted(sample_library.rglob("*.png"))))
    # Bytes after the PNG's end, which decoders ignore: a file of this test's own, not another test's.
    encoded = "data:image/png;base64," + base64.b64encode(png_bytes(picture) + b"inline").decode()
    saved = os.path.join(gradio_mcp.DEFAULT_TEMP_DIR, hash_base64(encoded), "file.png")
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    try:
        async def work(session):
            return await session.call_tool("search_photos_by_image", {"image": encoded, "k": 2})

        found = asyncio.run(_mcp_session(server.url, work=work))
        assert not found.isError, found.content
        assert ast.literal_eval(found.content[0].text)[0]["file"] == str(picture)
        assert os.path.isfile(saved)
    finally:
        server.close()  # as the server stops (or an hour later), Gradio deletes what its lists hold
    assert not os.path.exists(saved)


def test_the_mcp_client_lists_the_tools_and_searches(served, demo_engine, sample_library):
    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        text = await session.call_tool("search_photos_by_text", {"text": "a red circle", "k": 3})
        first = ast.literal_eval(text.content[0].text)[0]
        similar = await session.call_tool("find_similar_photos", {"path": first["file"], "k": 2})
        picture = next(iter(sorted(sample_library.rglob("*.png"))))
        encoded = "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()
        by_image = await session.call_tool("search_photos_by_image", {"image": encoded, "k": 2})
        return tools, text, first, similar, by_image, picture

    tools, text, first, similar, by_image, picture = asyncio.run(_mcp_session(served.url, work=work))
    assert {"search_photos_by_text", "search_photos_by_image", "find_similar_photos"} <= set(tools)
    described = tools["search_photos_by_text"]
    assert "photo" in described.description and "thumbnail" in described.description
    assert "text" in described.inputSchema["properties"]
    assert not text.isError and first["file"] == demo_engine.search_text("a red circle", k=1)[0].path
    assert httpx.get(first["thumbnail"], timeout=30).status_code == 200
    assert not similar.isError and len(ast.literal_eval(similar.content[0].text)) == 2
    assert not by_image.isError, by_image.content
    assert ast.literal_eval(by_image.content[0].text)[0]["file"] == str(picture)


def test_an_assistant_searches_by_a_results_thumbnail_url_and_hears_why_a_url_is_not_fetched(served, demo_engine):
    async def work(session):
        text = await session.call_tool("search_photos_by_text", {"text": "a red circle", "k": 1})
        first = ast.literal_eval(text.content[0].text)[0]
        by_thumbnail = await session.call_tool("search_photos_by_image", {"image": first["thumbnail"], "k": 2})
        stranger = first["thumbnail"].replace("file=", "file=%2Fetc%2Fhostname%3F")
        not_indexed = await session.call_tool("search_photos_by_image", {"image": stranger, "k": 2})
        local = await session.call_tool("search_photos_by_image", {"image": "http://127.0.0.1:9/a.png", "k": 2})
        return first, by_thumbnail, not_indexed, local

    first, by_thumbnail, not_indexed, local = asyncio.run(_mcp_session(served.url, work=work))
    # The app's own thumbnail URL is read from its cache (Gradio would refuse to fetch 127.0.0.1).
    assert not by_thumbnail.isError, by_thumbnail.content
    assert ast.literal_eval(by_thumbnail.content[0].text)[0]["file"] == first["file"]
    assert not_indexed.isError and "names no photo of this library" in not_indexed.content[0].text
    assert local.isError and "local or private address" in local.content[0].text
    assert "find_similar_photos" in local.content[0].text and "verbose error" not in local.content[0].text


def test_an_assistant_hears_the_limit_of_a_query_past_it(served):
    """A query of many terms held the model and every other search for seconds (clipsearch.query)."""
    async def work(session):
        return await session.call_tool("search_photos_by_text",
                                       {"text": " + ".join(f"thing{i}" for i in range(1000)), "k": 3})

    refused = asyncio.run(_mcp_session(served.url, work=work))
    assert refused.isError and "at most 2,000 characters long; this one has 10,887" in refused.content[0].text


def test_an_assistant_looks_at_a_photo_itself(served, demo_engine, sample_library):
    """A search ranks and can be wrong; an assistant could only read paths and thumbnail URLs it
    cannot open. look_at_photo answers with the picture as MCP image content, which a model sees:
    a 512 px JPEG of the indexed photo. Anything else is refused."""
    hit = demo_engine.search_text("a red circle", k=1)[0]

    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        seen = await session.call_tool("look_at_photo", {"path": hit.path})
        refused = [await session.call_tool("look_at_photo", {"path": p})
                   for p in ("/etc/passwd", str(sample_library / "manifest.json"), "")]
        return tools, seen, refused

    tools, seen, refused = asyncio.run(_mcp_session(served.url, work=work))
    assert "look at" in tools["look_at_photo"].description.lower()
    assert not seen.isError, seen.content
    pictures = [c for c in seen.content if c.type == "image"]
    assert len(pictures) == 1 and pictures[0].mimeType == "image/jpeg"
    with Image.open(io.BytesIO(base64.b64decode(pictures[0].data))) as shown, Image.open(hit.path) as original:
        assert max(shown.size) == min(512, max(original.size))
        assert abs(shown.width / shown.height - original.width / original.height) < 0.02
        small = original.convert("RGB").resize((8, 8))
        assert np.abs(np.asarray(shown.convert("RGB").resize((8, 8)), float) - np.asarray(small, float)).mean() < 12
    assert all(answer.isError and "not in the index" in str(answer.content) for answer in refused)
    client = Client(served.url, verbose=False)
    try:  # the same for scripts: a file
        with Image.open(client.predict(hit.path, api_name="/look_at_photo")) as shown:
            assert shown.format == "JPEG" and max(shown.size) <= 512
    finally:
        client.close()


def test_an_assistant_and_a_script_read_the_saved_searches_and_run_one(served, demo_engine, sample_library):
    from clipsearch import SearchFilter
    from clipsearch.saved import FILE_NAME, SavedSearch, SavedSearches

    saved = SavedSearches(served.engine.settings.index_dir)
    kept = saved.save(SavedSearch("Red circles", "a red circle", str(sample_library / "misc"), "2019"))

    async def work(session):
        listed = await session.call_tool("saved_searches", {})
        found = ast.literal_eval(listed.content[0].text)
        run = await session.call_tool("search_photos_by_text", {
            "text": found[0]["query"], "k": 5, "folder": found[0]["folder"], "since": found[0]["since"]})
        return listed, found, run

    try:
        listed, found, run = asyncio.run(_mcp_session(served.url, work=work))
        with httpx.Client(base_url=served.url, timeout=60) as http:  # and for scripts, over REST
            assert http.get("api/saved").json() == {"searches": found}
            by_name = http.get("api/search", params={"saved": "Red circles", "k": 5}).json()
            until = http.get("api/search", params={"saved": "Red circles", "k": 40, "until": "2021"}).json()
            unknown = http.get("api/search", params={"saved": "Blue"})
            both = http.get("api/search", params={"saved": "Red circles", "q": "a dog"})
    finally:
        (served.engine.settings.index_dir / FILE_NAME).unlink(missing_ok=True)
    assert not listed.isError and found == [{"name": "Red circles", "query": "a red circle",
                                             "folder": kept.folder, "since": "2019-01-01", "until": None,
                                             "photo_name": None, "region": None}]  # no example photo
    expected = [hit.path for hit in demo_engine.search("a red circle", k=5, where=kept.where())]
    assert not run.isError and [hit["file"] for hit in ast.literal_eval(run.content[0].text)] == expected
    assert by_name["query"] == "a red circle" and [hit["file"] for hit in by_name["results"]] == expected
    where = SearchFilter(kept.folder, kept.since, "2021")  # the request's own date beside the saved ones
    assert [hit["file"] for hit in until["results"]] == [h.path for h in demo_engine.search("a red circle", k=40, where=where)]
    assert unknown.status_code == 404 and "GET /api/saved lists them" in unknown.json()["error"]
    assert both.status_code == 400


def test_the_named_endpoints_and_the_mcp_tools_take_a_folder_and_dates(served, demo_engine, sample_library):
    """An assistant asked for "my red circles from 2019 on, in misc" could not say so: the tools
    took no folder and no dates. Now they do, as REST does; the old positional calls still work."""
    from clipsearch import SearchFilter

    folder = str(sample_library / "misc")
    where = SearchFilter(folder=folder, date_from="2019-01-01", date_to="2022-06-30")
    expected = [hit.path for hit in demo_engine.search("a red circle", k=10, where=where)]
    head = demo_engine.search("a red circle", k=1)[0].path
    similar = [hit.path for hit in demo_engine.similar(head, k=5, where=where)]
    picture = sorted(sample_library.rglob("*.png"))[0]
    like = [hit.path for hit in demo_engine.search_image(picture, k=10, where=where)]
    assert expected and similar and like
    assert all(path.startswith(folder + os.sep) for path in expected + similar + like)

    client = Client(served.url, verbose=False, download_files=False)
    try:
        hits = client.predict("a red circle", 10, 0.0, folder, "2019", "2022-06", api_name="/search_text")
        assert [hit["file"] for hit in hits] == expected
        hits = client.predict(head, 5, folder, "2019", "2022-06", api_name="/similar")
        assert [hit["file"] for hit in hits] == similar
        hits = client.predict(handle_file(str(picture)), 10, 0.0, folder, "2019", "2022-06", api_name="/search_image")
        assert [hit["file"] for hit in hits] == like
        every = client.predict(handle_file(str(picture)), 10, api_name="/search_image")  # as scripts call it
        strong = client.predict(handle_file(str(picture)), 10, -1, api_name="/search_image")
        assert len(every) == 10 and strong == [hit for hit in every if hit["strong"]] != []
        assert len(client.predict("a red circle", 3, 0.0, api_name="/search_text")) == 3  # as scripts call it
    finally:
        client.close()

    async def work(session):
        info = await session.call_tool("photo_library_info", {})
        found = await session.call_tool("search_photos_by_text", {
            "text": "a red circle", "k": 10, "folder": folder, "since": "2019", "until": "2022-06"})
        relative = await session.call_tool("search_photos_by_text", {"text": "a red circle", "folder": "misc"})
        encoded = "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()
        by_image = await session.call_tool("search_photos_by_image", {
            "image": encoded, "k": 10, "folder": folder, "since": "2019", "until": "2022-06"})
        return info, found, relative, by_image

    info, found, relative, by_image = asyncio.run(_mcp_session(served.url, work=work))
    about = ast.literal_eval(info.content[0].text)  # where an assistant learns the folders' full paths
    assert not info.isError and about["photos"] == 300 and about["folders"] == [str(sample_library)]
    assert about["model"] == "demo" and about["last_indexed"][:2] == "20"
    assert not found.isError and [hit["file"] for hit in ast.literal_eval(found.content[0].text)] == expected
    assert relative.isError and "folder is a full path" in str(relative.content)
    assert not by_image.isError and [hit["file"] for hit in ast.literal_eval(by_image.content[0].text)] == like


def test_every_front_lists_a_composite_querys_strong_results_first(served, demo_engine):
    """A query of several terms lists its strong results first (webui/API.md). The call API and the
    MCP tools re-sorted them by score, so a strong match could come last of the k: an assistant
    reading the first few missed it."""
    query, k = "a red triangle + a green square", 20
    expected = demo_engine.search(query, k=k)
    scores = [hit.score for hit in expected]
    assert scores != sorted(scores, reverse=True), "the query must be one whose strong results are not its best scores"
    expected = [hit.path for hit in expected]
    rest = httpx.get(served.url + "api/search", params={"q": query, "k": k, "fold": 0, "min_score": 0}, timeout=60)
    assert [hit["file"] for hit in rest.json()["results"]] == expected
    client = Client(served.url, verbose=False, download_files=False)
    try:
        assert [hit["file"] for hit in client.predict(query, k, 0.0, api_name="/search_text")] == expected
    finally:
        client.close()

    async def work(session):
        return await session.call_tool("search_photos_by_text", {"text": query, "k": k})

    found = asyncio.run(_mcp_session(served.url, work=work))
    assert not found.isError and [hit["file"] for hit in ast.literal_eval(found.content[0].text)] == expected


def test_a_refused_call_is_said_to_the_caller_and_not_logged_as_a_failure(served, capfd):
    """Gradio printed a 35-line traceback to the server's log for every call the app refused (a
    wrong k, no words, a path not indexed), as if the server had failed: an assistant trying three
    values filled the log. The caller still hears why."""
    client = Client(served.url, verbose=False, download_files=False)
    try:
        with pytest.raises(AppError, match="k must be a whole number"):
            client.predict("a red circle", "many", 0.0, api_name="/search_text")
        with pytest.raises(AppError, match="That photo is not in the index"):
            client.predict("/nowhere/p.jpg", api_name="/look_at_photo")
    finally:
        client.close()

    async def work(session):
        return await session.call_tool("search_photos_by_text", {"text": " + ".join(["a dog"] * 11)})

    found = asyncio.run(_mcp_session(served.url, work=work))
    assert found.isError and "at most 10 terms" in str(found.content)
    assert "Traceback" not in capfd.readouterr().err


def test_without_an_index_saving_a_search_is_refused_as_every_route_refuses(tmp_path, capfd):
    """POST and DELETE /api/saved answered 500 where every other route answers 503 while there is
    no index; the call API's /save_search said a bare "no index in DIR"."""
    from clipsearch import ModelSpec, Settings

    settings = Settings(index_dir=tmp_path / "none", cache_dir=tmp_path / "cache", model=ModelSpec(name="demo"))
    demo = build_demo(None, settings)
    demo.queue()
    port = free_port()
    launch(demo, mcp=False, server_name="127.0.0.1", server_port=port, quiet=True, **launch_options(settings, None))
    url = f"http://127.0.0.1:{port}/"
    try:
        answers = [httpx.post(url + "api/saved", data={"name": "reds", "q": "red"}, timeout=30),
                   httpx.delete(url + "api/saved", params={"name": "reds"}, timeout=30),
                   httpx.get(url + "api/search", params={"q": "red"}, timeout=30)]
        assert [answer.status_code for answer in answers] == [503, 503, 503]
        assert all("build one with `python -m indexer" in answer.json()["error"] for answer in answers)
        client = Client(url, verbose=False, download_files=False)
        try:
            with pytest.raises(AppError, match=f"No index in {settings.index_dir} yet: build one with"):
                client.predict("reds", "red", api_name="/save_search")
        finally:
            client.close()
    finally:
        demo.close()
        demo.handlers.close()
    assert not (tmp_path / "none").exists()  # nothing made in its place
    assert "Traceback" not in capfd.readouterr().err


def test_head_answers_as_get_without_the_body(served, demo_engine):
    """curl -I, link checkers and uptime monitors ask with HEAD: it was 405 on every route."""
    photo = demo_engine.search_text("a red circle", k=1)[0].path
    with httpx.Client(base_url=served.url, timeout=60) as http:
        for route, params in (("api/info", {}), ("api/search", {"q": "a red circle", "k": 2}),
                              ("api/thumbnail", {"file": photo}), ("api/similar", {"file": "/etc/passwd"})):
            got, head = http.get(route, params=params), http.head(route, params=params)
            assert head.status_code == got.status_code and head.content == b"", route
            assert head.headers["content-type"] == got.headers["content-type"], route
            if route != "api/search":  # the search's took_ms differs from one call to the next
                assert head.headers["content-length"] == got.headers["content-length"], route


def test_a_photo_is_handed_out_whole_only_with_originals_and_only_an_indexed_one(served, sample_library):
    photo = sorted(sample_library.rglob("*.jpg"))[0]
    with httpx.Client(base_url=served.url, timeout=60) as http:
        refused = http.get("api/photo", params={"file": str(photo)})
        assert refused.status_code == 404 and "--originals" in refused.json()["error"]
        served.demo.handlers.originals = True
        try:
            answer = http.get("api/photo", params={"file": str(photo)})
            assert answer.status_code == 200 and answer.content == photo.read_bytes()
            assert answer.headers["content-disposition"] == f'attachment; filename="{photo.name}"'
            dotted = http.get("api/photo", params={"file": f"{photo.parent}/../{photo.parent.name}/{photo.name}"})
            assert dotted.status_code == 200 and dotted.content == photo.read_bytes()  # the same photo
            for other in ("/etc/passwd", str(sample_library / "manifest.json"), f"{photo.parent}/../../manifest.json",
                          "relative/" + photo.name):
                answer = http.get("api/photo", params={"file": other})
                assert answer.status_code == 404 and "not in the index" in answer.json()["error"], other
            answer = http.get("api/photo", params={"file": ""})
            assert answer.status_code == 400 and "give file=PATH" in answer.json()["error"], answer.json()
        finally:
            served.demo.handlers.originals = False


def test_with_auth_the_rest_routes_and_mcp_refuse_strangers(secured):
    with httpx.Client(base_url=secured.url, timeout=60) as http:
        for route in ("api/search?q=a+dog", "api/similar?file=x", "api/thumbnail?file=x", "api/photo?file=x",
                      "api/info", "api/saved", "api/search?saved=x"):
            answer = http.get(route)
            assert answer.status_code == 401, route
            assert answer.headers["www-authenticate"].startswith("Basic")
            assert http.get(route, auth=("alice", "wrong")).status_code == 401, route
            assert http.head(route).status_code == 401, route
        posted = http.post("api/search", files={"image": ("q.png", b"x")}, data={"q": "a dog"})
        assert posted.status_code == 401
        assert http.post("api/saved", data={"name": "x", "q": "a dog"}).status_code == 401  # nothing written
        assert http.delete("api/saved", params={"name": "x"}).status_code == 401
        assert not (secured.engine.settings.index_dir / "saved-searches.json").exists()
        for route in ("gradio_api/mcp/sse", "gradio_api/mcp/schema", "gradio_api/mcp/"):
            assert http.get(route).status_code == 401, route
        assert http.get("api/search", params={"q": "a red circle", "k": 2}, auth=AUTH).status_code == 200
        # A browser that logged in on the page: its session cookie opens the API too.
        assert http.post("login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200
        assert http.get("api/search", params={"q": "a red circle", "k": 2}).status_code == 200


# What a browser needs to show the login page (README's --auth row): nothing of the library or the API.
LOGIN_PAGE = {"/", "/favicon.ico", "/theme.css", "/robots.txt", "/manifest.json", "/logout"}


def test_with_auth_no_route_but_the_login_page_answers_strangers(secured):
    """FastAPI's own /openapi.json lists every route; Gradio's login does not check it (it checks its
    copy under /gradio_api): guarded too, as is every plain route of the server that is not the login page's."""
    with httpx.Client(base_url=secured.url, timeout=60, follow_redirects=False) as http:
        schema = http.get("openapi.json")
        assert schema.status_code == 401 and schema.headers["www-authenticate"].startswith("Basic")
        assert "/api/search" not in schema.text
        for route in ("docs", "redoc", "gradio_api/openapi.json"):
            assert http.get(route).status_code in (401, 403, 404), route
        routes = [r for r in secured.demo.app.router.routes if "{" not in getattr(r, "path", "{")]
        for route in routes:
            if route.path not in LOGIN_PAGE and "GET" in (getattr(route, "methods", None) or ()):
                assert http.get(route.path.lstrip("/")).status_code in (401, 403, 404), route.path  # 404: none here
        assert "/api/search" in http.get("openapi.json", auth=AUTH).json()["paths"]  # guarded, not gone


def test_with_auth_the_mcp_client_works_with_basic_credentials(secured):
    token = base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()

    async def work(session):
        tools = (await session.list_tools()).tools
        found = await session.call_tool("search_photos_by_text", {"text": "a red circle", "k": 2})
        return tools, found

    tools, found = asyncio.run(_mcp_session(secured.url, {"Authorization": f"Basic {token}"}, work))
    assert len(tools) >= 3
    assert not found.isError, found.content
    assert len(ast.literal_eval(found.content[0].text)) == 2


def test_the_command_line_asks_a_running_server_and_prints_what_a_local_search_prints(
        served, secured, demo_engine, sample_library, capsys):
    """`clipsearch search --server URL`: the warm server's answer (no torch, no model here), printed
    as a search in this process prints it, near-duplicates folded as here or not (--no-fold; the folding
    itself: test_server_folding.py)."""
    import json

    import cli.search

    index = str(demo_engine.settings.index_dir)
    picture = str(sorted(sample_library.rglob("*.png"))[0])
    for ask in (["a red circle", "-k", "12"], ["a circle - red", "--since", "2019", "--folder", str(sample_library / "2020")],
                ["--image", picture, "-k", "5", "--min-score", "0"], ["a blue star", "--min-score", "0.5", "--sort", "date"],
                ["a red circle", "--json", "-k", "6"]):
        for unfolded in ([], ["--no-fold"]):
            assert cli.search.main(["search", *ask, *unfolded, "--index", index]) == 0, ask
            here = capsys.readouterr()
            assert cli.search.main(["search", *ask, *unfolded, "--server", served.url]) == 0, ask
            there = capsys.readouterr()
            assert there.out == here.out and there.err == here.err and here.out, (ask, unfolded)
    assert json.loads(there.out)[0]["path"] == demo_engine.search_text("a red circle", k=1)[0].path

    port = secured.url.split(":")[-1]  # behind --auth: the credentials in the URL
    assert cli.search.main(["search", "a red circle", "--server", f"http://{AUTH[0]}:{AUTH[1]}@127.0.0.1:{port}"]) == 0
    assert capsys.readouterr().out == cli_out(index, "a red circle", capsys)
    assert cli.search.main(["search", "a red circle", "--server", secured.url]) == 1
    assert "asks for its --auth credentials" in capsys.readouterr().err
    assert cli.search.main(["search", "a dog", "--server", f"http://{AUTH[0]}:wrong@127.0.0.1:{port}"]) == 1
    assert "***" in capsys.readouterr().err  # the password is not printed
    # what the server refuses as unusable is a usage error (exit 2) in its words, as the same search here
    # (it was exit 1, "failed", where README promises 2 for a query that cannot be searched with)
    assert cli.search.main(["search", "red - red", "--index", index]) == 2
    here = capsys.readouterr()
    assert cli.search.main(["search", "red - red", "--server", served.url]) == 2
    there = capsys.readouterr()
    assert there == here and "error: the query's terms cancel out" in there.err and there.out == ""
    assert cli.search.main(["search", "a dog", "--folder", "2020", "--server", served.url]) == 2
    refused = capsys.readouterr().err
    assert refused.startswith("usage: python -m clipsearch search ") and "error: folder is a full path" in refused
    with pytest.raises(SystemExit) as usage:  # a usage error: the REST route takes one picture
        cli.search.main(["search", "--image", picture, "--image", picture, "--server", served.url])
    assert usage.value.code == 2 and "give one --image, without a weight" in capsys.readouterr().err
    assert cli.search.main(["search", "a dog", "--server", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "is `python -m webui` running there?" in capsys.readouterr().err


def test_the_command_line_ends_as_a_search_here_ends_when_a_server_answers(served, demo_engine, tmp_path, capsys):
    """What a search here refuses, or answers with nothing, asked of a server ends with the same code
    and the same words. It did not: `--saved NAME` for a name not saved there exited 1 (the server's
    404, read as a failure) where here it is a usage error (2); `--image` of a file that is no
    picture exited 2 there and 1 here (now 2 both ways, README: what cannot be searched with);
    `--image FOLDER` ended in a traceback there; a flat `--min-score` above every score said "the
    index holds no photo" there (the server kept nothing back), and left out how many it hid."""
    import cli.search

    index = str(demo_engine.settings.index_dir)
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    scores = sorted(hit.score for hit in demo_engine.search("a red circle", k=10, cutoff=None))
    between = f"{(scores[3] + scores[6]) / 2:.4f}"  # some of the ten score less
    for ask, code, said in ((["--saved", "No such search"], 2, "error: no saved search is called 'No such search'"),
                            (["--image", str(notes)], 2, f"error: argument --image: {notes}: not an image"),
                            (["--image", str(tmp_path)], 2, f"error: argument --image: {tmp_path}: not a file (a folder)"),
                            (["a red circle", "--min-score", "0.99"], 0, "No result scored 0.99 or more (the best scored "),
                            (["a red circle", "--min-score", between], 0, " weaker hidden (--min-score 0 shows all)")):
        assert cli.search.main(["search", *ask, "--index", index]) == code, ask
        here = capsys.readouterr()
        assert cli.search.main(["search", *ask, "--server", served.url]) == code, ask
        there = capsys.readouterr()
        assert (there.out, there.err) == (here.out, here.err) and said in here.err, (ask, here, there)
    with httpx.Client(base_url=served.url, timeout=60) as http:  # what the command line reads (webui/API.md)
        unknown = http.get("api/search", params={"saved": "No such search"})
        assert unknown.status_code == 404 and unknown.json()["unknown_saved_search"] == "No such search"
        assert isinstance(unknown.json()["saved_searches"], list)
        forgot = http.delete("api/saved", params={"name": "No such search"})
        assert forgot.status_code == 404 and forgot.json()["unknown_saved_search"] == "No such search"
        refused = http.post("api/search", files={"image": ("notes.jpg", b"not a picture")})
        assert refused.status_code == 400 and refused.json()["unreadable"]["reason"] == "not an image"


def cli_out(index: str, query: str, capsys) -> str:
    import cli.search

    assert cli.search.main(["search", query, "--index", index]) == 0
    return capsys.readouterr().out



async def _mcp_http_session(url: str, work):
    """As ``_mcp_session``, over Gradio's other MCP transport (streamable HTTP, /gradio_api/mcp/)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url + "gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


@pytest.mark.parametrize("session", [_mcp_session, _mcp_http_session], ids=["sse", "streamable-http"])
def test_a_picture_over_the_limit_is_a_tool_error_and_the_session_goes_on(served, session):
    """A picture sent inline over 50 MB: its message over the transports' limit was refused with
    413, which the Python client over SSE never heard of (it waited for ever, and sent no other
    call); one just under the message's limit was refused naming the server's temporary file.
    Each is now the tool's error, saying the limit, and the next call of the session is answered."""
    over = MAX_UPLOAD_BYTES + (1 << 20)  # its base64 is over the message's limit
    just_over = MAX_UPLOAD_BYTES + 1000  # its base64 is not
    inline = {size: "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff" + bytes(size)).decode()
              for size in (over, just_over)}

    async def work(session):
        refused = [await session.call_tool("search_photos_by_image", {"image": inline[size], "k": 2})
                   for size in (over, just_over)]
        after = await session.call_tool("search_photos_by_text", {"text": "a red circle", "k": 1})
        return refused, after

    refused, after = asyncio.run(asyncio.wait_for(session(served.url, work=work), 240))
    for answer in refused:
        said = answer.content[0].text
        assert answer.isError and "a picture to search with may be at most 50 MB" in said, answer.content
        assert "gradio" not in said and "/" not in said.split("(")[0], said  # no server path in it
    assert not after.isError and len(ast.literal_eval(after.content[0].text)) == 1, after.content
