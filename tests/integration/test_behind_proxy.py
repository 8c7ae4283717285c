"""The web app behind a reverse proxy that serves it under /photos/ and takes that path off each
request (nginx's ``proxy_pass http://127.0.0.1:7860/;``), started with ``--root-path /photos``:
REST, gradio_client and the MCP client through the proxy (and through one that keeps the path),
each answer's thumbnail URLs pointing where the caller can fetch them (testsupport/proxy.py; the
page itself: tests/browser/test_proxy_browser.py). The server and its fixtures: test_rest_mcp's."""

from __future__ import annotations

import ast
import asyncio

import httpx
import pytest
from gradio_client import Client, handle_file

from testsupport.proxy import reverse_proxy

from .test_rest_mcp import Served

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder


@pytest.fixture(scope="module", params=["path-taken-off", "path-kept"])
def proxied(request, demo_engine):
    """The app launched as ``python -m webui --root-path /photos`` launches it, behind the proxy:
    one that takes /photos off (``proxy_pass http://127.0.0.1:7860/;``) or one that keeps it."""
    server = Served.uploading_to(request.getfixturevalue("gradio_temp"), demo_engine.settings, mcp=True,
                                 root_path="/photos")
    try:
        keep_path = request.param == "path-kept"
        with reverse_proxy(f"http://127.0.0.1:{server.port}", "/photos", keep_path=keep_path) as public:
            yield {"public": public, "direct": server.url}
    finally:
        server.close()


def fetched_thumbnail(url: str) -> httpx.Response:
    answer = httpx.get(url, timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg", url
    return answer


def test_rest_answers_through_the_proxy_with_thumbnails_under_its_path(proxied, sample_library):
    public = proxied["public"]
    with httpx.Client(base_url=public, timeout=60) as http:
        hits = http.get("api/search", params={"q": "a red circle", "k": 3}).json()["results"]
        assert len(hits) == 3
        for hit in hits:
            assert hit["thumbnail"].startswith(public + "api/thumbnail?file="), hit["thumbnail"]
        fetched_thumbnail(hits[0]["thumbnail"])
        picture = sorted(sample_library.rglob("*.png"))[0]
        posted = http.post("api/search", files={"image": (picture.name, picture.read_bytes())}, data={"k": "2"})
        assert posted.status_code == 200 and posted.json()["results"][0]["file"] == str(picture)
        info = http.get("api/info").json()
        assert info["count"] == 300


def test_a_caller_of_the_server_itself_gets_addresses_it_can_fetch(proxied):
    """Without the proxy (a script on the server's own computer), the thumbnails load too."""
    hits = httpx.get(proxied["direct"] + "api/search", params={"q": "a red circle", "k": 1}, timeout=60).json()
    fetched_thumbnail(hits["results"][0]["thumbnail"])


def test_gradio_client_calls_the_named_endpoints_through_the_proxy(proxied, sample_library):
    client = Client(proxied["public"], verbose=False, download_files=False)
    try:
        hits = client.predict("a red circle", 2, api_name="/search_text")
        assert len(hits) == 2 and hits[0]["thumbnail"].startswith(proxied["public"])
        picture = sorted(sample_library.rglob("*.png"))[0]
        found = client.predict(handle_file(str(picture)), 1, api_name="/search_image")
        assert found[0]["file"] == str(picture)
    finally:
        client.close()
    fetched_thumbnail(hits[0]["thumbnail"])


def test_the_mcp_client_searches_through_the_proxy(proxied, demo_engine):
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    async def session():
        async with sse_client(proxied["public"] + "gradio_api/mcp/sse") as (read, write):
            async with ClientSession(read, write) as mcp:
                await mcp.initialize()
                tools = {tool.name for tool in (await mcp.list_tools()).tools}
                found = await mcp.call_tool("search_photos_by_text", {"text": "a red circle", "k": 2})
                return tools, found

    tools, found = asyncio.run(asyncio.wait_for(session(), 120))
    assert {"search_photos_by_text", "search_photos_by_image", "find_similar_photos"} <= tools
    assert not found.isError, found.content
    hits = ast.literal_eval(found.content[0].text)
    assert hits[0]["file"] == demo_engine.search_text("a red circle", k=1)[0].path
    assert hits[0]["thumbnail"].startswith(proxied["public"])
    fetched_thumbnail(hits[0]["thumbnail"])
