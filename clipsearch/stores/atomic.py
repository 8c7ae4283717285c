"""Atomic file writes: a reader sees the old content or the new, never a mix, even after a crash."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

STALE_SECONDS = 60.0  # a write takes milliseconds: a temp file this old was left by a process killed


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (a rename) to disk, where the OS allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) so that readers see the old or the new content, never a mix."""
    atomic_write_bytes(path, text.encode("utf-8"))


def stale_temps(path: str | Path, older_than: float = STALE_SECONDS) -> list[str]:
    """The temp files ``atomic_write_bytes`` left beside ``path`` (``.NAME.XXXXXXXX.tmp``), unchanged
    for ``older_than`` seconds: a process killed (``kill -9``, a power cut) while it wrote leaves
    its own for good. The caller removes them where no other process writes ``path`` (the index's
    writer, under its lock); one younger may be another's write under way, and stays."""
    path = Path(path)
    prefix, now, out = f".{path.name}.", time.time(), []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp") and len(entry.name) > len(prefix) + 4:
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime >= older_than:
                        out.append(entry.path)
    return out
