"""The HNSW half of the hnsw store: one hnswlib graph over unit vectors, and its snapshot files.

The graph knows labels and vectors only; it learns the size of the index as an argument (for its
search beam) and never reads SQLite. This is the only module that imports hnswlib.

hnswlib's ``add_items`` is not safe beside ``knn_query``: the owner serialises them (one lock).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import hnswlib
import numpy as np

from ..errors import StoreWriteError, disk_full_note
from .atomic import fsync_dir

log = logging.getLogger(__name__)

# Tuned with benchmarks/bench_recall.py (CLIP-like vectors): recall@10 >= 0.99 for both kinds.
M = 16  # M=32 gained little recall per millisecond for text queries, and builds 1.5x slower
EF_CONSTRUCTION = 200
EF_IMAGE = 256  # image-like queries (in distribution), at 1M vectors: 0.991 at 128, 0.999 at 256
EF_TEXT = 2048  # text queries sit across the modality gap, at 1M: 0.98 at 512, 0.992 at 1024, 0.997 at 2048
EF_REFERENCE_SIZE = 1_000_000  # the beams above are for this many vectors; they scale as size ** 0.3
MIN_CANDIDATES = 64  # the beam never narrows below this; the top k of the beam are exact


class HnswGraph:
    """An hnswlib index by inner product, labels chosen by the caller."""

    def __init__(self, index: hnswlib.Index, dim: int):
        self._index = index
        self.dim = dim

    @classmethod
    def empty(cls, dim: int, capacity: int) -> HnswGraph:
        index = hnswlib.Index(space="ip", dim=dim)
        index.init_index(max_elements=max(1024, capacity), M=M, ef_construction=EF_CONSTRUCTION,
                         random_seed=100, allow_replace_deleted=True)
        return cls(index, dim)

    @classmethod
    def load(cls, path: Path, dim: int) -> HnswGraph | None:
        """The snapshot at ``path``, or None when it is unreadable (vanished or torn)."""
        index = hnswlib.Index(space="ip", dim=dim)
        try:
            index.load_index(os.fsencode(path), allow_replace_deleted=True)
        except (RuntimeError, OSError, MemoryError) as exc:
            log.warning("ignoring unreadable snapshot %s: %s", path, exc)
            return None
        return cls(index, dim)

    @classmethod
    def build(cls, dim: int, capacity: int, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> HnswGraph:
        """A graph holding exactly the (labels, vectors) chunks given, with no deleted slots."""
        graph = cls.empty(dim, capacity)
        for labels, vectors in chunks:
            graph.add(vectors, labels)
        return graph

    # --- changing --------------------------------------------------------------------------
    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        if not len(labels):
            return
        index = self._index
        free = index.get_max_elements() - index.get_current_count()
        if len(labels) > free:
            index.resize_index(max(2 * index.get_max_elements(), index.get_current_count() + len(labels)))
        index.add_items(vectors, labels, replace_deleted=True)

    def delete(self, labels: Iterable[int]) -> None:
        for label in labels:
            with contextlib.suppress(RuntimeError):  # not in this graph, or already gone
                self._index.mark_deleted(label)

    # --- reading ---------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        """Vectors in the graph, deleted ones included (until a rebuild)."""
        return self._index.get_current_count()

    def labels(self) -> set[int]:
        """Every label in the graph, deleted slots included."""
        return {int(x) for x in self._index.get_ids_list()}

    def vector(self, label: int) -> np.ndarray:
        return self._index.get_items([label], return_type="numpy")[0]

    def is_deleted(self, label: int) -> bool:
        try:
            self._index.unmark_deleted(label)  # succeeds only on a deleted slot
        except RuntimeError as exc:
            if "not deleted" in str(exc):
                return False
            raise
        self._index.mark_deleted(label)
        return True

    def search(self, query: np.ndarray, want: int, ef: int,
               allowed: Callable[[int], bool] | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``want`` best (labels, scores) by the graph, best first; None when it has fewer."""
        self._index.set_ef(max(ef, want))
        try:
            labels, distances = self._index.knn_query(query[None], k=want, filter=allowed)
        except RuntimeError:  # fewer reachable points than asked
            return None
        scores = 1.0 - distances[0]
        order = np.argsort(-scores, kind="stable")
        return labels[0][order].astype(np.int64), scores[order]

    def search_many(self, queries: np.ndarray, want: int, ef: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``want`` nearest (labels, scores) of each query row, in one batched call; None when
        the graph holds fewer reachable points."""
        self._index.set_ef(max(ef, want))
        try:
            labels, distances = self._index.knn_query(queries, k=want)
        except RuntimeError:
            return None
        return labels.astype(np.int64), 1.0 - distances

    # --- files -----------------------------------------------------------------------------
    def least_file_size(self) -> int:
        """The bytes a saved graph holds at least: each element's vector, label and level-0 links
        (hnswlib's layout; the upper levels' links come on top)."""
        return self._index.get_current_count() * (4 * self.dim + 8 + 4 + 4 * (2 * M + 1))

    def save(self, final: Path, temp: Path) -> None:
        """Write the graph to ``final`` atomically: a temp file, fsynced, then renamed.

        hnswlib is given the path's own bytes (as ``load`` does): it encodes a ``str`` as UTF-8, not
        as the file system does, so a folder named in another encoding (Latin-1 bytes, a Latin-1
        locale) was a TypeError or a file written nowhere."""
        try:
            self._index.save_index(os.fsencode(temp))
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            if (written := temp.stat().st_size) < (least := self.least_file_size()):
                # hnswlib reports no failed write: on a full disk it leaves a cut-off file
                raise OSError(errno.ENOSPC, f"No space left on device: {written} of at least {least} bytes written")
            os.replace(temp, final)
            fsync_dir(final.parent)
        except (OSError, RuntimeError) as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise StoreWriteError(f"could not save the index in {final.parent}: {exc}{disk_full_note(exc)}") from exc


def beam(ef: int, total: int) -> int:
    """The HNSW search beam for a graph of ``total`` vectors, from a beam tuned at 1M vectors.

    The beam a given recall needs grows with the graph (x2 from 100k to 1M vectors for text
    queries), and a 2048-wide beam over 100k vectors costs as much as exact search.
    """
    return max(MIN_CANDIDATES, round(ef * (total / EF_REFERENCE_SIZE) ** 0.3))
