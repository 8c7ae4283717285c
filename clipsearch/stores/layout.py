"""The index folder's layout: the name of every file a store keeps there, in one place.

::

    records.sqlite       hnsw: records + float32 vectors + stamp (WAL mode), the source of truth
    vectors-<gen>.hnsw   hnsw: a snapshot of the graph covering every batch up to generation <gen>
    .vectors-<gen>.hnsw.tmp   hnsw: a snapshot being written (deleted when a writer finds it stale)
    milvus.db            milvus-lite: the embedded Milvus database, when no server URI is given
    store.json           milvus: which store and URI hold this index
    manifest.json        every store: stamp, count and generation, for people and cheap reload checks
    index.lock           the writer's lock (flock: a dead process never leaves it stuck)
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

DB_NAME = "records.sqlite"
LITE_FILE = "milvus.db"
POINTER_NAME = "store.json"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = "index.lock"
SNAPSHOT_RE = re.compile(r"^vectors-(\d+)\.hnsw$")


def snapshot_path(folder: Path, gen: int) -> Path:
    return folder / f"vectors-{gen}.hnsw"


def snapshot_temp_path(folder: Path, gen: int) -> Path:
    return folder / f".vectors-{gen}.hnsw.tmp"


def is_snapshot_temp(name: str) -> bool:
    return name.startswith(".vectors-") and name.endswith(".tmp")


def snapshots(folder: Path) -> list[tuple[int, Path]]:
    """(generation, path) of every graph snapshot in ``folder``, oldest first."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = SNAPSHOT_RE.match(entry.name)
            if match:
                out.append((int(match.group(1)), Path(entry.path)))
    return sorted(out)


def forget_snapshots(folder: Path) -> None:
    """Remove the graph snapshots left in ``folder`` by an index whose records are gone (deleted by
    hand): a new index is made there, and they are no part of it (said once, by the caller)."""
    for _, path in snapshots(folder):
        with contextlib.suppress(OSError):
            path.unlink()


def make_folder(folder: Path, what: str = "", error: type[Exception] | None = None) -> None:
    """Make a new index's folder (or ``what`` else), or say plainly why it cannot be made (a file in
    the way, a read-only disk, no permission): ``IndexUnusable``, or ``error``."""
    from ..errors import IndexUnusable

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (error or IndexUnusable)(f"cannot make {what or f'the index folder {folder}'}: "
                                       f"{exc.strerror or exc}") from None
