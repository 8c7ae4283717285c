"""Near-duplicates: how well a pass finds them, and how long a whole library takes.

    python benchmarks/bench_duplicates.py quality [--originals 120] [--seed 0]
    python benchmarks/bench_duplicates.py speed [--n 100000] [--dim 512] [--files 8]   # hnswlib on every core
    python benchmarks/bench_duplicates.py documents [--layouts 12] [--variants 3] [--seed 0]

``quality`` renders pictures with edited copies, look-alikes and burst frames
(clipsearch.demo.near_copies), indexes them with the offline demo model through the real
engine, and prints the pairs found per level, beside what the CLIP cosine alone would group,
and the pixel similarities of each kind of pair.

``speed`` fills an HNSW store with synthetic unit vectors (1% of them planted near copies),
times the kNN self-join with its progress callback, and times the pixel verification per
candidate pair on real JPEG files (decode at reduced scale, signature, compare).
``documents`` renders signs that share a layout (one background, one placement of the panels)
and differ in their words, plus a 60% copy of one of each layout, and scores the groups found
with the pixels alone and once the index has read the words (real OCR, ``--ocr``).
Not a test: tests/integration/test_duplicates.py asserts the quality levels.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks._common import load_line, table  # noqa: E402
from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.demo.near_copies import make_near_copy_library, score_groups  # noqa: E402
from clipsearch.duplicates import BURST, SAME_SHOT, Evidence, find_duplicates, group_stars  # noqa: E402
from clipsearch.pixels import (  # noqa: E402
    PATTERN_DIM,
    SIGNATURE_DIM,
    SignatureCache,
    same_light,
    signature_of_file,
    similarity,
)


def quality(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "photos"
        truth = make_near_copy_library(library, originals=args.originals, seed=args.seed)
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache",
                            model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        store = engine.store
        print(f"{len(truth)} pictures ({args.originals} originals), demo model · {load_line()}\n")
        rows = []
        for bursts, level in ((False, "shot"), (True, "moment")):
            started = time.perf_counter()
            report = find_duplicates(store, bursts=bursts, cache=SignatureCache(None))
            seconds = time.perf_counter() - started
            fig = score_groups([g.paths for g in report.groups], library, level)
            rows.append([("bursts" if bursts else "same shot") + " + pixels", level, f"{fig.precision:.3f}",
                         f"{fig.recall:.3f}", f"{fig.found}/{fig.expected}", fig.lookalikes_grouped,
                         fig.bursts_grouped, len(report.groups), f"{seconds:.2f}"])
            cos = cosine_only_groups(store, BURST if bursts else SAME_SHOT)
            fig = score_groups(cos, library, level)
            rows.append([("bursts" if bursts else "same shot") + ", cosine alone", level, f"{fig.precision:.3f}",
                         f"{fig.recall:.3f}", f"{fig.found}/{fig.expected}", fig.lookalikes_grouped,
                         fig.bursts_grouped, len(cos), ""])
        print(table(["setting", "truth", "precision", "recall", "pairs found", "look-alike pairs grouped",
                     "burst pairs as one shot", "groups", "s"], rows))
        print()
        print(similarity_table(library, truth, store))
        engine.close()


def cosine_only_groups(store, level) -> list[list[str]]:
    """What the CLIP cosine gate alone would group (every pixel check passing)."""
    from clipsearch.duplicates import candidate_pairs, self_join

    records, rows_of, sims = self_join(store, 16)
    pairs = candidate_pairs(records, rows_of, sims, level)
    every = np.zeros(SIGNATURE_DIM, np.float32)  # one pattern and one light for all: every check passes
    every[0], every[PATTERN_DIM] = 1.0, 0.5
    signatures = {r.path: every for r in records}
    groups = group_stars(records, {p: 1.0 for p in pairs}, Evidence(signatures), level)
    return [g.paths for g in groups]


def similarity_table(library: Path, truth: dict, store) -> str:
    """Pixel and CLIP similarity of each kind of pair to its original: the patterns' cosine, and
    how many pairs' light is not one exposure apart (``same_light``), which no level groups."""
    kinds: dict[str, list[tuple[float, float, bool]]] = {}
    for name, entry in truth.items():
        if entry["role"] == "original":
            continue
        original = library / (name[:4] + ".png")
        a, b = signature_of_file(str(original)), signature_of_file(str(library / name))
        va, vb = store.vector(str(original.resolve())), store.vector(str((library / name).resolve()))
        kinds.setdefault(entry["role"], []).append(
            (float(a[:PATTERN_DIM] @ b[:PATTERN_DIM]), float(va @ vb), same_light(a[PATTERN_DIM:], b[PATTERN_DIM:])))
    rows = []
    for role, values in sorted(kinds.items()):
        pix, cos, same = np.array(values).T
        rows.append([role, len(values), *(f"{x:.3f}" for x in np.percentile(pix, [0, 5, 50, 95, 100])),
                     int(len(same) - same.sum()), f"{cos.min():.3f}", f"{np.median(cos):.3f}"])
    return table(["pair with its original", "n", "pattern min", "p5", "median", "p95", "max", "light apart",
                  "CLIP cos min", "CLIP median"], rows)


def documents(args) -> None:
    from PIL import Image

    from clipsearch.demo.near_copies import resized_copy
    from clipsearch.demo.textrender import WORDS, render_text_photo

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "photos"
        library.mkdir()
        rng = random.Random(args.seed)
        pool = list(WORDS)
        rng.shuffle(pool)
        shot: dict[str, tuple[int, int]] = {}  # path -> (layout, variant): one shot each
        for layout in range(args.layouts):
            seed = rng.randrange(2**31)
            for variant in range(args.variants):
                words, pool = pool[:3], pool[3:]
                path = library / f"l{layout:02d}v{variant}.jpg"
                render_text_photo(words, random.Random(seed))[0].save(path, quality=90)
                shot[str(path.resolve())] = (layout, variant)
            copy = library / f"l{layout:02d}v0-copy.jpg"
            resized_copy(Image.open(library / f"l{layout:02d}v0.jpg")).save(copy, quality=70)
            shot[str(copy.resolve())] = (layout, 0)
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache",
                            model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        print(f"{len(shot)} pictures: {args.layouts} layouts x {args.variants} word sets, and a 60% copy "
              f"(JPEG 70) of one per layout; demo model · {load_line()}\n")
        rows = [_document_row("pixels only (an index without --ocr)", engine.duplicates().groups, shot, args.layouts)]
        engine.set_text_reading(True)
        started = time.perf_counter()
        engine.read_texts()
        read = time.perf_counter() - started
        rows.append(_document_row("pixels + words (--ocr)", engine.duplicates().groups, shot, args.layouts))
        print(table(["evidence", "precision", "recall", "copy pairs found", "pairs of other words grouped",
                     "groups"], rows))
        signatures = {path: signature_of_file(path) for path in shot}
        alike = [similarity(signatures[a], signatures[b]) for a, b in itertools.combinations(shot, 2)
                 if shot[a][0] == shot[b][0] and shot[a] != shot[b]]
        print(f"\nsignature of two word sets on one layout: min {min(alike):.3f}, median "
              f"{np.median(alike):.3f}, max {max(alike):.3f} (the same-shot level is {SAME_SHOT.min_pixels}); "
              f"reading the words took {read:.1f} s")
        engine.close()


def _document_row(label: str, groups, shot: dict[str, tuple[int, int]], copies: int) -> list:
    same = other = 0
    for group in groups:
        for a, b in itertools.combinations(group.paths, 2):
            if shot[a] == shot[b]:
                same += 1
            else:
                other += 1
    precision = same / (same + other) if same + other else 1.0
    return [label, f"{precision:.3f}", f"{same / copies:.3f}", f"{same}/{copies}", other, len(groups)]


def speed(args) -> None:
    from clipsearch.stores import ImageRecord, WriteBatch, open_store

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        stamp = {"model": "synthetic", "pretrained": None, "dim": args.dim, "image_size": 224, "preprocess": {}}
        store = open_store(Path(tmp) / "index", stamp, create=True)
        pairs_planted: set[tuple[int, int]] = set()
        started = time.perf_counter()
        for start in range(0, args.n, 10_000):
            count = min(10_000, args.n - start)
            vectors = rng.standard_normal((count, args.dim)).astype(np.float32)
            planted = rng.random(count) < 0.01  # a near copy of the row before it
            planted[0] = False
            vectors[planted] = vectors[np.flatnonzero(planted) - 1] + 0.15 * vectors[planted]
            pairs_planted.update((start + i - 1, start + i) for i in np.flatnonzero(planted))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            batch = WriteBatch(put=[(ImageRecord(f"/synthetic/{start + i:07d}.jpg", 1000, 0, f"fp{start + i}",
                                                 640, 480), v) for i, v in enumerate(vectors)])
            store.write(batch)
        built = time.perf_counter() - started
        ticks = []
        started, cpu = time.perf_counter(), time.process_time()
        records, rows_of, sims = store.neighbours(16, progress=lambda done, total: ticks.append(done))
        join, join_cpu = time.perf_counter() - started, time.process_time() - cpu
        from clipsearch.duplicates import candidate_pairs

        pairs = candidate_pairs(records, rows_of, sims, SAME_SHOT)
        number = {r.path: int(Path(r.path).stem) for r in records}
        found = {tuple(sorted((number[records[a].path], number[records[b].path]))) for a, b in pairs}
        store.close()
    per_pair = pixel_cost(args)
    print(f"{args.n} synthetic {args.dim}-d vectors, hnswlib threads {os.cpu_count()} · {load_line()}\n")
    print(table(["step", "value"], [
        ["build the store (not part of a pass)", f"{built:.1f} s"],
        ["kNN self-join, k=16, beam 64, batched: wall", f"{join:.1f} s ({args.n / join:.0f} photos/s)"],
        ["kNN self-join: CPU time of this process (all threads)", f"{join_cpu:.1f} s"],
        ["progress callbacks", f"{len(ticks)}"],
        ["candidate pairs (cosine >= 0.80)", f"{len(pairs)}"],
        ["planted near copies found", f"{len(found & pairs_planted)} of {len(pairs_planted)}"],
        *[[f"pixel check per pair, {label}", f"{ms:.1f} ms"] for label, ms in per_pair],
    ]))


def pixel_cost(args) -> list[tuple[str, float]]:
    """Milliseconds to verify one candidate pair: two signatures from files, then a dot product."""
    from PIL import Image

    from testsupport.imagefactory import photo

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, (w, h) in (("1600x1200 JPEG", (1600, 1200)), ("4000x3000 JPEG (12 MP)", (4000, 3000))):
            paths = []
            for i in range(args.files):
                path = Path(tmp) / f"{w}-{i}.jpg"
                photo(w // 4, h // 4, seed=i).resize((w, h), Image.Resampling.BILINEAR).save(path, quality=90)
                paths.append(str(path))
            started = time.perf_counter()
            signatures = [signature_of_file(p) for p in paths]
            for a, b in itertools.pairwise(signatures):
                similarity(a, b)
            out.append((label, 2 * (time.perf_counter() - started) / len(paths) * 1000))
        a, b = signature_of_file(paths[0]), signature_of_file(paths[1])
        started = time.perf_counter()
        for _ in range(1000):
            similarity(a, b)
        out.append(("signatures cached (compare only)", (time.perf_counter() - started)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality", help="edited copies, look-alikes and bursts: the pairs found per level")
    q.add_argument("--originals", type=int, default=120)
    q.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("documents", help="one layout, other words: pixels alone, then with the words read")
    d.add_argument("--layouts", type=int, default=12)
    d.add_argument("--variants", type=int, default=3, help="word sets per layout")
    d.add_argument("--seed", type=int, default=0)
    s = sub.add_parser("speed", help="a whole library of synthetic vectors: the kNN self-join and the pixel cost")
    s.add_argument("--n", type=int, default=100_000)
    s.add_argument("--dim", type=int, default=512)
    s.add_argument("--files", type=int, default=8, help="JPEG files per size for the pixel cost")
    args = parser.parse_args(argv)
    {"quality": quality, "documents": documents, "speed": speed}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
