"""A file read whole, up to a limit: a photo's bytes, a picture to search with.

A name may hold no file. A folder or a device (``/dev/zero``, a terminal, a disk) is no picture:
refused before it is opened, as opening some devices does something (a terminal waits for typing).
A pipe is a stream, read to its end or to the limit (``search --image <(curl -s URL)``,
``--image /dev/stdin`` fed by a pipe), but one that nothing writes to is refused at once: opened
the plain way, it waits for a writer that may never come.
"""

from __future__ import annotations

import os
import stat

from .errors import UnreadableImage


def kind_of(mode: int) -> str | None:
    """What ``mode`` (``os.stat``'s) says the name holds where it is neither a file nor a pipe."""
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"


def refused_unopened(path: str) -> UnreadableImage | None:
    """``read_at_most``'s refusal of ``path`` as far as it is known without opening it (a folder, a
    device); None for a file, a pipe, or a name that is not there (the caller says so)."""
    try:
        kind = kind_of(os.stat(path).st_mode)
    except OSError:
        return None
    return UnreadableImage(path, "not a file", kind) if kind else None


def read_at_most(path: str, limit: int) -> bytes:
    """The bytes of the file or pipe at ``path``: all of them, or ``limit`` and one more (the caller
    tells one over the limit by its length). ``UnreadableImage`` for a folder or a device ("not a
    file"), a pipe nothing is writing to, and a file whose size is over ``limit`` (none of it read);
    ``OSError`` as the system says it (not there, not allowed)."""
    refused = refused_unopened(path)
    if refused is not None:
        raise refused
    with open(path, "rb", opener=_not_waiting) as handle:
        fd = handle.fileno()
        opened = os.fstat(fd)
        if kind := kind_of(opened.st_mode):  # changed since the stat
            raise UnreadableImage(path, "not a file", kind)
        if stat.S_ISREG(opened.st_mode) and opened.st_size > limit:
            raise UnreadableImage(path, "file too large", f"{opened.st_size} bytes")
        first = _first_of_pipe(fd, path, limit) if stat.S_ISFIFO(opened.st_mode) else b""
        os.set_blocking(fd, True)  # a writer is there: wait for what it writes, to the end or the limit
        return first + handle.read(limit + 1 - len(first))


def _not_waiting(path: str, flags: int) -> int:
    """``open``'s opener: a pipe's open does not wait for a writer; a terminal swapped in since the
    stat does not become this process's."""
    return os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)


def _first_of_pipe(fd: int, path: str, limit: int) -> bytes:
    """What a pipe holds now: its first bytes; nothing yet (a writer is there, it has not written);
    or ``UnreadableImage`` where the pipe is at its end, no writer there."""
    try:
        first = os.read(fd, limit + 1)
    except BlockingIOError:
        return b""
    if not first:
        raise UnreadableImage(path, "empty file", "a pipe nothing is writing to")
    return first
