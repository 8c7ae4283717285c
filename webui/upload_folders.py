"""The folders of the uploads Gradio deletes, deleted with them.

Gradio keeps each picture dropped or sent as a query in a folder of its own in its cache
(``GRADIO_TEMP_DIR``, else the system's temporary folder's ``gradio``), named by a hash of its
content, and deletes the picture an hour later (``delete_cache`` in ``app.build_app``) or at the
server's end (``stopping.forget_uploads``), but not its folder: a server that ran for a year, a
hundred photos dropped a day, left some 36,000 empty folders there. ``install`` has Gradio's
deletion (``gradio.route_utils.delete_files_created_by_app``, which both of those call) remove
each deleted file's folder as well, where that folder is now empty, is named as Gradio names them
(a hash, ``HASHED``) and lies directly in one of Gradio's cache folders: never a folder that still
holds something, nor one Gradio did not make.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from .wrapped_once import wrap_once

log = logging.getLogger(__name__)

HASHED = re.compile(r"[0-9a-f]{40,64}")  # Gradio's folder names: the hex digest of a file's content


def cache_roots(blocks: Any) -> set[str]:
    """The folders Gradio keeps this app's files in: the upload folder (read per request, as
    Gradio reads it) and each component's own cache folder."""
    from gradio.utils import get_upload_folder

    roots = {get_upload_folder()}
    roots.update(getattr(block, "GRADIO_CACHE", None) for block in blocks.blocks.values())
    roots.discard(None)
    return {os.path.realpath(root) for root in roots}


def remove_emptied(files: set[str], roots: set[str]) -> int:
    """Remove the folder of each of ``files`` (deleted) where it is empty, hashed and directly in
    one of ``roots``; returns how many went."""
    removed = 0
    for folder in {os.path.dirname(os.path.abspath(file)) for file in files}:
        if not HASHED.fullmatch(os.path.basename(folder)):
            continue
        if os.path.realpath(os.path.dirname(folder)) not in roots:
            continue
        try:
            os.rmdir(folder)  # only an empty folder: one that holds anything stays
        except OSError:
            continue
        removed += 1
    return removed


def kept_files(blocks: Any) -> set[str]:
    """Every file Gradio keeps for ``blocks``. Each set is copied whole (one step, which an upload's
    thread adding to it cannot cut in two, where a loop over it would fail mid-way)."""
    return set().union(*[kept.copy() for kept in blocks.temp_file_sets])


def removing_folders(delete: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """Gradio's ``delete_files_created_by_app``, then the folders of the files it deleted."""

    @functools.wraps(delete)
    def delete_files_created_by_app(blocks: Any, age: int | None) -> None:
        before = kept_files(blocks)
        delete(blocks, age)
        # Not "what left the sets": a file in two of them (an upload, and a component's copy of its
        # name) leaves only the first, Gradio finding it gone when it comes to the second.
        gone = {file for file in before if not os.path.lexists(file)}
        if gone:
            removed = remove_emptied(gone, cache_roots(blocks))
            log.debug("%d kept files gone, %d of their folders removed", len(gone), removed)

    return delete_files_created_by_app


def install() -> bool:
    """Have Gradio's deletion of an app's files remove their emptied folders too (once); False
    where the installed Gradio has no such function."""
    return wrap_once("gradio.route_utils", "delete_files_created_by_app", removing_folders, "removes_folders")
