"""Lists of files kept beside the index in JSON files of their own (``unreadable.json``,
``links.json``, ``mounts.json``): ``{"version": N, "files": {path: [...]}}``, written atomically and only when
they changed, removed when empty. Files of their own, not tables of the stores, so that a release
before them opens the folder as it always did; one that cannot be read is as none."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def load(index_dir: str | Path, file_name: str, version: int, entry: Callable[[Any], Any],
         unread: str) -> dict[str, Any]:
    """The list in ``index_dir``, each value made by ``entry``: none when there is no list, or it is
    of another version or cannot be read (said with ``unread``, at INFO)."""
    try:
        document = json.loads((Path(index_dir) / file_name).read_text(encoding="utf-8"))
        if document.get("version") != version:
            return {}
        return {path: entry(value) for path, value in document["files"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("%s (%s)", unread, exc)
        return {}


def save(index_dir: str | Path, file_name: str, version: int, files: Mapping[str, Sequence],
         what: str) -> None:
    """Write the list (atomically, and only when it changed; removed when empty). A folder that
    cannot be written keeps none (said with ``what``, at INFO)."""
    target = Path(index_dir) / file_name
    try:
        if not files:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        if not target.parent.is_dir():
            return
        text = json.dumps({"version": version, "files": {p: list(v) for p, v in sorted(files.items())}},
                          indent=0) + "\n"
        with contextlib.suppress(FileNotFoundError):
            if target.read_text(encoding="utf-8") == text:
                return
        staged = target.with_name(file_name + ".tmp")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, target)
    except OSError as exc:
        log.info("could not keep %s: %s", what, exc)
