"""The hnsw store's kNN self-join: every stored vector's nearest stored vectors, in batches.

What near-duplicate detection starts from (``clipsearch.duplicates``): one batched graph query per
chunk of rows instead of one search per photo, with the store's lock held a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import numpy as np

from .base import ImageRecord
from .graph import HnswGraph
from .records import RecordStore

# The beam of the self-join. Near-duplicates are each other's nearest neighbours by far, which a
# narrow beam finds: 64 found 985 of 998 planted pairs among 100k vectors (bench_duplicates.py
# speed) for 72 s of CPU, against 132 s with the image-search beam (128 at that size).
JOIN_EF = 64


def graph_self_join(records: RecordStore, graph_of: Callable[[], HnswGraph], lock: AbstractContextManager,
                    upto: int, k: int, *, chunk: int = 2048, ef: int = JOIN_EF,
                    progress: Callable[[int, int], None] | None = None,
                    ) -> tuple[list[ImageRecord], np.ndarray, np.ndarray]:
    """(records, row numbers (n, k), similarities (n, k)) of the rows of generations up to ``upto``.

    ``graph_of`` returns the current graph (a reader may swap in a fresh one between chunks);
    rows it does not hold simply get fewer neighbours (-1).
    """
    labels, found_records = records.labelled_records(upto)
    n = len(found_records)
    rows_of, sims = np.full((n, k), -1, np.int64), np.zeros((n, k), np.float32)
    if n < 2:
        return found_records, rows_of, sims
    lookup = np.full(int(labels.max()) + 2, -1, np.int64)  # the last slot stays -1: for label -1
    lookup[labels] = np.arange(n)
    want = min(k + 1, n)
    for start in range(0, n, chunk):
        part = labels[start : start + chunk]
        with lock:
            blobs = records.vectors_of_labels(int(part[0]), int(part[-1]), upto)
            have = [i for i, label in enumerate(part) if int(label) in blobs]
            if have:
                vectors = np.frombuffer(b"".join(blobs[int(part[i])] for i in have), np.float32)
                found = _search(graph_of(), vectors.reshape(len(have), -1), want, ef)
                _keep_nearest(start + np.array(have), *found, lookup, rows_of, sims)
        if progress is not None:
            progress(min(start + chunk, n), n)
    return found_records, rows_of, sims


def _search(graph: HnswGraph, queries: np.ndarray, want: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
    batch = graph.search_many(queries, want, ef)
    if batch is not None:
        return batch
    labels, scores = np.full((len(queries), want), -1, np.int64), np.full((len(queries), want), -np.inf)
    for i, query in enumerate(queries):  # fewer reachable points than asked: one at a time
        found = graph.search(query, want, ef, None) or graph.search(query, 1, ef, None)
        if found is not None:
            labels[i, : len(found[0])], scores[i, : len(found[1])] = found
    return labels, scores


def _keep_nearest(rows: np.ndarray, labels: np.ndarray, scores: np.ndarray, lookup: np.ndarray,
                  rows_of: np.ndarray, sims: np.ndarray) -> None:
    """Write each query row's nearest other rows (labels mapped to rows; itself left out)."""
    found = np.where((labels >= 0) & (labels < len(lookup)), lookup[np.clip(labels, -1, len(lookup) - 1)], -1)
    scores = np.where((found >= 0) & (found != rows[:, None]), scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, : rows_of.shape[1]]
    best = np.take_along_axis(scores, order, 1)
    width = best.shape[1]
    rows_of[rows, :width] = np.where(np.isfinite(best), np.take_along_axis(found, order, 1), -1)
    sims[rows, :width] = np.where(np.isfinite(best), best, 0.0)
