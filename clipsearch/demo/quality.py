"""How well search works on the demo library: the figures README reports and the tests check.

Ground truth comes from the library's ``manifest.json`` (which coloured shapes each picture holds).
Every query goes through ``SearchEngine``, exactly as a user's would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .render import COLOURS, SHAPES, Scene, SceneObject, render_scene

Objects = list[tuple[str, str]]


@dataclass(frozen=True)
class QueryFigure:
    """One kind of query, its example, and the share of top-k hits that satisfy it."""

    kind: str
    example: str
    queries: int
    k: int
    precision: float  # mean share of the top k that satisfy it (k capped at how many could)
    top1: float  # share of queries whose first hit satisfies it
    baseline: float  # the same share for a random picture of the library


def load_truth(library: str | Path) -> dict[str, Objects]:
    """absolute path -> [(colour, shape), ...] from the sample library's manifest."""
    library = Path(library).resolve()
    manifest = json.loads((library / "manifest.json").read_text(encoding="utf-8"))
    return {
        str(library / rel): [(o["colour"], o["shape"]) for o in entry["objects"]]
        for rel, entry in manifest["images"].items()
    }


def measure(engine, library: str | Path, k: int = 5, seed: int = 7) -> list[QueryFigure]:
    """Run each kind of query on an engine that has indexed the sample library."""
    import random

    truth = load_truth(library)
    present = sorted({obj for objs in truth.values() for obj in objs})
    rng = random.Random(seed)
    figures = []

    def figure(kind, example, cases: list[tuple[Callable, Callable[[Objects], bool]]]):
        shares, tops, base = [], [], []
        for run, ok in cases:
            relevant = sum(ok(objs) for objs in truth.values())
            if relevant == 0:
                continue
            hits = [h for h in run() if h.path in truth][:k]
            marks = [ok(truth[h.path]) for h in hits]
            shares.append(sum(marks) / min(k, relevant))
            tops.append(bool(marks and marks[0]))
            base.append(relevant / len(truth))
        n = len(shares)
        figures.append(QueryFigure(kind, example, n, k, sum(shares) / n, sum(tops) / n, sum(base) / n))

    def has(colour: str | None, shape: str | None):
        return lambda objs: any((colour in (None, c)) and (shape in (None, s)) for c, s in objs)

    def search(text=None, image=None):
        from clipsearch import QueryTerm, parse_query

        def run():
            terms = parse_query(text) if text else []
            if image is not None:
                terms.append(QueryTerm(1.0, image=image))
            return engine.search(terms, k=k + 1)

        return run

    figure("text: one object", "a red circle", [(search(f"a {c} {s}"), has(c, s)) for c, s in present])
    pairs = [
        (a, b)
        for a in present
        for b in present
        if a != b and any(a in objs and b in objs for objs in truth.values())
    ]
    figure(
        "text: two objects",
        "a blue star and a yellow square",
        [
            (search(f"a {a[0]} {a[1]} and a {b[0]} {b[1]}"), lambda o, a=a, b=b: a in o and b in o)
            for a, b in rng.sample(pairs, min(40, len(pairs)))
        ],
    )
    swaps = [(c, s, t) for c, s in present for t in SHAPES if t != s and (c, t) in present]
    figure(
        "arithmetic: colour+shape - shape + shape",
        "a red circle - circle + square",
        [(search(f"a {c} {s} - {s} + {t}"), has(c, t)) for c, s, t in rng.sample(swaps, min(40, len(swaps)))],
    )
    figure(
        "negative: shape - colour",
        "a circle - red",
        [
            (search(f"a {s} - {c}"), lambda o, s=s, c=c: any(x == s and y != c for y, x in o))
            for s in SHAPES
            for c in rng.sample(list(COLOURS), 2)
        ],
    )
    image_cases = []
    for c, s in rng.sample(present, min(20, len(present))):
        picture = render_scene(Scene((SceneObject(c, s),), "gray"), 192, rng)
        image_cases.append((search(image=picture), has(c, s)))
    figure("image: an uploaded picture", "(a rendered blue star)", image_cases)
    recolour = []
    for c, s in rng.sample(present, min(20, len(present))):
        others = [x for x in COLOURS if x != c and (x, s) in present]
        if not others:
            continue
        target = rng.choice(others)
        picture = render_scene(Scene((SceneObject(c, s),), "gray"), 192, rng)
        recolour.append((search(text=f"{target} - {c}", image=picture), has(target, s)))
    figure("image + text", "(a blue star) + red - blue", recolour)
    return figures


def figures_table(figures: list[QueryFigure]) -> str:
    """A markdown table of the figures."""
    lines = [
        "| query kind | example | queries | precision@k | top-1 | a random picture |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for f in figures:
        lines.append(
            f"| {f.kind} | `{f.example}` | {f.queries} | {f.precision:.2f} (k={f.k}) | "
            f"{f.top1:.2f} | {f.baseline:.2f} |"
        )
    return "\n".join(lines)
