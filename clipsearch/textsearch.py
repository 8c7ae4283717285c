"""The engine's text side: the words read in photos, searched beside CLIP and fused with it.

A plain text query (one term, no image, no ``+``/``-``) is searched in both. Photos whose words
match come first (whole-word matches, then word beginnings, each best first by bm25), then
what CLIP finds, without repeats. A text match keeps its CLIP score (so scores still mean the
same thing) and carries the matched words as a snippet (``"[GRAND] CAFE Open 7-22"``); it is
always a strong match for the relevance cut-off, since the photo says the words. Quotes ask for
the exact words; CLIP sees the query without them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .config import Settings
from .ocr import TextReader
from .query import QueryTerm
from .sidestore import SideStore
from .stores.base import ImageRecord, SearchFilter, VectorStore
from .textindex import TextHit, TextIndex
from .textpass import TextPass, TextProgress, TextReport

log = logging.getLogger(__name__)


def text_of_query(terms: list[QueryTerm]) -> str | None:
    """The words to look for in photos: a query of one positive text term, else None."""
    if len(terms) == 1 and terms[0].text is not None and terms[0].weight > 0:
        return terms[0].text
    return None


def without_quotes(terms: list[QueryTerm]) -> list[QueryTerm]:
    """The terms CLIP embeds: quotes are for the text search only."""
    return [dataclasses.replace(t, text=" ".join(t.text.replace('"', " ").split()) or t.text)
            if t.text and '"' in t.text else t for t in terms]


class TextSide(SideStore):
    """The text store of one index folder, opened when first needed, and what uses it."""

    def __init__(self, index_dir: str | Path) -> None:
        super().__init__(index_dir, TextIndex.open)

    def store(self, create: bool = False) -> TextIndex | None:
        """The text store (None when the index has none and ``create`` is false)."""
        return super().store(create)

    def info(self) -> dict[str, Any]:
        """Whether text reading is on, and the store's counts."""
        store = self.store()
        if store is None:
            return {"enabled": False}
        return {"enabled": store.enabled, **store.counts()}

    def info_entry(self) -> dict[str, Any]:
        """``{"text": info()}`` when the index has a text store, else nothing (for ``engine.info``)."""
        return {"text": self.info()} if self.store() is not None else {}

    def carry_words(self, pairs: list[tuple[str, str]]) -> None:
        """The words read in old contents, under the new contents of the same picture (the
        indexer's files whose metadata alone changed), where the index has a text store."""
        text = self.store()
        if text is not None:
            text.carry(pairs)

    def read(self, store: VectorStore, *, workers: int | None = None, settings: Settings | None = None,
             progress: Callable[[TextProgress], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             reader: TextReader | None = None) -> TextReport | None:
        """The text pass over everything ``store`` holds; None when text reading is off.

        The caller holds the index's write lock. ``settings`` gives the decode limits.
        """
        text = self.store()
        if text is None or not text.enabled:
            return None
        text.refresh_alternate_forms()
        settings = settings or Settings()
        reader = reader or TextReader(threads=workers)
        run = TextPass(text, reader, workers=workers, file_timeout=settings.file_timeout,
                       max_pixels=settings.max_pixels, progress=progress, should_stop=should_stop)
        return run.run(store.records())

    def would_read(self, store: VectorStore, new: int = 0) -> TextReport:
        """What the text pass after a run would read (a dry run: nothing read or written, no model
        loaded): the photos ``store`` holds whose content is not read yet and whose file is there,
        and the ``new`` ones the run would add or change."""
        text = self.store()
        there = [r.fingerprint for r in store.records() if os.path.exists(r.path)]
        unread = text.unread(there) if text is not None else len(set(there))
        return TextReport(files=len(there), to_read=unread + new, already_read=len(set(there)) - unread,
                          dry_run=True, new=new)

    def fuse(self, terms: list[QueryTerm], results: list, store: VectorStore, vector: np.ndarray,
             k: int, where: SearchFilter | None, make_result: Callable[[ImageRecord, float], Any]) -> list:
        """CLIP's ``results`` with the photos whose words match placed first (see the module).

        ``make_result`` turns a record and its CLIP score into a result like those in ``results``.
        """
        query = text_of_query(terms)
        if query is None or not self.enabled:
            return results
        hits = self.store().search(query, where=where, limit=k)
        if not hits:
            return results
        return fuse_results(hits, results, store, vector, k, make_result)


def fuse_results(hits: list[TextHit], results: list, store: VectorStore, vector: np.ndarray, k: int,
                 make_result: Callable[[ImageRecord, float], Any]) -> list:
    """Text matches first (each with its CLIP score and snippet), then the rest of ``results``."""
    by_path = {r.path: r for r in results}
    fused = []
    for hit in hits:
        record = store.get(hit.path)
        if record is None or record.fingerprint != hit.fingerprint:
            continue  # gone or changed since its words were read
        base = by_path.get(hit.path)
        if base is None:
            stored = store.vector(hit.path)
            score = float(np.dot(vector, stored)) if stored is not None else 0.0
            base = make_result(record, score)
        fused.append(_marked(base, hit.snippet))
        if len(fused) >= k:
            return fused
    taken = {r.path for r in fused}
    return fused + [r for r in results if r.path not in taken][: k - len(fused)]


def _marked(result, snippet: str):
    changes: dict[str, Any] = {"text": snippet}
    if any(f.name == "strong" for f in dataclasses.fields(result)):
        changes["strong"] = True  # the photo says the words: a match whatever its CLIP score
    return dataclasses.replace(result, **changes)


class TextReading:
    """The engine's words in photos (``--ocr``): turning the reading on and off, and its pass."""

    def read_texts(self, *, progress: Callable[[TextProgress], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, workers: int | None = None) -> TextReport | None:
        """Read the words in indexed photos not read yet, under the index's lock (None when text
        reading is off). Its own pass after ``index_folder``: CLIP search works before it ends."""
        if not self.text.enabled:
            return None
        with self.index.lock():
            if not self._writable:
                self.reload_if_changed()
            return self.text.read(self._store(), workers=workers, settings=self.settings,
                                  progress=progress, should_stop=should_stop)

    def texts_to_read(self, new: int = 0) -> TextReport:
        """How many photos' words a text pass would read (``--dry-run``), with ``new`` photos that
        a run would add or change; nothing is read or written and no model is loaded."""
        return self.text.would_read(self._store(), new)

    def set_text_reading(self, on: bool) -> None:
        """Turn reading the words in photos on or off for this index; the index remembers it."""
        self.text.set_enabled(on)
