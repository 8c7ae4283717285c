"""How a snippet of the words read shows which words matched: ``[marked]``, as in
``"Open [GRAND] CAFE 7-22"`` (the terminal, ``--json``, REST, MCP, the page's captions).

A bracket that is in the words read (a sign saying ``[SALE]``) must not read as a mark, so the
words themselves are escaped: ``[`` as ``\\[``, ``]`` as ``\\]`` and a backslash as ``\\\\``;
``pieces`` reads a snippet back into its words, marked or not.
"""

from __future__ import annotations

import re

OPEN, CLOSE = "[", "]"
_ESCAPED = str.maketrans({"\\": "\\\\", OPEN: "\\[", CLOSE: "\\]"})
_TOKEN = re.compile(r"\\(.)|(\[)|(\])|([^\\\[\]]+)", re.DOTALL)


def escaped(text: str) -> str:
    """``text`` as a snippet shows words read: its brackets and backslashes escaped."""
    return text.translate(_ESCAPED)


def marked(text: str, open_mark: str, close_mark: str) -> str:
    """A snippet of ``text`` whose matched words ``open_mark`` and ``close_mark`` enclose
    (characters the words never hold): the words escaped, the marks as ``[ ]``."""
    return escaped(text).replace(open_mark, OPEN).replace(close_mark, CLOSE)


def pieces(snippet: str) -> list[tuple[str, bool]]:
    """The words of a snippet, in order, each run with whether it is marked (escapes undone)."""
    out: list[tuple[str, bool]] = []
    inside = False
    for literal, opens, closes, plain in _TOKEN.findall(snippet):
        if opens or closes:
            inside = bool(opens)
            continue
        text = literal or plain
        if out and out[-1][1] == inside:
            out[-1] = (out[-1][0] + text, inside)
        elif text:
            out.append((text, inside))
    return out
