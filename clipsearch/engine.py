"""SearchEngine: indexing and searching, over an Encoder and a VectorStore.

The engine sees only the two protocols, so tests can hand it a fake encoder and any store.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .config import ModelSpec, Settings
from .encoders import Encoder, load_encoder, normalize
from .errors import IndexNotFound, InvalidQuery, ModelMismatch
from .images import load_image
from .lock import IndexLock
from .pipeline import Indexer, IndexProgress, IndexReport
from .query import QueryTerm, parse_query
from .stores import SearchFilter, VectorStore, WriteBatch, open_store, read_stamp
from .stores.base import check_stamp

log = logging.getLogger(__name__)

DEFAULT_K = 20


@dataclass(frozen=True)
class SearchResult:
    """One hit: the file, how well it matches (cosine similarity), and what the index knows."""

    path: str
    score: float
    width: int
    height: int
    date_taken: str | None
    size: int
    mtime_ns: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "score": round(self.score, 6), "width": self.width,
            "height": self.height, "date_taken": self.date_taken, "size": self.size,
            "mtime_ns": self.mtime_ns,
        }


class SearchEngine:
    """Index folders and search them by text, by image, or by a composite query."""

    def __init__(self, encoder: Encoder, store: VectorStore | None = None, *,
                 settings: Settings | None = None) -> None:
        self.encoder = encoder
        self.store = store
        self.settings = settings or Settings()
        self._swap_lock = threading.Lock()

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def for_reading(cls, settings: Settings, **model_overrides) -> SearchEngine:
        """An engine over an existing index, with the model its stamp names.

        ``model_overrides`` (device, precision, threads) choose how, not which, model runs.
        """
        store = open_store(settings.index_dir, kind=settings.store, uri=settings.store_uri)
        try:
            encoder = load_encoder(ModelSpec.from_stamp(store.stamp, **model_overrides))
            check_stamp(store.stamp, encoder.stamp, settings.index_dir)
        except BaseException:
            store.close()
            raise
        return cls(encoder, store, settings=settings)

    @classmethod
    def for_writing(cls, settings: Settings) -> SearchEngine:
        """An engine that may create and update the index, with the settings' model.

        An existing index keeps its model: asking for another raises ``ModelMismatch``.
        """
        encoder = load_encoder(settings.model)  # lazy: loads on first use
        try:
            have = read_stamp(settings.index_dir, kind=settings.store, uri=settings.store_uri)
        except IndexNotFound:
            have = None
        spec = settings.model
        if have is not None and have.get("model") != spec.name and not spec.weights:
            raise ModelMismatch(  # plainly another model: no need to load it to know
                f"the index in {settings.index_dir} was built with model {have.get('model')} "
                f"({have.get('pretrained') or 'own weights'}), not {spec.name}. Use the model it "
                "was built with (omit --model), or index into another folder with --index."
            )
        if have is not None and same_model(have, spec):
            # The index's own model: it loads only if there is something to embed, and the
            # indexer checks the full stamp (dim, preprocessing, checkpoint hash) then.
            store = open_store(settings.index_dir, create=True, kind=settings.store, uri=settings.store_uri)
        else:
            store = open_store(settings.index_dir, encoder.stamp, create=True, kind=settings.store,
                               uri=settings.store_uri)
        return cls(encoder, store, settings=settings)

    # --- indexing ----------------------------------------------------------------------------
    def index_folder(
        self,
        folders: str | Path | Iterable[str | Path],
        *,
        dry_run: bool = False,
        progress: Callable[[IndexProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        batch_size: int | None = None,
        workers: int | None = None,
        lock: bool = True,
    ) -> IndexReport:
        """Bring the index up to date with ``folders``: add, update, move and remove.

        Takes the index's write lock (``IndexLocked`` if another process holds it) unless the
        caller already holds it.
        """
        if isinstance(folders, (str, Path)):
            folders = [folders]
        indexer = Indexer(
            self.encoder, self._store(),
            batch_size=batch_size or self.settings.batch_size,
            workers=workers or self.settings.workers,
            file_timeout=self.settings.file_timeout,
            max_pixels=self.settings.max_pixels,
            progress=progress, should_stop=should_stop,
        )
        if not lock:
            return indexer.run([os.fspath(f) for f in folders], dry_run=dry_run)
        with IndexLock(self.settings.index_dir):
            return indexer.run([os.fspath(f) for f in folders], dry_run=dry_run)

    def remove_folder(self, folder: str | Path) -> int:
        """Forget every image under ``folder``; returns how many."""
        store = self._store()
        folder = os.path.abspath(os.fspath(folder))
        with IndexLock(self.settings.index_dir):
            paths = [r.path for r in store.records(folder)]
            if paths:
                store.write(WriteBatch(delete=paths))
            store.set_folders([f for f in store.info().get("folders", []) if f != folder])
            store.save()
        return len(paths)

    # --- searching ---------------------------------------------------------------------------
    def search_text(self, text: str, k: int = DEFAULT_K, where: SearchFilter | None = None) -> list[SearchResult]:
        """Images that match a text, best first (composite syntax allowed: ``a + b - c``)."""
        return self.search(parse_query(text), k=k, where=where)

    def search_image(self, image: Image.Image | str | Path | bytes, k: int = DEFAULT_K,
                     where: SearchFilter | None = None) -> list[SearchResult]:
        """Images that look like ``image`` (a PIL image, a path or the file's bytes)."""
        return self.search([QueryTerm(1.0, image=image)], k=k, where=where)

    def similar(self, path: str | Path, k: int = DEFAULT_K, where: SearchFilter | None = None,
                include_self: bool = False) -> list[SearchResult]:
        """Indexed images most like the indexed image at ``path`` (its stored vector).

        A path the index does not hold is an ``InvalidQuery``: this never opens a file, so a
        client cannot make the server read one (use ``search_image`` for any picture).
        """
        path = os.path.abspath(os.fspath(path))
        vector = self._store().vector(path)
        if vector is None:
            raise InvalidQuery(f"{path} is not in the index")
        hits = self._search_vector(vector, k + 1, where, hard=False)
        if not include_self:
            hits = [h for h in hits if h.path != path]
        return hits[:k]

    def search(self, terms: str | list[QueryTerm], k: int = DEFAULT_K,
               where: SearchFilter | None = None) -> list[SearchResult]:
        """Run a composite query: the weighted sum of its terms' vectors, then nearest images."""
        if isinstance(terms, str):
            terms = parse_query(terms)
        vector, hard = self.query_vector(terms)
        return self._search_vector(vector, k, where, hard=hard)

    def query_vector(self, terms: list[QueryTerm]) -> tuple[np.ndarray, bool]:
        """The unit query vector of weighted terms, and whether it is text-like (``hard``)."""
        if not terms:
            raise InvalidQuery("the query is empty: type some words or give an image")
        texts = [t for t in terms if t.text is not None]
        images = [t for t in terms if t.image is not None]
        total = np.zeros(self.encoder.dim, np.float32)
        if texts:
            vectors = self.encoder.embed_texts([t.text for t in texts])
            total += np.einsum("i,ij->j", np.array([t.weight for t in texts], np.float32), vectors)
        if images:
            pictures = [self._as_image(t.image) for t in images]
            vectors = self.encoder.embed_images(pictures)
            total += np.einsum("i,ij->j", np.array([t.weight for t in images], np.float32), vectors)
        if not np.any(total):
            raise InvalidQuery("the query's terms cancel out")
        text_weight = sum(abs(t.weight) for t in texts)
        return normalize(total[None])[0], text_weight > sum(abs(t.weight) for t in images)

    def _as_image(self, image: Any) -> Image.Image:
        if isinstance(image, Image.Image):
            from .images import to_rgb

            return to_rgb(image)
        loaded = load_image(image, path="uploaded image" if isinstance(image, bytes) else None,
                            min_size=self.encoder.input_size, max_pixels=self.settings.max_pixels)
        return loaded.image

    def _search_vector(self, vector: np.ndarray, k: int, where: SearchFilter | None,
                       hard: bool) -> list[SearchResult]:
        hits = self._store().search(vector, k, where=where, hard=hard)
        return [SearchResult(r.path, s, r.width, r.height, r.date_taken, r.size, r.mtime_ns)
                for r, s in hits]

    # --- the store -------------------------------------------------------------------------
    def _store(self) -> VectorStore:
        if self.store is None:
            raise IndexNotFound(f"no index in {self.settings.index_dir}")
        return self.store

    def info(self) -> dict[str, Any]:
        """Count, model stamp, folders and last update time of the index."""
        return self._store().info()

    def reload_if_changed(self) -> bool:
        """Swap in a freshly opened store when another process committed to the index.

        The old store object is never mutated under readers: a new one replaces it whole.
        """
        with self._swap_lock:
            if self.store is not None and not self.store.stale():
                return False
            try:
                fresh = open_store(self.settings.index_dir, self.encoder.stamp, kind=self.settings.store,
                                   uri=self.settings.store_uri)
            except IndexNotFound:
                return False
            # Searches still running on the old object finish on it; it is freed with them.
            self.store = fresh
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def same_model(stamp: dict[str, Any], spec: ModelSpec) -> bool:
    """True when a spec names the model recorded in a stamp (by name, tag and weights path)."""
    recorded = ModelSpec.from_stamp(stamp)
    weights = Path(spec.weights).expanduser().resolve() if spec.weights else None
    return (recorded.name, recorded.pretrained, recorded.weights) == (
        spec.name, None if (spec.weights or spec.name == "demo") else spec.pretrained, weights)
