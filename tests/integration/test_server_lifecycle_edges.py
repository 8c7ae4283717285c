"""The real server at its edges: behind README's nginx block on a port of its own (the addresses it
makes keep the port; the /api redirect stays under the proxy's path), and an assistant's MCP event
stream connected as the server stops (the stream is closed, the server's thread ends). The servers
and their fixtures: test_rest_mcp's."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import httpx
import pytest

from testsupport.proxy import reverse_proxy
from webui.stopping import serve_until_stopped

from .test_rest_mcp import Served

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_nginx_host() -> str:
    """The nginx variable README's block sends as ``X-Forwarded-Host`` (what the app reads first)."""
    block = re.search(r"```nginx\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    return re.search(r"proxy_set_header\s+X-Forwarded-Host\s+(\$\w+);", block).group(1)


@pytest.fixture(scope="module")
def behind_readme_proxy(demo_engine, gradio_temp):
    """``python -m webui --root-path /photos`` behind a proxy that sends what README's nginx block
    sends, on a port that is not 80 or 443 (https://nas:8443/photos/, say)."""
    server = Served.uploading_to(gradio_temp, demo_engine.settings, mcp=False, root_path="/photos")
    try:
        with reverse_proxy(f"http://127.0.0.1:{server.port}", "/photos", host=readme_nginx_host()) as public:
            yield public
    finally:
        server.close()


def test_behind_readmes_nginx_block_every_address_keeps_the_proxys_port(behind_readme_proxy):
    """With nginx's $host (no port) the thumbnails and the page's root pointed at port 80."""
    public = behind_readme_proxy
    with httpx.Client(base_url=public, timeout=60) as http:
        hits = http.get("api/search", params={"q": "a red circle", "k": 2}).json()["results"]
        assert hits and all(hit["thumbnail"].startswith(public + "api/thumbnail?file=") for hit in hits), hits
        assert http.get(hits[0]["thumbnail"]).headers["content-type"] == "image/jpeg"
        assert http.get("config").json()["root"] == public.rstrip("/")  # the page's files and its API


def test_the_api_redirect_stays_under_the_proxys_path(behind_readme_proxy):
    answer = httpx.get(behind_readme_proxy + "api/search/", params={"q": "red"}, timeout=60, follow_redirects=True)
    assert answer.history and answer.history[0].status_code == 307
    assert answer.history[0].headers["location"] == behind_readme_proxy + "api/search?q=red"
    assert answer.status_code == 200 and answer.json()["results"]  # followed, through the proxy


def test_an_assistants_event_stream_is_closed_as_the_server_stops(demo_engine, gradio_temp, capsys):
    """An MCP client connected (``/gradio_api/mcp/sse``) held Ctrl-C or SIGTERM 5 s: the close waited
    for its stream and gave up, the server's thread still serving it."""
    server = Served.uploading_to(gradio_temp, demo_engine.settings, mcp=True)
    ended, connected = threading.Event(), threading.Event()

    def assistant() -> None:
        try:
            with httpx.stream("GET", server.url + "gradio_api/mcp/sse", timeout=httpx.Timeout(60, read=None)) as sse:
                for line in sse.iter_lines():
                    if line.startswith("event: endpoint"):
                        connected.set()
        except httpx.HTTPError:  # the connection closed under it, as when a server goes away
            pass
        ended.set()

    client = threading.Thread(target=assistant, daemon=True)
    client.start()
    try:
        assert connected.wait(60), "the MCP stream did not start"
        stop = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
        stop.start()
        assert serve_until_stopped(server.demo) == "SIGTERM"
        assert not server.demo.server.thread.is_alive(), "the server's thread still serves the stream"
        assert ended.wait(30), "the assistant's stream is still open"
    finally:
        server.close()
    assert "Stopping (SIGTERM)" in capsys.readouterr().out


def test_with_auth_nothing_is_served_unguarded_as_the_server_starts(demo_engine, gradio_temp, monkeypatch):
    """What a request gets at the moment the server starts listening: for 30-170 ms FastAPI's schema
    and the MCP tools' schema answered without credentials (200), and /api/ was a 404 (the routes and
    guards came once ``launch`` returned)."""
    import uvicorn

    seen: dict[str, int] = {}
    startup = uvicorn.Server.startup

    async def listening(self, *args, **kwargs):
        await startup(self, *args, **kwargs)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.config.app), base_url="http://x") as http:
            for path in ("/openapi.json", "/gradio_api/mcp/schema", "/api/info"):
                seen[path] = (await http.get(path)).status_code

    monkeypatch.setattr(uvicorn.Server, "startup", listening)
    server = Served.uploading_to(gradio_temp, demo_engine.settings, mcp=True, auth=("alice", "s3cret"))
    try:
        assert seen == {"/openapi.json": 401, "/gradio_api/mcp/schema": 401, "/api/info": 401}
    finally:
        server.close()
