"""IndexHandle: the one door to an index folder.

It resolves which store holds the index (the folder records it), reads the index's stamp (once)
and hands out the writer's lock. The engine opens indexes only through it; front ends never see
it, they ask the engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ModelSpec, Settings
from .errors import IndexNotFound
from .lock import IndexLock
from .stores import VectorStore, open_store, read_stamp, resolve_kind

_UNREAD = object()


class IndexHandle:
    """An index folder, resolved once: its store kind and URI, its stamp, its lock."""

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.index_dir)
        self.kind, self.uri = resolve_kind(self.folder, settings.store, settings.store_uri)
        self._stamp: Any = _UNREAD

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

        ``asked`` always chooses how the model runs (device, precision, threads).
        """
        if use_index_model and self.stamp is not None:
            return ModelSpec.from_stamp(self.stamp, device=asked.device, precision=asked.precision,
                                        threads=asked.threads)
        return asked

    def open_reader(self, stamp: dict[str, Any] | None = None) -> VectorStore:
        """The existing index, read-only (``IndexNotFound`` if there is none)."""
        store = open_store(self.folder, stamp, kind=self.kind, uri=self.uri)
        self._stamp = store.stamp
        return store

    def open_writer(self, stamp: dict[str, Any] | None) -> VectorStore:
        """The index, writable; made with ``stamp`` when missing (``stamp`` may be None when it exists)."""
        store = open_store(self.folder, stamp, create=True, kind=self.kind, uri=self.uri)
        self._stamp = store.stamp
        return store

    def lock(self) -> IndexLock:
        """The writer's lock of the index (a context manager; ``IndexLocked`` when held elsewhere)."""
        return IndexLock(self.folder)
