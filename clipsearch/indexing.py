"""The engine's writing side: bringing the index up to date with folders, and forgetting one.

``index_folder`` runs the ``IndexingPipeline`` over a store it may write, under the index's lock
(a dry run's, which it only reads, without it); ``remove_folder`` forgets a folder's photos and
videos. An engine opened for reading writes through a store of its own and catches up with it
afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import unreadable_files
from .folders import as_covered, brought_back, known_under, left_out
from .pipeline import FileEmbedder, IndexingPipeline, IndexProgress, IndexReport
from .stores import VectorStore, WriteBatch
from .videoindex import VideoIndex, VideoRecord


class FolderRemoval(int):
    """What ``remove_folder`` forgot (would, in a dry run): an int, the photos, as it always was,
    with the videos and the moments that left with them beside (``videos`` None: the index has no
    video store)."""

    videos: int | None
    moments: int

    def __new__(cls, photos: int, videos: tuple[int, int] | None = None) -> FolderRemoval:
        removal = super().__new__(cls, photos)
        removal.videos, removal.moments = videos if videos is not None else (None, 0)
        return removal


class FolderIndexing:
    """What ``SearchEngine`` gains from this module: ``index_folder`` and ``remove_folder`` (a mixin)."""

    _unreadable: unreadable_files.Entries | None  # files skipped, until they change (the engine's)
    text: Any  # the engine's ``TextSide``: the words read in photos, carried with their pictures
    videos: Any  # the engine's ``VideoSide`` (``forget_videos_under``: ``videos.VideoFinding``)

    def index_folder(
        self,
        folders: str | Path | Iterable[str | Path],
        *,
        dry_run: bool = False,
        progress: Callable[[IndexProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        batch_size: int | None = None,
        workers: int | None = None,
        embedder: FileEmbedder | None = None,
        removing: Iterable[str | Path] = (),
    ) -> IndexReport:
        """Bring the index up to date with ``folders``: add, update, move and remove.

        Takes the index's write lock (``IndexLocked`` if another process holds it); a dry run
        reads the index as it stands, beside a run that holds it (``IndexReport.another_run``). ``embedder``
        hashes, decodes and embeds the new and changed files elsewhere (a ``RayEmbedder``,
        ``clipsearch.distributed``); by default local threads decode and this engine's model embeds.
        A dry run counts against the index as it will be once the folders ``removing`` are removed
        (``remove_folder``, which a dry run does not do): as the run that removes them first counts.
        """
        if isinstance(folders, (str, Path)):
            folders = [folders]
        paths = [os.path.expanduser(os.fspath(f)) for f in folders]  # "~/Pictures" is home's, not a folder "~" here
        with self._writer(dry_run) as store:
            if dry_run and removing:
                store = AfterRemoval(store, [os.path.abspath(os.fspath(f)) for f in removing])
            if self._unreadable is None:  # remembered from runs before, beside the index
                self._unreadable = unreadable_files.load(self.settings.index_dir)
            pipeline = IndexingPipeline(
                self.encoder, store,
                batch_size=batch_size or self.settings.batch_size,
                workers=workers or self.settings.workers,
                file_timeout=self.settings.file_timeout,
                max_pixels=self.settings.max_pixels,
                progress=progress, should_stop=should_stop, embedder=embedder, unreadable=self._unreadable,
                index_dir=self.settings.index_dir, carry=self._carry_read,
                # the web app's thumbnails are no photos; only their folder: $CLIPSEARCH_CACHE may be a photo folder
                exclude=[os.path.join(self.settings.cache_dir, "thumbs")])
            another_run = self.writer_elsewhere() if dry_run else None  # its figures may change
            try:
                return pipeline.run(paths, dry_run=dry_run, another_run=another_run)
            finally:
                if not dry_run:
                    unreadable_files.save(self.settings.index_dir, self._unreadable)

    def _carry_read(self, pairs: list[tuple[str, str]]) -> None:
        """What was read from the old contents of photos whose metadata alone changed (their words,
        their pixel signatures), kept under their new contents: the pictures are the same."""
        self.text.carry_words(pairs)
        self.carry_signatures(pairs)

    def remove_folder(self, folder: str | Path, *, dry_run: bool = False) -> int:
        """Forget every image and video under ``folder``; returns how many images (a ``FolderRemoval``:
        the videos and their moments beside). A folder inside a covered one is left out of later
        runs over that one (``info()["left_out"]``) until a run names it. With ``dry_run``, only
        how many it would forget: nothing is written."""
        with self._writer(dry_run) as store:  # a folder reached through a symlink: as the index spells it
            folder = as_covered(os.path.abspath(os.fspath(folder)), covered := (info := store.info())["folders"])
            paths = [r.path for r in store.records(folder)]
            if dry_run:
                return FolderRemoval(len(paths), self._videos_under(folder, forget=False))
            if paths:
                store.write(WriteBatch(delete=paths))
            store.set_folders([f for f in covered if not known_under({f: 0}, [folder])], left_out(info, folder))
            store.save()
            videos = self._videos_under(folder, forget=True)  # and the videos' moments (--videos)
        return FolderRemoval(len(paths), videos)

    def _videos_under(self, folder: str, forget: bool) -> tuple[int, int] | None:
        """How many videos the index holds in or under ``folder``, and the moments that leave with
        them (a content no video elsewhere shares); ``forget``: forgotten (``forget_videos_under``).
        None where the index has no video store."""
        store = self.videos.store()
        if store is None:
            return None
        inside = os.path.join(folder, "")
        paths = [r.path for r in store.records() if r.path.startswith(inside)]
        moments = store.moments_leaving(paths)
        if forget:
            self.forget_videos_under(folder)
        return len(paths), moments

    def _video_scope(self, videos: VideoIndex | None, folders: Iterable[str | Path] | None, dry_run: bool,
                     removing: Iterable[str | Path]) -> tuple[Any, list[str], list[str]]:
        """The video store, folders and folders left out of a video pass (``read_videos``): the
        index's, or ``folders``. A dry run's are those of the run it foretells, which covers
        ``folders`` too (``index_folder`` records them, a dry run does not) once the folders
        ``removing`` are removed (``AfterRemoval``; their videos forgotten first), as the pass after
        that run scans them; it reads an empty video store where the index has none."""
        store, named = self._store(), [os.path.abspath(os.fspath(f)) for f in folders or []]
        info = store.info()
        if not dry_run:
            return videos, named or list(info.get("folders", [])), list(info.get("left_out", []))
        removed, videos = [], videos or VideoIndex.empty()
        if removing:
            view = AfterRemoval(store, [os.path.abspath(os.fspath(f)) for f in removing])
            info, removed = view.info(), view.removed
            videos = VideosLess.after_removal(videos, removed)
        covered = list(info.get("folders", []))
        named = [as_covered(f, covered, quiet=True) for f in named]
        return videos, covered + [f for f in named if f not in covered], brought_back(info, named)

    @contextlib.contextmanager
    def _writer(self, dry_run: bool = False) -> Iterator[VectorStore]:
        """The store to write, under the index's lock; a dry run's, which it only reads, without it.

        An engine opened for reading writes through a store of its own (searches keep running
        on theirs, never on an index being written) and swaps a fresh one in at the end.
        """
        if self._writable or dry_run:
            store = self._store()
            with self.index.lock_unless(dry_run):
                yield store
            return
        with self.index.lock():
            store = self.index.open_writer(self.encoder.stamp)
            try:
                yield store
            finally:
                store.close()
        self.reload_if_changed()

    @property
    def batch_size(self) -> int:
        """Images per model call when indexing: the settings' choice, else the encoder's."""
        return self.settings.batch_size or self.encoder.batch_size


class AfterRemoval:
    """A dry run's view of ``store`` with ``folders`` removed (as ``remove_folder`` would, which
    writes): their photos gone, a folder inside a covered one left out, so that the dry run of
    ``--remove SUB FOLDER`` scans and counts what the run will."""

    def __init__(self, store: VectorStore, folders: list[str]) -> None:
        self._store = store
        info, spelled = store.info(), []
        for folder in folders:  # as the index spells it, and as remove_folder records it
            spelled.append(folder := as_covered(folder, covered := info["folders"], quiet=True))
            info = {**info, "folders": [f for f in covered if not known_under({f: 0}, [folder])],
                    "left_out": left_out(info, folder)}
        self._info, self.removed = info, spelled
        self._gone = set(known_under(store.file_states(), spelled))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def info(self) -> dict[str, Any]:
        return self._info

    def get(self, path: str) -> Any:
        return None if path in self._gone else self._store.get(path)

    def records(self, folder: str | None = None) -> Iterator[Any]:
        return (r for r in self._store.records(folder) if r.path not in self._gone)

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        return {p: s for p, s in self._store.file_states().items() if p not in self._gone}

    def file_ids(self) -> dict[str, tuple[int, int]]:
        return {p: i for p, i in self._store.file_ids().items() if p not in self._gone}


class VideosLess:
    """A view of a video store less the videos at the paths ``left_out`` names: a dry run's, those
    of the folders it removes first (``remove_folder`` forgets their videos before the video pass),
    and the words' pass's, those that do not read now (a video read before it broke keeps its
    moments, whose words wait for it: read from the broken file, they would be marked read, none)."""

    def __init__(self, index: VideoIndex, left_out: Callable[[str], bool]) -> None:
        self._index, self._left_out = index, left_out

    @classmethod
    def after_removal(cls, index: VideoIndex, folders: list[str]) -> VideosLess:
        inside = tuple(os.path.join(f, "") for f in folders)
        return cls(index, lambda path: path.startswith(inside))

    @classmethod
    def readable(cls, index: VideoIndex) -> VideosLess:
        return cls(index, set(index.unreadable()).__contains__)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def records(self, where: Any = None) -> list[VideoRecord]:
        return [r for r in self._index.records(where) if not self._left_out(r.path)]

    def unreadable(self) -> unreadable_files.Entries:
        return {p: e for p, e in self._index.unreadable().items() if not self._left_out(p)}

    def by_fingerprint(self, fingerprint: str) -> VideoRecord | None:
        found = self._index.has_moments(fingerprint)
        return next((r for r in self.records() if found and r.fingerprint == fingerprint), None)
