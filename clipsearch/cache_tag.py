"""Cache folders told by their ``CACHEDIR.TAG`` (the Cache Directory Tagging spec, bford.info/cachedir).

The web app writes its thumbnails under ``$CLIPSEARCH_CACHE``, which may be inside a photo folder.
A run that was given the same variable leaves that folder out, but cron's run or ``--watch``
started without it would take the thumbnails for photos, and the next run with it remove them
again. So the web app tags its folder, and the scan leaves out any folder tagged, whatever the
variable says; backup programs (restic, borg, GNU tar's ``--exclude-caches``) skip it too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .stores.atomic import atomic_write_text, new_file_mode  # new_file_mode: for the cache's own files too

__all__ = ["CACHE_TAG", "is_tagged_cache", "new_file_mode", "tag_as_cache"]
CACHE_TAG = "CACHEDIR.TAG"
SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"  # the spec's: a tag starts with these 43 bytes
TAG_TEXT = (SIGNATURE.decode("ascii") + "\n# This file is a cache directory tag created by clipsearch (its thumbnails).\n"
            "# For information about cache directory tags, see https://bford.info/cachedir/\n")


def is_tagged_cache(folder: str | Path) -> bool:
    """Whether ``folder`` holds a ``CACHEDIR.TAG`` that starts with the spec's signature (a file
    of that name that does not is no tag, as the spec says)."""
    try:  # O_NONBLOCK: a pipe of that name is no tag, and must not hang the scan
        fd = os.open(os.path.join(folder, CACHE_TAG), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, len(SIGNATURE)) == SIGNATURE
    except OSError:
        return False
    finally:
        os.close(fd)


def tag_as_cache(folder: str | Path) -> None:
    """Put a ``CACHEDIR.TAG`` into ``folder`` (made if need be) unless it has a valid one: written
    whole or not at all, so that a scan never reads half a tag. ``OSError`` where it cannot."""
    if not is_tagged_cache(folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(folder) / CACHE_TAG, TAG_TEXT)
