"""Typed errors of the clipsearch library.

The library raises these and never prints or exits; the edges (the indexer's command line,
the web app) translate them into a message and an exit code, or a ``gr.Error``.
"""

from __future__ import annotations

import errno
import os
import shutil


class ClipSearchError(Exception):
    """Base class of every error the library raises on purpose."""


class IndexNotFound(ClipSearchError):
    """There is no index at the given folder (or Milvus collection) yet.

    ``location`` is the index folder and ``uri`` the Milvus address where one was looked for,
    so that a front end can say how to build one in its own terms.
    """

    def __init__(self, message: str, *, location: object = None, uri: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.uri = uri


class IndexUnusable(ClipSearchError):
    """The index's place cannot hold one: a file is in the way, or the folder cannot be made."""


class StoreMismatch(ClipSearchError):
    """The index folder records another store (or another Milvus address) than the one asked for.

    ``recorded`` is the store kind the folder holds (``hnsw`` or ``milvus``).
    """

    def __init__(self, message: str, *, recorded: str | None = None) -> None:
        super().__init__(message)
        self.recorded = recorded


class ModelMismatch(ClipSearchError):
    """The index was built with another model or preprocessing than the one asked for."""


class ModelUnavailable(ClipSearchError):
    """The model's weights cannot be loaded (not cached and no network, bad file, unknown name),
    or the model needs a Python package that is not installed (``package``)."""

    def __init__(self, message: str, package: str | None = None) -> None:
        super().__init__(message)
        self.package = package


class DeviceUnavailable(ModelUnavailable):
    """The device asked for (``cuda``, ``mps``) cannot run the model on this machine."""


class UnreadableImage(ClipSearchError):
    """One image file cannot be used; ``reason`` is a short, stable category for reports."""

    # Reasons that will not change until the file does: a file skipped for one is not read again
    # until it changes. Others (it changed or vanished meanwhile, permissions) are retried.
    LASTING = frozenset({"not an image", "decode error", "truncated", "too many pixels",
                         "file too large", "empty file", "timed out", "ocr error",
                         "not a video", "corrupt video", "no video stream"})

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        self.path = path
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


class IndexLocked(ClipSearchError):
    """Another process holds the index's write lock."""


class InvalidQuery(ClipSearchError):
    """A query that cannot be parsed or that has no terms."""


class QueryTooLarge(InvalidQuery):
    """A query past ``clipsearch.query``'s limits: more than ``MAX_TERMS`` terms (words and
    pictures) or ``MAX_QUERY_CHARS`` characters."""


class StoreWriteError(ClipSearchError):
    """Writing the index failed (full disk, permissions); the previous index is intact."""


DISK_FULL_NOTE = " (the disk is full: free some space and run again; what was indexed so far is kept)"


def disk_full_note(exc: BaseException) -> str:
    """What to do, when a write failed because the disk is full (else nothing)."""
    text = str(exc)
    full = getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in text or "No space left" in text
    return DISK_FULL_NOTE if full else ""


def room_note(exc: BaseException, folder: os.PathLike | str) -> str:
    """What to do when SQLite could not open a file in ``folder``: a full disk (SQLite's error
    then often says only "disk I/O error") or a folder it may not write in (else nothing)."""
    note = disk_full_note(exc)
    try:
        if not note and shutil.disk_usage(folder).free < 1 << 20:
            note = DISK_FULL_NOTE
    except OSError:
        pass
    if not note and not os.access(folder, os.W_OK):
        note = " (SQLite writes small files beside the index even to read it: give write access to its folder)"
    return note
