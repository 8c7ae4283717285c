"""A picture given to an endpoint as a URL: the app's own thumbnails read from its cache, other
addresses fetched by Gradio, and a failed fetch said in words.

An assistant hands ``search_photos_by_image`` (and gradio_client callers ``/search_image``) a URL
rather than a file. Gradio fetches it before the handler runs, and refuses the machine's own
addresses (its guard against requests to local services), so the ``thumbnail`` URL of a result
of this very app could never be fetched, and any failure reached the caller as Gradio's
"has raised an exception but has not enabled verbose error reporting". Here a URL of this app's
``/api/thumbnail`` route is read as that route would answer it (an indexed photo or video moment,
at the preview's size, straight from the thumbnail cache: no request, so ``--auth`` needs no
credentials twice), and a fetch that fails raises a ``gr.Error`` that says why and what works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import gradio as gr

from clipsearch import UnreadableImage

from .api_errors import ApiError
from .api_refusals import Refused

log = logging.getLogger(__name__)

THUMBNAIL_ROUTE = "/api/thumbnail"  # rest.py's route, under whatever root a proxy gives the app


def own_thumbnail_fields(url: str) -> dict[str, str] | None:
    """The query of a URL of this app's thumbnail route (any host: the app may be reached by
    several names, or behind a proxy's path), else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.path.rstrip("/").endswith(THUMBNAIL_ROUTE):
        return None
    fields = dict(parse_qsl(parts.query, keep_blank_values=True))
    return fields if fields.get("file") else None


def guard_fetches(block: Any, read_thumbnail: Callable[[dict[str, str]], str]) -> None:
    """Make ``block`` (an image input) read its own thumbnails from the cache and explain failed
    fetches. ``read_thumbnail(fields)``: the cached JPEG a thumbnail request with ``fields`` answers
    (``ApiError`` for a path the index does not hold). Wrapping the instance's method, as
    ``upload_image.upload_image`` wraps ``preprocess``: Gradio writes a ``.pyi`` stub beside a subclass."""
    original = block.async_move_resource_to_block_cache

    async def move(url_or_path: Any) -> Any:
        if not isinstance(url_or_path, str) or not url_or_path.startswith(("http://", "https://")):
            return await original(url_or_path)
        fields = own_thumbnail_fields(url_or_path)
        if fields is not None:
            try:
                return await original(read_thumbnail(fields))
            except ApiError as exc:
                raise Refused(f"That thumbnail URL names no photo of this library: {exc}.",
                               title="Not in the index") from None
            except UnreadableImage as exc:
                raise Refused(f"That photo of the library cannot be read now ({exc.reason}).",
                               title="Not readable") from None
        try:
            return await original(url_or_path)
        except gr.Error:
            raise
        except Exception as exc:
            log.info("could not fetch %s: %s: %s", url_or_path, type(exc).__name__, exc)
            raise Refused(
                f"Could not fetch the picture at {url_or_path} ({_why(exc)}). The app fetches public "
                "http(s) addresses only, not this machine's or its network's; give the picture itself "
                "as a data: URL, or, for a photo of the library, use find_similar_photos with its file.",
                title="Picture not fetched") from None

    block.async_move_resource_to_block_cache = move


def _why(exc: Exception) -> str:
    text = str(exc)
    if "failed validation" in text:
        return "a local or private address"
    if "Status code" in text:
        return f"the server answered {text.rsplit(':', 1)[-1].strip()}"
    return type(exc).__name__ if not text else text[:120]
