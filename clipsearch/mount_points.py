"""Disks mounted inside a covered folder, remembered for when they are not mounted.

A folder indexed by name that is gone or empty keeps its photos (``folders.keep_missing_folders``);
a disk mounted on a folder inside one (``~/Pictures/nas``, covered through ``~/Pictures`` only)
would otherwise lose them the first night it is not mounted: its mount point is there, empty, as a
folder whose photos were deleted is. So the scan notes the folders whose device differs from
their parent's (``ScanResult.mounts``); those that held photos are kept beside the index, in
``mounts.json``. At a later run, such a folder that is no mount point now (empty on its parent's
disk, or gone) and holds no photo keeps its photos, and the summary says so, as it does of a
covered folder. One still mounted and emptied (photos deleted from the disk), or a folder that was
never a mount point, loses them as before. A file of its own, not a table of the stores, so that a
release before this one opens the folder as it always did. ``info`` says which of them keep their
photos now (``not_mounted``): ``clipsearch info`` and the web app's Index panel, not only a run;
it decides as the run does, so a former mount point that holds photos on its parent's disk now is
not said to keep the disk's (the next run finds those photos there, and lets the disk's leave).
The video pass decides the same of its videos (``unmounted``), from these and from the mount points
that held videos, which the video store remembers (a disk of videos alone holds no photo).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import kept_lists
from .config import Settings
from .folders import holds, is_there, keep_held, known_under
from .images import ScanResult, scan_images
from .reports import IndexReport

FILE_NAME = "mounts.json"
VERSION = 1


def load(index_dir: str | Path | None) -> set[str]:
    """The mount points remembered in ``index_dir`` (none when there is no list or it cannot be read)."""
    if index_dir is None:
        return set()
    return set(kept_lists.load(index_dir, FILE_NAME, VERSION, list,
                               "mount points' list not read: a disk not mounted inside a folder loses its photos"))


def keep_unmounted(known: dict, folders: list[str], scan: ScanResult, remembered: Collection[str],
                   report: IndexReport) -> dict:
    """``known`` less the photos of a remembered mount point inside a folder of the run that is not
    mounted now and holds no photo: each such folder and how many photos it keeps go to
    ``report.kept``, as a covered folder gone or empty does (``--remove`` forgets them)."""
    for folder in unmounted(remembered, folders, scan):
        known = keep_held(known, folder, report, " (not mounted)")
    return known


def unmounted(remembered: Collection[str], folders: list[str], scan: ScanResult) -> list[str]:
    """The ``remembered`` mount points inside a folder of the run (not one itself) that are not
    mounted now and hold none of the files ``scan`` found: they keep theirs (the photos, or with
    the video pass's scan the videos, ``videopass``)."""
    paths = [f.path for f in scan.files]  # sorted by scan_images
    return [folder for folder in sorted(remembered)
            if not (folder in folders or folder in scan.mounts or holds(paths, folder)
                    or not known_under({folder: 0}, folders))]


def record(index_dir: str | Path | None, scan: ScanResult, folders: list[str], remembered: Collection[str],
           kept: Collection[str]) -> None:
    """After a scan of ``folders``: the mount points it found that hold photos, those remembered
    that kept their photos this run (not mounted now), and those outside ``folders`` (a run over
    other folders did not look at them); the others are forgotten."""
    if index_dir is None:
        return
    now = still_remembered(scan, folders, remembered, kept)
    if now != set(remembered):
        kept_lists.save(index_dir, FILE_NAME, VERSION, {folder: [] for folder in sorted(now)}, "the mount points' list")


def still_remembered(scan: ScanResult, folders: list[str], remembered: Collection[str],
                     kept: Collection[str]) -> set[str]:
    """The mount points to remember after a scan of ``folders`` (``record``): those it found that
    hold its files, those remembered that kept theirs (not mounted now), and those outside ``folders``."""
    paths = [f.path for f in scan.files]
    return ({folder for folder in scan.mounts if holds(paths, folder)} | (set(remembered) & set(kept))
            | {folder for folder in remembered if not known_under({folder: 0}, folders)})


def info_entry(settings: Settings, about: dict[str, Any], store: Any) -> dict[str, Any]:
    """``{"not_mounted": {folder: photos}}`` for ``info``: the remembered mount points inside a
    covered folder (``about["folders"]``) that are not mounted now (gone, or on their parent's
    disk: an empty mount point) and whose photos ``store`` keeps, with how many (until a run finds
    the disk back, or ``--remove`` forgets them), as a run decides (``keep_unmounted``): not one
    that holds a photo now (the index's own folders and those left out are not looked in, as the
    run's scan leaves them out). A covered folder itself is marked by ``now_note``."""
    covered = about.get("folders") or []
    skip = [os.fspath(settings.index_dir), os.path.join(settings.cache_dir, "thumbs"), *(about.get("left_out") or [])]
    away = {}
    for folder in sorted(load(settings.index_dir)):
        if (folder in covered or not known_under({folder: 0}, covered) or _mounted(folder)
                or _holds_photo(folder, skip)):
            continue
        count = sum(1 for _ in store.records(folder))
        if count:
            away[folder] = count
    return {"not_mounted": away}


def _mounted(folder: str) -> bool:
    """Whether a disk is on ``folder`` now: it is on another device than its parent (as the scan
    tells a mount point, ``ScanResult.mounts``)."""
    try:
        return os.stat(folder).st_dev != os.stat(os.path.dirname(folder)).st_dev
    except OSError:  # gone, or a symlink into a disk not there
        return False


def _holds_photo(folder: str, exclude: list[str]) -> bool:
    """Whether ``folder`` holds a photo now, as the run's scan finds them (``scan_images``, its
    folders in ``exclude`` left out): new photos on the parent's disk, say, which a run indexes."""
    return is_there(folder) and bool(scan_images([folder], exclude=exclude).files)
