"""What an indexing run would change, changing nothing (``--dry-run``).

No pixel is decoded. A new or changed file's header is read, so a file that is no picture is
counted as the run would skip it, not as added. A new file is hashed only when a photo that left
had its size: a run keeps a moved photo's vector and counts it moved, not added and removed, and
so does the dry run (without this, reorganising a library looked as if it would embed it all again).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from . import camera_raw
from .errors import UnreadableImage
from .images import (
    DEFAULT_MAX_PIXELS,
    FileStat,
    fingerprint_bytes,
    os_reason,
    read_file_bytes,
    scan_images,
    unreadable,
)
from .reports import IndexReport


def first_run(folders: Iterable[str | Path], max_pixels: int | None) -> IndexReport:
    """What a first run over ``folders`` would do where there is no index yet: every picture
    added, or skipped as its header says. Nothing is created and no model is loaded (a first
    run's model may not even be downloaded yet)."""
    roots = [os.path.abspath(os.fspath(f)) for f in folders]
    report = IndexReport(folders=roots, dry_run=True)
    scan = scan_images(roots)
    report.found, report.other_files = len(scan.files), dict(scan.others.most_common(5))
    for path, reason in scan.errors:
        report.skip(path, reason)
    count_changes(scan.files, {}, {}, report, max_pixels)
    return report


def count_changes(todo: list[FileStat], known: dict[str, tuple], vanished: dict[str, str],
                  report: IndexReport, max_pixels: int | None) -> None:
    """Fill ``report``'s added, updated, moved, removed and skipped for a run that would process
    ``todo`` (new and changed files), given the index's ``known`` states (size, mtime, fingerprint)
    and the ``vanished`` ones (path -> fingerprint)."""
    left_by_size: dict[int, dict[str, str]] = {}
    for path, fp in vanished.items():
        left_by_size.setdefault(known[path][0], {})[fp] = path
    moved_from = 0
    for stat in todo:
        problem = header_problem(stat, max_pixels)
        if problem:  # said in the summary, not as a warning: the dry run skips nothing
            report.skipped.setdefault(problem, []).append(stat.path)
        elif stat.path in known and known[stat.path][:2] == (stat.size, stat.mtime_ns):
            # its size and time under another file id: a copy of the same content, or a replacement
            if _fingerprint(stat.path) == known[stat.path][2]:
                report.unchanged += 1
            else:
                report.updated += 1
        elif stat.path in known:
            report.updated += 1
        elif stat.size in left_by_size and left_by_size[stat.size].pop(_fingerprint(stat.path), None):
            report.moved += 1
            moved_from += 1
        else:
            report.added += 1
    report.removed = len(vanished) - moved_from


def first_video_pass(folders: Iterable[str | Path]) -> Any:
    """What a first video pass over ``folders`` would read where there is no index yet: every
    video found (a ``VideoReport`` of a dry run); nothing decoded or created."""
    from .video_frames import is_video_name
    from .videopass import VideoReport

    report = VideoReport(dry_run=True)
    scan = scan_images([os.path.abspath(os.fspath(f)) for f in folders], wanted=is_video_name)
    for path, reason in scan.errors:
        report.skip(path, reason)
    report.videos = report.left = len(scan.files)
    return report


def first_text_pass(report: IndexReport) -> Any:
    """What a first text pass (``--ocr``) would read where there is no index yet: the words in
    every photo the run would add (a ``TextReport`` of a dry run); no model loaded."""
    from .textpass import TextReport

    return TextReport(to_read=report.added, new=report.added, dry_run=True)


def header_problem(stat: FileStat, max_pixels: int | None) -> str | None:
    """Why a run would skip the file, from its header alone (None: it looks like a picture)."""
    if stat.size == 0:
        return "empty file"
    try:
        width, height = _header_size(stat.path)
    except UnreadableImage as exc:
        return exc.reason
    except Exception as exc:  # as a run reads it: the file refused by the OS, or what Pillow says
        return os_reason(exc) if isinstance(exc, OSError) and exc.errno else unreadable(stat.path, exc).reason
    if width * height > (max_pixels or DEFAULT_MAX_PIXELS):
        return "too many pixels"
    return None


def _header_size(path: str) -> tuple[int, int]:
    if camera_raw.is_raw_name(path):
        with open(path, "rb"):  # the OS's refusal, as a run reads it
            pass
        try:
            return camera_raw.header(path, path, dated=False)[:2]
        except UnreadableImage as exc:
            if exc.reason != "not an image":
                raise  # else not RAW after all: Pillow's turn, as a run reads it
    with Image.open(path) as img:
        return img.size


def _fingerprint(path: str) -> str | None:
    try:
        return fingerprint_bytes(read_file_bytes(path))
    except Exception:  # unreadable now: the run would find out
        return None
