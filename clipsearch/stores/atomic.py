"""Atomic file writes: a reader sees the old content or the new, never a mix, even after a crash."""

from __future__ import annotations

import contextlib
import os
import stat
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
    """Write a file so that readers see the old or the new content, never a mix.

    The file keeps the permissions of the one it replaces, else gets those of any new file (0666
    less the umask, as SQLite's and hnswlib's files get them): ``mkstemp`` made every one 0600,
    and another user who may search the index could not read the saved searches or the manifest."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except OSError:
                mode = new_file_mode()
            with contextlib.suppress(OSError):  # a file system that keeps no modes (FAT, some shares)
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def new_file_mode() -> int:
    """The permissions of a new file here, 0666 less the umask, for one made with ``mkstemp`` (0600)."""
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask now, where the OS says it (Linux's /proc), else as it was at import."""
    umask = _umask_said()
    return _UMASK_AT_IMPORT if umask is None else umask


def _umask_said() -> int | None:
    """The umask /proc/self/status gives (Linux 4.7 and later), or None. ``os.umask`` reads it only
    by setting it, for every thread of the process: a file another thread made in that moment would
    get the value set."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    return None


def _umask_at_import() -> int:
    """The umask, set and put back only where /proc does not say it: once, as the module loads."""
    umask = _umask_said()
    if umask is None:
        umask = os.umask(0o022)
        os.umask(umask)
    return umask


_UMASK_AT_IMPORT = _umask_at_import()


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
