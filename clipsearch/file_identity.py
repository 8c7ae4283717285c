"""Files whose inode or ctime changed while their size and time did not: replaced, or all renumbered.

A file replaced by another of the same size and modification time (``rsync -t``, ``cp --preserve``,
a restore) is told by its inode and ctime, which the index keeps (``file_ids``): it is hashed, and
its content decides whether it is read again. But some events give every file of a disk a new
inode or ctime at once, their contents untouched: a network share or FUSE file system mounted again
(sshfs, rclone and SMB's ``noserverino`` number files per mount), a ``chmod -R`` or ``chown -R``, a
whole library copied back with its times. Hashing every file then reads the whole library, over
the network for a share, after each remount: hours for a cron run that finds nothing new.

So the files of one disk (``FileStat.dev``) whose ids changed are trusted on their size and time,
their new ids recorded, when they are nearly all of that disk's files the index holds
(``MASS_SHARE``, and at least ``MASS_LEAST`` of them): one file replaced among many is read, a disk
renumbered is not. A library restored whole with some contents changed under the same sizes and
times is the case this leaves unseen, as every release before file ids did.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from .images import FileStat

log = logging.getLogger(__name__)

MASS_SHARE = 0.9  # of a disk's indexed files with the same size and time, those with other ids
MASS_LEAST = 16  # a few files replaced together in a small library are read


def replaced(changed_ids: list[FileStat], same_ids: Iterable[FileStat]) -> tuple[list[FileStat], list[FileStat]]:
    """(the files to hash, the files to trust) of ``changed_ids``, the files of the same size and
    time as the index's records but other inodes or ctimes, given ``same_ids``, those whose ids
    are the records' too."""
    if not changed_ids:
        return [], []
    changed, same = Counter(f.dev for f in changed_ids), Counter(f.dev for f in same_ids)
    renumbered = {dev for dev, n in changed.items() if n >= MASS_LEAST and n >= MASS_SHARE * (n + same[dev])}
    if not renumbered:
        return changed_ids, []
    trusted = [f for f in changed_ids if f.dev in renumbered]
    log.info("%d files have new inode numbers or ctimes but the sizes and times they had (a disk mounted "
             "again, a chmod -R): trusted, not read again", len(trusted))
    return [f for f in changed_ids if f.dev not in renumbered], trusted
