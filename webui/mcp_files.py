"""An assistant's picture sent inline goes when the app's other uploads go.

Gradio's MCP server saves a data: URL given to a tool (``search_photos_by_image``'s picture) as a
file in its cache, then hands that file to its own client, which uploads it again (that copy is
kept in the Blocks' uploads, deleted after an hour and when the server stops). The saved file was
kept in no list of the Blocks: neither the hourly clean-up nor the stop deleted it, and each
picture an assistant searched with stayed in the cache folder for good. ``install`` puts each one
in a list of the Blocks' own (``temp_file_sets``), so Gradio deletes it as it deletes uploads.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Iterator
from typing import Any

_KEPT = "_clipsearch_mcp_pictures"  # the Blocks' attribute that holds its set of those files
_LOCK = threading.Lock()


def install() -> bool:
    """Keep the files Gradio's MCP server saves from inline data in its Blocks' lists of temporary
    files. False where Gradio has no MCP server, or saves them elsewhere than it did."""
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:
        return False
    convert = GradioMCPServer.__dict__.get("convert_strings_to_filedata")
    if getattr(convert, "_keeps_files", False):
        return True
    if not inspect.isfunction(convert):  # another Gradio's (a static method, or none): left as it is
        return False

    def convert_strings_to_filedata(self: Any, value: Any, filedata_positions: list) -> Any:
        converted = convert(self, value, filedata_positions)
        saved = {path for path in _file_paths(converted) if os.path.isfile(path)}  # not a URL's
        if saved:
            kept_for(self.blocks).update(saved)
        return converted

    convert_strings_to_filedata._keeps_files = True  # type: ignore[attr-defined]
    GradioMCPServer.convert_strings_to_filedata = convert_strings_to_filedata  # type: ignore[method-assign]
    return True


def kept_for(blocks: Any) -> set[str]:
    """The set of the MCP server's saved files that ``blocks`` deletes with its uploads."""
    with _LOCK:
        kept = getattr(blocks, _KEPT, None)
        if kept is None:
            kept = set()
            setattr(blocks, _KEPT, kept)
            blocks.temp_file_sets.append(kept)
        return kept


def _file_paths(value: Any) -> Iterator[str]:
    """The paths of the FileData dicts (``gradio_client.handle_file``'s) inside ``value``."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str) and (value.get("meta") or {}).get("_type") == "gradio.FileData":
            yield value["path"]
            return
        for item in value.values():
            yield from _file_paths(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _file_paths(item)
