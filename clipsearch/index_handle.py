"""IndexHandle: the one door to an index folder.

It resolves which store holds the index (the folder records it), reads the index's stamp (once)
and hands out the writer's lock. The engine opens indexes only through it; front ends never see
it, they ask the engine.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .config import ModelSpec, Settings
from .errors import IndexNotFound
from .lock import IndexLock, holder
from .stores import VectorStore, open_store, read_stamp, resolve_kind
from .stores.layout import MANIFEST_NAME, make_folder

log = logging.getLogger(__name__)
_UNREAD = object()


class IndexHandle:
    """An index folder, resolved once: its store kind and URI, its stamp, its lock."""

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.index_dir)
        self.kind, self.uri = resolve_kind(self.folder, settings.store, settings.store_uri)
        self._stamp: Any = _UNREAD
        self._claim: IndexLock | None = None  # the writer's lock, taken before a new index is made
        self._made = False  # whether ``claim`` made the index folder
        self.lost_folders: list[str] = []  # made anew where records were deleted: the folders they covered

    @property
    def stamp(self) -> dict[str, Any] | None:
        """The stamp of the index (what built it), or None when there is no index yet."""
        if self._stamp is _UNREAD:
            try:
                self._stamp = read_stamp(self.folder, self.kind, self.uri)
            except IndexNotFound:
                self._stamp = None
        return self._stamp

    @property
    def exists(self) -> bool:
        return self.stamp is not None

    def model_spec(self, asked: ModelSpec, *, use_index_model: bool) -> ModelSpec:
        """The model to run: the index's own (``use_index_model`` and an index exists), else ``asked``.

        ``asked`` always chooses how the model runs (device, precision, threads). An index whose
        records are gone (deleted by hand) but whose ``manifest.json`` still names its model is
        made anew with that model (or the one asked for by name), said once as a warning: never
        silently with the default one.
        """
        left = None if self.stamp is not None else self._manifest_stamp()  # the manifest of records gone
        stamp = self.stamp or (left if use_index_model else None)
        spec = asked
        if use_index_model and stamp is not None:
            spec = ModelSpec.from_stamp(stamp, device=asked.device, precision=asked.precision, threads=asked.threads)
        if left is not None:
            log.warning("the records of the index in %s are gone (its manifest.json is left): it is made anew with "
                        "the model %s, %s, and every photo is embedded again", self.folder,
                        "the manifest names" if use_index_model else "asked for",
                        spec.name + (f" ({spec.pretrained})" if spec.pretrained else ""))
        return spec

    def remembered_folders(self, key: str = "folders") -> list[str]:
        """The folders the ``manifest.json`` of an index whose records are gone (deleted by hand)
        names: what a run that names no folder indexes, as it did before (``key`` "left_out": those
        removed from it, which a run over the folders around them leaves out). None where the
        records are there, or where no manifest names the index's model."""
        manifest = self._manifest()
        if _named_stamp(manifest) is None or self.stamp is not None:  # the file first: no store asked for nothing
            return []
        folders = manifest.get(key)
        return [f for f in folders if isinstance(f, str)] if isinstance(folders, list) else []

    def _manifest_stamp(self) -> dict[str, Any] | None:
        """The stamp ``manifest.json`` names (it is written beside the records, for people), if any."""
        return _named_stamp(self._manifest())

    def _manifest(self) -> dict[str, Any]:
        """``manifest.json`` ({} where there is none, or it cannot be read or is not an object)."""
        try:
            manifest = json.loads((self.folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def open_reader(self, stamp: dict[str, Any] | None = None) -> VectorStore:
        """The existing index, read-only (``IndexNotFound`` if there is none)."""
        store = open_store(self.folder, stamp, kind=self.kind, uri=self.uri)
        self._stamp = store.stamp
        return store

    def open_writer(self, stamp: dict[str, Any] | None) -> VectorStore:
        """The index, writable; made with ``stamp`` when missing (``stamp`` may be None when it exists).
        One made anew where its records were deleted by hand keeps the folders removed from it out,
        and ``lost_folders`` says which folders the records gone covered."""
        left_out = self.remembered_folders("left_out")  # read before the new index writes its manifest
        self.lost_folders = self.remembered_folders()  # [] where the records are there
        store = open_store(self.folder, stamp, create=True, kind=self.kind, uri=self.uri)
        if left_out:
            store.set_folders(store.info().get("folders", []), left_out)
        self._stamp = store.stamp
        return store

    def claim(self) -> dict[str, Any] | None:
        """Take the writer's lock now, before a new index is made and its model loads, so that a
        second writer is refused at once (``IndexLocked``) instead of making the index too. The
        lock dies with the process; it is held until the end of the first ``lock()`` block, or
        ``unclaim()``. Returns the stamp, read again: another writer may have just made the index."""
        self._made = not self.folder.exists()
        make_folder(self.folder)  # or say plainly why it cannot be made
        self._claim = IndexLock(self.folder).acquire()
        self._stamp = _UNREAD
        return self.stamp

    def unclaim(self, undo: bool = False) -> None:
        """Let go of the lock ``claim`` took, if it is still held; ``undo`` (no index was made: its
        model could not load) also removes the folder ``claim`` made, if nothing else is in it."""
        if self._claim is not None:
            if undo and self._made:
                self._claim.remove()
            self._claim.release()
            self._claim = None

    def lock(self) -> contextlib.AbstractContextManager[IndexLock]:
        """The writer's lock of the index (a context manager; ``IndexLocked`` when held elsewhere).
        The lock ``claim`` took is handed to the first such block, and let go at its end."""
        if self._claim is None:
            return IndexLock(self.folder)
        return self._claimed()

    def lock_unless(self, dry_run: bool) -> contextlib.AbstractContextManager[IndexLock | None]:
        """The writer's lock (``lock``), or none for a dry run: it writes nothing, and reads the
        index as it stands while another run holds the lock (``writer_elsewhere`` says so)."""
        return contextlib.nullcontext() if dry_run else self.lock()

    def writer_elsewhere(self) -> str | None:
        """Who else is updating the index now ("process 42 on nas, since ..."), else None; asked
        without taking the lock or writing anything (``lock.holder``)."""
        return holder(self.folder)

    @contextlib.contextmanager
    def _claimed(self) -> Iterator[IndexLock]:
        try:
            yield self._claim
        finally:
            self.unclaim()


def same_model(stamp: dict[str, Any], spec: ModelSpec) -> bool:
    """True when a spec names the model recorded in a stamp (by name, tag and weights path)."""
    recorded = ModelSpec.from_stamp(stamp)
    weights = Path(spec.weights).expanduser().resolve() if spec.weights else None
    return (recorded.name, recorded.pretrained, recorded.weights) == (
        spec.name, None if (spec.weights or spec.name == "demo") else spec.pretrained, weights)


def _named_stamp(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """A manifest's stamp, where it names a model."""
    stamp = manifest.get("stamp")
    return stamp if isinstance(stamp, dict) and isinstance(stamp.get("model"), str) else None
