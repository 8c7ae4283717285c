"""The forms words are searched in: what a query asks FTS5 for, and the other forms of the words
read (``alternate_forms``) indexed beside them, so that a word is found as people type it.

FTS5's ``unicode61`` tokenizer (``remove_diacritics 2``) folds case and accents (é is e, ä is a);
what it cannot fold is here, on both sides: ß as ss, ä/ö/ü spelled ae/oe/ue, hyphenated words
and phone numbers' digit groups written as one word, and OCR's usual confusions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PREFIX_MIN = 3  # a query word this long or longer also matches words it begins


@dataclass(frozen=True)
class TextQuery:
    """A query in FTS5 syntax: ``exact`` matches whole words; ``prefix`` also word beginnings."""

    exact: str
    prefix: str | None
    words: tuple[str, ...] = ()  # the query's words, folded (see ``fold``)


WORD = re.compile(r"\w+", re.UNICODE)
_QUOTED = re.compile(r'"([^"]*)"')


def parse_text_query(text: str) -> TextQuery | None:
    """The FTS5 queries for what a user typed; None when it has no words.

    Words outside quotes must all appear (in any order), as whole words or, from ``PREFIX_MIN``
    letters, as word beginnings; a ``"quoted phrase"`` must appear as written, word for word.
    Punctuation inside a word (``7-22``, ``O'Neil``) keeps its parts together, in order. A query
    also matches its other forms, as ``alternate_forms`` indexes the text's: with ß as ss
    (``straße`` finds STRASSE), with ä/ö/ü spelled ae/oe/ue (``bäckerei`` finds BAECKEREI), a
    hyphenated word joined (``wi-fi`` finds WIFI) and groups of digits that make a phone number
    joined (``0800 555 1234`` finds 08005551234). A query's ae/oe/ue is not read as ä/ö/ü (``blue``
    would find BLU-RAY, ``guest`` GUST): the text's ä/ö/ü are indexed spelled out instead, and a
    word ending in ae/oe/ue begins none of those (``_beginning``: ``blue`` does not find Blüte),
    nor one ending in ss the text's ß written ss (``mass`` finds Maß, not Maßstab).
    """
    parsed = _parse(text)
    if parsed is None:
        return None
    others = [q for q in (_parse(v) for v in query_variants(text)[1:]) if q is not None]
    if not others:
        return parsed
    every = [parsed, *others]
    exact = " OR ".join(f"({q.exact})" for q in every)
    prefix = (" OR ".join(f"({q.prefix or q.exact})" for q in every)
              if any(q.prefix for q in every) else None)
    return TextQuery(exact, prefix, tuple(dict.fromkeys(w for q in every for w in q.words)))


def query_variants(text: str) -> list[str]:
    """``text`` first, then its other forms (each rule of ``_QUERY_FORMS`` applied, alone and
    together), without repeats."""
    out = [text]
    for rule in _QUERY_FORMS:
        out.extend(v for v in (rule(t) for t in list(out)) if v not in out)
    return out


def joined(text: str) -> str:
    """``text`` with each hyphenated word (``Wi-Fi``) and each phone number's digit groups
    (``0800 555 1234``, ``0800-555-1234``) written as one word, as ``alternate_forms`` has them."""
    text = _HYPHENATED.sub(lambda m: re.sub(f"[{_HYPHENS}]", "", m.group()), text)
    return DIGIT_GROUPS.sub(lambda m: _joined_digits(m.group()) or m.group(), text)


def _joined_digits(groups: str) -> str | None:
    digits = re.sub(r"\D", "", groups)
    return digits if len(digits) >= PHONE_DIGITS else None


def spelled_out(text: str) -> str:
    """``text`` with ä, ö and ü spelled ae, oe and ue, as German does where they are not at hand
    (``Bäckerei`` as ``Baeckerei``)."""
    return unicodedata.normalize("NFC", text).translate(_UMLAUTS)


def unsharp(text: str) -> str:
    """``text`` with ß written ss (and capital ẞ SS), as German does where ß is not at hand."""
    return text.replace("ß", "ss").replace("ẞ", "SS")


def _parse(text: str) -> TextQuery | None:
    phrases = [WORD.findall(p) for p in _QUOTED.findall(text)]
    loose = [WORD.findall(chunk) for chunk in _QUOTED.sub(" ", text).replace('"', " ").split()]
    phrases, loose = [p for p in phrases if p], [w for w in loose if w]
    if not phrases and not loose:
        return None
    exact = " AND ".join([_phrase(p) for p in phrases] + [_phrase(w) for w in loose])
    prefix = " AND ".join([_phrase(p) for p in phrases] + [_beginning(w) for w in loose])
    words = tuple(fold(w) for group in [*phrases, *loose] for w in group)
    return TextQuery(exact, prefix if prefix != exact else None, words)


def fold(word: str) -> str:
    """``word`` as matching sees it: lower case, without diacritics."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def _phrase(words: list[str]) -> str:
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def _beginning(words: list[str]) -> str:
    """The FTS5 query for ``words`` whole, or from ``PREFIX_MIN`` letters as a word beginning.

    A word that ends in ae, oe, ue or ss (``blue``, ``shoe``, ``mass``) begins only words as they
    are written (the ``text`` column), not the spelled-out forms of ä, ö, ü and ß (``alt``):
    ``blue`` would begin BLUETE, Blüte spelled out, a blossom, not blue, and ``mass`` MASSSTAB,
    Maßstab. Whole, it still matches them (``bluete`` finds Blüte, ``mass`` Maß, as the Swiss
    write it), and a beginning that goes on past the spelling begins them (``muell`` Müller,
    ``massst`` Maßstab).
    """
    whole = _phrase(words)
    if len(words[-1]) < PREFIX_MIN:
        return whole
    if fold(words[-1]).endswith(_SPELLINGS):
        return f"({whole} OR text : {whole}*)"
    return whole + "*"


_SHARP_S = re.compile("[ßẞ]")
_HYPHENS = "-\u2010\u2011"
_HYPHENATED = re.compile(rf"[^\W\d_]+(?:[{_HYPHENS}][^\W\d_]+)+")
DIGIT_GROUPS = re.compile(r"(?<![\w.,])\d+(?:[ /-]\d+)+(?![\w]|[.,]\d)")
PHONE_DIGITS = 7  # digit groups (0800 555 1234) with this many digits in all are also indexed joined
MARKABLE = re.compile(rf"{_HYPHENATED.pattern}|\w+")
_SPLIT = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_LOOKALIKE = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b"})
_UMLAUT = re.compile("[äöüÄÖÜ]|[aouAOU]\u0308")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_QUERY_FORMS = (unsharp, joined, spelled_out)
_SPELLINGS = ("ae", "oe", "ue", "ss")  # how ``spelled_out`` writes ä, ö, ü and ``unsharp`` ß


def alternate_forms(text: str) -> str:
    """Other readings of OCR output, indexed beside it so that words stay findable.

    A word run into a number (``GINGER94.67``) is split at the boundary, and digits inside a
    word that look like letters (``BAMB00``, ``0asis``) are read as those letters. Text with ß
    is there again with ss, text with ä, ö or ü again with them spelled ae, oe, ue (``Bäckerei``
    as ``Baeckerei``: FTS5 folds ä only to a), a word of hyphenated letters (``Wi-Fi``,
    ``E-Mail``) also as one, and groups of digits that look like a phone number
    (``0800 555 1234``) joined.
    """
    out = [unsharp(text)] if _SHARP_S.search(text) else []
    if _UMLAUT.search(text):
        out.append(spelled_out(unsharp(text)))
    out.extend(re.sub(f"[{_HYPHENS}]", "", m.group()) for m in _HYPHENATED.finditer(text))
    out.extend(j for j in (_joined_digits(m.group()) for m in DIGIT_GROUPS.finditer(text)) if j)
    for token in WORD.findall(text):
        has_digit = any(c.isdigit() for c in token)
        letters = sum(c.isalpha() for c in token)
        if not has_digit or letters < 2:
            continue
        out.extend(p for p in _SPLIT.findall(token) if len(p) >= PREFIX_MIN and not p.isdigit())
        out.append(token.translate(_LOOKALIKE))
    return " ".join(out)
