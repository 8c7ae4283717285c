"""The search filters of the page and of the API (folder, dates) and the number of results, as
widgets and fields give them: each wrong value a ``ValueError`` whose message says which and why."""

import math
import os
from collections.abc import Callable
from typing import Any

from clipsearch import SearchFilter, iso_day
from clipsearch.folders import not_covered

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


def read_k(raw: Any, clamp: bool = True) -> int:
    """The number of results, as every route, endpoint, tool and the page read it: a number, or its
    text, cut to its whole part (2.7: 2); with ``clamp`` (the call API, the MCP tools, the page),
    below 1 is 1 and above ``MAX_K`` is ``MAX_K``; without it (REST), a ``ValueError`` says the range.
    Anything else (words, true, nan, infinity) is a ``ValueError`` that says what ``k`` is."""
    number: Any = raw.strip() if isinstance(raw, str) else raw
    try:
        number = number if isinstance(number, int) and not isinstance(number, bool) else float(number)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(raw, bool) or not math.isfinite(number):
        raise ValueError(f"k must be a whole number of results (1 to {MAX_K}), not {raw!r}")
    k = int(number)  # the whole part
    if not clamp and not 1 <= k <= MAX_K:
        raise ValueError(f"k is from 1 to {MAX_K}, not {raw if isinstance(raw, str) else repr(raw)}")
    return max(1, min(MAX_K, k))


def clamp_k(k: Any) -> int:
    """``read_k`` clamped: the call API's, the MCP tools' and the page's."""
    return read_k(k)


def uncovered(engine: Callable[[], Any], results: list, where: SearchFilter | None) -> str | None:
    """Why a search filtered to a folder found nothing, where the index covers no photo in that
    folder (``not_covered``: the page's status line, REST's ``note``), else None. ``engine`` (the
    handlers' accessor, which checks the index for changes) is asked only in that case."""
    if results or where is None or not where.folder:
        return None
    return not_covered(where.folder, engine().folders())
