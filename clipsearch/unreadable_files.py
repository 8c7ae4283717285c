"""The files indexing runs skipped for a lasting reason, remembered across runs until they change.

A run skips a file that is no picture, truncated or too large (``UnreadableImage.LASTING``) and
the pipeline leaves it unread in later runs while its size and time stay the same
(``IndexReport.still_unreadable``). Kept only in the engine, that lasted one process: every cron
run read the file again, warned again and, since its size is no indexed photo's, loaded the
model (5 s instead of a quarter of a second over 30 photos). So the list is kept beside the
index, in ``unreadable.json``: path -> [size, mtime_ns, reason, inode, ctime_ns]. A file of its
own, not a table of the index's stores, so that a release before this one opens the folder as it
always did.

Size and time alone kept a file skipped after it was replaced by a good copy of the same size and
time (``rsync -t``, ``cp --preserve``, a restore from a backup): its inode and ctime tell, as the
index's ``file_ids`` do for the photos it holds. A list of a release before holds no file ids:
each entry is trusted on size and time once, and its ids recorded (``still``).

A symlink that leads nowhere (its target gone, or a loop) is remembered the same way, as the link
itself stands (its own ``lstat``: ``ln -sf`` makes another one), so that it is reported once
("broken link", "symlink loop"), not at every run (``sort_out_links``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import kept_lists
from .images import FileStat

FILE_NAME = "unreadable.json"
VERSION = 1

Entry = tuple[int, int, str, int, int]  # size, mtime_ns, reason, inode, ctime_ns (0, 0: not known)
Entries = dict[str, Entry]
# a scan's errors for a link leading nowhere, or a name that is no file (a named pipe, a device)
LINK_REASONS = frozenset({"broken link", "symlink loop", "not a file"})


def load(index_dir: str | Path) -> Entries:
    """The files remembered in ``index_dir`` (none when there is no list or it cannot be read)."""
    return kept_lists.load(index_dir, FILE_NAME, VERSION, _entry, "unreadable files' list not read: they are read again")


def _entry(value: list) -> Entry:
    size, mtime, reason, *ids = value
    ino, ctime = ids if len(ids) == 2 else (0, 0)  # a list of a release before: no file ids
    return int(size), int(mtime), str(reason), int(ino), int(ctime)


def entry(stat: FileStat, reason: str) -> Entry:
    """What to remember of a file skipped for a lasting ``reason``."""
    return stat.size, stat.mtime_ns, reason, stat.ino, stat.ctime_ns


def still(entries: Entries, stat: FileStat) -> bool:
    """Whether the file is the one remembered as unreadable: the same size and time, and the same
    inode and ctime where both are known (an entry without them takes the file's, once)."""
    known = entries.get(stat.path)
    if known is None or known[:2] != (stat.size, stat.mtime_ns):
        return False
    ids = tuple(known[3:5])
    if not any(ids) or not (stat.ino or stat.ctime_ns):
        if stat.ino or stat.ctime_ns:
            entries[stat.path] = entry(stat, known[2])
        return True
    return ids == (stat.ino, stat.ctime_ns)


def info_entry(index_dir: str | Path, store: Any) -> dict[str, Any]:
    """``{"unreadable_kept": {path: reason}}`` for ``info``: the photos ``store`` holds whose files
    runs skipped for a lasting reason since and that have not changed (a sync cut short, a disk
    fault): their records, the picture last read, stay, and searches find them, until they read."""
    kept = {}
    for path, known in sorted(load(index_dir).items()):
        try:
            st = os.stat(path)
        except OSError:  # gone: the next run removes its record
            continue
        if still({path: known}, FileStat.of(path, st)) and store.get(path) is not None:
            kept[path] = known[2]
    return {"unreadable_kept": kept}


def save(index_dir: str | Path, entries: Entries) -> None:
    """Write the list (atomically, and only when it changed; removed when empty). A folder that
    cannot be written keeps none."""
    kept_lists.save(index_dir, FILE_NAME, VERSION, entries, "the unreadable files' list")


def sort_out_links(errors: list[tuple[str, str]], entries: Entries,
                   remember: Callable[[str, Entry], None] | None) -> tuple[list[tuple[str, str]], int, set[str]]:
    """A scan's ``errors`` less the links leading nowhere that ``entries`` remember as they stand:
    the errors to report, how many links were left out so (unchanged since reported), and the paths
    of every such link (there still: their entries stay). A link not remembered, or changed, is
    reported and given to ``remember`` (None: a dry run, which remembers nothing)."""
    left, unchanged, links = [], 0, set()
    for path, reason in errors:
        try:
            st = os.lstat(path) if reason in LINK_REASONS else None
        except OSError:  # gone meanwhile
            st = None
        if st is None:
            left.append((path, reason))
            continue
        link = FileStat.of(path, st)
        links.add(path)
        if still(entries, link):
            unchanged += 1
            continue
        left.append((path, reason))
        if remember is not None:
            remember(path, entry(link, reason))
    return left, unchanged, links
