r"""Paths as the web can carry them.

A file name that is not UTF-8 (bytes written under another encoding: Latin-1 names from an old
archive or a Windows disk) reaches Python with each odd byte as a lone surrogate
(``'caf\udce9.jpg'``), which no JSON encoder writes: Gradio's and FastAPI's both refused it, and
one such photo among the results failed the whole search. ``web_path`` shows those bytes as
``\xNN`` (``'caf\\xe9.jpg'``: readable, and no UTF-8 name has it), ``web_safe`` does so through
a whole answer, and ``local_path`` turns a path that came back from the web into the file's own.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any
from urllib.parse import quote

from clipsearch.web_names import local_path, web_path  # noqa: F401 - the names the web app imports from here


def file_url(path: str) -> str:
    """The address of a file Gradio serves (a cached thumbnail), relative to the page: it holds where
    a reverse proxy serves the app under a path of its own (``/photos/``, ``--root-path``), where
    ``/gradio_api/file=...`` would leave that path out."""
    return "gradio_api/file=" + quote(os.fsencode(path))


def web_safe(value: Any) -> Any:
    """``value`` with every string in it (in lists, tuples and dicts, keys too) as ``web_path`` shows it."""
    if isinstance(value, str):
        return web_path(value)
    if isinstance(value, dict):
        return {web_safe(k): web_safe(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(web_safe(v) for v in value)
    return value


def safe_outputs(blocks: Any) -> None:
    """Every event function of ``blocks`` made to answer ``web_safe``: what goes to the browser or an
    API client (gallery captions, details, folder lists, API records). ``gr.State`` outputs stay
    in the server and keep the files' own paths."""
    import gradio as gr

    for block_fn in blocks.fns.values():
        fn = block_fn.fn
        if fn is None or inspect.iscoroutinefunction(fn) or block_fn.types_generator:
            continue
        block_fn.fn = _answering_safely(fn, [isinstance(block, gr.State) for block in block_fn.outputs])


def _answering_safely(fn: Any, kept: list[bool]) -> Any:
    """``fn`` with ``web_safe`` answers but for the outputs ``kept`` as they are. A function, not a
    partial: Gradio reads the parameters' annotations (``gr.SelectData``...) through ``__wrapped__``."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if not kept:  # an API function (gr.api): its answer goes out whole
            return web_safe(result)
        if len(kept) == 1:
            return result if kept[0] else web_safe(result)
        if type(result) in (list, tuple) and len(result) == len(kept):
            return type(result)(value if state else web_safe(value) for value, state in zip(result, kept))
        return result

    return call
