"""The engine's writing side: bringing the index up to date with folders, and forgetting one.

``index_folder`` runs the ``IndexingPipeline`` over a store it may write, under the index's lock
(a dry run's, which it only reads, without it); ``remove_folder`` forgets a folder's photos. An
engine opened for reading writes through a store of its own and catches up with it afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import unreadable_files
from .folders import as_covered, known_under, left_out
from .pipeline import FileEmbedder, IndexingPipeline, IndexProgress, IndexReport
from .stores import VectorStore, WriteBatch


class FolderIndexing:
    """What ``SearchEngine`` gains from this module: ``index_folder`` and ``remove_folder`` (a mixin)."""

    _unreadable: unreadable_files.Entries | None  # files skipped, until they change (the engine's)
    text: Any  # the engine's ``TextSide``: the words read in photos, carried with their pictures

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
        paths = [os.fspath(f) for f in folders]
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
                exclude=[os.fspath(self.settings.cache_dir)])  # the web app's thumbnails are no photos
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
        """Forget every image under ``folder``; returns how many. A folder inside a covered one is
        left out of later runs over that one (``info()["left_out"]``) until a run names it. With
        ``dry_run``, only how many it would forget: nothing is written."""
        with self._writer(dry_run) as store:  # a folder reached through a symlink: as the index spells it
            folder = as_covered(os.path.abspath(os.fspath(folder)), covered := (info := store.info())["folders"])
            paths = [r.path for r in store.records(folder)]
            if dry_run:
                return len(paths)
            if paths:
                store.write(WriteBatch(delete=paths))
            store.set_folders([f for f in covered if not known_under({f: 0}, [folder])], left_out(info, folder))
            store.save()
            self.forget_videos_under(folder)  # and the videos' moments (--videos)
        return len(paths)

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
        self._info = info
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
