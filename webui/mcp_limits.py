"""Room in an MCP message for a picture sent inline.

An assistant hands ``search_photos_by_image`` a picture it holds as a data: URL, base64 text inside
the JSON-RPC message (a third larger than the file). The mcp package's transports refuse a
message over 4 MiB with HTTP 413 before it is read, which a client sees as a failed POST and not
as the tool's answer (the Python client waits on): a photo over about 3 MB, and so nearly every
camera RAW file, could not be searched with, though the tool takes 50 MB. Gradio builds the
transports itself; ``install`` has the ones it builds take a message that holds a picture of the
app's upload limit.
"""

from __future__ import annotations

import functools
import inspect

from .rest_form import MAX_UPLOAD_BYTES

MAX_MESSAGE_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + (1 << 20)  # the limit's base64, and the rest of the message
_TRANSPORTS = ("SseServerTransport", "StreamableHTTPSessionManager")  # GradioMCPServer's names for them


def install() -> bool:
    """Give Gradio's MCP transports ``MAX_MESSAGE_BYTES``. False where Gradio or the mcp package
    is not there, or an mcp release takes no such limit (it then keeps its own)."""
    try:
        from gradio.mcp import GradioMCPServer
        from mcp.server.sse import SseServerTransport
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    except ImportError:
        return False
    done = False
    for name, transport in zip(_TRANSPORTS, (SseServerTransport, StreamableHTTPSessionManager)):
        if "max_request_body_size" in inspect.signature(transport).parameters:
            setattr(GradioMCPServer, name, functools.partial(transport, max_request_body_size=MAX_MESSAGE_BYTES))
            done = True
    return done
