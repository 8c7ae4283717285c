"""The REST route's refusals: ``ApiError`` (an HTTP status and a message), and ``translated``, which
turns the library's errors into them (``webui/rest.py``, ``webui/saved_api.py``)."""

from __future__ import annotations

import logging
from typing import Any

from clipsearch import ClipSearchError, IndexNotFound, InvalidQuery, ModelUnavailable, UnreadableImage

from .handlers import NoIndexYet

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the API refuses: an HTTP status and a message for the caller; ``fields``, more
    keys of its JSON body, for a client to tell one refusal from another (webui/API.md)."""

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields

    def body(self) -> dict[str, Any]:
        """The JSON answer: ``{"error": message, **fields}``."""
        return {"error": str(self), **self.fields}


class translated:
    """Library errors into API errors: bad input 400, no index or no model for it 503, anything else of ours 500."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, ApiError):
            return False
        if isinstance(exc, (NoIndexYet, IndexNotFound)):  # IndexNotFound: saved searches' folder, not made yet
            raise ApiError(503, "no index yet: build one with `python -m indexer FOLDER --index DIR`") from None
        if isinstance(exc, UnreadableImage):
            raise ApiError(400, f"the uploaded file cannot be used as a picture ({exc.reason})",
                           unreadable={"reason": exc.reason, "detail": exc.detail}) from None
        if isinstance(exc, (InvalidQuery, ValueError)):
            raise ApiError(400, str(exc)) from None
        if isinstance(exc, ModelUnavailable):  # the index's model, as the index replaced names it: not there now
            log.warning("API request failed: %s", exc)
            raise ApiError(503, str(exc)) from None
        if isinstance(exc, ClipSearchError):
            log.warning("API request failed: %s", exc)
            raise ApiError(500, str(exc)) from None
        return False
