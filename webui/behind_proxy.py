"""The web app behind a reverse proxy that serves it under a path of its own.

nginx's ``location /photos/ { proxy_pass http://127.0.0.1:7860/; ... }`` takes ``/photos`` off
every request it passes; ``--root-path /photos`` tells the app where it is (README, "Behind a
reverse proxy"). Gradio builds its own pages' and files' addresses from that and from the
proxy's ``X-Forwarded-Host`` and ``X-Forwarded-Proto``; this module does the same for the app's
own routes: the REST and MCP answers' thumbnail URLs, and the MCP endpoint's sub-app.
"""

from __future__ import annotations

from typing import Any

from gradio import route_utils

MCP_PREFIX = "/gradio_api/mcp"


def public_root(request: Any) -> str:
    """The app's address as its caller sees it, without a trailing slash: Gradio's own rule for its
    file URLs (a proxy's ``X-Forwarded-Host`` and ``-Proto``, then ``--root-path``), so that a
    thumbnail URL holds behind a reverse proxy as the page's pictures do.

    Remembered by what it depends on (the scheme, the host and forwarding headers, the root
    path): Gradio's rule parses the whole URL, 38 µs a request here against 5 with the lookup."""
    if request is None or not hasattr(request, "url"):
        return ""
    root_path = getattr(getattr(request, "app", None), "root_path", "") or ""
    headers = request.headers
    server = request.scope.get("server")  # a list where the ASGI server is not uvicorn (the spec allows it)
    key = (request.scope.get("scheme"), server and tuple(server), headers.get("host"), headers.get("x-forwarded-host"),
           headers.get("x-forwarded-proto"), headers.get("x-gradio-server"), root_path)
    known = _ROOTS.get(key)
    if known is None:
        known = route_utils.get_root_url(request, route_path=request.url.path, root_path=root_path)
        if len(_ROOTS) >= ROOTS_KEPT:
            _ROOTS.clear()  # a caller sending a new Host each time keeps it small
        _ROOTS[key] = known
    return known


ROOTS_KEPT = 256
_ROOTS: dict[tuple, str] = {}


def as_mounted(scope: dict) -> dict:
    """The scope of a request to the MCP sub-app, its path under the app's ``--root-path``.

    A reverse proxy that serves the app under ``/photos/`` (nginx's ``proxy_pass .../;``) sends
    ``/gradio_api/mcp/sse`` without its path, while the sub-app is told it sits at
    ``/photos/gradio_api/mcp`` and matched nothing (404). With the path put back it answers, and
    tells the client to post its messages under ``/photos/`` too, where the proxy passes them.
    """
    root, path = scope.get("root_path", ""), scope.get("path", "")
    if root.endswith(MCP_PREFIX) and len(root) > len(MCP_PREFIX) and not path.startswith(root):
        return {**scope, "path": root[: -len(MCP_PREFIX)] + path}
    return scope
