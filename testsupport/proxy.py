"""A reverse proxy as a self-hoster puts one in front of the web app: nginx's

    location /photos/ {
        proxy_pass http://127.0.0.1:7860/;       # the trailing slash takes /photos off
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering off;                     # event streams pass as they come
    }

in a thread of the test's process (Starlette, uvicorn and httpx: what the app itself runs on).
With ``keep_path`` it passes the path whole, as ``proxy_pass http://127.0.0.1:7860;`` does. With
``host="$host"`` it sends nginx's ``$host`` instead: the host's name without its port, which a
proxy on a port of its own (https://nas:8443/photos/) loses from every address the app makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from .net import free_port

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"}


def nginx_host(host_header: str, variable: str = "$http_host") -> str:
    """What nginx's ``variable`` holds for a request with this ``Host`` header: ``$http_host`` the
    header as it came, ``$host`` the name alone (its port taken off, an IPv6 address's brackets kept)."""
    if variable == "$http_host":
        return host_header
    if variable != "$host":
        raise ValueError(f"no nginx variable {variable} here: $http_host or $host")
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1].lower()
    return host_header.rsplit(":", 1)[0].lower()


def proxy_app(upstream: str, prefix: str, keep_path: bool = False, host: str = "$http_host") -> Starlette:
    """Passes ``{prefix}/X`` to ``{upstream}/X`` (``{upstream}{prefix}/X`` with ``keep_path``) with the
    forwarding headers, ``Host`` and ``X-Forwarded-Host`` set to nginx's ``host`` variable; anything
    else is 404."""
    clients: dict[str, httpx.AsyncClient] = {}

    async def forward(request: Request):
        path = request.url.path
        if not path.startswith(prefix + "/"):
            return PlainTextResponse(f"not under {prefix}/", status_code=404)
        if "client" not in clients:  # made on the server's own event loop
            clients["client"] = httpx.AsyncClient(base_url=upstream, timeout=None)
        client = clients["client"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["host"] = headers["x-forwarded-host"] = nginx_host(request.headers.get("host", ""), host)
        headers["x-forwarded-proto"] = request.url.scheme
        sent = client.build_request(request.method, path if keep_path else path[len(prefix):], params=request.url.query,
                                    headers=headers, content=await request.body())
        answer = await client.send(sent, stream=True)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code, headers=kept,
                                 background=BackgroundTask(answer.aclose))

    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
    return Starlette(routes=[Route("/{rest:path}", forward, methods=methods)])


@contextmanager
def reverse_proxy(upstream: str, prefix: str = "/photos", keep_path: bool = False,
                  host: str = "$http_host") -> Iterator[str]:
    """Serves ``upstream`` under ``prefix`` on a free local port; yields the public URL
    (``http://127.0.0.1:PORT/photos/``)."""
    port = free_port()
    app = proxy_app(upstream.rstrip("/"), prefix, keep_path, host)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="reverse-proxy", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the reverse proxy did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}{prefix}/"
    finally:
        server.should_exit = True
        server.force_exit = True  # event streams a browser left open do not hold it
        thread.join(timeout=10)
