"""Whether a query's candidates agree with one another: measured for the cut-off, and not used.

    python benchmarks/cutoff_agreement.py --seeds 0-13,100-119,200-219,300-319,400-419,500-519

The issue suggests image-to-image similarity inside the top set as a signal for the cut-off. On
each rendered library (the demo model, as ``bench_cutoff.py``) and each one-term query of a kind
the issue names (narrow, background, shape, colour), this prints:

1. how alike the photos the cut-off keeps are (mean cosine between their image vectors, when it
   keeps 20 or more), for queries it decides well (ratio to the ceiling >= 0.8) and badly (< 0.5):
   whether a loose set tells a wrong decision from a broad query's right one;
2. per kind, the mean ratio to the ceiling with a rule that trusts agreement: when the best ``j``
   photos (j <= 10) are all closer to the best one than any of the next ``window`` are, by at
   least ``margin`` in cosine, and the cut-off keeps at least five times as many, keep those j.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from benchmarks._common import load_line  # noqa: E402
from benchmarks.bench_cutoff import parse_seeds  # noqa: E402
from benchmarks.cutoff_eval import best_f1, f1, index_library, make_queries, strong_mask  # noqa: E402

KINDS = ("narrow", "background", "shape", "colour")
RULES = [(margin, window) for margin in (0.3, 0.4, 0.5, 0.6) for window in (10, 30)]


def collect(seed: int) -> tuple[np.ndarray, list[dict]]:
    """One library's image vectors, and per one-term query its scores, truth and strong set."""
    with tempfile.TemporaryDirectory() as folder:
        engine, library = index_library(Path(folder), 400, seed)
        try:
            queries = [q for q in make_queries(engine, library, seed) if q.kind in KINDS]
            rows = [dict(kind=q.kind, scores=library.vectors @ q.vector, relevant=q.relevant,
                         returned=strong_mask(engine, library, q)) for q in queries]
        finally:
            engine.close()
    return library.vectors, rows


def head_by_agreement(vectors: np.ndarray, order: np.ndarray, kept: int, margin: float, window: int) -> int:
    """How many to keep under the agreement rule (the module's docstring, 2.); ``kept`` if it does not apply."""
    best, chosen = margin, kept
    likeness = vectors[order[:10 + window]] @ vectors[order[0]]
    for j in range(1, min(10, kept - 1) + 1):
        if kept < 5 * j:
            break
        gap = likeness[:j].min() - likeness[j:j + window].max()
        if gap >= best:
            best, chosen = gap, j
    return chosen


def ratio(returned: np.ndarray, relevant: np.ndarray, ceiling: float) -> float:
    return f1(returned, relevant) / ceiling if ceiling else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-13"), metavar="A-B")
    args = parser.parse_args()
    print(f"Machine before: {load_line()}")
    alike: dict[tuple[str, str], list[float]] = defaultdict(list)
    ratios: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    changed: dict[tuple, int] = defaultdict(int)
    for seed in args.seeds:
        vectors, rows = collect(seed)
        for row in rows:
            scores, relevant, returned = row["scores"], row["relevant"], row["returned"]
            ceiling, kept = best_f1(scores, relevant), int(returned.sum())
            order = np.argsort(-scores, kind="stable")
            now = ratio(returned, relevant, ceiling)
            ratios["now"][row["kind"]].append(now)
            if kept >= 20 and (now >= 0.8 or now < 0.5):
                top = vectors[order[:min(kept, 100)]]
                pairs = top @ top.T
                alike[(row["kind"], "right" if now >= 0.8 else "wrong")].append(
                    (pairs.sum() - len(top)) / (len(top) * (len(top) - 1)))
            for rule in RULES:
                keep = head_by_agreement(vectors, order, kept, *rule)
                if keep == kept:
                    ratios[rule][row["kind"]].append(now)
                    continue
                changed[rule] += 1
                mask = np.zeros(len(scores), bool)
                mask[order[:keep]] = True
                ratios[rule][row["kind"]].append(ratio(mask, relevant, ceiling))
        print(f"library {seed} done", file=sys.stderr, flush=True)
    print(f"\n{len(args.seeds)} libraries. How alike the kept photos are (mean cosine between them):\n")
    print("| kind | decided | queries | p10 | median | p90 |\n|---|---|---:|---:|---:|---:|")
    for (kind, verdict), values in sorted(alike.items()):
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        print(f"| {kind} | {verdict} | {len(values)} | {p10:.2f} | {p50:.2f} | {p90:.2f} |")
    print("\nMean ratio to the ceiling per kind, now and with the agreement rule:\n")
    print("| rule | queries changed | " + " | ".join(KINDS) + " |\n|---|---:|" + "---:|" * len(KINDS))
    for rule in ["now", *RULES]:
        name = "the cut-off now" if rule == "now" else f"margin {rule[0]}, window {rule[1]}"
        means = " | ".join(f"{np.mean(ratios[rule][k]):.3f}" for k in KINDS)
        print(f"| {name} | {changed[rule] if rule != 'now' else '-'} | {means} |")
    print(f"\nMachine after: {load_line()}")


if __name__ == "__main__":
    main()
