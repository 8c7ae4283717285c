"""``--watch``: index files as they appear, change or vanish (watchdog), until stopped."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from cli.terminal import said
from clipsearch import IndexLocked, IndexUnusable, SearchEngine
from clipsearch.cache_tag import is_tagged_cache
from clipsearch.folders import as_covered, is_there
from clipsearch.image_formats import is_video_name
from clipsearch.images import SYSTEM_FOLDERS, is_image_name

from .stopping import stopped_before_later_passes

log = logging.getLogger("indexer")

SETTLE_SECONDS = 2.0  # wait for a burst of changes (a copy of many files) to end
RECHECK_SECONDS = 5.0  # how often a folder that is missing or empty (a disk not mounted) is looked for
LOCKED_RETRY_SECONDS = 10.0  # another writer holds the index (a cron run): try again this often
READ_ONLY_EVENTS = frozenset({"opened", "closed_no_write"})  # watchdog's words for a file only read


def watch_folders(engine: SearchEngine, folders, stop: threading.Event, on_report: Callable, ignore=(),
                  covered: Callable[[], list[str]] | None = None) -> bool:
    """Re-run the incremental index after file events settle; return when ``stop`` is set: whether
    it stopped a pass mid-way (files left for the next run), False when it stopped while idle.
    ``on_report(report)`` hears a pass that changed something or met a new broken file, with
    ``videos=`` its video pass's report where that read, moved, removed or skipped a video.
    Changes under ``ignore`` (the thumbnail cache, the index folder: this program's own files,
    perhaps inside a watched folder) start no pass. ``covered`` (``engine.folders``): the folders
    the index covers at each pass, so that one removed meanwhile is not indexed again."""
    from watchdog.observers import Observer

    changed = threading.Event()
    roots = [os.path.abspath(os.fspath(f)) for f in folders]
    own = tuple(os.path.join(os.path.abspath(os.fspath(f)), "") for f in ignore)
    handler = _handler(changed, roots, own)
    present = [f for f in folders if _watchable(f)]
    observer = _observer(Observer, present, handler)  # none present: watches nothing until one is back
    observer.start()
    print(f"watching {said(', '.join(map(str, folders)))} for changes (Ctrl-C to stop)", file=sys.stderr, flush=True)
    passes = _Passes(engine, folders, stop, on_report, covered)
    watched = {f: _identity(f, empty_too=True) if f in present else None for f in folders}  # see _rewatch
    next_look = time.monotonic() + RECHECK_SECONDS
    stop.idle = True  # between passes: a Ctrl-C stops at once, and says so (stopping.StopFlag)
    try:
        while not stop.is_set():
            if time.monotonic() >= next_look:
                next_look = time.monotonic() + RECHECK_SECONDS
                if _rewatch(observer, handler, folders, watched):
                    changed.set()  # a disk mounted again: index what it holds now
            if not changed.wait(0.5):
                continue
            while changed.is_set() and not stop.is_set():  # settle
                changed.clear()
                time.sleep(SETTLE_SECONDS)
            stop.idle = False  # a pass: a stop waits for its batch
            if not stop.is_set() and not passes.run():
                changed.set()  # another writer held the index: the changes are still to index
            stop.idle = True
    finally:
        stop.idle = False
        observer.stop()
        observer.join(5)
    return passes.interrupted


class _Passes:
    """The watcher's passes: each indexes the folders, says what changed, and remembers whether
    one was stopped mid-way; a pass that finds the index locked by another writer waits for it."""

    def __init__(self, engine: SearchEngine, folders, stop: threading.Event, on_report: Callable,
                 covered: Callable[[], list[str]] | None = None) -> None:
        self.engine, self.folders, self.stop, self.on_report, self.covered = engine, folders, stop, on_report, covered
        self.reported: set[str] = set()  # files skipped in an earlier pass: said once, not after every event
        self.interrupted = self.waiting = False  # waiting: for another writer, said once
        self.removed: set = set()  # folders removed from the index meanwhile, said once

    def _still_covered(self) -> list:
        """The watched folders the index still covers: one removed meanwhile (``indexer --remove``)
        is not indexed again (said once), nor every photo of it embedded anew."""
        if self.covered is None:
            return list(self.folders)
        covered = self.covered()
        kept = []
        for folder in self.folders:
            if (spelled := as_covered(os.path.abspath(os.fspath(folder)), covered, quiet=True)) in covered:
                kept.append(spelled)  # as the index names it: a link's name warned of once, not every pass
            elif folder not in self.removed:
                self.removed.add(folder)
                print(f"{said(folder)} was removed from the index: no longer indexed", file=sys.stderr, flush=True)
        return kept

    def run(self) -> bool:
        """One pass; False when another writer holds the index (tried again later). ``IndexUnusable``
        where the index folder was deleted or replaced since the watcher opened it."""
        if self.engine.index_deleted():
            where = self.engine.settings.index_dir
            raise IndexUnusable(f"the index in {where} was deleted or replaced while --watch ran: nothing more is "
                                f"written into it; run the indexer again to make it anew (or to use the new one)")
        folders = self._still_covered()
        if not folders:
            return True
        try:
            report, text, videos = _one_pass(self.engine, folders, self.stop)
        except IndexLocked as exc:  # a cron run or the web app's re-index is writing: wait for it
            if not self.waiting:
                print(f"{said(str(exc).split(';')[0])}: indexing the changes when it is done", file=sys.stderr, flush=True)
            self.waiting = True
            self.stop.idle = True  # no batch of ours runs while it waits
            self.stop.wait(LOCKED_RETRY_SECONDS)
            return False
        self.waiting = False
        if any(part is not None and part.interrupted for part in (report, text, videos)):
            self.interrupted = True
        changed_videos = videos is not None and bool(videos.read or videos.reused or videos.removed or videos.skipped)
        skipped = {path for paths in report.skipped.values() for path in paths}
        if report.added or report.updated or report.moved or report.removed or skipped - self.reported or changed_videos:
            self.on_report(report, **({"videos": videos} if changed_videos else {}))
        self.reported = skipped
        return True


def _rewatch(observer, handler, folders, watched: dict) -> bool:
    """Watch each folder as it is now. ``watched``: folder -> the (device, inode) of the folder
    watched there, None where none is (missing, or an empty mount point: a disk not mounted). A
    folder that went stops being watched; one that is back, or another in its place (a disk
    mounted on it: the OS's watch of the mount point sees nothing of the disk), is watched again.
    True when one came back: a pass indexes what it holds."""
    back = False
    for folder in folders:
        now = _identity(folder)
        if now == watched.get(folder):
            continue
        if watched.get(folder) is not None:
            if now is None:  # a pass keeps its photos and says nothing (no change): said here, once
                print(f"{said(folder)} is gone or empty (a disk unmounted?): its indexed photos are kept; looking for it "
                      f"every {RECHECK_SECONDS:g} s", file=sys.stderr, flush=True)
            for emitter in list(observer.emitters):
                if emitter.watch.path == str(folder):
                    with contextlib.suppress(Exception):  # its emitter may have stopped with the folder
                        observer.unschedule(emitter.watch)
        if now is not None:
            try:
                observer.schedule(handler, str(folder), recursive=True)
            except OSError as exc:
                log.warning("cannot watch %s yet (%s)", folder, exc.strerror or exc)
                now = None
            else:
                print(f"{said(folder)} is back: watching it again", file=sys.stderr, flush=True)
                back = True
        watched[folder] = now
    return back


def _identity(folder, empty_too: bool = False) -> tuple[int, int] | None:
    """The (device, inode) of a folder that holds something (or is there at all, ``empty_too``),
    None for one missing or empty."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if empty_too or is_there(str(folder)) else None


def _handler(changed: threading.Event, roots: list[str], own: tuple[str, ...]):
    """A watchdog handler that sets ``changed`` for a change a pass should index."""
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in READ_ONLY_EVENTS or (event.is_directory and event.event_type == "modified"):
                return  # a photo read (a viewer, a backup, the web app's thumbnails); a folder's own
                #         "modified" comes with the event of the file that changed in it
            paths = [str(p) for p in (getattr(event, "src_path", ""), getattr(event, "dest_path", "")) if p]
            if paths and all(_left_alone(p, roots) or p.startswith(own) or _in_tagged_cache(p, roots) for p in paths):  # a NAS's thumbnails (@eaDir), a hidden
                return  # file; but rsync's hidden temporary file renamed to a photo is a new photo
            if event.is_directory or any(is_image_name(p) or is_video_name(p) for p in paths):
                changed.set()

    return Handler()


def _one_pass(engine: SearchEngine, folders, stop: threading.Event) -> tuple:
    """One pass: the photos, then the words (--ocr) and the videos (--videos) where the index
    reads them; their reports (None for a pass the index does not run). A stop asked during the
    photos' pass begins neither (the words' loaded its OCR model and read a batch before it
    stopped): they wait for the next run, and the pass counts as interrupted."""
    report = engine.index_folder(folders, should_stop=stop.is_set)
    if stop.is_set():
        report.interrupted = report.interrupted or stopped_before_later_passes(engine, stop)
        return report, None, None
    text = engine.read_texts(should_stop=stop.is_set)
    videos = engine.read_videos(should_stop=stop.is_set)
    return report, text, videos


def _root_of(path: str, folders: list[str]) -> str | None:
    """The watched folder ``path`` is below, or None."""
    return next((f for f in folders if path.startswith(os.path.join(f, ""))), None)


def _left_alone(path: str, folders: list[str]) -> bool:
    """Whether a changed path is one the scan never looks at: hidden, or in a NAS's own folders,
    below the watched folder it is in (whose own name may be anything, ``~/.photos`` too)."""
    root = _root_of(path, folders)
    inside = path[len(root):] if root else path
    return any(part.startswith(".") or part in SYSTEM_FOLDERS for part in inside.split(os.sep))


def _in_tagged_cache(path: str, folders: list[str]) -> bool:
    """Whether a changed path is in a folder below the watched one that a ``CACHEDIR.TAG`` keeps out
    of the scan (the web app's thumbnails, where this watcher was not given its ``$CLIPSEARCH_CACHE``:
    each thumbnail written began a pass that found nothing)."""
    root = _root_of(path, folders)
    folder = os.path.dirname(path)
    while root and folder.startswith(os.path.join(root, "")):
        if is_tagged_cache(folder):
            return True
        folder = os.path.dirname(folder)
    return False


def _watchable(folder) -> bool:
    if os.path.isdir(folder):
        return True
    log.warning("%s is missing: not watched until it is back (its indexed photos are kept)", folder)
    return False


def _observer(kind, folders, handler):
    """An observer of ``folders``; watchdog's polling one where the OS runs out of watches (on
    Linux, a big photo tree can pass fs.inotify.max_user_watches). With none there (a single USB
    disk not plugged in), one that watches nothing yet: each folder is looked for every few seconds
    (``_rewatch``) and watched, and indexed, once it is back. It used to return, the watcher ending."""
    if not folders:
        log.warning("every folder is missing: looking for them every %g s", RECHECK_SECONDS)
    observer = kind()
    try:
        for folder in folders:
            observer.schedule(handler, str(folder), recursive=True)
    except OSError as exc:
        from watchdog.observers.polling import PollingObserver

        log.warning("cannot watch %s with the OS's notifications (%s): looking for changes every few seconds "
                    "instead (on Linux, raising fs.inotify.max_user_watches avoids it)", folder, exc.strerror or exc)
        observer = PollingObserver()
        for folder in folders:
            observer.schedule(handler, str(folder), recursive=True)
    return observer
