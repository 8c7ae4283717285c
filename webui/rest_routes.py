"""How the REST routes (``webui/rest.py``) are registered: each ``GET`` route answers ``HEAD`` too,
one operation in FastAPI's schema; and what a path under /api/ that no route has, or a method a
route does not take, is answered (``refusing_the_rest``).

A route registered for both methods at once is one operation in ``/openapi.json`` with two
methods, each given the same operation ID, which FastAPI warns of ("Duplicate Operation ID") and a
client generated from the schema trips over (and which of the two methods the ID named changed with
the process's hash seed). The ``HEAD`` twin stays out of the schema: curl -I, link checkers and
uptime monitors get the headers a ``GET`` would, and each operation keeps one ID
(``search_get_api_search_get``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .behind_proxy import public_root


def reading(router: APIRouter, path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: the function answers ``GET path`` (in the schema) and ``HEAD path`` (not in it)."""
    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["GET"])
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint
    return register


def refusing_the_rest(router: APIRouter) -> None:
    """After the routes: a path under /api/ that none of them has is a 404, and a method a route does
    not take a 405 with its ``Allow`` header, each ``{"error": ...}`` as every other refusal of the API
    (Starlette answered ``{"detail": "Not Found"}``); a route's path with a slash after it goes to the
    route, as Starlette redirects it (307), at the app's public address (``public_root``): behind a
    proxy that serves it under /photos/, Starlette's own target left /photos out."""
    methods: dict[str, set[str]] = {}
    for route in router.routes:
        methods.setdefault(route.path, set()).update(route.methods or ())

    async def refuse(request: Request) -> Response:
        path = f"{router.prefix}/{request.path_params['rest']}"
        if path not in methods and path.rstrip("/") in methods:  # where the caller reaches the app (a proxy's path)
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(public_root(request) + path.rstrip("/") + query, status_code=307)
        if path not in methods:
            return JSONResponse({"error": f"no route {path} here: the routes are {', '.join(sorted(methods))} "
                                          "(webui/API.md)"}, status_code=404)
        allow = ", ".join(sorted(methods[path]))
        return JSONResponse({"error": f"{path} takes {allow}, not {request.method}"}, status_code=405,
                            headers={"Allow": allow})

    # An ASGI app, not a function, so that its route takes every method (add_route adds no prefix).
    router.add_route(router.prefix + "/{rest:path}", _AnyMethod(refuse), include_in_schema=False)


class _AnyMethod:
    """An ASGI app answering every request with ``answer(request)``."""

    def __init__(self, answer: Callable[[Request], Awaitable[Response]]) -> None:
        self.answer = answer

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await (await self.answer(Request(scope, receive)))(scope, receive, send)


class BeforeListening:
    """A lifespan for Gradio's app (``launch(app_kwargs={"lifespan": ...})``) that runs ``install(app)``
    as its server starts, before it listens, so that what ``install`` adds is there for the first
    request: routes added once ``launch`` returned (it starts serving) left, for 30-170 ms, FastAPI's
    schema and the MCP tools' open without --auth's credentials, and /api/ a 404. ``result``:
    what ``install`` returned; None where the server ran no lifespan (then it is the caller's to do)."""

    def __init__(self, install: Callable[[Any], Any]) -> None:
        self.install = install
        self.result: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        self.result = self.install(app)
        yield
