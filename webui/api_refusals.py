"""What the call API and the MCP tools tell a caller whose request they refuse: a wrong ``k``, words
past the limit, no index yet, a path the index does not hold.

Gradio prints a traceback, 35 lines, to the server's log for every plain ``gr.Error``, as if the
server had failed: an assistant that tried three ``k`` values filled the log. A ``Refused`` is said
to the caller alone; ``refused`` logs one line where the index itself failed (a store that cannot be
read, a model missing), as the REST route does (``api_errors.translated``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from clipsearch import ClipSearchError, IndexNotFound, InvalidQuery, UnreadableImage

from .refusals import NoIndexYet, NotIndexed

log = logging.getLogger(__name__)


class Refused(gr.Error):
    """A request refused: its message to the caller, no traceback in the log."""

    def __init__(self, message: str, title: str = "Error") -> None:
        super().__init__(message, title=title, print_exception=False)


def refused(exc: Exception, index_dir: str | Path | None = None) -> gr.Error:
    """``exc`` as the caller's error: a ``gr.Error`` as it is; ``NoIndexYet`` as how to build the
    index in ``index_dir``; ``NotIndexed`` as what a path must be; anything else as a ``Refused`` of
    its message, logged in one line when it is the index's failure rather than the request's."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, (NoIndexYet, IndexNotFound)) and index_dir is not None:  # none, or deleted since
        return Refused(f"No index in {index_dir} yet: build one with "
                       f"`python -m indexer FOLDER --index {index_dir}`.", title="No index yet")
    if isinstance(exc, NotIndexed):
        return Refused('That photo is not in the index: pass a "file" exactly as a search returned it.',
                       title="Not indexed")
    if isinstance(exc, ClipSearchError) and not isinstance(exc, (InvalidQuery, UnreadableImage, IndexNotFound)):
        log.warning("API request failed: %s", exc)
    return Refused(str(exc))
