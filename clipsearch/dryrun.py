"""What an indexing run would change, changing nothing (``--dry-run``).

No pixel is decoded. A new or changed file's header is read, so a file that is no picture is
counted as the run would skip it, not as added. A new file is hashed only when a photo that left,
or one the index holds, had its size: a run keeps a moved photo's vector and counts it moved, not
added and removed, and so does the dry run (without this, reorganising a library looked as if it
would embed it all again); and it gives a copy of a photo the index holds that photo's vector
(``reused``) and its words, read by content, which the dry run does not count as words to read.
So is a file that shares its size with another file to read: the run embeds a content the index
lacks once, and gives its copies in the same run that vector (``reused``) and its words, read
once; the dry run counts them so (``embedded``: what the run will embed). A file of the same
picture but other metadata is another content, which the run embeds too.
A changed JPEG, PNG, WebP, HEIC, AVIF or TIFF whose record's picture the index knows is read
too: where its metadata alone changed, the run keeps its vector and words
(``picture_fingerprint.metadata_only``), and the dry run counts it so (``metadata_kept``), not as
a photo to embed and read again. So is a changed file of its record's size: where its content
is the record's (a touch), the run keeps its vector and reads none of its words again
(``content_kept``), and so does the dry run's count of them.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from . import camera_raw
from .errors import UnreadableImage
from .image_formats import is_video_name
from .images import (
    DEFAULT_MAX_PIXELS,
    FileStat,
    fingerprint_bytes,
    os_reason,
    read_file_bytes,
    scan_images,
    unreadable,
)
from .picture_fingerprint import metadata_only, picture_fingerprint
from .reports import IndexReport


def first_run(folders: Iterable[str | Path], max_pixels: int | None, left_out: Iterable[str] = ()) -> IndexReport:
    """What a first run over ``folders`` would do where there is no index yet: every picture
    added, or skipped as its header says. Nothing is created and no model is loaded (a first
    run's model may not even be downloaded yet). ``left_out``: folders the run leaves out, but
    for one it names (those removed from an index whose records were deleted by hand)."""
    roots = [os.path.abspath(os.fspath(f)) for f in folders]
    report = IndexReport(folders=roots, dry_run=True)
    scan = scan_images(roots, exclude=[f for f in left_out if f not in roots])
    report.found, report.other_files = len(scan.files), dict(scan.others.most_common(5))
    for path, reason in scan.errors:
        report.skip(path, reason)
    count_changes(scan.files, {}, {}, report, max_pixels)
    return report


def count_changes(todo: list[FileStat], known: dict[str, tuple], vanished: dict[str, str],
                  report: IndexReport, max_pixels: int | None, pictures: dict[str, str] | None = None,
                  states: dict[str, tuple] | None = None) -> None:
    """Fill ``report``'s added, updated (``metadata_kept`` among them), reused, moved, removed and
    skipped for a run that would process ``todo`` (new and changed files), given the index's
    ``known`` states (size, mtime, fingerprint), the ``vanished`` ones (path -> fingerprint), the
    ``pictures`` of the records' contents (``picture_fingerprint.pictures_before``) and ``states``,
    every record's (a copy of any of them is ``reused``, as the run counts it)."""
    left_by_size: dict[int, dict[str, str]] = {}
    for path, fp in vanished.items():
        left_by_size.setdefault(known[path][0], {})[fp] = path
    held = _contents_by_size(states or {})  # and, as they are counted, the new contents the run embeds
    shared = {size for size, count in Counter(stat.size for stat in todo).items() if count > 1}
    moved_from = 0
    for stat in todo:
        problem = header_problem(stat, max_pixels)
        if problem:  # said in the summary, not as a warning: the dry run skips nothing
            report.skipped.setdefault(problem, []).append(stat.path)
            # its record would stay, counted as the run's _skip counts it (a lasting reason alone)
            report.kept_unreadable += stat.path in known and problem in UnreadableImage.LASTING
        elif stat.path in known:
            _count_changed(stat, known[stat.path], pictures, report, held.setdefault(stat.size, set()),
                           stat.size in shared)
        else:
            moved_from += _count_new(stat, left_by_size.get(stat.size, {}), held.setdefault(stat.size, set()),
                                     stat.size in shared, report)
    report.removed = len(vanished) - moved_from
    # As the run counts them: every file added or updated is embedded, but those whose vector is kept or reused
    report.embedded = report.added + report.updated - report.reused - report.metadata_kept - report.content_kept


def _count_new(stat: FileStat, left: dict[str, str], held: set[str], shared: bool, report: IndexReport) -> bool:
    """A file the index does not hold, counted as the run will: moved where its content is that of
    one of the photos that ``left`` (fingerprint -> path, of its size), else added, its vector
    ``reused`` where its content is one ``held`` (of its size: a copy of a photo the index holds, or
    of one the run embeds before it). Read only then, or where another file to read has its size
    (``shared``: two copies of one new content, the second of which reuses the first's vector)."""
    fingerprint = _fingerprint(stat.path) if left or held or shared else None
    if fingerprint and left.pop(fingerprint, None):
        report.moved += 1
        return True
    report.added += 1
    _count_content(fingerprint, held, report)
    return False


def _count_content(fingerprint: str | None, held: set[str], report: IndexReport) -> None:
    """A content the run embeds, or reuses the vector of (``reused``) where it is one ``held``: the
    index's, or one the run embeds before it (the run's ``_reuse_or_queue``), which it joins."""
    if fingerprint in held:
        report.reused += 1
    elif fingerprint is not None:
        held.add(fingerprint)


def _contents_by_size(states: dict[str, tuple]) -> dict[int, set[str]]:
    """size -> the fingerprints of the records of that size, from ``states`` (size, mtime, fingerprint)."""
    out: dict[int, set[str]] = {}
    for size, _, fingerprint in states.values():
        out.setdefault(size, set()).add(fingerprint)
    return out


def _count_changed(stat: FileStat, record: tuple, pictures: dict[str, str] | None, report: IndexReport,
                   held: set[str], shared: bool) -> None:
    """A file the index holds, changed or under another file id, counted as the run will: unchanged
    where its content is the record's and so are its size and time (a copy, a restore), updated
    with its content kept where only its time changed (``content_kept``: a touch, whose words are
    not read again), kept where its metadata alone changed (``metadata_only``); else updated, its
    vector ``reused`` where its new content is one ``held`` (of its size: ``_count_content``). Read
    only where that can tell: its size is the record's (a touch keeps it), a held one's or another
    file's to read (``shared``), or its picture is known."""
    same_size, pictured = record[0] == stat.size, stat.path in (pictures or {})
    if not (same_size or pictured or held or shared):
        report.updated += 1  # read or not, the run embeds it or only updates its record
        return
    fingerprint, picture = _contents(stat.path, pictured)
    if fingerprint == record[2] and record[1] == stat.mtime_ns:
        report.unchanged += 1
        return
    report.updated += 1  # touched (the same content), its metadata alone changed, or changed
    if fingerprint == record[2]:
        report.content_kept += 1
    elif metadata_only(pictures, stat.path, picture):
        report.metadata_kept += 1
    else:
        _count_content(fingerprint, held, report)


def first_video_pass(folders: Iterable[str | Path], words: bool = False) -> Any:
    """What a first video pass over ``folders`` would read where there is no index yet: every
    video found, but a copy of one before it, which the pass gives that one's moments (``reused``:
    videos of one size are hashed, as the pass's dry run does); a ``VideoReport`` of a dry run,
    nothing decoded or created. ``words`` (``--ocr``): the moments' words are read too, none of
    them before (``words``: none read yet)."""
    from .videoindex import VideoIndex
    from .videopass import VideoReport, reusable
    from .videowords import WordsReport

    report = VideoReport(dry_run=True, words=WordsReport() if words else None)
    scan = scan_images([os.path.abspath(os.fspath(f)) for f in folders], wanted=is_video_name)
    for path, reason in scan.errors:
        report.skip(path, reason)
    report.videos = len(scan.files)
    report.reused = reusable(VideoIndex.empty(), scan.files)[0]
    report.left = report.videos - report.reused
    return report


def first_text_pass(report: IndexReport) -> Any:
    """What a first text pass (``--ocr``) would read where there is no index yet: the words in
    every content the run would embed, once for two copies of one (a ``TextReport`` of a dry
    run); no model loaded."""
    from .textpass import TextReport

    return TextReport(to_read=report.embedded, new=report.embedded, dry_run=True)  # each new content once


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
    return _contents(path, pictured=False)[0]


def _contents(path: str, pictured: bool = True) -> tuple[str | None, str | None]:
    """The file's fingerprint and (``pictured``) its picture's (``picture_fingerprint``), from one read."""
    try:
        data = read_file_bytes(path)
        return fingerprint_bytes(data), picture_fingerprint(data, path) if pictured else None
    except Exception:  # unreadable now: the run would find out
        return None, None
