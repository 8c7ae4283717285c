"""SearchEngine: indexing and searching, over an Encoder and a VectorStore.

The engine sees only the two protocols, so tests can hand it a fake encoder and any store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import mount_points, unreadable_files
from .calibration import Calibration, names_nothing
from .config import ModelSpec, Settings
from .cutoff import TOP_CANDIDATES, relevance_cutoffs
from .cutoff_terms import TermVector, combine, composite_search, embed_terms
from .duplicates import DuplicateFinding
from .encoders import Encoder, load_encoder
from .errors import IndexNotFound, InvalidQuery, ModelMismatch
from .folders import as_covered, filter_as_covered
from .index_handle import IndexHandle, same_model
from .index_watch import IndexFollowing, IndexWatch
from .indexing import FolderIndexing
from .query import QueryTerm, as_region, check_cutoff, check_k, check_terms, parse_query
from .region import Region, query_picture
from .stores import ImageRecord, SearchFilter, VectorStore
from .stores.base import check_stamp
from .textsearch import TextReading, TextSide, without_quotes
from .topics import TopicFinding
from .videos import VideoFinding, VideoSide

log = logging.getLogger(__name__)
DEFAULT_K = 20
# A search's cut-off: "auto" decides per query which results match (clipsearch.cutoff); a number
# is a flat score threshold; None or 0 marks every result strong.
Cut = str | float | None
AUTO = "auto"


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
    strong: bool = True  # above the search's cut-off: a match, not just the next nearest
    text: str | None = None  # the photo's words that matched, "[marked]" (a text match only)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "score": round(self.score, 6), "width": self.width, "height": self.height,
                "date_taken": self.date_taken, "size": self.size, "mtime_ns": self.mtime_ns,
                "strong": self.strong, **({"text": self.text} if self.text else {})}


class SearchEngine(FolderIndexing, IndexFollowing, DuplicateFinding, TopicFinding, TextReading, VideoFinding):
    """Index folders and search them by text, by image, or by a composite query.

    Open one with ``for_reading`` (an existing index, its own model) or ``for_writing`` (creates
    and updates); both open the index through one ``IndexHandle``. Front ends ask the engine for
    everything (records, one record, folders, info) and never reach into its store.
    """

    def __init__(self, encoder: Encoder, store: VectorStore | None = None, *,
                 settings: Settings | None = None, writable: bool = True,
                 handle: IndexHandle | None = None) -> None:
        self.encoder = encoder
        self.store = store
        self.settings = settings or Settings()
        self._writable = writable  # False: writes go through a store of their own, under the lock
        self._handle = handle
        self._swap_lock = threading.Lock()
        self._watch = IndexWatch(self.settings.index_dir)  # the folder deleted or replaced (index_watch)
        # Queries share the model's calls, then search and decide in turn (docs/performance.md).
        self._turn = threading.Lock()
        self._last_query = _LastQuery()  # the terms this thread searched last, and their vectors
        self.text = TextSide(self.settings.index_dir)  # the words read in photos (--ocr)
        self.calibration = Calibration(encoder)  # the library sample, vague words' level
        self._unreadable: unreadable_files.Entries | None = None  # files skipped, until they change

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def for_reading(cls, settings: Settings, **model_overrides: Any) -> SearchEngine:
        """An engine over an existing index, with the model its stamp names.

        ``model_overrides`` (device, precision, threads) choose how, not which, model runs.
        Searches read a store that is never written in place; ``index_folder`` writes through
        a store of its own and swaps the fresh one in afterwards.
        """
        handle = IndexHandle(settings)
        store = handle.open_reader()
        try:
            encoder = load_encoder(ModelSpec.from_stamp(store.stamp, **model_overrides))
            check_stamp(store.stamp, encoder.stamp, settings.index_dir)
        except BaseException:
            store.close()
            raise
        return cls(encoder, store, settings=settings, writable=False, handle=handle)

    @classmethod
    def for_writing(cls, settings: Settings, *, use_index_model: bool = False,
                    create: bool = True, dry_run: bool = False) -> SearchEngine:
        """An engine that may create and update the index, with the settings' model.

        With ``use_index_model``, an existing index's own model runs (``settings.model`` then
        only says how: device, precision, threads). An existing index keeps its model: asking
        for another raises ``ModelMismatch``. Without ``create``, a missing index is
        ``IndexNotFound`` and nothing is created. ``dry_run`` (no ``create``): the index opened
        only to read, as a dry run reads it (nothing written, no upgrade, no lock taken).
        """
        handle = IndexHandle(settings)
        have = handle.stamp
        if have is None and not create:
            raise IndexNotFound(f"no index in {settings.index_dir}", location=settings.index_dir)
        if have is None:  # a new index: claimed before its model loads, so a second writer is refused now
            have = handle.claim()
        try:
            spec = handle.model_spec(settings.model, use_index_model=use_index_model)
            settings = replace(settings, model=spec)
            encoder = load_encoder(spec)  # lazy: loads on first use
            if have is not None and have.get("model") != spec.name and not spec.weights:
                raise ModelMismatch(  # plainly another model: no need to load it to know
                    f"the index in {settings.index_dir} was built with model {have.get('model')} "
                    f"({have.get('pretrained') or 'own weights'}), not {spec.name}: use the model it "
                    "was built with, or another index folder"
                )
            # The index's own model loads only if there is something to embed, and the pipeline
            # checks the full stamp (dim, preprocessing, checkpoint hash) then.
            stamp = None if have is not None and same_model(have, spec) else encoder.stamp
            store = handle.open_reader(stamp) if dry_run else handle.open_writer(stamp)
        except BaseException:
            handle.unclaim(undo=True)  # a model that cannot load: no index, nor its folder
            raise
        return cls(encoder, store, settings=settings, writable=not dry_run, handle=handle)

    @staticmethod
    def index_info(settings: Settings) -> dict[str, Any]:
        """What the index in ``settings`` holds (``info()``), without loading its model."""
        with contextlib.closing(IndexHandle(settings).open_reader()) as store, contextlib.closing(
                VideoSide(settings.index_dir)) as videos:
            about = store.info()
            return {**about, **mount_points.info_entry(settings, about, store),
                    **unreadable_files.info_entry(settings.index_dir, store), **videos.info_entry()}

    @staticmethod
    def writer_of(settings: Settings) -> str | None:
        """Who is updating the index in ``settings`` now ("process 42 on nas, since ..."), else None:
        also a first run that is making it (loading its model), where a dry run finds no index yet."""
        return IndexHandle(settings).writer_elsewhere()

    @staticmethod
    def remembered_folders(settings: Settings, key: str = "folders") -> list[str]:
        """The folders an index covered whose records are gone (deleted by hand), as the
        ``manifest.json`` left beside them names them (``key`` "left_out": those removed from it);
        [] where the index is whole, or there is none."""
        return IndexHandle(settings).remembered_folders(key)

    def lost_folders(self) -> list[str]:
        """Where this engine made the index anew in place of records deleted by hand: the folders those
        covered, as their ``manifest.json`` named them (a run naming others leaves them out); else []."""
        return list(self._handle.lost_folders) if self._handle is not None else []

    @property
    def index(self) -> IndexHandle:
        """The index folder this engine opened (its store kind, stamp and lock)."""
        if self._handle is None:
            self._handle = IndexHandle(self.settings)
        return self._handle

    # --- searching ---------------------------------------------------------------------------
    def search_text(self, text: str, k: int = DEFAULT_K, where: SearchFilter | None = None,
                    cutoff: Cut = AUTO) -> list[SearchResult]:
        """Images that match a text, best first (composite syntax allowed: ``a + b - c``)."""
        return self.search(parse_query(text), k=k, where=where, cutoff=cutoff)

    def search_image(self, image: Image.Image | str | Path | bytes, k: int = DEFAULT_K, where: SearchFilter | None = None,
                     cutoff: Cut = AUTO, region: Region | str | None = None) -> list[SearchResult]:
        """Images that look like ``image`` (a PIL image, a path or the file's bytes), or ``region`` of it
        (a ``Region``, or its text: ``parse_region``'s)."""
        return self.search([QueryTerm(1.0, image=image, region=as_region(region))], k=k, where=where, cutoff=cutoff)

    def similar(self, path: str | Path, k: int = DEFAULT_K, where: SearchFilter | None = None,
                include_self: bool = False, cutoff: Cut = AUTO, region: Region | str | None = None) -> list[SearchResult]:
        """Indexed images most like the indexed image at ``path`` (its stored vector), or like its ``region``
        (that part read from the file). A path the index does not hold is an ``InvalidQuery``: no
        other file is opened, so a client cannot make the server read one (``search_image`` takes any).
        """
        k, region = check_k(k), as_region(region)
        check_cutoff(cutoff)
        path, where = os.path.abspath(os.fspath(path)), filter_as_covered(where, self.folders)
        vector = self._store().vector(path)
        if vector is None:
            raise InvalidQuery(f"{path} is not in the index")
        if region is not None:
            hits = self.search([QueryTerm(1.0, image=path, region=region)], k + 1, where, cutoff)
            return [hit for hit in hits if include_self or hit.path != path][:k]
        with self._turn:
            hits = self._search_vector(vector, k + 1, where, text_like=False, cutoff=cutoff,
                                       leave_out=None if include_self else path)
        return hits[:k]

    def search(self, terms: str | list[QueryTerm], k: int = DEFAULT_K, where: SearchFilter | None = None,
               cutoff: Cut = AUTO, ranked: bool = False) -> list[SearchResult]:
        """Run a composite query: the weighted sum of its terms' vectors, then nearest images.

        The ``k`` nearest, best first; ``cutoff`` decides which of them are ``strong`` (real
        matches): ``"auto"`` (the default) per query from the shape of its scores (a composite
        query per term, its strong results first: ``clipsearch.cutoff_terms``; ``ranked``: its
        ``k`` best by the combined score instead, as a flat cut-off lists them, still so marked), a
        number as a flat score threshold, None or 0 marks all strong. At most ``query.MAX_TERMS``
        terms, a picture counting as one, as the text of a query (``QueryTooLarge``, before any is embedded).
        ``k`` is a whole number, 0 or more (``TypeError``, ``InvalidQuery``), a number ``cutoff`` finite.
        """
        k = check_k(k)
        check_cutoff(cutoff)
        terms = parse_query(terms) if isinstance(terms, str) else check_terms(terms)
        where = filter_as_covered(where, self.folders)
        with getattr(self.encoder, "query", contextlib.nullcontext)():  # in progress (batching)
            parts = self._last_query.parts_of(terms)  # the same terms again (the page's two orders)
            if parts is None:
                parts = self.term_vectors(without_quotes(terms))
                self._last_query.remember(terms, parts)  # moments() of these terms reuse them
            with self._turn:
                vector, text_like = combine(parts, self.encoder.dim)
                if cutoff == AUTO and len(parts) > 1:
                    found = composite_search(self._store(), parts, vector, k, where, text_like, self.cutoff_thresholds,
                                             ranked)
                    results = [_result_of(r, s, strong) for r, s, strong in found]
                else:
                    words = len(parts) == 1 and parts[0].text and parts[0].weight > 0  # the words themselves
                    results = self._search_vector(vector, k, where, text_like=text_like, cutoff=cutoff, words=words)
                # Photos that say the words come first, strong whatever their score (textsearch).
                return self.text.fuse(terms, results, self._store(), vector, k, where, _result_of)

    def query_vector(self, terms: list[QueryTerm]) -> tuple[np.ndarray, bool]:
        """The unit query vector of weighted terms, and whether it is text-like.

        A text-like query (its text terms outweigh its image terms) sits across the modality gap
        from the images, so the store searches it with a wider beam.
        """
        return combine(self.term_vectors(terms), self.encoder.dim)

    def term_vectors(self, terms: list[QueryTerm]) -> list[TermVector]:
        """Each term's unit vector and signed weight (``InvalidQuery`` when there is none)."""
        return embed_terms(self.encoder, terms, self._as_image)

    def _as_image(self, image: Any, region: Region | None = None) -> Image.Image:
        limit = {"max_bytes": self.settings.max_query_bytes} if self.settings.max_query_bytes else {}
        return query_picture(image, region, self.encoder.input_size, max_pixels=self.settings.max_pixels,
                             path="uploaded image" if isinstance(image, bytes) else None,
                             timeout=self.settings.file_timeout, **limit)

    def _search_vector(self, vector: np.ndarray, k: int, where: SearchFilter | None,
                       text_like: bool, cutoff: Cut = None, leave_out: str | None = None,
                       words: bool = False) -> list[SearchResult]:
        auto = isinstance(cutoff, str)
        if auto and cutoff != AUTO:
            raise InvalidQuery(f"the cut-off is 'auto', a number or none, not {cutoff!r}")
        store = self._store()
        hits = store.search(vector, max(k, TOP_CANDIDATES) if auto else k, where=where, text_like=text_like)
        if leave_out is not None:  # before deciding: itself is no match
            hits = [(r, s) for r, s in hits if r.path != leave_out]
        if auto:  # decided over the whole library: a filter narrows the photos shown, not what matches
            decide = hits if where is None else [(r, s) for r, s in store.search(
                vector, TOP_CANDIDATES, text_like=text_like) if r.path != leave_out]
            threshold = self.cutoff_thresholds([vector], [np.array([s for _, s in decide])], [words])[0]
        else:
            threshold = float(cutoff or 0.0) if (cutoff or 0.0) > 0 else -np.inf
        return [SearchResult(r.path, s, r.width, r.height, r.date_taken, r.size, r.mtime_ns,
                             bool(s >= threshold)) for r, s in hits[:k]]

    def cutoff_thresholds(self, vectors: list[np.ndarray], tops: list[np.ndarray],
                          words: list[bool] | None = None) -> list[float]:
        """The automatic cut-off's score thresholds of query vectors, decided together, from each
        one's best scores (the first ``TOP_CANDIDATES`` count: the decision does not depend on
        ``k``) and its scores against a random sample of the library (see ``clipsearch.cutoff``).
        A vector marked in ``words`` (a text term) whose best score stays under the vague words'
        level names nothing the library holds: nothing is strong (``clipsearch.calibration``)."""
        sample, total = self.library_sample(), self._store().count()
        # einsum, not BLAS: waking BLAS's threads for one small product costs more than the product
        scores = [np.einsum("ij,j->i", sample, v.astype(np.float32)) if len(sample) else None for v in vectors]
        cases = [(np.asarray(top)[:TOP_CANDIDATES], s, total) for top, s in zip(tops, scores)]
        thresholds = [cut.threshold for cut in relevance_cutoffs(cases)]
        if any(words or ()):
            level = self.calibration.vague_level(self._store())
            thresholds = [np.inf if w and names_nothing(np.asarray(top), level) else t
                          for t, w, top in zip(thresholds, words, tops)]
        return thresholds

    def library_sample(self) -> np.ndarray:
        """Vectors of up to ``SAMPLE_SIZE`` random indexed images, kept until the index changes."""
        return self.calibration.sample(self._store())

    # --- what the index holds ---------------------------------------------------------------
    def _store(self) -> VectorStore:
        if self.store is None:
            raise self._gone_error() or IndexNotFound(f"no index in {self.settings.index_dir}",
                                                      location=self.settings.index_dir)
        return self.store

    def info(self) -> dict[str, Any]:
        """Count, model stamp, folders (and the disks not mounted in them whose photos it keeps, and
        the photos whose files broke since, kept as last read) and last update time of the index
        (its text and videos, if read)."""
        about = (store := self._store()).info()
        return {**about, **mount_points.info_entry(self.settings, about, store),
                **unreadable_files.info_entry(self.settings.index_dir, store),
                **self.text.info_entry(), **self.videos.info_entry()}

    def folders(self) -> list[str]:
        """The folders the index covers (as given to ``index_folder``; the store's, not the text's counts)."""
        return list(self._store().info().get("folders", []))

    def records(self, folder: str | Path | None = None) -> Iterator[ImageRecord]:
        """What the index knows of every image (under ``folder`` when given)."""
        folder = folder and as_covered(os.path.abspath(os.fspath(folder)), self.folders(), quiet=True)
        return self._store().records(folder or None)

    def record(self, path: str | Path) -> ImageRecord | None:
        """What the index knows of the image at ``path``, or None when it is not indexed."""
        return None if self.store is None else self.store.get(os.path.abspath(os.fspath(path)))

    def close(self) -> None:
        if self._handle is not None:  # a new index's lock, if no write took it over
            self._handle.unclaim()
        self.text.close()
        self.videos.close()
        with self._swap_lock:
            if self.store is not None:
                self.store.close()


class _LastQuery(threading.local):
    """The terms a thread searched last, and their vectors: the same question asked again is not
    embedded again (the page's two orders; ``moments`` after the photos' search of the same list).
    That is the same list still holding the very same terms, each file a term names as it was when
    read; a list whose terms were replaced, cleared or added to since, or a picture file rewritten,
    asks again (``terms`` and ``parts_of`` then None). A PIL image changed in place is not seen."""

    _terms, _asked, parts = None, (), ()

    def remember(self, terms: list[QueryTerm], parts: list) -> None:
        self._terms, self._asked, self.parts = terms, _held(terms), parts  # after reading: a pipe read is done

    @property
    def terms(self) -> list[QueryTerm] | None:
        """The list searched last, while it still asks the same (``moments`` compares it with its own)."""
        return self._terms if self._terms is not None and _held(self._terms) == self._asked else None

    def parts_of(self, terms: list[QueryTerm]) -> list | None:
        return self.parts if self._terms is terms and _held(terms) == self._asked else None


def _held(terms: list[QueryTerm]) -> tuple:
    """Each term's identity with the state of the file it names (size, times, inode; None for words,
    a PIL image or bytes; a fresh object, never equal, for bytearray or a file that cannot be read)."""
    return tuple((id(term), term, _file_state(term.image)) for term in terms)


def _file_state(image: Any) -> Any:
    if not isinstance(image, (str, os.PathLike)):
        return object() if isinstance(image, bytearray) else None
    try:
        st = os.stat(image)
    except (OSError, ValueError):
        return object()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _result_of(record: ImageRecord, score: float, strong: bool = True) -> SearchResult:
    return SearchResult(record.path, score, record.width, record.height, record.date_taken, record.size,
                        record.mtime_ns, strong)
