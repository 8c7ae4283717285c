"""Composite queries: weighted text and image terms, negatives included.

The syntax is rclip's, in one string: terms joined by `` + `` and `` - ``, each optionally
weighted with a ``2:`` prefix. ``a red circle - circle + square`` asks for red squares;
``beach + sunset - people``; ``2:dog + grass``. A ``+`` or ``-`` inside a word (``t-shirt``)
is part of the word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import InvalidQuery

_SPLIT = re.compile(r"(?:^|\s+)([+-])\s+|^([+-])(?=\S)")
_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*:\s*(.*)$", re.S)


@dataclass(frozen=True)
class QueryTerm:
    """One term: a text or an image (PIL image, path or bytes), with a signed weight."""

    weight: float
    text: str | None = None
    image: Any = None


def parse_query(text: str) -> list[QueryTerm]:
    """Split a query string into weighted text terms (negatives have negative weights)."""
    text = (text or "").strip()
    if not text:
        return []
    terms: list[QueryTerm] = []
    sign, pos = 1.0, 0
    for match in _SPLIT.finditer(text):
        if match.start() > pos or (match.start() == pos and pos > 0):
            _add(terms, text[pos : match.start()], sign)
        sign = -1.0 if (match.group(1) or match.group(2)) == "-" else 1.0
        pos = match.end()
    _add(terms, text[pos:], sign)
    if not terms:
        raise InvalidQuery(f"no search terms in {text!r}")
    return terms


def _add(terms: list[QueryTerm], chunk: str, sign: float) -> None:
    chunk = chunk.strip()
    if not chunk:
        return
    weight = 1.0
    match = _WEIGHT.match(chunk)
    if match:
        weight = float(match.group(1))
        chunk = match.group(2).strip()
        if not chunk:
            raise InvalidQuery(f"a weight with no term after it: {match.group(0)!r}")
    terms.append(QueryTerm(sign * weight, text=chunk))
