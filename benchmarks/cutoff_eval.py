"""How well the automatic relevance cut-off decides: the figures bench_cutoff prints and a test checks.

A library is rendered with known content (``clipsearch.demo``: coloured shapes on backgrounds, with
a manifest), indexed with the demo model through the real engine, and queried with several kinds
of query whose true answer set the manifest gives. For each query the whole library is ranked
exactly (by the combined query vector); the cut-off runs as the engine runs it, through its real
search path (``SearchEngine.search`` with ``cutoff="auto"`` and ``k`` = the whole library: the
candidates, the library sample, and for a composite query each term's own search), and the results
it marks ``strong`` are the returned set. Its F1 against the true set is divided by the best F1 any
cut of the combined ranking reaches (the ceiling a perfect cut-off gets). A composite query's
strong set need not be a prefix of that ranking, so its ratio can pass 1.

Nothing here feeds the cut-off: it never sees labels, captions or the model's name.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Objects = list[tuple[str, str]]
KINDS = ("narrow", "background", "shape", "colour", "negative", "sum", "photo + words")


@dataclass
class Library:
    """An indexed rendered library: unit vectors, and per row its objects and background."""

    vectors: np.ndarray
    objects: list[Objects]
    backgrounds: list[str]
    paths: list[str] = field(default_factory=list)

    def mask(self, ok: Callable[[Objects, str], bool]) -> np.ndarray:
        return np.array([ok(o, b) for o, b in zip(self.objects, self.backgrounds)])


@dataclass
class LabelledQuery:
    kind: str
    text: str
    vector: np.ndarray
    relevant: np.ndarray  # bool per library row
    image: object = None
    terms: list = field(default_factory=list)  # the QueryTerms the engine searches


@dataclass
class KindFigure:
    """One kind's figures: mean F1 of the cut-off, of the ceiling, and their ratio."""

    kind: str
    example: str
    queries: int
    matches: float  # mean true-set size
    f1: float
    ceiling: float
    ratio: float  # mean over queries of f1 / ceiling
    flat_ratio: float = 0.0  # the same for the best single flat threshold over all queries
    returned: float = 0.0  # mean size of the returned set
    ratios: list[float] = field(default_factory=list)


def index_library(folder: Path, n: int, seed: int):
    """Render ``n`` pictures with ``seed`` into ``folder``/photos, index them with the demo model.

    Returns (engine, Library). The caller closes the engine.
    """
    from clipsearch import ModelSpec, SearchEngine, Settings
    from clipsearch.demo import make_sample_library

    folder = Path(folder)
    photos = folder / "photos"
    make_sample_library(photos, n=n, seed=seed)
    settings = Settings(index_dir=folder / "index", cache_dir=folder / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    engine.index_folder(photos)
    return engine, read_library(engine, photos)


def read_library(engine, photos: Path) -> Library:
    """The index's vectors in manifest order, with the manifest's ground truth."""
    photos = Path(photos).resolve()
    manifest = json.loads((photos / "manifest.json").read_text(encoding="utf-8"))["images"]
    vectors, objects, backgrounds, paths = [], [], [], []
    for rel, entry in manifest.items():
        vector = engine.store.vector(str(photos / rel))
        if vector is None:
            continue
        vectors.append(vector)
        paths.append(str(photos / rel))
        objects.append([(o["colour"], o["shape"]) for o in entry["objects"]])
        backgrounds.append(entry["background"])
    return Library(np.stack(vectors).astype(np.float32), objects, backgrounds, paths)


def _has(colour: str | None, shape: str | None):
    return lambda objs, bg: any(colour in (None, c) and shape in (None, s) for c, s in objs)


def make_queries(engine, library: Library, seed: int, per_kind: int = 10) -> list[LabelledQuery]:
    """Queries of every kind, drawn from what the library holds (each with at least one answer)."""
    from clipsearch import QueryTerm, parse_query
    from clipsearch.demo import COLOURS, SHAPES

    rng = random.Random(seed)
    present = sorted({o for objs in library.objects for o in objs})
    triples = sorted({(c, s, b) for objs, b in zip(library.objects, library.backgrounds) for c, s in objs})
    colours = sorted({c for c, _ in present})
    out: list[LabelledQuery] = []

    def add(kind, text, ok, image=None):
        relevant = library.mask(ok)
        if not relevant.any():
            return
        terms = parse_query(text) if text else []
        if image is not None:
            terms.append(QueryTerm(1.0, image=image))
        vector, _ = engine.query_vector(terms)
        out.append(LabelledQuery(kind, text if image is None else f"(a picture) + {text}", vector, relevant,
                                 image, terms))

    for c, s in rng.sample(present, min(per_kind, len(present))):
        add("narrow", f"a {c} {s}", _has(c, s))
    for c, s, b in rng.sample(triples, min(per_kind, len(triples))):
        add("background", f"a {c} {s} on a {b} background",
            lambda objs, bg, c=c, s=s, b=b: bg == b and (c, s) in objs)
    for s in SHAPES:
        add("shape", f"a {s}", _has(None, s))
    for c in colours:
        add("colour", f"a {c} object", _has(c, None))
    for s in rng.sample(SHAPES, len(SHAPES)):
        for c in rng.sample(list(COLOURS), 2):
            add("negative", f"a {s} - {c}", lambda objs, bg, s=s, c=c: any(y == s and x != c for x, y in objs))
    for _ in range(per_kind):
        a, b = rng.sample(present, 2)
        add("sum", f"a {a[0]} {a[1]} + a {b[0]} {b[1]}",
            lambda objs, bg, a=a, b=b: a in objs or b in objs)
    for text, ok, picture in _photo_queries(present, rng, per_kind):
        add("photo + words", text, ok, image=picture)
    return out


def _photo_queries(present: list[tuple[str, str]], rng: random.Random, count: int):
    """A rendered picture of one object, plus words that change its colour: (text, truth, picture)."""
    from clipsearch.demo import COLOURS, Scene, SceneObject, render_scene

    for c, s in rng.sample(present, min(count, len(present))):
        others = [x for x in COLOURS if x != c and (x, s) in present]
        if others:
            target = rng.choice(others)
            picture = render_scene(Scene((SceneObject(c, s),), rng.choice(["gray", "white"])), 192, rng)
            yield f"{target} - {c}", _has(target, s), picture


def best_f1(scores: np.ndarray, relevant: np.ndarray) -> float:
    """The best F1 any cut of the ranking by ``scores`` reaches (the ceiling)."""
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(relevant[order])
    sizes = np.arange(1, len(scores) + 1)
    return float(np.max(2 * hits / (sizes + relevant.sum())))


def f1(returned: np.ndarray, relevant: np.ndarray) -> float:
    tp = float(np.sum(returned & relevant))
    return 2 * tp / (returned.sum() + relevant.sum()) if tp else 0.0


def strong_mask(engine, library: Library, query: LabelledQuery) -> np.ndarray:
    """Per library row, whether the engine's search marks it strong (the automatic cut-off)."""
    results = engine.search(query.terms, k=len(library.paths), cutoff="auto")
    strong = {r.path for r in results if r.strong}
    return np.array([p in strong for p in library.paths])


def evaluate(engine, library: Library, queries: list[LabelledQuery]) -> list[KindFigure]:
    """Run every query through ``engine``'s search as a user would, and sum up per kind."""
    rows: dict[str, list[tuple[float, float, int, int, float]]] = {}
    all_scores = [library.vectors @ q.vector for q in queries]
    flat = best_flat_threshold(all_scores, queries)
    flat_by_query = [f1(s >= flat, q.relevant) for s, q in zip(all_scores, queries)]
    for q, scores, flat_f1 in zip(queries, all_scores, flat_by_query):
        returned = strong_mask(engine, library, q)
        rows.setdefault(q.kind, []).append(
            (f1(returned, q.relevant), best_f1(scores, q.relevant), int(returned.sum()),
             int(q.relevant.sum()), flat_f1))
    figures = []
    for kind in [k for k in KINDS if k in rows]:
        got = rows[kind]
        ratios = [a / c if c else 1.0 for a, c, *_ in got]
        example = next(q.text for q in queries if q.kind == kind)
        figures.append(KindFigure(
            kind, example, len(got), float(np.mean([r[3] for r in got])), float(np.mean([r[0] for r in got])),
            float(np.mean([r[1] for r in got])), float(np.mean(ratios)),
            float(np.mean([r[4] / r[1] if r[1] else 1.0 for r in got])),
            float(np.mean([r[2] for r in got])), ratios))
    return figures


# Queries for what no rendered library holds (its pictures are coloured shapes on plain backgrounds);
# the demo model knows none of these words, so they land wherever their fragments lie.
ABSENT = ("a zebra", "sunset over the sea", "xyzzy plugh", "a birthday cake", "my passport",
          "a dog on the beach", "the eiffel tower", "snow in the mountains", "a sports car", "grandma",
          "a receipt", "a keyboard", "fireworks", "a bowl of soup", "wedding", "qwerty",
          "an old man smiling", "a cat sleeping", "trees in autumn", "a selfie")


@dataclass
class AbsentFigure:
    """Queries for what the library does not hold: the strong results of each (every one of them
    is wrong), and how many have none."""

    strong: list[int]

    @property
    def queries(self) -> int:
        return len(self.strong)

    @property
    def none_strong(self) -> int:
        return sum(n == 0 for n in self.strong)


def absent_figures(engine, library: Library) -> AbsentFigure:
    """``ABSENT`` searched through ``engine`` as a user would (``cutoff="auto"``, ``k`` = the library)."""
    return AbsentFigure([sum(r.strong for r in engine.search(text, k=len(library.paths), cutoff="auto"))
                         for text in ABSENT])


def best_flat_threshold(all_scores: list[np.ndarray], queries: list[LabelledQuery]) -> float:
    """The single score threshold with the best mean F1 over all queries (chosen knowing the answers)."""
    candidates = np.unique(np.round(np.concatenate(all_scores), 3))
    candidates = candidates[:: max(1, len(candidates) // 400)]
    best, best_mean = 0.0, -1.0
    for t in candidates:
        mean = np.mean([f1(s >= t, q.relevant) for s, q in zip(all_scores, queries)])
        if mean > best_mean:
            best, best_mean = float(t), mean
    return best


def summary(figures: list[KindFigure]) -> tuple[float, float]:
    """(mean over kinds of the ratio to the ceiling, the worst kind's ratio)."""
    ratios = [f.ratio for f in figures]
    return float(np.mean(ratios)), float(np.min(ratios))


def figures_table(figures: list[KindFigure]) -> str:
    lines = [
        "| query kind | example | queries | true matches | returned | F1 | ceiling | cut-off / ceiling "
        "| best flat threshold / ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        lines.append(f"| {f.kind} | `{f.example}` | {f.queries} | {f.matches:.1f} | {f.returned:.1f} | "
                     f"{f.f1:.2f} | {f.ceiling:.2f} | **{f.ratio:.2f}** | {f.flat_ratio:.2f} |")
    mean, worst = summary(figures)
    flat = float(np.mean([f.flat_ratio for f in figures]))
    capped = float(np.mean([min(f.ratio, 1.0) for f in figures]))
    lines.append(f"| **mean over kinds** | | | | | | | **{mean:.2f}** (worst {worst:.2f}; "
                 f"{capped:.2f} with each kind capped at 1) | {flat:.2f} |")
    return "\n".join(lines)
