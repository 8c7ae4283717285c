"""The index's write lock: one writer at a time, never stuck after a crash.

``flock`` locks belong to the open file: the kernel releases them when the process dies, even
by SIGKILL, so a dead indexer never blocks the next one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import IndexLocked, IndexUnusable, StoreWriteError, disk_full_note
from .stores.atomic import stale_temps
from .stores.layout import DB_NAME, LOCK_NAME, MANIFEST_NAME, POINTER_NAME

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

# Lock files this process holds, by real path. A second flock on a new open file would fail even
# in the process that holds the lock, so code that needs "no writer but us" asks here first.
_HELD: set[str] = set()
_HELD_GUARD = threading.Lock()
# What the hnsw store makes in a new index folder before its first batch (``remove``: given up).
_STARTED_FILES = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", f"{DB_NAME}-journal", MANIFEST_NAME)


class IndexLock:
    """An exclusive, non-blocking lock on an index folder (a context manager)."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._handle = None

    def acquire(self) -> IndexLock:
        while True:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(self.path, "a+b", buffering=0)  # unbuffered: a note not written is not kept to fail later
                if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # a device: no lock at all
                    handle.close()
                    raise io.UnsupportedOperation
            except FileNotFoundError:  # its folder removed meanwhile (``remove``): made again
                continue
            except (IsADirectoryError, io.UnsupportedOperation):  # a folder, a named pipe (no seek)
                raise IndexUnusable(f"cannot take the lock {self.path}: it is not a file; remove it "
                                    "(the next run makes it anew)") from None
            except OSError as exc:  # a read-only share or volume, a folder it may not write in
                raise StoreWriteError(_cannot_write(self.path.parent, exc)) from None
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.seek(0)
                    holder = handle.read().decode("utf-8", "replace").strip()
                    handle.close()
                    raise IndexLocked(_describe(self.path, holder)) from None
                if not _is_at(handle, self.path):  # removed by its holder since it was opened: not the lock
                    handle.close()
                    continue
            break
        _name_holder(handle, self.path)
        self._handle = handle
        with _HELD_GUARD:
            _HELD.add(os.path.realpath(self.path))
        return self

    def remove(self) -> None:
        """Remove the lock file, and its folder if nothing else is in it (made for an index that
        was not made after all), then let go. Whoever opened the file meanwhile sees that it is
        no longer the lock (``acquire``). The files a store began to make there go first: a stop
        (SIGTERM, Ctrl-C) while they were made left an index that covered no folder, which a run
        naming none (cron's) refused for good."""
        folder = self.path.parent
        if self._handle is not None:
            started = [] if (folder / POINTER_NAME).exists() else _STARTED_FILES  # a Milvus one: left as it is
            for path in [folder / name for name in started] + stale_temps(folder / MANIFEST_NAME, older_than=0):
                with contextlib.suppress(OSError):
                    os.unlink(path)
            with contextlib.suppress(OSError):
                self.path.unlink()
                folder.rmdir()
        self.release()

    def release(self) -> None:
        if self._handle is not None:
            with _HELD_GUARD:
                _HELD.discard(os.path.realpath(self.path))
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
            self._handle.close()
            self._handle = None

    def __enter__(self) -> IndexLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def held_here(folder: str | Path) -> bool:
    """True when this process holds the write lock of the index in ``folder``."""
    with _HELD_GUARD:
        return os.path.realpath(Path(folder) / LOCK_NAME) in _HELD


@contextlib.contextmanager
def sole_writer(folder: str | Path) -> Iterator[bool]:
    """Yield True while no other process can write the index in ``folder``, else False.

    When this process already holds the lock, that is enough; otherwise the lock is taken for the
    duration, if it is free.
    """
    if held_here(folder):
        yield True
        return
    try:
        lock = IndexLock(folder).acquire()
    except IndexLocked:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def holder(folder: str | Path) -> str | None:
    """Who is updating the index in ``folder`` now, a run that holds its lock ("process 42 on nas,
    since 2026-12-05 03:00:00"), else None; found without taking the lock or writing anything
    (a dry run's note that its figures may change). A holder writes itself into the lock file, which
    it empties when it lets go: an empty or missing file is a free lock, not probed at all, so that
    the probe never stands in the way of a run that starts at that moment. A file that names one is
    probed, with a shared lock let go at once: a run killed leaves its name there."""
    path = Path(folder) / LOCK_NAME
    try:
        with open(path) as handle:
            written = handle.read().strip()
            if not written or fcntl is None:
                return None if not written else _who(written)
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return _who(written)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
    except OSError:  # no lock file (no run yet), or one that cannot be read: nobody to name
        return None


def _name_holder(handle, path: Path) -> None:
    """Write who holds the lock into its file (``holder``, a refused writer's message). Only a note,
    ``flock`` is the lock: a disk too full for it (ENOSPC) stops no run, which may have nothing to
    write, or room in the files it writes to; the note is then empty (nobody named)."""
    note = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(note.encode("utf-8"))
    except OSError as exc:
        log.debug("could not name this process in %s: %s", path, exc)


def _cannot_write(folder: Path, exc: OSError) -> str:
    """Why a writer cannot use the index in ``folder``: "cannot write the index in /mnt/idx:
    read-only file system", said before anything is written (searching it still works)."""
    why = (exc.strerror or str(exc)).lower()
    note = disk_full_note(exc) or (" (give write access to it, or use another index folder)"
                                   if exc.errno in (errno.EACCES, errno.EPERM) else "")
    return f"cannot write the index in {folder}: {why}{note}"


def _is_at(handle, path: Path) -> bool:
    """Whether the open ``handle`` is the file at ``path`` now (not one removed since it was opened)."""
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _describe(path: Path, written: str) -> str:
    return f"the index {path.parent} is being updated by {_who(written)}; wait for it to finish, then retry"


def _who(written: str) -> str:
    """The holder the lock file names (``written``): "process 42 on nas, since 2026-12-05 03:00:00"."""
    try:
        info = json.loads(written)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["since"]))
        return f"process {info['pid']} on {info['host']}, since {since}"
    except (ValueError, KeyError, TypeError):
        return "another process"
