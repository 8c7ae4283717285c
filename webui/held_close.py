"""A session's event stream kept open a moment after its last event, for the next call of a script.

A client hears how its events end over one stream a session (``GET /gradio_api/queue/data``), and
Gradio ends that stream (a ``close_stream`` message) as soon as every event it knows of for the
session has ended. gradio_client (2.7) opens a new stream only for a call made while it believes
none is open, so a script that asks again as soon as its answer comes could lose its next call: the
``queue/join`` answered while the ``close_stream`` sent a moment earlier was not read yet (two
connections; under load the client's reader thread waits its turn), the call registered on the
stream that was closing, and that stream's end failed it (``CancelledError``). Seen once in about
2,200 calls of ``bench_load.py``'s eight clients (docs/performance.md); certain where the close
comes late (tests/integration/test_held_close.py). Gradio's own MCP server runs the assistants'
tool calls through one gradio_client session, so a tool call made as another ends was as exposed.
The page has a script of its own for the same race (``event_stream``).

``install`` puts ``HeldClose`` in front of the server: a ``close_stream`` is held back ``HOLD``
seconds, and where the session asks for another event meanwhile (its ``queue/join``), the close is
dropped and the stream goes on, fed by Gradio's stream for the session asked for again inside the
server; otherwise the close goes out as Gradio sent it. A script's calls one after the other then
share one stream, and its exit (gradio_client waits for its stream's end) comes ``HOLD`` later.
A join that comes after the hold has the race as before; the back-to-back calls that met it do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

HOLD = 0.1  # seconds a close_stream waits for the session's next event
LOOK_EVERY = 0.005  # seconds between looks for that event while the close waits
STREAM_PATH = "/gradio_api/queue/data"
CLOSE = b'"msg":"close_stream"'

Asgi = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class HeldClose:
    """ASGI: ``app`` with each event stream's ``close_stream`` held back ``hold`` seconds, and the
    stream gone on with where the session asks for another event meanwhile (``queue``: Gradio's
    ``blocks._queue``, whose ``pending_event_ids_session`` says so)."""

    def __init__(self, app: Asgi, queue: Any, hold: float = HOLD) -> None:
        self.app = app
        self.queue = queue
        self.hold = hold

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        session = self._session(scope)
        if session is None:
            await self.app(scope, receive, send)
            return
        stream = _Relay(send)
        while True:
            close = await stream.relay(self.app, scope, receive)
            if close is None or not await self._asked_again(session):
                break
        if close is not None:
            await send({"type": "http.response.body", "body": close, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _session(self, scope: dict) -> str | None:
        """The session whose stream ``scope`` asks for; None for any other request."""
        if scope["type"] != "http" or scope["method"] != "GET" or not scope["path"].endswith(STREAM_PATH):
            return None
        sessions = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash")
        return sessions[0] if sessions else None

    async def _asked_again(self, session: str) -> bool:
        """Whether the session has an event waiting, now or within ``hold`` seconds (never once
        the queue stops: the server is closing)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + self.hold
        while not self.queue.stopped:
            if self.queue.pending_event_ids_session.get(session):
                return True
            left = until - loop.time()
            if left <= 0:
                return False
            await asyncio.sleep(min(LOOK_EVERY, left))
        return False


class _Relay:
    """One client's stream, fed by Gradio's streams for its session in turn: the headers of the
    first, every part of each but its close and its end."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.started = False

    async def relay(self, app: Asgi, scope: dict, receive: Any) -> bytes | None:
        """Gradio's stream for ``scope`` sent on; returns its ``close_stream`` part, kept back (None
        where it ended without one: the client gone, the server stopped)."""
        close = None

        async def send(message: dict) -> None:
            nonlocal close
            if message["type"] == "http.response.start":
                if not self.started:  # a stream gone on keeps the headers it began with
                    self.started = True
                    await self.send(message)
                return
            body = message.get("body", b"")
            if body.startswith(b"data:") and CLOSE in body:
                close = body
            elif body:
                await self.send({"type": "http.response.body", "body": body, "more_body": True})

        await app(scope, receive, send)
        return close


def install(demo: Any, hold: float = HOLD) -> bool:
    """``HeldClose`` in front of a launched demo's server (its middleware stack, which Starlette
    built at the first request, Gradio's start check's); False where ``hold`` is 0."""
    if hold <= 0:
        return False
    server = demo.app
    server.middleware_stack = HeldClose(server.middleware_stack or server.build_middleware_stack(),
                                        demo._queue, hold)
    return True
