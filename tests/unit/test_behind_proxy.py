"""The web app's own addresses behind a reverse proxy that serves it under a path of its own
(webui/behind_proxy.py, webui/paths.file_url); the whole path, through a real proxy, is in
tests/integration/test_behind_proxy.py and tests/browser/test_proxy_browser.py."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from webui.behind_proxy import as_mounted, public_root
from webui.paths import file_url


class FakeApp:
    def __init__(self, root_path: str) -> None:
        self.root_path = root_path


def request(url_path: str, headers: dict[str, str] | None = None, root_path: str = "") -> Request:
    scope = {"type": "http", "method": "GET", "scheme": "http", "server": ("127.0.0.1", 7860),
             "path": url_path, "query_string": b"q=x", "root_path": "", "app": FakeApp(root_path),
             "headers": [(k.encode(), v.encode()) for k, v in {"host": "127.0.0.1:7860", **(headers or {})}.items()]}
    return Request(scope)


@pytest.mark.parametrize("url_path, headers, root_path, expected", [
    ("/api/search", None, "", "http://127.0.0.1:7860"),
    ("/api/search", None, "/photos", "http://127.0.0.1:7860/photos"),
    ("/api/search", {"x-forwarded-host": "home.example", "x-forwarded-proto": "https"}, "/photos",
     "https://home.example/photos"),
    ("/api/search", {"x-forwarded-host": "home.example:8443"}, "", "http://home.example:8443"),
    ("/gradio_api/queue/join", None, "", "http://127.0.0.1:7860"),  # an MCP tool's call, through the queue
])
def test_the_public_root_is_what_the_caller_reached(url_path, headers, root_path, expected):
    assert public_root(request(url_path, headers, root_path)) == expected


@pytest.mark.parametrize("root, path, expected", [
    ("/gradio_api/mcp", "/gradio_api/mcp/sse", "/gradio_api/mcp/sse"),  # no proxy: as it came
    ("/photos/gradio_api/mcp", "/photos/gradio_api/mcp/sse", "/photos/gradio_api/mcp/sse"),  # path kept
    ("/photos/gradio_api/mcp", "/gradio_api/mcp/sse", "/photos/gradio_api/mcp/sse"),  # path taken off
    ("/photos/gradio_api/mcp", "/gradio_api/mcp/messages/", "/photos/gradio_api/mcp/messages/"),
])
def test_the_mcp_sub_app_sees_its_path_under_the_root_path(root, path, expected):
    scope = {"type": "http", "root_path": root, "path": path, "headers": []}
    assert as_mounted(scope)["path"] == expected
    assert scope["path"] == path  # a copy: the caller's scope is left as it is


def test_a_served_file_is_addressed_from_the_page_and_quoted():
    url = file_url("/home/me/my cache/thumbs/256/ab#12.jpg")
    assert url == "gradio_api/file=/home/me/my%20cache/thumbs/256/ab%2312.jpg"  # no leading slash
