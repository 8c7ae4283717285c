"""Near-duplicates: groups of photos that are the same shot, and (looser) bursts.

Two steps. Candidates come from a kNN self-join on the store's graph: each photo's nearest
photos by CLIP vector, kept when their cosine passes a gate. CLIP says what a picture shows, not
where, so each candidate pair is then verified on the pixels (``pixels.signature``): resized,
re-encoded, brightened, lightly cropped and EXIF-rotated copies keep their signature; a different
picture of the same thing (the same shape elsewhere in the frame) does not.

The pixels are not the only evidence (``shot_evidence.Evidence``): byte-identical files always
match, two names of one file never do, and, where the index reads words, neither do two photos
that each hold words of their own.

Groups are stars, not chains: the best copy (most pixels, then oldest, then kept without loss,
then most bytes) heads its group and every other member matches it directly, so a chain of
look-alikes never merges different shots. Nothing here deletes, moves or writes a user's file.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import file_links
from .pixels import CACHE_NAME, SignatureCache, signatures_for
from .shot_evidence import Evidence, WordsOf, file_identities
from .stores.base import ImageRecord, VectorStore

log = logging.getLogger(__name__)

NEIGHBOURS = 16  # candidates per photo from the graph


@dataclass(frozen=True)
class Level:
    """How alike two photos must be: a CLIP cosine gate, then a pixel-signature threshold.

    The pixel thresholds come from benchmarks/bench_duplicates.py on rendered pictures: edited
    copies (60% size at JPEG quality 70, a 4% crop 12% brighter) score >= 0.93, simulated burst
    frames >= 0.87, while different pictures of the same shape and colour sit mostly below 0.87.
    """

    name: str
    min_cosine: float
    min_pixels: float
    max_aspect_change: float  # |log(aspect ratio)| between the two photos


SAME_SHOT = Level("same shot", min_cosine=0.80, min_pixels=0.92, max_aspect_change=0.12)
BURST = Level("burst", min_cosine=0.75, min_pixels=0.85, max_aspect_change=0.25)
@dataclass(frozen=True)
class DuplicateProgress:
    """Where a pass is: ``phase`` is "neighbours" (the graph) or "pixels" (verification)."""

    phase: str
    done: int
    total: int


@dataclass
class DuplicateGroup:
    """Photos of one shot (or, with ``kind == "burst"``, one moment), the best copy first."""

    kind: str
    records: list[ImageRecord]
    similarity: list[float]  # of each photo's pixels to the first's (1.0 for the first)

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.records]

    def as_now(self) -> DuplicateGroup:
        """The group with its best copy chosen again as the files are now (``best_first``): a pass
        kept for reuse (the web app's, while the index is unchanged) named a copy deleted since as
        the best one, "on disk", where "keep the best copy" must keep a real file."""
        order = sorted(range(len(self.records)), key=lambda i: best_first(self.records[i]))
        return DuplicateGroup(self.kind, [self.records[i] for i in order], [self.similarity[i] for i in order])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "paths": self.paths,
            "photos": [
                {"path": r.path, "size": r.size, "width": r.width, "height": r.height,
                 "date_taken": r.date_taken, "modified": _iso(r.mtime_ns / 1e9),
                 "similarity": round(s, 4), "exists": os.path.exists(r.path)}
                for r, s in zip(self.records, self.similarity)
            ],
        }


@dataclass
class DuplicateReport:
    """A whole-library pass: the groups, and what it took."""

    groups: list[DuplicateGroup] = field(default_factory=list)
    photos: int = 0
    candidates: int = 0  # pairs that passed the cosine gate
    verified: int = 0  # of those, pairs whose pixels matched
    seconds: dict[str, float] = field(default_factory=dict)


# Formats that keep a picture with loss: a copy in one of them is never better than the same pixels kept without
LOSSY = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".heic", ".heif", ".avif"})


def best_first(record: ImageRecord) -> tuple:
    """Sort key of the best copy: a file that is there (never a copy the index keeps of a disk not
    mounted, or one deleted since the last run: "delete the rest" must keep a real file), then most
    pixels, then oldest (date taken, else modified), then a file kept without loss (``LOSSY``: a PNG,
    TIFF or RAW file before a JPEG of the same pixels, which compresses worse, so weighs more), then
    most bytes."""
    date = record.date_taken or _iso(record.mtime_ns / 1e9)
    lossy = os.path.splitext(record.path)[1].lower() in LOSSY
    return (not os.path.exists(record.path), -record.width * record.height, date, lossy, -record.size, record.path)


def find_duplicates(
    store: VectorStore,
    *,
    bursts: bool = False,
    cache: SignatureCache | None = None,
    progress: Callable[[DuplicateProgress], None] | None = None,
    neighbours: int = NEIGHBOURS,
    words: WordsOf | None = None,
    links: dict[str, tuple[int, int]] | None = None,
) -> DuplicateReport:
    """Group the store's photos that are the same shot (with ``bursts``, also burst frames).

    ``progress`` is called as the pass goes, for a progress bar. Files that have gone or cannot
    be read simply match nothing. ``words`` (``TextIndex.words_of``) gives the words read in
    contents, by fingerprint, where the index reads them. ``links`` (``file_links.load``): the
    file each linked name reached when last scanned, for the names not on disk now.
    """
    level = BURST if bursts else SAME_SHOT
    report = DuplicateReport()
    started = time.perf_counter()

    def on_neighbours(done: int, total: int) -> None:
        if progress is not None:
            progress(DuplicateProgress("neighbours", done, total))

    records, rows_of, sims = self_join(store, neighbours, on_neighbours)
    report.photos = len(records)
    report.seconds["neighbours"] = time.perf_counter() - started
    pairs = candidate_pairs(records, rows_of, sims, level)
    report.candidates = len(pairs)

    started = time.perf_counter()
    involved = sorted({i for pair in pairs for i in pair})
    files = [(records[i].path, records[i].fingerprint) for i in involved]

    def on_pixels(done: int, total: int) -> None:
        if progress is not None:
            progress(DuplicateProgress("pixels", done, total))

    evidence = Evidence(signatures_for(files, cache, on_pixels), file_identities((records[i] for i in involved), links),
                        words([records[i].fingerprint for i in involved]) if words else None)
    edges = verified_pairs(records, pairs, evidence, level)
    report.verified = len(edges)
    shots = None
    if bursts:  # the default run's own pairs: its groups stay whole inside the bursts
        shots = {p: edges[p] for p in candidate_pairs(records, rows_of, sims, SAME_SHOT)
                 if edges.get(p, 0.0) >= SAME_SHOT.min_pixels}
    report.groups = group_stars(records, edges, evidence, level, bursts=bursts, shot_edges=shots)
    report.seconds["pixels"] = time.perf_counter() - started
    return report


def self_join(
    store: VectorStore, k: int, progress: Callable[[int, int], None] | None = None
) -> tuple[list[ImageRecord], np.ndarray, np.ndarray]:
    """Each record's ``k`` nearest other records: (records, row numbers (n, k), cosines (n, k)).

    Stores that can (the HNSW store) answer in batches from their graph; any other store is
    asked one stored vector at a time.
    """
    batched = getattr(store, "neighbours", None)
    if callable(batched):
        return batched(k, progress=progress)
    records = list(store.records())
    row = {r.path: i for i, r in enumerate(records)}
    rows_of, sims = np.full((len(records), k), -1, np.int64), np.zeros((len(records), k), np.float32)
    for i, record in enumerate(records):
        vector = store.vector(record.path)
        if vector is not None:
            hits = [(row[r.path], s) for r, s in store.search(vector, k + 1) if r.path in row and r.path != record.path]
            for j, (other, score) in enumerate(hits[:k]):
                rows_of[i, j], sims[i, j] = other, score
        if progress is not None and (i % 256 == 255 or i == len(records) - 1):
            progress(i + 1, len(records))
    return records, rows_of, sims


def candidate_pairs(records: Sequence[ImageRecord], rows_of: np.ndarray, sims: np.ndarray,
                    level: Level) -> list[tuple[int, int]]:
    """Distinct row pairs (i < j) whose cosine passes the level's gate and whose shapes agree."""
    query, slot = np.nonzero((rows_of >= 0) & (sims >= level.min_cosine))
    other = rows_of[query, slot]
    low, high = np.minimum(query, other), np.maximum(query, other)
    unique = np.unique(np.stack([low, high], 1), axis=0) if len(low) else np.zeros((0, 2), np.int64)
    return [(int(a), int(b)) for a, b in unique if a != b and _shapes_agree(records[a], records[b], level)]


def verified_pairs(records: Sequence[ImageRecord], pairs: list[tuple[int, int]], evidence: Evidence,
                   level: Level) -> dict[tuple[int, int], float]:
    """The candidate pairs alike enough at ``level`` (``Evidence.similarity``), with their similarity."""
    out = {}
    for a, b in pairs:
        score = evidence.similarity(records[a], records[b])
        if score >= level.min_pixels:
            out[(a, b)] = score
    return out


def group_stars(records: Sequence[ImageRecord], edges: dict[tuple[int, int], float], evidence: Evidence,
                level: Level, *, bursts: bool = False,
                shot_edges: dict[tuple[int, int], float] | None = None) -> list[DuplicateGroup]:
    """Groups from verified pairs: connected photos, split into stars around their best copies.

    With ``bursts``, the groups the default level makes (from ``shot_edges``: the pairs it
    verifies, else those of ``edges`` that pass it) are made first and kept whole: a burst joins
    whole shots, so every group of the default run lies inside one of ``--bursts``.
    """
    shots: list[list[ImageRecord]] = []
    if bursts:
        if shot_edges is None:
            shot_edges = {(a, b): s for (a, b), s in edges.items()
                          if s >= SAME_SHOT.min_pixels and _shapes_agree(records[a], records[b], SAME_SHOT)}
        shots = [g.records for g in group_stars(records, shot_edges, evidence, SAME_SHOT)]
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in list(edges) + list(shot_edges or ()):
        parent[root(a)] = root(b)
    components: dict[int, list[int]] = {}
    for i in list(parent):
        components.setdefault(root(i), []).append(i)
    shot_of = {r.path: shot for shot in shots for r in shot}
    groups = []
    for members in components.values():
        units, seen = [], set()
        for i in members:
            unit = shot_of.get(records[i].path, [records[i]])
            if unit[0].path not in seen:
                seen.add(unit[0].path)
                units.append(unit)
        groups += _stars(units, evidence, level, bursts)
    groups.sort(key=lambda g: best_first(g.records[0]))
    return groups


def _stars(units: list[list[ImageRecord]], evidence: Evidence, level: Level, bursts: bool) -> list[DuplicateGroup]:
    """Split one component: the best photo left heads a group of those that match it directly.

    A unit is one photo, or (with ``bursts``) a whole shot, best copy first: it joins the head's
    group when any of its photos matches the head.
    """
    remaining = sorted(units, key=lambda unit: best_first(unit[0]))
    groups = []
    while remaining and (len(remaining) > 1 or len(remaining[0]) > 1):
        (head, *own), rest = remaining[0], remaining[1:]
        joined = []
        for unit in rest:
            scores = [evidence.similarity(head, r) for r in unit]
            if any(s >= level.min_pixels and _shapes_agree(head, r, level) for r, s in zip(unit, scores)):
                joined += list(zip(unit, scores))
        if joined or own:
            if own:  # a shot kept whole: the default level's group, with its own similarities
                joined = [(r, evidence.similarity(head, r)) for r in own] + joined
            joined.sort(key=lambda pair: best_first(pair[0]))
            same = all(s >= SAME_SHOT.min_pixels and _shapes_agree(head, r, SAME_SHOT) for r, s in joined)
            kind = "duplicates" if same or not bursts else "burst"
            groups.append(DuplicateGroup(kind, [head] + [r for r, _ in joined], [1.0] + [s for _, s in joined]))
        taken = {r.path for r, _ in joined}
        remaining = [unit for unit in rest if unit[0].path not in taken]
    return groups


def _shapes_agree(a: ImageRecord, b: ImageRecord, level: Level) -> bool:
    if min(a.width, a.height, b.width, b.height) <= 0:
        return True
    return abs(math.log((a.width / a.height) / (b.width / b.height))) <= level.max_aspect_change


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds))


def fold(records: Sequence[ImageRecord], vectors: np.ndarray, cache: SignatureCache | None = None,
         level: Level = SAME_SHOT, words: WordsOf | None = None
         ) -> list[tuple[int, list[int]]]:
    """Fold near-duplicates inside one result list, keeping its order.

    ``records`` and ``vectors`` are the results' (best first). Returns, for each result that stays,
    its position and the positions folded under it ("+2 similar"). Only pairs that pass the cosine
    gate are checked on pixels, so a list without look-alikes costs one small matrix product.
    """
    n = len(records)
    if n < 2:
        return [(i, []) for i in range(n)]
    cosines = np.asarray(vectors, np.float32) @ np.asarray(vectors, np.float32).T
    pairs = [(a, b) for a, b in zip(*np.nonzero(np.triu(cosines >= level.min_cosine, 1)))
             if _shapes_agree(records[a], records[b], level)]
    involved = sorted({int(i) for pair in pairs for i in pair})
    evidence = Evidence(signatures_for([(records[i].path, records[i].fingerprint) for i in involved], cache),
                        words=words([records[i].fingerprint for i in involved]) if words and involved else None)
    matches = verified_pairs(records, [(int(a), int(b)) for a, b in pairs], evidence, level)
    folded_into: dict[int, int] = {}
    out: list[tuple[int, list[int]]] = []
    for i in range(n):
        if i in folded_into:
            continue
        under = [j for j in range(i + 1, n) if j not in folded_into and (i, j) in matches]
        for j in under:
            folded_into[j] = i
        out.append((i, under))
    return out


def fold_results(store: VectorStore, results: list, cache: SignatureCache | None = None,
                 words: WordsOf | None = None) -> list[tuple[Any, list]]:
    """Search results (with ``.path``) folded: [(result, [its near-duplicates])], order kept.

    Results the store no longer holds are kept, unfolded.
    """
    records = [store.get(r.path) for r in results]
    vectors = [store.vector(r.path) for r in results]
    keep = [i for i, (rec, vec) in enumerate(zip(records, vectors)) if rec is not None and vec is not None]
    if len(keep) < 2:
        return [(r, []) for r in results]
    folded = fold([records[i] for i in keep], np.stack([vectors[i] for i in keep]), cache, words=words)
    under = {keep[head]: [results[keep[j]] for j in rest] for head, rest in folded}
    hidden = {id(r) for rest in under.values() for r in rest}
    return [_shown_first(r, under.get(i, [])) for i, r in enumerate(results) if id(r) not in hidden]


def _shown_first(result: Any, copies: list) -> tuple[Any, list]:
    """The result a group of copies shows: a file that is there, where the first is not."""
    if copies and not os.path.exists(result.path):
        there = next((c for c in copies if os.path.exists(c.path)), None)
        if there is not None:
            return there, [result if c is there else c for c in copies]
    return result, copies


class DuplicateFinding:
    """What ``SearchEngine`` gains from this module: ``duplicates`` and ``fold`` (a mixin)."""

    _signature_cache: SignatureCache | None = None  # made on first use; SQLite closes it with the engine
    text: Any  # the engine's ``TextSide``: the words read in photos, where the index reads them

    def duplicates(self, *, bursts: bool = False,
                   progress: Callable[[DuplicateProgress], None] | None = None) -> DuplicateReport:
        """Groups of photos that are the same shot (``bursts``: also one moment), best copy first.

        Reads the index and the photos; never changes, moves or deletes a file.
        """
        return find_duplicates(self._store(), bursts=bursts, cache=self._signatures(), progress=progress,
                               words=self._words(), links=file_links.load(self.settings.index_dir))

    def fold(self, results: list) -> list[tuple[Any, list]]:
        """A result list with near-duplicates folded under the first of them, order kept."""
        return fold_results(self._store(), results, self._signatures(), self._words())

    def carry_signatures(self, pairs: list[tuple[str, str]]) -> None:
        """The pixel signatures of (old, new) pairs' old contents under their new ones (contents of
        one picture), where the index keeps any: none is made for it."""
        if self._signature_cache is not None or os.path.isfile(os.path.join(self.settings.index_dir, CACHE_NAME)):
            self._signatures().carry(pairs)

    def _words(self) -> WordsOf | None:
        """The words read in contents, where the index has read any (``--ocr``); else None."""
        text = self.text.store()
        return text.words_of if text is not None else None

    def _signatures(self) -> SignatureCache:
        if self._signature_cache is None:
            self._signature_cache = SignatureCache(self.settings.index_dir)
        return self._signature_cache
