"""Composite queries: weighted text and image terms, negatives included.

The syntax is rclip's, in one string: terms joined by `` + `` and `` - ``, each optionally
weighted with a ``2:`` prefix. ``a red circle - circle + square`` asks for red squares;
``beach + sunset - people``; ``2:dog + grass``. A ``+`` or ``-`` inside a word (``t-shirt``)
is part of the word. A number and a colon followed by a digit is text, not a weight
(``3:10 to Yuma``, ``16:9 screenshots``); to search for text that would read as a weight,
give it one: ``1:2:dog`` searches for the text ``2:dog``, ``2:3:10 to Yuma`` weighs a title.

A query has at most ``MAX_TERMS`` terms, a picture counting as one, and ``MAX_QUERY_CHARS``
characters (``check_terms``; ``SearchEngine.search`` checks the terms it is given): each term is embedded,
and with the automatic cut-off searched and judged, while every other query waits its turn, so
``thing0 + thing1 + ... + thing999`` held a shared server for seconds. A person combines a
handful; CLIP reads 77 tokens of a term (a few hundred characters) and drops the rest.
"""

from __future__ import annotations

import math
import operator
import os
import re
from dataclasses import dataclass
from numbers import Real
from typing import Any

from PIL import Image

from .errors import InvalidQuery, QueryTooLarge
from .region import Region, parse_region

MAX_TERMS = 10  # terms joined by + and -
MAX_QUERY_CHARS = 2000  # the whole query, spaces included: several long captions' worth
PICTURES = "a PIL image, a path or the file's bytes"  # what an image term may be

_SPLIT = re.compile(r"(?:^|\s+)([+-])\s+|^([+-])(?=\S)")
_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*:(.*)$", re.S)


@dataclass(frozen=True)
class QueryTerm:
    """One term: a text or an image (PIL image, path or bytes), with a signed weight; an image's
    ``region`` (``clipsearch.region``) searches with that part of it alone."""

    weight: float
    text: str | None = None
    image: Any = None
    region: Region | None = None


def parse_query(text: str) -> list[QueryTerm]:
    """Split a query string into weighted text terms (negatives have negative weights)."""
    if text is not None and not isinstance(text, str):
        raise TypeError(f"a query is text, not {type(text).__name__}")
    text = (text or "").strip()
    if not text:
        return []
    if len(text) > MAX_QUERY_CHARS:  # before the split: a query of megabytes is refused as it is
        raise QueryTooLarge(f"a query is at most {MAX_QUERY_CHARS:,} characters long; this one has {len(text):,}")
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
    return check_terms(terms)


def check_terms(terms: list[QueryTerm]) -> list[QueryTerm]:
    """``terms``, where there are at most ``MAX_TERMS`` of them, a picture counting as one (each is
    embedded, and searched and judged, as a word is); else ``QueryTooLarge`` saying the limit and
    how many there are. A term that is not what ``QueryTerm`` says (no text nor picture, a picture of
    another type) is refused here, before any is embedded, saying which (``_check_term``)."""
    if isinstance(terms, QueryTerm) or not isinstance(terms, (list, tuple)):
        raise TypeError(f"a query's terms are a list of QueryTerm, not {type(terms).__name__}")
    for term in terms:
        _check_term(term)
    if len(terms) > MAX_TERMS:
        pictures = sum(term.image is not None for term in terms)
        said = f", a picture counting as one; this one has {len(terms):,} ({pictures} picture{'s' * (pictures != 1)})" \
            if pictures else f"; this one has {len(terms):,}"
        raise QueryTooLarge(f"a query has at most {MAX_TERMS} terms joined by + and -{said}")
    return terms


def _check_term(term: Any) -> None:
    """``TypeError`` for a term of the wrong types, ``InvalidQuery`` for one with nothing to search for
    (``QueryTerm(1.0)``, ``search_image(None)``: else said to "cancel out")."""
    if not isinstance(term, QueryTerm):
        raise TypeError(f"a query's terms are QueryTerm, not {type(term).__name__}")
    if not isinstance(term.weight, Real) or isinstance(term.weight, bool):
        raise TypeError(f"a query term's weight is a number, not {term.weight!r}")
    if term.text is None and term.image is None:
        raise InvalidQuery(f"nothing to search for: a query term needs a text or a picture ({PICTURES})")
    if term.text is not None and term.image is not None:
        raise InvalidQuery("a query term is a text or a picture, not both: give each its own term")
    if term.text is not None and not isinstance(term.text, str):
        raise TypeError(f"a query term's text is a str, not {type(term.text).__name__}")
    if term.image is not None and not isinstance(term.image, (Image.Image, str, os.PathLike, bytes, bytearray)):
        raise TypeError(f"a picture to search with is {PICTURES}, not {type(term.image).__name__}")
    if term.region is not None and not isinstance(term.region, Region):
        raise TypeError(f"a region is a Region (or its text, parse_region's), not {type(term.region).__name__}")


def as_region(region: Region | str | None) -> Region | None:
    """A region given as text (``0.5,0,1,0.5``: ``parse_region``'s forms) as a ``Region``; a Region or
    None as it is."""
    return parse_region(region) if isinstance(region, str) else region


def check_k(k: Any) -> int:
    """How many results a search asks for, as a whole number of 0 or more (0: none); ``TypeError`` for
    a number that is not whole (``1.5``, ``"5"``), ``InvalidQuery`` for one below 0 (``-1`` listed all but
    one)."""
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"k is a whole number of results, not {k!r}") from None
    if k < 0:
        raise InvalidQuery(f"k is a number of results, 0 or more, not {k}")
    return k


def check_cutoff(cutoff: Any) -> None:
    """``InvalidQuery`` for a cut-off that is not "auto", a finite number or None: NaN marked every
    result strong, and a word other than "auto" means nothing."""
    if cutoff is None or isinstance(cutoff, str) and cutoff == "auto":
        return
    if isinstance(cutoff, str) or not isinstance(cutoff, Real) or not math.isfinite(cutoff):
        raise InvalidQuery(f"the cut-off is 'auto', a number or none, not {cutoff!r}")


def _add(terms: list[QueryTerm], chunk: str, sign: float) -> None:
    chunk = chunk.strip()
    if not chunk:
        return
    weight = 1.0
    match = _WEIGHT.match(chunk)
    if match and _is_weight(match.group(2)):
        weight = float(match.group(1))
        chunk = match.group(2).strip()
        if not chunk:
            raise InvalidQuery(f"a weight with no term after it: {match.group(0)!r}")
    if not chunk.strip("+-"):  # a sign where a term should be ("+", "- -", "a + -"): a slip, not words
        raise InvalidQuery(f"a sign with no term after it: {chunk!r} (signs join terms: a + b - c)")
    terms.append(QueryTerm(sign * weight, text=chunk))


def _is_weight(after_colon: str) -> bool:
    """A digit right after the colon makes ``N:`` text (3:10 to Yuma, 16:9), unless what
    follows is itself weighted text (``1:2:dog``: weight 1, the text ``2:dog``)."""
    return not after_colon[:1].isdigit() or _WEIGHT.match(after_colon) is not None
