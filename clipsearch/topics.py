"""What a library holds, at a glance: its photos grouped by what they show, each group named.

The photos' vectors are grouped by spherical k-means (cosine similarity, k-means++ seeding, a fixed
seed: the same index gives the same topics). Each group is named by the words that fit it best
against the other groups: every word of a vocabulary (``topic_words.txt``, "a photo of a beach",
"... a dog", about 280 common subjects) is scored against each group's centre, less that word's
mean score over all the groups, so that a word that fits every photo ("a photo") names none;
names are handed out best fit first, each word once. The words are the text tower's, so a model
that reads other languages or subjects can be given a vocabulary of its own.

Nothing is stored: topics are worked out from the index when asked (for 100,000 photos, about
1.5 s to read and group them, and the vocabulary's one text batch; ``benchmarks/bench_topics.py``)
and kept until the index changes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidQuery
from .stores.base import SearchFilter, sort_date

WORDS_FILE = Path(__file__).with_name("topic_words.txt")
TEMPLATE = "a photo of {}"
MAX_TOPICS = 24
ROUNDS = 30  # k-means rounds at most; it usually settles in fewer
FIT_SAMPLE = 20_000  # photos the groups are found on, at most
TRIES = 4  # k-means++ seedings; the best grouping is kept (one may split a big group and merge two small)


def default_words() -> list[str]:
    """The vocabulary topics are named from: one subject a line, ``#`` comments left out."""
    lines = WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def words_for(model: str | None) -> tuple[list[str], str]:
    """The default words and their template for an index of ``model``: the demo model's own words
    for its index (it reads only colours and shapes), else ``topic_words.txt``, "a photo of ..."."""
    if model == "demo":
        from .demo import DEMO_WORDS

        return list(DEMO_WORDS), "{}"
    return default_words(), TEMPLATE


def topic_count(photos: int) -> int:
    """How many topics for a library of ``photos``: about the square root of a third of them,
    from 2 to ``MAX_TOPICS`` (10 for 300 photos, 24 from about 1,700)."""
    return max(2, min(MAX_TOPICS, round(math.sqrt(photos / 3)))) if photos >= 4 else min(photos, 1)


@dataclass(frozen=True)
class Topic:
    """A group of photos that show one kind of thing: ``name`` (the word that fits it best),
    ``paths`` nearest its centre first (``closeness``: each one's cosine to the centre), and the
    next best ``words``."""

    name: str
    paths: tuple[str, ...]
    closeness: tuple[float, ...]
    words: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.paths)

    def to_dict(self, examples: int = 6) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "words": list(self.words),
                "examples": list(self.paths[:examples])}


def spherical_kmeans(vectors: np.ndarray, k: int, seed: int = 0, tries: int = TRIES) -> tuple[np.ndarray, np.ndarray]:
    """``(centres, labels)``: ``k`` unit centres of unit ``vectors`` (rows), and each row's centre;
    the best of ``tries`` seedings (the most similar to their centres in all)."""
    best = None
    for attempt in range(tries):
        centres, labels = _kmeans_once(vectors, k, np.random.default_rng(seed + attempt))
        fit = float((vectors * centres[labels]).sum())
        if best is None or fit > best[0]:
            best = (fit, centres, labels)
    return best[1], best[2]


def _kmeans_once(vectors: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = len(vectors)
    centres = np.empty((k, vectors.shape[1]), np.float32)
    centres[0] = vectors[rng.integers(n)]
    nearest = vectors @ centres[0]
    trials = 2 + int(math.log(k))
    for i in range(1, k):  # greedy k-means++: of a few picks far from the centres so far, the one that
        weights = np.clip(1.0 - nearest, 0, None) ** 2  # leaves every photo nearest its centre in all
        total = float(weights.sum())
        picks = rng.choice(n, size=trials, p=weights / total) if total > 0 else rng.integers(n, size=trials)
        reached = np.maximum(nearest[None, :], vectors[picks] @ vectors.T)
        best = int((np.clip(1.0 - reached, 0, None) ** 2).sum(axis=1).argmin())
        centres[i], nearest = vectors[picks[best]], reached[best]
    labels = np.full(n, -1)
    for _ in range(ROUNDS):
        scores = vectors @ centres.T
        settled, labels = labels, scores.argmax(axis=1)
        if np.array_equal(settled, labels):
            break
        for i in range(k):
            members = labels == i
            if not members.any():  # an empty group takes the photo its centre fits worst
                worst = int(scores[np.arange(n), labels].argmin())
                labels[worst], members = i, labels == i
            total = vectors[members].sum(axis=0)
            centres[i] = total / max(float(np.linalg.norm(total)), 1e-12)
    return centres, labels


def name_topics(centres: np.ndarray, word_vectors: np.ndarray, words: Sequence[str],
                also: int = 3) -> list[tuple[str, tuple[str, ...]]]:
    """Each centre's name and next best words: a word's fit is its score against the centre less
    its mean score over all centres (with one centre, its score: less the mean, every fit was 0, and
    the first word of the list named it, whatever the photos show); names go best fit first, each
    word once (where there are fewer words than centres, the rest take their best word again, numbered)."""
    fits = centres @ word_vectors.T
    if len(centres) > 1:
        fits = fits - fits.mean(axis=0, keepdims=True)
    names: dict[int, str] = {}
    used: set[int] = set()
    for flat in np.argsort(-fits, axis=None):
        topic, word = divmod(int(flat), len(words))
        if topic not in names and word not in used:
            names[topic] = words[word]
            used.add(word)
            if len(names) == len(centres):
                break
    for topic in range(len(centres)):
        if topic not in names:
            names[topic] = f"{words[int(np.argmax(fits[topic]))]} ({topic + 1})"
    named = []
    for topic in range(len(centres)):
        order = [words[w] for w in np.argsort(-fits[topic]) if words[w] != names[topic]]
        named.append((names[topic], tuple(order[:also])))
    return named


def find_topics(paths: Sequence[str], vectors: np.ndarray, words: Sequence[str], word_vectors: np.ndarray,
                k: int | None = None) -> list[Topic]:
    """The topics of the photos at ``paths`` (``vectors``: theirs, unit rows), largest first: ``k``
    at most, and never an empty one (copies of a photo share its vector, so a library holds fewer
    different pictures than photos, and k-means can leave a group with none)."""
    if len(paths) == 0:
        return []
    vectors = np.asarray(vectors, np.float32)
    sample = vectors
    if len(vectors) > FIT_SAMPLE:  # the groups found on a sample, then every photo put in its group
        sample = vectors[np.random.default_rng(0).choice(len(vectors), FIT_SAMPLE, replace=False)]
    k = min(k or topic_count(len(paths)), len({row.tobytes() for row in sample}))
    centres, labels = spherical_kmeans(sample, k)
    if sample is not vectors:
        labels = (vectors @ centres.T).argmax(axis=1)
    kept = [i for i in range(k) if (labels == i).any()]  # named among the groups that hold photos
    named = name_topics(centres[kept], np.asarray(word_vectors, np.float32), words)
    topics = []
    for i, (name, others) in zip(kept, named, strict=True):
        members = np.flatnonzero(labels == i)
        closeness = vectors[members] @ centres[i]
        order = np.argsort(-closeness, kind="stable")
        topics.append(Topic(name, tuple(paths[m] for m in members[order]),
                            tuple(round(float(c), 6) for c in closeness[order]), others))
    return sorted(topics, key=lambda t: (-t.size, t.name))


class TopicFinding:
    """What ``SearchEngine`` gains from this module: ``topics`` (a mixin)."""

    encoder: Any  # the engine's; and its ``_store()``
    _topics_lock = threading.Lock()

    def topics(self, k: int | None = None, words: Sequence[str] | None = None,
               template: str | None = None) -> list[Topic]:
        """The library's photos grouped by what they show, largest first, each group named from
        ``words`` (default: ``words_for`` the index's model; words given are read as they are, or
        put in ``template``); ``k`` groups at most (default: ``topic_count``), none of them empty. Kept
        until the index changes."""
        store = self._store()
        if words is None:
            words, chosen = words_for(store.stamp.get("model"))
            template = template or chosen
        words, template = list(dict.fromkeys(words)), template or "{}"  # each word once: names differ
        key = (store.generation(), k, tuple(words), template)
        with self._topics_lock:
            kept = getattr(self, "_topics_kept", None)
            if kept is not None and kept[0] == key and kept[1] is store:
                return kept[2]
            records = list(store.records())
            found = store.vectors_by_fingerprint(sorted({r.fingerprint for r in records}))
            records = [r for r in records if r.fingerprint in found]
            vectors = np.stack([found[r.fingerprint] for r in records]).astype(np.float32) if records else None
            word_vectors = np.asarray(self.encoder.embed_texts([template.format(w) for w in words]), np.float32)
            topics = find_topics([r.path for r in records], vectors, words, word_vectors, k) if records else []
            self._topics_kept = (key, store, topics)
            return topics

    def topic_photos(self, name: str, limit: int | None = None, where: SearchFilter | None = None,
                     **topics: Any) -> list[Any]:
        """The photos of the topic ``name`` (of ``topics(**topics)``), nearest its centre first, as
        search results (``score``: the closeness), in ``where``'s folder and dates, ``limit`` at
        most; ``InvalidQuery`` naming the topics when there is no such one."""
        found = {topic.name: topic for topic in self.topics(**topics)}
        if name not in found:
            known = ", ".join(repr(n) for n in found) or "none: the index is empty"
            raise InvalidQuery(f"no topic is called {name!r} (topics: {known})")
        from .engine import _result_of  # a hit as a search makes it (engine.py imports this module)

        topic = found[name]
        inside = {r.path for r in self.records(where.folder)} if where and where.folder else None
        results = []
        for path, closeness in zip(topic.paths, topic.closeness, strict=True):
            record = self._store().get(path) if inside is None or path in inside else None
            if record is None or not _in_dates(record, where):
                continue
            results.append(_result_of(record, closeness))
            if limit and len(results) >= limit:
                break
        return results


def _in_dates(record: Any, where: SearchFilter | None) -> bool:
    day = sort_date(record)[:10]
    return not where or ((not where.date_from or day >= where.date_from) and (not where.date_to or day <= where.date_to))
