"""The fields of a REST request, each read and checked: a wrong one is a 400 (``ApiError``) that says
which and what it takes (``webui/rest.py``)."""

from __future__ import annotations

from typing import Any

from .api_errors import ApiError
from .filters import read_k
from .handlers import api_filter
from .matches import api_min_score
from .paths import local_path


def file_field(fields: dict[str, str], what: str = "an indexed photo") -> str:
    """The request's ``file``, the path it names; where it has none, a 400 that says what to give."""
    path = local_path(fields.get("file") or "")
    if not path:
        raise ApiError(400, f"give file=PATH, the path of {what} (a result's \"file\")")
    return path


def seconds(raw: str) -> float:
    """``at``, a moment of a video in seconds (such as 83.5)."""
    try:
        at = float(raw)
    except ValueError:
        at = -1.0
    if not 0 <= at < 1e7:
        raise ApiError(400, f"at is a time in the video in seconds (such as 83.5), not {raw!r}")
    return at


def common_fields(fields: dict[str, str]) -> tuple[int, float, Any, bool]:
    """A search's ``k``, ``min_score``, filter and ``fold``, each checked (a 400 that says which)."""
    try:
        k = read_k(fields.get("k") or 20, clamp=False)  # as every endpoint reads it, out of range refused
        cut = api_min_score(fields.get("min_score"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    try:
        where = api_filter(fields.get("folder"), fields.get("since"), fields.get("until"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    return k, cut, where, flag(fields, "fold")


def flag(fields: dict[str, str], name: str) -> bool:
    """A yes-or-no field (``fold``, ``ranked``, ``bursts``): 1 or 0, true or false, yes or no; none is no."""
    value = (fields.get(name) or "").strip().lower()
    if value not in ("", "0", "1", "false", "true", "no", "yes"):
        raise ApiError(400, f"{name} is 1 or 0 (true or false), not {fields[name]!r}")
    return value in ("1", "true", "yes")


def whole_number(raw: str | None, name: str, default: int) -> int:
    """The field ``name`` (its text ``raw``) as a whole number; ``default`` where it is not given."""
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number, not {raw!r}") from None
