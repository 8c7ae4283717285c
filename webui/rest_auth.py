"""Who may call the REST routes, Gradio's MCP endpoint and FastAPI's own schema when the app runs
with ``--auth``.

HTTP Basic credentials (the app's own user and password) or the session cookie of a browser that
logged in on the page; MCP tool calls go through Gradio's queue, which knows only session cookies,
so a caller that authenticated with Basic gets one added for that hop (``McpGuard``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from .behind_proxy import as_mounted


class Auth:
    """Who may call: checks HTTP Basic credentials or Gradio's session cookie against ``--auth``.

    Reads the Gradio app's own table of accounts and sessions, so a browser that logged in on the
    page can call the API too. A script sends ``Authorization: Basic`` (curl's ``-u user:pass``).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._tokens: dict[str, str] = {}  # user -> the session token made for Basic callers

    @property
    def required(self) -> bool:
        return self.app.auth is not None

    def user(self, headers: dict[str, str], cookies: dict[str, str]) -> str | None:
        """The caller's user name, or None when the request carries no valid credentials."""
        if not self.required:
            return "anonymous"
        cookie_id = self.app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        if token and token in self.app.tokens:
            return self.app.tokens[token]
        return self._basic(headers.get("authorization", ""))

    def _basic(self, header: str) -> str | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        accounts = self.app.auth
        if callable(accounts):
            return user if sep and accounts(user, password) else None
        expected = accounts.get(user) if sep else None
        if expected is None or not secrets.compare_digest(password.encode(), str(expected).encode()):
            return None
        return user

    def session_cookie(self, user: str) -> str:
        """A Gradio session cookie for ``user`` (for MCP calls, which go through Gradio's queue)."""
        token = self._tokens.get(user)
        if token is None or token not in self.app.tokens:
            token = secrets.token_urlsafe(16)
            self.app.tokens[token] = user
            self._tokens[user] = token
        return f"access-token-unsecure-{self.app.cookie_id}={token}"


def refuse_unauthorized() -> JSONResponse:
    return JSONResponse({"error": "authentication required: HTTP Basic with the app's --auth user and "
                                  "password, or the session cookie of a browser that logged in"},
                        status_code=401, headers={"WWW-Authenticate": 'Basic realm="clipsearch"'})


def guard_routes(app: Any, auth: Auth, mcp_path: str) -> None:
    """Put the server's routes that Gradio's login does not check behind ``auth``: the MCP endpoint
    (``McpGuard``), and the schema (and docs pages, where on) FastAPI serves of every route
    (``Guard``): Gradio guards its own copy under /gradio_api, not FastAPI's /openapi.json."""
    own = {url for url in (app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if url}
    for route in app.router.routes:
        path = getattr(route, "path", None)
        if path == mcp_path and hasattr(route, "app"):
            route.app = McpGuard(route.app, auth)
        elif path in own and hasattr(route, "app"):
            route.app = Guard(route.app, auth)


class Guard:
    """ASGI wrapper of a route: refuses callers without credentials when --auth is set."""

    def __init__(self, inner: Any, auth: Auth) -> None:
        self.inner = inner
        self.auth = auth

    async def __call__(self, scope, receive, send) -> None:
        scope = self.prepared(scope)
        if scope["type"] != "http" or not self.auth.required:
            await self.inner(scope, receive, send)
            return
        request = Request(scope)
        user = self.auth.user(dict(request.headers), dict(request.cookies))
        if user is None:
            await refuse_unauthorized()(scope, receive, send)
            return
        await self.inner(self.admitted(scope, request, user), receive, send)

    def prepared(self, scope: dict) -> dict:
        """The request's scope as the route reads it."""
        return scope

    def admitted(self, scope: dict, request: Request, user: str) -> dict:
        """The scope handed on once ``user`` is known."""
        return scope


class McpGuard(Guard):
    """``Guard`` of Gradio's MCP sub-app.

    Gradio runs MCP tool calls through its own queue, which knows only session cookies; a caller
    that authenticated with Basic gets a session cookie added to its request for that hop.
    """

    def prepared(self, scope: dict) -> dict:
        return as_mounted(scope)

    def admitted(self, scope: dict, request: Request, user: str) -> dict:
        headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
        cookie = "; ".join(filter(None, [request.headers.get("cookie"), self.auth.session_cookie(user)]))
        return {**scope, "headers": [*headers, (b"cookie", cookie.encode())]}
