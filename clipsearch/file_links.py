"""Which indexed names are one file (a symlink and its target, hard links), remembered for when
their folder is not there.

``duplicates`` never offers two names of one file as copies of each other: deleting the "extra"
one breaks the link or frees nothing (``shot_evidence.Evidence``). It tells them apart by the
file each name reaches, ``(device, inode)``, which only a file that is there has: while a covered
folder is missing (an unplugged disk, which keeps its photos in the index), a symlink and its
target in it had the same bytes' fingerprint and no file to compare, and were listed as copies.
So the scan notes, for each name reached through a symlink or with several hard links, the file
it reaches, and the target of each symlink (``ScanResult.links``); the list is kept beside the
index, in ``links.json``: path -> [device, inode], and a name that cannot be looked at now is
compared by what it reached when it was last scanned. A file of its own, not a table of the
stores, so that a release before this one opens the folder as it always did.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from . import kept_lists

FILE_NAME = "links.json"
VERSION = 1

Links = dict[str, tuple[int, int]]


def load(index_dir: str | Path | None) -> Links:
    """The names remembered in ``index_dir`` (none when there is no list or it cannot be read)."""
    if index_dir is None:
        return {}
    return kept_lists.load(index_dir, FILE_NAME, VERSION, _entry,
                           "linked files' list not read: names not on disk now are not told apart")


def _entry(value: list) -> tuple[int, int]:
    device, inode = value
    return int(device), int(inode)


def record(index_dir: str | Path | None, found: Links, indexed: Collection[str], on_disk: Collection[str]) -> None:
    """After a scan: the names it ``found`` linked replace what was kept of the names it saw
    (``on_disk``); a name kept whose folder was not there stays; one the index no longer holds
    (``indexed``: its paths, less those this run found gone) and the scan did not see goes."""
    if index_dir is None:
        return
    kept = load(index_dir)
    links = {path: file for path, file in kept.items() if path in indexed and path not in on_disk}
    links.update((path, file) for path, file in found.items() if path in on_disk or path in indexed)
    if links != kept:
        save(index_dir, links)


def save(index_dir: str | Path, links: Mapping[str, tuple[int, int]]) -> None:
    """Write the list atomically (removed when empty). A folder that cannot be written keeps none."""
    kept_lists.save(index_dir, FILE_NAME, VERSION, links, "the linked files' list")
