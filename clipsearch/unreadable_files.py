"""The files indexing runs skipped for a lasting reason, remembered across runs until they change.

A run skips a file that is no picture, truncated or too large (``UnreadableImage.LASTING``) and
the pipeline leaves it unread in later runs while its size and time stay the same
(``IndexReport.still_unreadable``). Kept only in the engine, that lasted one process: every cron
run read the file again, warned again and, since its size is no indexed photo's, loaded the
model (5 s instead of a quarter of a second over 30 photos). So the list is kept beside the
index, in ``unreadable.json``: path -> [size, mtime_ns, reason]. A file of its own, not a table
of the index's stores, so that a release before this one opens the folder as it always did.
"""

from __future__ import annotations

from pathlib import Path

from . import kept_lists

FILE_NAME = "unreadable.json"
VERSION = 1

Entries = dict[str, tuple[int, int, str]]


def load(index_dir: str | Path) -> Entries:
    """The files remembered in ``index_dir`` (none when there is no list or it cannot be read)."""
    return kept_lists.load(index_dir, FILE_NAME, VERSION, _entry, "unreadable files' list not read: they are read again")


def _entry(value: list) -> tuple[int, int, str]:
    size, mtime, reason = value
    return int(size), int(mtime), str(reason)


def save(index_dir: str | Path, entries: Entries) -> None:
    """Write the list (atomically, and only when it changed; removed when empty). A folder that
    cannot be written keeps none."""
    kept_lists.save(index_dir, FILE_NAME, VERSION, entries, "the unreadable files' list")
