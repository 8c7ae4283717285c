"""The cut-off of a composite query (``a + b``, ``a - b``, a picture plus words), decided per term.

A composite query's vector is a weighted sum of its terms' vectors, so its scores over the library
mix several populations (photos with both objects, with either one, with neither...) and a cut on
them alone is poor. The engine knows the terms, so each one is also judged by the cut-off of
``clipsearch.cutoff`` as if it had been searched alone, and the answers are combined:

* A negative term (``- white``) rules out the photos its own cut keeps: what it names.
* Words only: a photo is strong when a positive term's own cut keeps it (``a + b`` is "a or b":
  every photo that is strong for either). When the query also subtracts something, the combined
  query's own cut keeps photos too (``a square - white`` asks for squares, steered away from white
  ones; the combined vector says that more sharply than "a square" alone).
* A picture among the positive terms: the query asks for something specific (this picture, changed
  as the words say), so the combined query is cut as a narrow query is: at the widest gap among
  its best scores, relative to the spacing around it, keeping at least ``PICTURE_GROUP``
  (``cutoff.narrow_cutoff``); less what the negative terms name. ``(a picture of a yellow
  circle) + purple - yellow`` keeps the combined query's best group, but none that is strong for
  "yellow". The two-part fit of the combined scores (the cut-off's step 2) took the picture's
  broad look-alikes (its colour, its background) for matches. Asking the positive words to agree
  as well ("purple" by its own cut) measured better on the libraries it was tuned on and much
  worse on others: a bare word's own cut is too often wrong, and an intersection adds both errors.

The strong results need not be a prefix of the combined ranking; they are shown first, best first
by the combined score, then the rest of the combined ranking. Single-term queries never come here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cutoff import TOP_CANDIDATES, narrow_cutoff
from .encoders import normalize
from .errors import InvalidQuery
from .query import QueryTerm

# A picture plus words keeps at least this many: the gap test's window (``cutoff.gap_ratios``);
# a smaller group would be judged against the single spacing above its gap.
PICTURE_GROUP = 5
# The cuts are decided on the index's scores (hnswlib's sums, read back as 1 - its distance); the
# candidates are judged here on scores computed again from their stored vectors (NumPy's sums).
# The two differ in the last bits, and a cut is often a candidate's own score: judged against it
# exactly, that photo fell under its own score on one CPU and not on another.
SCORE_SLACK = 1e-5


@dataclass(frozen=True)
class TermVector:
    """One embedded query term: its signed weight, unit vector, and whether it is text."""

    weight: float
    vector: np.ndarray
    text: bool


def embed_terms(encoder: Any, terms: list[QueryTerm], as_image: Callable[[Any, Any], Any]) -> list[TermVector]:
    """Each term's unit vector, in the terms' order (texts and images each in one model call);
    ``as_image(image, region)`` makes an image term's picture."""
    if not terms:
        raise InvalidQuery("the query is empty: type some words or give an image")
    texts = [t for t in terms if t.text is not None]
    images = [t for t in terms if t.image is not None]
    by_term: dict[int, np.ndarray] = {}
    if texts:
        by_term.update(zip(map(id, texts), encoder.embed_texts([t.text for t in texts])))
    if images:
        by_term.update(zip(map(id, images), encoder.embed_images([as_image(t.image, t.region) for t in images])))
    return [TermVector(t.weight, np.asarray(by_term[id(t)], np.float32), t.text is not None)
            for t in terms if id(t) in by_term]


def combine(terms: list[TermVector], dim: int) -> tuple[np.ndarray, bool]:
    """The unit query vector of the weighted terms, and whether it is text-like (its text terms
    outweigh its image terms: it then sits across the modality gap from the images)."""
    if not all(math.isfinite(t.weight) for t in terms):  # else every score comes out NaN
        raise InvalidQuery("a weight is too large to search with: weights are numbers such as 2, 0.5 or 10 "
                           f"(the query has {', '.join(f'{t.weight:g}' for t in terms)})")
    # Only the weights' ratios count: scaled by a power of two (exact) to at most 1, so that huge
    # ones (1e30:dog) neither overflow float32 nor leave a vector whose length overflows.
    scale = 2.0 ** math.frexp(max((abs(t.weight) for t in terms), default=1.0))[1]
    total = np.zeros(dim, np.float32)
    for term in terms:
        total += np.float32(term.weight / scale) * term.vector
    if not np.any(total):
        raise InvalidQuery("the query's terms cancel out")
    text_weight = sum(abs(t.weight) for t in terms if t.text)
    return normalize(total[None])[0], text_weight > sum(abs(t.weight) for t in terms if not t.text)


def judged(terms: Sequence[TermVector]) -> list[int]:
    """Which terms are judged by their own cut: the negative ones, and with no picture among the
    positive terms, the positive words."""
    picture = has_picture(terms)
    return [i for i, t in enumerate(terms) if t.weight < 0 or (t.text and not picture)]


def uses_combined_cut(terms: Sequence[TermVector]) -> bool:
    """Whether the combined query's own cut counts (not for a sum of words: each word decides)."""
    return any(t.weight < 0 or not t.text for t in terms)


def has_picture(terms: Sequence[TermVector]) -> bool:
    """Whether a picture is among the positive terms (its combined cut is then a narrow one)."""
    return any(not t.text and t.weight > 0 for t in terms)


def combine_strong(terms: Sequence[TermVector], combined: np.ndarray, term_strong: dict[int, np.ndarray]) -> np.ndarray:
    """Which candidates are strong, from the combined query's cut and the judged terms' own cuts.

    ``combined``: per candidate, strong by the combined query's cut. ``term_strong``: for each
    judged term (index into ``terms``), per candidate, strong by that term's own cut.
    """
    n = len(combined)
    negative = np.zeros(n, bool)
    for i, strong in term_strong.items():
        if terms[i].weight < 0:
            negative |= strong
    positive_words = [term_strong[i] for i, t in enumerate(terms) if t.text and t.weight > 0 and i in term_strong]
    if not positive_words or has_picture(terms):
        strong = combined.copy()  # a picture, or words all negative: the combined cut decides
    elif any(t.weight < 0 for t in terms):
        strong = np.any(positive_words, axis=0) | combined
    else:
        strong = np.any(positive_words, axis=0)  # a sum: either term's matches
    return strong & ~negative


def composite_search(store: Any, terms: list[TermVector], vector: np.ndarray, k: int, where: Any,
                     text_like: bool, thresholds: Callable[[list, list, list], list[float]],
                     ranked: bool = False) -> list[tuple[Any, float, bool]]:
    """A composite query's ``k`` results as (record, combined score, strong), strong ones first
    (``ranked``: the ``k`` best by the combined score, in its order, each marked all the same: what
    a flat cut-off filters, as the command line's ``--min-score 0.45`` does).

    ``store`` is the engine's ``VectorStore``; ``thresholds(vectors, top_scores, words)`` is the
    engine's cut-off of query vectors, decided together (``SearchEngine.cutoff_thresholds``): a
    word term that names nothing the library holds gets an infinite threshold, and when every
    positive term is such words, the combined cut keeps nothing either.
    """
    hits = store.search(vector, max(k, TOP_CANDIDATES), where=where, text_like=text_like)
    judge = judged(terms)
    # The narrow beam even for words: the cut reads the shape of the term's best scores, and the
    # candidates are then judged by their exact scores; the wide one would cost 5 ms a term.
    found = {i: store.search(terms[i].vector, TOP_CANDIDATES, where=where) for i in judge}
    # Each cut is decided over the whole library: a folder or dates narrow the photos shown, not
    # what matches (a filter that left a few dozen photos had its tail cut as if they were the best).
    whole = found if where is None else {i: store.search(terms[i].vector, TOP_CANDIDATES) for i in judge}
    best = hits if where is None else store.search(vector, TOP_CANDIDATES, text_like=text_like)
    vectors, tops = [terms[i].vector for i in judge], [np.array([s for _, s in whole[i]]) for i in judge]
    words = [terms[i].text for i in judge]  # words that name nothing the library holds keep nothing
    with_combined, picture = uses_combined_cut(terms), has_picture(terms)
    if with_combined and not picture:
        vectors, tops, words = [*vectors, vector], [*tops, np.array([s for _, s in best])], [*words, False]
    decided = thresholds(vectors, tops, words) if vectors else []  # all the fits in one EM
    if picture:
        decided = [*decided, narrow_cutoff(np.array([s for _, s in best]), PICTURE_GROUP).threshold]
    cuts = dict(zip(judge, decided))
    pool = {r.path: r for r, _ in hits}
    for i in judge:
        if terms[i].weight > 0:  # a photo strong for a positive word may lie past the combined top
            pool.update((r.path, r) for r, s in found[i] if s >= cuts[i] and r.path not in pool)
    stored = store.vectors_by_fingerprint([r.fingerprint for r in pool.values()])
    records = [r for r in pool.values() if r.fingerprint in stored]
    if not records:
        return []
    matrix = np.stack([stored[r.fingerprint] for r in records]).astype(np.float32, copy=False)
    scores = np.einsum("ij,j->i", matrix, vector.astype(np.float32))
    positive = [cuts[i] for i in judge if terms[i].weight > 0]
    if with_combined and not (positive and np.all(np.isposinf(positive))):
        combined = scores >= decided[-1] - SCORE_SLACK
    else:  # a sum, or every positive word names nothing the library holds
        combined = np.zeros(len(records), bool)
    term_strong = {i: np.einsum("ij,j->i", matrix, terms[i].vector) >= cut - SCORE_SLACK for i, cut in cuts.items()}
    strong = combine_strong(terms, combined, term_strong)
    top = {r.path for r, _ in hits}
    shown = strong | np.array([r.path in top for r in records])  # the rest: the combined top only
    if ranked:  # the combined ranking alone: its top k are among the combined top (``hits``)
        order = [j for j in np.argsort(-scores, kind="stable") if records[j].path in top]
    else:
        order = [j for j in np.lexsort((-scores, ~strong)) if shown[j]]  # strong first, each part best first
    return [(records[j], float(scores[j]), bool(strong[j])) for j in order[:k]]
