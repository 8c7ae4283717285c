"""Which folders an indexing run covers, and how the index spells them.

A folder reached through a symlink is one folder with its target (``as_covered``); a folder that
is gone or empty keeps its photos (``keep_missing_folders``); the other spellings an index of an
earlier release may hold are found (``other_spellings``) so that their records can leave.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .images import ScanResult
from .reports import IndexReport

log = logging.getLogger("clipsearch.pipeline")


def as_covered(folder: str, covered: list[str], quiet: bool = False) -> str:
    """``folder`` as the index already spells it: through a symlink (``~/Pictures`` -> a disk), the
    same photos would otherwise be indexed twice, under two names."""
    real = os.path.realpath(folder)
    for known in covered:
        known_real = os.path.realpath(known)
        if real == known_real or real.startswith(os.path.join(known_real, "")):
            spelled = known + real[len(known_real):]
            if spelled != folder and not quiet:
                log.warning("%s is the folder this index knows as %s: indexed under that name", folder, spelled)
            return spelled
    return folder


def filter_as_covered(where: Any, covered: Callable[[], list[str]]) -> Any:
    """A search filter (``SearchFilter``) whose folder is spelled as the index covers it: a folder
    given through a symlink (``~/Pictures/2019``, the index knowing the disk's name) would
    otherwise match no photo. ``covered`` is only asked when the filter names a folder."""
    if where is None or not where.folder:
        return where
    spelled = as_covered(where.folder, covered(), quiet=True)
    return where if spelled == where.folder else replace(where, folder=spelled)


def left_out(info: dict[str, Any], removed: str) -> list[str]:
    """The folders runs leave out once ``removed`` is: one inside a covered folder joins them (a
    run over that folder would add its photos again); those inside a removed folder go."""
    kept = [f for f in info.get("left_out", []) if not known_under({f: 0}, [removed])]
    others = [f for f in info.get("folders", []) if f != removed]
    return kept + [removed] if known_under({removed: 0}, others) else kept


def brought_back(info: dict[str, Any], folders: list[str]) -> list[str]:
    """The folders left out that stay out of a run over ``folders``: a run that names one brings it
    back (one that names a folder inside it indexes that folder alone, as a folder of its own)."""
    return [f for f in info.get("left_out", []) if f not in folders]


def not_covered(folder: str, covered: list[str]) -> str | None:
    """Why a search's folder filter found nothing, when the index covers no photo in ``folder``
    (else None: the folder is covered, or holds covered folders)."""
    spelled = as_covered(folder, covered, quiet=True)
    if known_under({spelled: 0}, covered) or known_under(dict.fromkeys(covered), [spelled]):
        return None
    return f"the index holds no photo in {folder}: it covers {', '.join(covered) or 'no folder yet'}"


def keep_missing_folders(known: dict, folders: list[str], scan: ScanResult, report: IndexReport) -> dict:
    """``known`` less the photos of a folder that is gone or empty now (an unplugged disk, an
    unmounted share): a run must not forget a whole library it cannot see. Each such folder and
    how many photos it keeps go to ``report.kept``; ``--remove`` forgets them. A folder gone from
    inside another folder of the run that holds photos was deleted, not unmounted: its photos
    leave; but one still there and empty there is a mount point (``~/Pictures/nas``): kept."""
    paths = [f.path for f in scan.files]  # sorted by scan_images
    seen = [f for f in folders if holds(paths, f)]
    for folder in folders:
        mount_point = os.path.isdir(folder) and not is_there(folder)
        if folder in seen or (not mount_point and any(folder.startswith(os.path.join(f, "")) for f in seen)):
            continue
        known = keep_held(known, folder, report)
    return known


def keep_held(known: dict, folder: str, report: IndexReport, why: str = "") -> dict:
    """``known`` less the photos indexed under ``folder``, which is missing or empty now (a disk not
    there): they are kept, and the folder goes to ``report.kept`` with their count."""
    held = known_under(known, [folder])
    if held:
        report.kept[folder] = len(held)
        log.info("%s is %s%s: its %d indexed photos are kept", folder, absence(folder), why, len(held))
        known = {p: s for p, s in known.items() if p not in held}
    return known


def keep_links_into_missing(known: dict, scan: ScanResult, report: IndexReport) -> dict:
    """``known`` less the symlinks that dangle because their target is in a folder kept as missing
    (``report.kept``: a disk unplugged): their photos stay, as that folder's do, and they leave
    ``scan.errors``, where they were a "broken link" (as a symlink whose target is gone otherwise is)."""
    missing = tuple(os.path.join(os.path.realpath(f), "") for f in report.kept)
    if not missing:
        return known
    into = {path for path, reason in scan.errors
            if reason == "broken link" and path in known and os.path.islink(path)
            and os.path.realpath(path).startswith(missing)}
    scan.errors = [(path, reason) for path, reason in scan.errors if path not in into]
    return {p: s for p, s in known.items() if p not in into}


def walkable(folders: list[str], covered: list[str]) -> list[str]:
    """``folders`` less those the index covers as folders that are a file now (moved away, a file
    left in their place): missing, their photos kept (``keep_missing_folders``), never a file to
    read in their place, as a file named on its own is."""
    return [f for f in folders if f not in covered or not os.path.exists(f) or os.path.isdir(f)]


def deleted_inside(folders: list[str], report: IndexReport) -> list[str]:
    """The folders of a run that are gone from inside another folder of it, their photos not kept
    (``keep_missing_folders``: deleted, not unmounted): the outer folder covers their place, so
    they are no folders of the index's own any more, nor files a run could not read."""
    return [f for f in folders if f not in report.kept and not os.path.isdir(f)
            and any(f.startswith(os.path.join(o, "")) for o in folders)]


def absence(folder: str) -> str:
    """How a folder that holds no photo now is absent: missing, unreadable (the OS will not list
    it) or empty (an empty mount point, say)."""
    if not os.path.isdir(folder):
        return "missing"
    return "empty" if os.access(folder, os.R_OK | os.X_OK) else "unreadable"


def is_there(folder: str) -> bool:
    """Whether a folder is there and holds something (a disk not mounted is an empty mount point)."""
    try:
        return os.path.isdir(folder) and next(os.scandir(folder), None) is not None
    except OSError:
        return False


def now_note(folder: str) -> str:
    """What ``info`` says beside a covered folder that is not there now (else nothing): its photos
    stay in the index (``keep_missing_folders``), the disk may only be unmounted."""
    return "" if is_there(folder) else f" ({absence(folder)} now: a disk not mounted?)"


def other_spellings(covered: list[str], folders: list[str]) -> list[str]:
    """The covered folders that are other spellings of places under ``folders`` (through a symlink)."""
    out = []
    for folder in covered:
        spelled = as_covered(folder, covered, quiet=True)
        if spelled != folder and known_under({spelled: 0}, folders):
            out.append(folder)
    return out


def known_under(states: dict[str, Any], folders: list[str]) -> dict:
    """The entries of ``states`` (keyed by path) in or under ``folders``."""
    prefixes = tuple(os.path.join(f, "") for f in folders)
    return {p: s for p, s in states.items() if p.startswith(prefixes) or p in folders}


def holds(paths: list[str], folder: str) -> bool:
    """Whether the sorted ``paths`` have one in or under ``folder`` (a binary search, not a walk)."""
    at = bisect.bisect_left(paths, folder)
    if at < len(paths) and paths[at] == folder:  # a file named on its own
        return True
    inside = os.path.join(folder, "")
    at = bisect.bisect_left(paths, inside)
    return at < len(paths) and paths[at].startswith(inside)
