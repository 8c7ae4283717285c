"""Room in an MCP message for a picture sent inline, and a clear answer to one over it.

An assistant hands ``search_photos_by_image`` a picture it holds as a data: URL, base64 text inside
the JSON-RPC message (a third larger than the file). The mcp package's transports refuse a
message over 4 MiB with HTTP 413 before it is read, which a client sees as a failed POST and not
as the tool's answer (the Python client waits on): a photo over about 3 MB, and so nearly every
camera RAW file, could not be searched with, though the tool takes 50 MB. Gradio builds the
transports itself; ``install`` has the ones it builds take a message that holds a picture of the
app's upload limit.

A message over that limit still met the 413, and the Python client over SSE then waited for ever
(its sender stops at the first failed POST, the call is never answered, and no later call of that
session is sent). So the transports read such a message to its end, keeping its first and last
few KB only, and hand the server in its place a call of the same request id that the tool
handler answers as a tool error that says the limit: the client hears why, and the session (and
the server) go on. One whose request id cannot be found is refused with the 413 as before.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from typing import Any

from starlette.responses import Response

from .rest_form import MAX_UPLOAD_BYTES

MAX_MESSAGE_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + (1 << 20)  # the limit's base64, and the rest of the message
MAX_READ_BYTES = 1 << 30  # a message over this (as declared, or as sent) is refused with 413 unread
TOO_LARGE = (f"The picture is too large: a picture to search with may be at most {MAX_UPLOAD_BYTES >> 20} MB "
             "(sent inline, its base64 in the message a third more). Send a smaller one, or the path of an "
             "indexed photo to find_similar_photos.")
_TOO_LARGE_TOOL = "clipsearch/message-too-large"  # the name the call put in a refused one's place goes by
_KEPT = 4096  # bytes kept of each end of a refused message: where its request id is
_ID = r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")'
_TRANSPORTS = ("SseServerTransport", "StreamableHTTPSessionManager")  # GradioMCPServer's names for them


def install() -> bool:
    """Give Gradio's MCP transports ``MAX_MESSAGE_BYTES``, a message over it answered as a tool
    error. False where Gradio or the mcp package is not there, or an mcp release takes no such
    limit (it then keeps its own)."""
    try:
        from gradio.mcp import GradioMCPServer
        from mcp.server.sse import SseServerTransport
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    except ImportError:
        return False
    done = False
    for name, transport in zip(_TRANSPORTS, (SseServerTransport, StreamableHTTPSessionManager)):
        if "max_request_body_size" in inspect.signature(transport).parameters:
            setattr(GradioMCPServer, name, functools.partial(_answering, transport))
            done = True
    if done and not getattr(GradioMCPServer.create_mcp_server, "_answers_too_large", False):
        GradioMCPServer.create_mcp_server = _with_too_large_answered(GradioMCPServer.create_mcp_server)
    return done


def _answering(transport: type, *args: Any, **kwargs: Any) -> Any:
    """``transport`` with ``MAX_MESSAGE_BYTES``, its body limit (the mcp package's
    ``RequestBodyLimitMiddleware``, where this release keeps it so) replaced by ``TooLarge``."""
    made = transport(*args, max_request_body_size=MAX_MESSAGE_BYTES, **kwargs)
    for name, app in (("_post_message_app", "_handle_post_message"), ("asgi_app", "_handle_request")):
        limit = getattr(made, name, None)
        if type(limit).__name__ == "RequestBodyLimitMiddleware" and hasattr(made, app):
            setattr(made, name, TooLarge(getattr(made, app), MAX_MESSAGE_BYTES))
    return made


class TooLarge:
    """An ASGI body limit that answers a JSON-RPC request over ``limit`` bytes with a call of
    ``_TOO_LARGE_TOOL`` under its id, handed to ``app`` in its place (413 when there is no id)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if _declared(scope) > MAX_READ_BYTES:
            return await _refused(scope, receive, send)
        body, tail, size, last = bytearray(), b"", 0, None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                last = message  # the client went away: the app hears it as the mcp package's limit passes it on
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_READ_BYTES:
                return await _refused(scope, receive, send)
            if size <= self.limit:
                body += chunk
            else:
                del body[_KEPT:]  # the head, where a request id may lead
                tail = (tail + chunk)[-_KEPT:]
            if not message.get("more_body", False):
                break
        if size > self.limit:
            call = _in_place_of(bytes(body), tail)
            if call is None:
                return await _refused(scope, receive, send)
            body = bytearray(call)
        await self.app(scope, _replay(bytes(body), last, receive), send)


def _declared(scope: dict) -> int:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _refused(scope: dict, receive: Any, send: Any) -> None:
    await Response("Request body too large", status_code=413)(scope, receive, send)


def _replay(body: bytes, last: dict | None, receive: Any) -> Any:
    queued = [{"type": "http.request", "body": body, "more_body": False}] + ([last] if last else [])

    async def replayed() -> dict:
        return queued.pop(0) if queued else await receive()
    return replayed


def _in_place_of(head: bytes, tail: bytes) -> bytes | None:
    """The call that stands for a request too large to read (``head`` and ``tail``: its ends):
    ``_TOO_LARGE_TOOL`` under the request's id; None for no request id found. The id is the last
    member (as the mcp package writes a message) or the first, after ``jsonrpc`` or alone."""
    found = (re.search(_ID + r"\s*}\s*$", tail.decode("utf-8", "replace"))
             or re.match(r'\s*{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?' + _ID, head.decode("utf-8", "replace")))
    if found is None:
        return None
    request_id = json.loads(found.group(1))
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                       "params": {"name": _TOO_LARGE_TOOL, "arguments": {}}}).encode()


def _with_too_large_answered(create: Any) -> Any:
    """``GradioMCPServer.create_mcp_server``, its tool handler answering ``_TOO_LARGE_TOOL`` with
    ``TOO_LARGE``, and Gradio's own refusal of a picture over the upload limit (which names the
    server's temporary file) with it too."""
    from mcp import types

    @functools.wraps(create)
    def created(self: Any) -> Any:
        server = create(self)
        handle = server.request_handlers.get(types.CallToolRequest)
        if handle is None:
            return server

        async def answered(request: Any) -> Any:
            if request.params.name == _TOO_LARGE_TOOL:
                return types.ServerResult(types.CallToolResult(
                    content=[types.TextContent(type="text", text=TOO_LARGE)], isError=True))
            result = await handle(request)
            said = result.root.content if isinstance(result.root, types.CallToolResult) and result.root.isError else []
            if any(f"exceeds the maximum file size of {MAX_UPLOAD_BYTES} bytes" in getattr(c, "text", "") for c in said):
                result.root.content = [types.TextContent(type="text", text=TOO_LARGE)]
            return result

        server.request_handlers[types.CallToolRequest] = answered
        return server

    created._answers_too_large = True  # type: ignore[attr-defined]
    return created
