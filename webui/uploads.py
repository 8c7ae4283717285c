"""Gradio's uploads written as they arrive, on the event loop, instead of a thread hop per chunk.

gradio_client sends a file to Gradio's upload route (``/gradio_api/upload``) before every call
that takes one, such as ``/search_image``. That route writes each chunk of the request's body to a
temporary file through starlette's ``UploadFile.write``, which hands every chunk of a file on disk
to the thread pool, and then its ``seek``: for a 262 KB JPEG a few round trips between the event
loop and a worker thread, each waiting for the interpreter lock while the other requests' threads
hold it. Measured under the call API with a third of the queries uploads (8 clients, load average
under 1): the upload's request took a median 18 ms (p90 34) as Gradio ships it, 11 ms (p90 20)
written here.

A chunk is what one read of the socket returned, and writing it to a file the system caches takes
microseconds, so the event loop is not held up. A chunk larger than ``INLINE_MAX`` still goes to
the thread pool. ``install`` first checks that starlette's methods are the ones replaced here
(``STARLETTE_METHODS``: a hash of their source); any other version keeps its own.
"""

from __future__ import annotations

import logging

from gradio.route_utils import GradioUploadFile
from starlette.datastructures import UploadFile

from .waking_queue import source_fingerprint

log = logging.getLogger(__name__)

INLINE_MAX = 1 << 20  # bytes: a larger chunk is written in the thread pool, as starlette does
STARLETTE_METHODS = "e0c611899b041d45"  # starlette 1.10's UploadFile.write and .seek


def methods_fingerprint() -> str:
    """The hash of the installed starlette's ``UploadFile.write`` and ``UploadFile.seek`` (their source)."""
    return source_fingerprint(UploadFile.write, UploadFile.seek)


async def write(self: UploadFile, data: bytes) -> None:
    """``UploadFile.write``, in the calling coroutine when the chunk is small."""
    if len(data) > INLINE_MAX:
        await UploadFile.write(self, data)
        return
    if self.size is not None:
        self.size += len(data)
    self.file.write(data)


async def seek(self: UploadFile, offset: int) -> None:
    """``UploadFile.seek``, in the calling coroutine (a seek does no I/O)."""
    self.file.seek(offset)


def install() -> bool:
    """Give Gradio's upload files these methods. False, and Gradio's left as they are, when the
    installed starlette's are not the ones they replace."""
    if GradioUploadFile.write is write:
        return True
    if methods_fingerprint() != STARLETTE_METHODS:
        log.debug("Gradio's uploads keep starlette's writes (%s, not %s)", methods_fingerprint(), STARLETTE_METHODS)
        return False
    GradioUploadFile.write = write  # type: ignore[method-assign]
    GradioUploadFile.seek = seek  # type: ignore[method-assign]
    return True
