r"""File names as text that is valid Unicode, and back: what the web app and REST (``webui/paths.py``)
and ``clipsearch search --server`` (``cli/remote.py``) send and read.

A file name that is not UTF-8 (bytes written under another encoding: Latin-1 names from an old
archive or a Windows disk) reaches Python with each odd byte as a lone surrogate
(``'caf\udce9.jpg'``), which neither JSON nor an HTTP request can carry. ``web_path`` shows those
bytes as ``\xNN`` (``'caf\\xe9.jpg'``: readable, and no UTF-8 name has it); ``local_path`` turns a
path that came back into the file's own.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

_ESCAPED = re.compile(rb"\\x([89a-f][0-9a-f])")  # what backslashreplace writes for a byte >= 0x80
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value: Any, **options: Any) -> str:
    r"""``value`` as JSON that is valid UTF-8 text (the commands' ``--json``, the saved searches'
    file), a name's bytes that are not UTF-8 as ``\udcXX`` escapes, which ``json.loads`` turns back
    into the path Python's ``open`` takes (written plainly, they stopped the write)."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def web_path(path: str) -> str:
    r"""``path`` as valid Unicode: a byte that is not UTF-8 as ``\xNN``; any other path is itself."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def local_path(text: str) -> str:
    r"""The path ``web_path`` made ``text`` from: ``\xNN`` back to its byte where the bytes are then
    not UTF-8 (a name that merely holds a backslash, an x and two digits stays as it is, and so
    does one whose file is there as written where the bytes name none)."""
    if "\\x" not in text:
        return text
    raw = _ESCAPED.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    try:
        raw.decode("utf-8")
        return text
    except UnicodeDecodeError:
        decoded = os.fsdecode(raw)
    return text if os.path.lexists(text) and not os.path.lexists(decoded) else decoded
