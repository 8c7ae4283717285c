"""How well and how fast the automatic relevance cut-off decides (README's table).

    python benchmarks/bench_cutoff.py [--n 400] [--seed 5] [--per-kind 10]
    python benchmarks/bench_cutoff.py --seeds 100-119      # one row per library, then a summary
    python benchmarks/bench_cutoff.py --speed-only [--composite 100000]

Quality: renders a library with known content (seeded; the cut-off was tuned on seeds 1 and 2,
so report other seeds), indexes it with the offline demo model through the real engine, and runs
each kind of query through the engine's own search (benchmarks/cutoff_eval.py). Per kind: F1 of the returned set against the true
set, divided by the best F1 any cut of the same ranking reaches, beside the single best flat
threshold chosen knowing the answers. With ``--seeds``, the same on several libraries: a row of
ratios per library, then per kind the mean and the worst, and which libraries have one of the
issue's six goal kinds (all but photo + words) under 0.6.

Speed: the time the cut-off adds to one query at 100,000 photos: the query against the engine's
random sample of the library (2,048 x 512 floats), then the decision on it and the 100 best
scores; with NumPy's EM, then with the compiled one the web app uses. Synthetic unit vectors with
a planted group of matches; the machine's load is printed.
With ``--composite N``: what deciding a two-term query per term adds (each term's own search and
cut, the candidates' vectors read back), on a real store of N synthetic vectors, with each EM.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from benchmarks._common import load_line, percentiles_ms  # noqa: E402
from benchmarks.cutoff_eval import (  # noqa: E402
    AbsentFigure,
    absent_figures,
    evaluate,
    figures_table,
    index_library,
    make_queries,
)
from clipsearch.calibration import VAGUE_WORDS  # noqa: E402
from clipsearch.cutoff import SAMPLE_SIZE, TOP_CANDIDATES, relevance_cutoff, use_compiled_fits  # noqa: E402


def quality(n: int, seed: int, per_kind: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        engine, library = index_library(Path(tmp), n, seed)
        print(f"library: {n} rendered pictures, seed {seed}, indexed with the demo model in "
              f"{time.monotonic() - started:.0f} s; sample of {min(SAMPLE_SIZE, n)} photos\n")
        try:
            queries = make_queries(engine, library, seed=seed, per_kind=per_kind)
            figures = evaluate(engine, library, queries)
            absent = absent_figures(engine, library)
        finally:
            engine.close()
    print(figures_table(figures))
    print(f"\nqueries for what the library does not hold (\"a zebra\", \"xyzzy plugh\"...): "
          f"{absent.none_strong} of {absent.queries} with no strong result; strong results of the "
          f"others: {sorted(n for n in absent.strong if n)}")


GOAL_KINDS = ("narrow", "background", "shape", "colour", "negative", "sum")  # the goal names these


def parse_seeds(text: str) -> list[int]:
    """"100-119" or "1,2,5" (or both: "1,5,100-104")."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds += list(range(int(first), int(last or first) + 1))
    return seeds


def libraries(seeds: list[int], n: int, per_kind: int) -> None:
    """``quality`` on each library, a row of per-kind ratios each, then per-kind mean and worst."""
    rows: dict[int, dict[str, float]] = {}
    absent: dict[int, AbsentFigure] = {}
    kinds: list[str] = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            engine, library = index_library(Path(tmp), n, seed)
            try:
                figures = evaluate(engine, library, make_queries(engine, library, seed=seed, per_kind=per_kind))
                absent[seed] = absent_figures(engine, library)
            finally:
                engine.close()
        rows[seed] = {f.kind: f.ratio for f in figures}
        if not kinds:
            kinds = [f.kind for f in figures]
            print(f"cut-off / ceiling per kind, {n} pictures a library\n")
            print("| library | " + " | ".join(kinds) + " | mean over kinds | goal kinds: mean, worst "
                  "| absent: none strong |")
            print("|---|" + "---:|" * (len(kinds) + 3))
        goal = [rows[seed][k] for k in GOAL_KINDS]
        print(f"| seed {seed} | " + " | ".join(f"{rows[seed][k]:.2f}" for k in kinds)
              + f" | {np.mean(list(rows[seed].values())):.2f} | {np.mean(goal):.2f}, {min(goal):.2f} "
              f"| {absent[seed].none_strong}/{absent[seed].queries} |", flush=True)
    print("| **mean** | " + " | ".join(f"{np.mean([r[k] for r in rows.values()]):.2f}" for k in kinds) + " | | | |")
    print("| **worst** | " + " | ".join(f"{min(r[k] for r in rows.values()):.2f}" for k in kinds) + " | | | |")
    print(f"\nqueries for what a library does not hold: {sum(a.none_strong for a in absent.values())} of "
          f"{sum(a.queries for a in absent.values())} with no strong result")
    under = {seed: [k for k in GOAL_KINDS if r[k] < 0.6] for seed, r in rows.items()}
    under = {seed: ks for seed, ks in under.items() if ks}
    print(f"\n{len(under)} of {len(rows)} libraries have a goal kind under 0.6: "
          + (", ".join(f"seed {seed} ({', '.join(ks)})" for seed, ks in under.items()) or "none"))


def speed(total: int = 100_000, dim: int = 512, queries: int = 200, fits: str = "NumPy") -> None:
    """Time per query of what the cut-off adds, on synthetic vectors standing for a big library."""
    rng = np.random.default_rng(0)
    sample = rng.standard_normal((SAMPLE_SIZE, dim)).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    inputs = []
    for i in range(queries):
        query = rng.standard_normal(dim).astype(np.float32)
        query /= np.linalg.norm(query)
        # The ANN's 100 best: a planted group of matches (none to 40, or a fifth) on the bulk's tail.
        matches = int(rng.integers(0, 40)) if i % 2 else TOP_CANDIDATES // 5
        bulk_top = np.sort(rng.normal(0.0, 0.044, total // 10))[::-1][: TOP_CANDIDATES - matches] + 0.1
        inputs.append((query, np.concatenate([rng.normal(0.3, 0.01, matches), bulk_top])))
    timings, methods = [], {}
    cpu_started = time.process_time()
    for query, top in inputs:
        started = time.perf_counter()
        cut = relevance_cutoff(top, np.einsum("ij,j->i", sample, query), total)  # as the engine does
        timings.append(time.perf_counter() - started)
        methods[cut.method] = methods.get(cut.method, 0) + 1
    cpu = (time.process_time() - cpu_started) / queries * 1e3
    p50, p99 = percentiles_ms(timings)
    print(f"\nspeed at {total:,} photos, {fits} EM ({dim}-d vectors, sample {SAMPLE_SIZE}, top {TOP_CANDIDATES}, "
          f"{queries} queries; decided by {methods}): wall median {p50:.2f} ms, p99 {p99:.2f} ms; "
          f"CPU {cpu:.2f} ms per query (all threads)")


def composite_speed(total: int, dim: int = 512, queries: int = 50) -> None:
    """Time added by a two-term query decided per term, over the same query's plain auto search,
    on a real hnswlib + SQLite store of ``total`` synthetic vectors with planted concepts: with
    NumPy's EM (the library's default), then with the compiled one (the web app's), when it loads."""
    from types import SimpleNamespace

    from clipsearch import SearchEngine
    from clipsearch.cutoff_terms import TermVector, combine, composite_search
    from clipsearch.stores import ImageRecord, WriteBatch, open_store

    rng = np.random.default_rng(1)
    concepts = rng.standard_normal((20, dim)).astype(np.float32)
    concepts /= np.linalg.norm(concepts, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        stamp = {"model": "synthetic", "pretrained": None, "dim": dim, "image_size": 224, "preprocess": {}}
        store = open_store(Path(tmp) / "index", stamp, create=True)
        started = time.perf_counter()
        for start in range(0, total, 10_000):
            count = min(10_000, total - start)
            vectors = rng.standard_normal((count, dim)).astype(np.float32) / np.sqrt(dim)
            planted = rng.random(count) < 0.02  # 2% of the photos show one of the concepts
            vectors[planted] += 0.3 * concepts[rng.integers(0, len(concepts), int(planted.sum()))]
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.write(WriteBatch(put=[(ImageRecord(f"/synthetic/{start + i:07d}.jpg", 1000, 0, f"fp{start + i}",
                                                     640, 480), v) for i, v in enumerate(vectors)]))
        built = time.perf_counter() - started
        vague = rng.standard_normal((len(VAGUE_WORDS), dim)).astype(np.float32)  # stand-ins for the words'
        vague /= np.linalg.norm(vague, axis=1, keepdims=True)  # vectors (the model embeds them once)
        engine = SearchEngine(SimpleNamespace(dim=dim, embed_texts=lambda texts: vague[:len(texts)]), store)
        started = time.perf_counter()
        engine.library_sample()  # read once per index, not per query
        middle = time.perf_counter()
        engine.calibration.vague_level(store)  # so is the vague words' level
        ended = time.perf_counter()
        pairs = [rng.choice(len(concepts), 2, replace=False) for _ in range(queries)]
        print(f"\ncomposite queries at {total:,} photos (a real store, built in {built:.0f} s; {queries} of each, k=20; "
              f"once per index change: the library sample read in {(middle - started) * 1e3:.0f} ms, the "
              f"{len(VAGUE_WORDS)} vague words' best photos found in {(ended - middle) * 1e3:.0f} ms):")
        for fits in ("NumPy EM", "compiled EM"):
            if fits == "compiled EM" and not use_compiled_fits():  # from here on every fit is compiled
                break
            timings: dict[str, tuple[list[float], list[float]]] = {"a + b": ([], []), "a - b": ([], [])}
            for a, b in pairs:
                for kind, sign in (("a + b", 1.0), ("a - b", -1.0)):
                    terms = [TermVector(1.0, concepts[a], True), TermVector(sign, concepts[b], True)]
                    vector, text_like = combine(terms, dim)
                    started = time.perf_counter()
                    engine._search_vector(vector, 20, None, text_like=text_like, cutoff="auto")
                    middle = time.perf_counter()
                    composite_search(store, terms, vector, 20, None, text_like, engine.cutoff_thresholds)
                    timings[kind][0].append(middle - started)
                    timings[kind][1].append(time.perf_counter() - middle)
            for kind, (plain, composite) in timings.items():
                added = percentiles_ms([c - p for p, c in zip(plain, composite)], qs=(50, 90))
                print(f"  {kind}, {fits}: the plain auto search median {percentiles_ms(plain)[0]:.2f} ms; decided "
                      f"per term median {percentiles_ms(composite)[0]:.2f} ms; added per query: median "
                      f"{added[0]:.2f} ms, p90 {added[1]:.2f} ms")
        store.close()

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="pictures in the library (default 400)")
    parser.add_argument("--seed", type=int, default=5, help="library and query seed (default 5)")
    parser.add_argument("--seeds", type=parse_seeds, metavar="A-B",
                        help="the quality on several libraries (100-119, or 1,2,5), then the timing")
    parser.add_argument("--per-kind", type=int, default=10,
                        help="queries of each of the narrow, background, sum and photo + words kinds, at most "
                             "(default 10); shape, colour and negative queries are not capped: one per shape, "
                             "one per colour present, two per shape")
    parser.add_argument("--speed-only", action="store_true", help="only the timing at 100k photos")
    parser.add_argument("--composite", type=int, default=0, metavar="N",
                        help="also time composite queries decided per term on a real store of N vectors")
    args = parser.parse_args()
    print(load_line())
    if args.seeds:
        libraries(args.seeds, args.n, args.per_kind)
    elif not args.speed_only:
        quality(args.n, args.seed, args.per_kind)
    speed()
    if args.composite:
        composite_speed(args.composite)  # NumPy's EM, the library's default, then the compiled one
    if use_compiled_fits():  # as the web app does at start; from here on every fit is compiled
        speed(fits="compiled")
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
