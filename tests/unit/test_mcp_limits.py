"""The MCP transports' answer to a message over their limit (webui.mcp_limits): the request's id
is found at either end of it, and the call put in its place is answered as a tool error."""

from __future__ import annotations

import asyncio
import json

import pytest

from webui import mcp_limits


@pytest.mark.parametrize("head, tail, request_id", [
    (b'{"method":"tools/call","params":{"name":"search_photos_by_image","arguments":{"image":"data:',
     b'AAAA"}},"jsonrpc":"2.0","id":7}', 7),  # as the mcp package writes it: the id last
    (b'{"jsonrpc": "2.0", "id": "call-\\"9\\"", "method": "tools/call", "params": {"arguments": {"id": 3',
     b'AAAA"}}}', 'call-"9"'),  # first, a string; an "id" in the arguments is not it
    (b'{"id":12,"method":"tools/call","params":{', b'"}}}\n', 12),
    (b'{"method":"tools/call","params":{"arguments":{"id":5,"image":"', b'AAAA"}}}', None),  # none: a 413
])
def test_the_request_id_is_found_at_either_end(head, tail, request_id):
    made = mcp_limits._in_place_of(head, tail)
    if request_id is None:
        assert made is None
        return
    call = json.loads(made)
    assert call == {"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                    "params": {"name": mcp_limits._TOO_LARGE_TOOL, "arguments": {}}}


def _run(body: bytes, chunk: int = 1 << 16) -> tuple[list[dict], bytes]:
    """``body`` sent to ``app`` in chunks; what it answered, and the body the app behind it read."""
    sent, seen = [], bytearray()

    async def inner(scope, receive, send):
        while True:
            message = await receive()
            seen.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b"Accepted"})

    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    queue = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", str(len(body)).encode())]}
    asyncio.run(mcp_limits.TooLarge(inner, 1000)(scope, receive, send))
    return sent, bytes(seen)


def test_a_message_under_the_limit_is_passed_on_whole_and_one_over_it_replaced():
    small = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
    assert _run(small, chunk=10)[1] == small
    big = b'{"method":"tools/call","params":{"name":"x","arguments":{"image":"' + b"A" * 5000 + b'"}},"jsonrpc":"2.0","id":4}'
    sent, seen = _run(big, chunk=100)
    assert json.loads(seen)["params"]["name"] == mcp_limits._TOO_LARGE_TOOL and json.loads(seen)["id"] == 4
    assert sent[0]["status"] == 202
    no_id = b'{"method":"notifications/x","params":{"v":"' + b"A" * 5000 + b'"}}'
    sent, seen = _run(no_id, chunk=100)
    assert sent[0]["status"] == 413 and seen == b""
