r"""Names as a terminal shows them, where the command lines print them for people.

A file name is printed as its own bytes, so that a script reads the path it can open again. But on a
terminal a name's control characters are a hazard: a newline splits one result over two lines, an
escape sequence (``ESC[2J`` clears the screen, ``ESC]0;...BEL`` sets the window's title, ``ESC[31m``
colours what follows) is run by the terminal. As GNU ls does, ``shown`` writes those characters as
``\xNN`` (the form ``webui/paths.py`` gives a name's bytes that are not UTF-8) only where the stream
is a terminal: into a pipe or a file, and in ``--json``, the text is what it was.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from typing import Any, NoReturn

# C0 (newline, tab and ESC among them), DEL and C1 (U+0080-U+009F: U+009B is a CSI of its own).
# A byte that is not UTF-8 (a surrogate, '\udc9b') is left to the stream's surrogateescape.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
LOG_FORMAT = "%(levelname)s %(message)s"


def on_terminal(stream: Any) -> bool:
    """Whether ``stream`` writes to a terminal (a closed or odd stream: no)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def shown(text: Any, stream: Any = None) -> str:
    r"""``text`` (a file or folder name, a saved search's words, a message that holds them) as printed
    to ``stream`` (stdout unless given): on a terminal, each control character as ``\xNN``
    (``'a\x1b[2J\nb.jpg'`` -> ``'a\\x1b[2J\\x0ab.jpg'``); anywhere else, or without one, ``text`` itself."""
    text = str(text)
    if not CONTROLS.search(text) or not on_terminal(sys.stdout if stream is None else stream):
        return text
    return CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def command(*words: Any, index: str | os.PathLike | None = None) -> str:
    """A command line suggested in a message, to paste as it is: each word quoted where the shell
    would split or read it (``'/a/Family Photos'``), and ``--index DIR`` after them where ``index``
    is not the index a command without it opens here ($CLIPSEARCH_INDEX, else the user data
    folder): without it, the command pasted acted on that index, not the one the message speaks of.
    The message is read where the command ran, so an index named by the variable needs no flag."""
    from clipsearch.config import default_index_dir

    if index is not None and os.path.abspath(os.path.expanduser(index)) != os.path.abspath(default_index_dir()):
        words = (*words, "--index", os.path.abspath(os.path.expanduser(index)))
    return " ".join(shlex.quote(os.fspath(word)) for word in words)


def said(text: Any) -> str:
    """``shown`` for stderr: the messages, warnings and summaries the commands write there."""
    return shown(text, sys.stderr)


class TerminalFormatter(logging.Formatter):
    """A log line whose message (``skipping PATH: reason``) is ``shown`` on the handler's stream; a
    traceback after it keeps its lines. Python's own warnings (``-v``) are left whole: their text
    is the warning's and its source line's, two lines of the program's words."""

    def __init__(self, fmt: str, stream: Any) -> None:
        super().__init__(fmt)
        self.stream = stream

    def format(self, record: logging.LogRecord) -> str:
        if record.name != "py.warnings" and on_terminal(self.stream):
            message = record.getMessage()
            if CONTROLS.search(message):  # a copy: another handler gets the record as it was
                record = logging.makeLogRecord({**record.__dict__, "msg": shown(message, self.stream), "args": None})
        return super().format(record)


def log_to_stderr(level: int, fmt: str = LOG_FORMAT) -> None:
    """``logging.basicConfig(level=level)`` with the commands' log line (``WARNING message``, or
    ``fmt``) on stderr, its messages ``shown`` there."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter(fmt, handler.stream))
    logging.basicConfig(level=level, handlers=[handler])


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (``argument --image: no such file: NAME``, ``folder not
    found: NAME``, argparse's own ``invalid value: 'NAME'``) are ``said``; its sub-commands' parsers
    are of its class too."""

    def error(self, message: str) -> NoReturn:
        super().error(said(message))
