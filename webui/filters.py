"""The search filters of the page and of the API (folder, dates) and the number of results, as
widgets and fields give them: each wrong value a ``ValueError`` whose message says which and why."""

import os
from typing import Any

from clipsearch import SearchFilter, iso_day

from .paths import local_path

MAX_K = 500


def parse_filter(folder: str | None, date_from: str | None, date_to: str | None,
                 labels: tuple[str, str] = ("From date", "To date")) -> SearchFilter | None:
    """The filter from the folder and date widgets (or fields, named by ``labels`` in messages);
    ``ValueError`` with a readable message, for a folder that is not a full path too."""
    folder = local_path((folder or "").strip()) or None
    if folder and not os.path.isabs(os.path.expanduser(folder)):  # not the server's working folder's
        raise ValueError(f"the folder is a full path, as the Folder list shows the indexed folders, not {folder!r}")
    start, end = _parse_date(date_from, labels[0]), _parse_date(date_to, labels[1], end=True)
    where = SearchFilter(os.path.abspath(os.path.expanduser(folder)) if folder else None, start, end)
    return None if where.is_empty() else where  # an empty date range: SearchFilter's ValueError


def api_filter(folder: str | None, since: str | None, until: str | None) -> SearchFilter | None:
    """The filter of an API call (REST, the named endpoints, MCP tools): ``folder`` a full path, as
    results and /api/info show them (the server's own working folder means nothing to a caller)."""
    folder = (folder or "").strip()
    if folder and not os.path.isabs(os.path.expanduser(folder)):
        raise ValueError(f"folder is a full path, as /api/info lists the indexed folders, not {folder!r}")
    return parse_filter(folder, since, until, ("since", "until"))


def _parse_date(text: str | None, label: str, end: bool = False) -> str | None:
    try:
        return iso_day(text, end=end)
    except ValueError as exc:
        raise ValueError(f"{label} {exc}") from None


def clamp_k(k: Any) -> int:
    try:
        return max(1, min(MAX_K, int(k)))
    except (TypeError, ValueError):
        raise ValueError(f"the number of results must be a whole number, not {k!r}") from None
