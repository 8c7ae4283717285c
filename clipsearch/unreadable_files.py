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

import contextlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "unreadable.json"
VERSION = 1

Entries = dict[str, tuple[int, int, str]]


def load(index_dir: str | Path) -> Entries:
    """The files remembered in ``index_dir`` (none when there is no list or it cannot be read)."""
    try:
        document = json.loads((Path(index_dir) / FILE_NAME).read_text(encoding="utf-8"))
        if document.get("version") != VERSION:
            return {}
        return {path: (int(size), int(mtime), str(reason)) for path, (size, mtime, reason) in document["files"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("unreadable files' list not read (%s): they are read again", exc)
        return {}


def save(index_dir: str | Path, entries: Entries) -> None:
    """Write the list (atomically, and only when it changed; removed when empty). A folder that
    cannot be written keeps none."""
    target = Path(index_dir) / FILE_NAME
    try:
        if not entries:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        if not target.parent.is_dir():
            return
        text = json.dumps({"version": VERSION, "files": {p: list(e) for p, e in sorted(entries.items())}},
                          indent=0) + "\n"
        with contextlib.suppress(FileNotFoundError):
            if target.read_text(encoding="utf-8") == text:
                return
        staged = target.with_name(FILE_NAME + ".tmp")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, target)
    except OSError as exc:
        log.info("could not keep the unreadable files' list: %s", exc)
