"""What the cut-off reads a query's scores against: a sample of the library, and vague words.

The cut-off (``clipsearch.cutoff``) reads the shape of a query's scores: its best ones, and its
scores over a random sample of the library (``Calibration.sample``). Shape alone cannot tell a
query for something the library does not hold: its scores still split into a best part and the
rest (with the demo model, "a zebra" or "xyzzy plugh" kept what the words happen to lie nearest:
1-233 photos of 300-400, never none). So words are also read against words that name nothing:
"something", "a thing", "stuff"... (``VAGUE_WORDS``). Each one's best score over the library is
where a caption that describes no photo in particular lands; words whose best photo scores below
all of those (``Calibration.vague_level``) name nothing the library holds, and none of their
results is strong (``SearchEngine.cutoff_thresholds``). Below all, not below most: with the demo
model, words of what a library holds passed the lower quartile of the vague words by as little
as 0.006, and their lowest by 0.060 (README; docs/cutoff.md). The level comes from the same model
and the same photos, so it moves with the model's scale (real CLIP's text scores sit near
0.2-0.35, the demo model's higher): no constant here knows a score range.

Photo-words such as "a photo" or "an image" are left out of the vague words on purpose: real CLIP
met them in the captions of a great many photos, so their best scores could pass those of a
query that does name something.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import numpy as np

from .cutoff import SAMPLE_SIZE

VAGUE_WORDS = ("something", "anything", "a thing", "an object", "stuff", "things", "it", "this", "whatever")


class Calibration:
    """The library sample and the vague words' level of one engine, kept until the index changes."""

    def __init__(self, encoder: Any) -> None:
        self._encoder = encoder  # read on first use (a lazy encoder loads then, not here)
        self._lock = threading.Lock()
        self._vague: np.ndarray | None = None  # the vague words' vectors: the model's, never change
        self._sample: tuple[object, int, np.ndarray] | None = None  # (store, generation, vectors)
        self._level: tuple[object, int, float] | None = None  # (store, generation, level)

    def sample(self, store: Any) -> np.ndarray:
        """Vectors of up to ``SAMPLE_SIZE`` random indexed images."""
        kept = _kept(self._sample, store)
        if kept is not None:
            return kept
        generation = store.generation()
        paths = [r.path for r in store.records()]
        picked = random.Random(0).sample(paths, min(SAMPLE_SIZE, len(paths)))
        vectors = [v for v in map(store.vector, picked) if v is not None]
        matrix = np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, self._encoder.dim), np.float32)
        self._sample = (store, generation, matrix)
        return matrix

    def vague_level(self, store: Any) -> float:
        """The score below which words name nothing the library holds (-inf for an empty one)."""
        kept = _kept(self._level, store)
        if kept is not None:
            return kept
        generation = store.generation()
        bests = [hits[0][1] for hits in (store.search(v, 1, text_like=True) for v in self.vague_vectors()) if hits]
        level = float(min(bests)) if bests else -np.inf
        self._level = (store, generation, level)
        return level

    def vague_vectors(self) -> np.ndarray:
        """The vague words' vectors (one row a word), embedded once."""
        with self._lock:  # one model call for the vague words, however many queries ask at once
            if self._vague is None:
                self._vague = np.asarray(self._encoder.embed_texts(list(VAGUE_WORDS)), np.float32)
        return self._vague


def _kept(cached: tuple[object, int, Any] | None, store: Any) -> Any:
    """What ``cached`` holds while ``store`` is the same store at the same generation, else None."""
    if cached is not None and cached[0] is store and cached[1] == store.generation():
        return cached[2]
    return None


def names_nothing(top: np.ndarray, level: float) -> bool:
    """Whether words whose best scores are ``top`` (best first) name nothing the library holds."""
    return len(top) > 0 and float(top[0]) < level
