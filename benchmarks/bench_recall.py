"""Recall and latency of the HNSW store on CLIP-like embeddings with a modality gap (issue 2).

Real CLIP vectors are not uniform on the sphere: image vectors sit in a narrow cone (any two
photos have cosine ~0.35), gather in topics and in bursts of near-duplicates (nearest neighbours
at cosine ~0.8), and vary mostly inside a low-dimensional subspace. Text vectors live in a
different cone (the modality gap): a query's best images have cosine ~0.3 with it and the runner-
ups are close behind. Such text queries are out of distribution for a graph built on image-image
neighbourhoods, which is why they need a wider beam. ``ClipLikeVectors`` generates both kinds.

For each size it indexes the vectors through ``HnswStore.write`` (chunks of ``WriteBatch``),
then measures recall@k against exact NumPy search, and the latency of ``store.search``
(``text_like=False`` for image queries, ``text_like=True`` for text) next to exact NumPy search. The bar:
recall@10 >= 0.99 for both query kinds with the store's default settings.

    python benchmarks/bench_recall.py                      # 100k and 1M (1M builds for minutes)
    python benchmarks/bench_recall.py --sizes 100000 --sweep 128 256 512 1024 2048
    python benchmarks/bench_recall.py --quick              # 20k vectors, 100 queries
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import dir_size, gb, load_line, percentiles_ms, rss_bytes, save_result, table  # noqa: E402

from clipsearch.stores import graph as hnsw_module  # noqa: E402  (the HNSW graph's settings)
from clipsearch.stores.base import ImageRecord, WriteBatch  # noqa: E402
from clipsearch.stores.hnsw import HnswStore  # noqa: E402

DIM = 512
BAR = 0.99
STAMP = {"model": "bench-clip-like", "pretrained": None, "dim": DIM, "image_size": 224,
         "preprocess": {"size": 224}}


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


class ClipLikeVectors:
    """Unit vectors shaped like CLIP ViT-B-32 embeddings of a photo collection and of queries.

    An image is ``cone * mu + topic * centre + scene * (L z_scene) + shot * (L z_shot) + noise``:
    ``mu`` is the shared image-cone direction, ``centre`` one of ``topics`` topic directions (a
    hundred broad themes above them), ``L`` a low-rank basis with a decaying spectrum (where
    pictures vary), ``z_scene`` shared by a burst of ~8 shots of one scene, ``z_shot`` the shot's
    own variation, ``noise`` isotropic. A text query is ``gap * g + topic * centre + ... + noise``
    with a modality-gap direction ``g`` instead of ``mu``, its own random position in ``L`` and
    much more noise inside the image subspace: its best images score ~0.3, the next ones barely
    less, and they are spread over the topic instead of being one tight burst.
    """

    def __init__(self, n_images: int, seed: int = 0, topics: int = 4000, themes: int = 100, rank: int = 128):
        rng = np.random.default_rng(seed)
        self.mu = _unit(rng.standard_normal(DIM))
        self.gap = _unit(rng.standard_normal(DIM))
        theme = _unit(rng.standard_normal((themes, DIM)))
        self.centres = _unit(theme[rng.integers(0, themes, topics)] + 0.8 * _unit(rng.standard_normal((topics, DIM))))
        basis = np.linalg.qr(rng.standard_normal((DIM, rank)))[0].T
        spectrum = 1.0 / np.sqrt(np.arange(1, rank + 1))
        self.basis = (basis * (spectrum / np.sqrt((spectrum**2).sum()))[:, None]).astype(np.float32)
        scenes = max(1, n_images // 8)
        self.scene_topic = rng.integers(0, topics, scenes)
        self.scene_z = rng.standard_normal((scenes, rank)).astype(np.float32)
        self.rank, self.topics = rank, topics

    def images(self, n: int, rng: np.random.Generator) -> np.ndarray:
        scene = rng.integers(0, len(self.scene_topic), n)
        shot = rng.standard_normal((n, self.rank)).astype(np.float32)
        noise = _unit(rng.standard_normal((n, DIM)))
        x = (0.6 * self.mu + 0.45 * self.centres[self.scene_topic[scene]] + 0.45 * (self.scene_z[scene] @ self.basis)
             + 0.4 * (shot @ self.basis) + 0.35 * noise)
        return _unit(x)

    def texts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        topic = rng.integers(0, self.topics, n)
        where = rng.standard_normal((n, self.rank)).astype(np.float32)
        noise = _unit(rng.standard_normal((n, DIM)))
        x = 0.5 * self.gap + 0.35 * self.centres[topic] + 0.35 * (where @ self.basis) + 0.9 * noise
        return _unit(x)

    def collection(self, n: int, seed: int = 1, chunk: int = 100_000) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIM), np.float32)
        for start in range(0, n, chunk):
            out[start : start + chunk] = self.images(min(chunk, n - start), rng)
        return out


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 200_000) -> np.ndarray:
    """Exact top-k labels by inner product (batched, for ground truth)."""
    best_ids = np.zeros((len(queries), 0), np.int64)
    best_scores = np.zeros((len(queries), 0), np.float32)
    for start in range(0, len(data), chunk):
        scores = queries @ data[start : start + chunk].T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_ids = np.concatenate([best_ids, part + start], axis=1)
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, part, 1)], axis=1)
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_ids = np.take_along_axis(best_ids, keep, 1)
        best_scores = np.take_along_axis(best_scores, keep, 1)
    return best_ids


def exact_one(data: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """What a store without an ANN index does per query: one matrix-vector product + partition."""
    scores = data @ query
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part])]


@dataclass
class Built:
    store: HnswStore
    seconds: float
    graph_seconds: float
    save_seconds: float
    rss_growth: int
    disk: int


def build_store(folder: Path, data: np.ndarray, chunk: int) -> Built:
    """Index ``data`` through the store's ordinary write path, in chunks; label i is row i."""
    if folder.exists():
        shutil.rmtree(folder)
    gc.collect()
    before = rss_bytes()
    store = HnswStore.open(folder, STAMP, create=True)
    graph_time = [0.0]
    add = store._add_to_graph

    def timed_add(vectors, labels):  # to split SQLite time from graph time
        started = time.perf_counter()
        add(vectors, labels)
        graph_time[0] += time.perf_counter() - started

    store._add_to_graph = timed_add
    started = time.perf_counter()
    for start in range(0, len(data), chunk):
        rows = range(start, min(start + chunk, len(data)))
        batch = WriteBatch(put=[
            (ImageRecord(f"/bench/{i // 1000:04d}/img-{i:07d}.jpg", 2_500_000 + i, 1_600_000_000_000_000_000 + i,
                         f"{i:032x}", 4000, 3000), data[i])
            for i in rows
        ])
        store.write(batch)
        done = rows[-1] + 1
        if done % (chunk * 10) == 0 or done == len(data):
            print(f"  indexed {done}/{len(data)} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    seconds = time.perf_counter() - started
    store._add_to_graph = add
    saved = time.perf_counter()
    store.save()
    save_seconds = time.perf_counter() - saved
    growth = rss_bytes() - before
    return Built(store, seconds, graph_time[0], save_seconds, growth, dir_size(folder))


def reopen_store(folder: Path, n: int) -> Built | None:
    """The index a previous ``--keep``/``--reuse`` run built with the same size and seed, if any."""
    if not (folder / "records.sqlite").exists():
        return None
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    store = HnswStore.open(folder, STAMP)
    if store.count() != n:
        store.close()
        return None
    opened = time.perf_counter() - started
    return Built(store, -1.0, 0.0, opened, rss_bytes() - before, dir_size(folder))


def label_of(path: str) -> int:
    return int(path.rsplit("-", 1)[1].split(".")[0])


def measure(store: HnswStore, queries: np.ndarray, truth: np.ndarray, k: int, text_like: bool):
    """Recall@k of ``store.search`` against the exact labels, and per-query latencies."""
    hits, times = 0, []
    for query, want in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = store.search(query, k, text_like=text_like)
        times.append(time.perf_counter() - started)
        hits += len({label_of(r.path) for r, _ in found} & set(want.tolist()))
    return hits / (k * len(queries)), times


def run_size(n: int, args, out: list[str]) -> list[list[object]]:
    print(f"N={n}: generating vectors ...", file=sys.stderr)
    gen = ClipLikeVectors(n, seed=args.seed)
    data = gen.collection(n, seed=args.seed + 1)
    image_q = gen.images(args.queries, np.random.default_rng(args.seed + 2))
    text_q = gen.texts(args.queries, np.random.default_rng(args.seed + 3))
    print(f"N={n}: exact ground truth ...", file=sys.stderr)
    truth_img = exact_top_k(data, image_q, args.k)
    truth_txt = exact_top_k(data, text_q, args.k)
    shape = describe_geometry(data, image_q, text_q, truth_img, truth_txt)

    folder = args.workdir / f"n{n}-seed{args.seed}"
    built = reopen_store(folder, n) if args.reuse else None
    if built is None:
        print(f"N={n}: building the store (chunks of {args.chunk}) ...", file=sys.stderr)
        built = build_store(folder, data, args.chunk)
    store = built.store
    rows = []
    exact_times = []
    for q in np.concatenate([image_q, text_q])[: args.exact_queries]:
        started = time.perf_counter()
        exact_one(data, q, args.k)
        exact_times.append(time.perf_counter() - started)
    ex50, ex99 = percentiles_ms(exact_times)

    for queries, truth, text_like in ((image_q, truth_img, False), (text_q, truth_txt, True)):
        measure(store, queries, truth, args.k, text_like)  # warm-up: the first pass touches cold pages
    settings = [("default", None)] + [(f"EF_IMAGE = EF_TEXT = {ef}", ef) for ef in args.sweep]
    for name, ef in settings:
        if ef is not None:
            store.ef_image = store.ef_text = ef
        else:
            store.ef_image, store.ef_text = hnsw_module.EF_IMAGE, hnsw_module.EF_TEXT
        for kind, queries, truth, text_like in (("image", image_q, truth_img, False), ("text", text_q, truth_txt, True)):
            recall, times = measure(store, queries, truth, args.k, text_like)
            p50, p99 = percentiles_ms(times)
            beam = max(store.beam(n, text_like), min(max(args.k, hnsw_module.MIN_CANDIDATES), n))
            ok = "yes" if recall >= BAR else "no"
            rows.append([f"{n:,}", name, kind, beam, f"{recall:.4f}", ok, f"{p50:.2f}", f"{p99:.2f}",
                         f"{ex50:.1f}", f"{ex99:.1f}"])
            print(f"  {name} {kind}: recall {recall:.4f} p50 {p50:.2f} ms", file=sys.stderr)
    store.ef_image, store.ef_text = hnsw_module.EF_IMAGE, hnsw_module.EF_TEXT
    if built.seconds < 0:
        how = f"- index reused from an earlier run (--reuse); opening it took {built.save_seconds:.1f} s"
    else:
        how = (f"- build through `HnswStore.write` in chunks of {args.chunk:,}: {built.seconds:.1f} s "
               f"({built.graph_seconds:.1f} s hnswlib add_items, {built.seconds - built.graph_seconds:.1f} s "
               f"SQLite and the rest; {n / built.seconds:,.0f} vectors/s); snapshot save {built.save_seconds:.1f} s")
    out += [
        f"### N = {n:,}", "",
        f"- geometry: {shape}",
        how,
        f"- memory: the store grew this process by {gb(built.rss_growth)} (the {gb(data.nbytes)} of input "
        f"vectors not counted); on disk {gb(built.disk)}",
        "",
    ]
    store.close()
    del store, built, data
    gc.collect()
    if not (args.keep or args.reuse):
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def describe_geometry(data, image_q, text_q, truth_img, truth_txt) -> str:
    def mean_rank_score(queries, truth, rank):
        return float(np.mean([data[t[rank]] @ q for q, t in zip(queries, truth, strict=True)]))

    sample = data[np.random.default_rng(0).choice(len(data), 200, replace=False)]
    pairwise = sample @ sample.T
    mean_pair = float(pairwise[np.triu_indices(200, 1)].mean())
    return (
        f"image query -> best/10th image cosine {mean_rank_score(image_q, truth_img, 0):.2f}/"
        f"{mean_rank_score(image_q, truth_img, 9):.2f}; text query -> best/10th "
        f"{mean_rank_score(text_q, truth_txt, 0):.2f}/{mean_rank_score(text_q, truth_txt, 9):.2f}; "
        f"two random images {mean_pair:.2f}; image-text mean "
        f"{float((sample @ text_q[:200].T).mean()):.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="collection sizes (default 100000 1000000)")
    parser.add_argument("--queries", type=int, default=500, help="queries of each kind (default 500)")
    parser.add_argument("--exact-queries", type=int, default=200, help="queries timed for exact NumPy search")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--sweep", type=int, nargs="*", default=[],
                        help="also measure with the store's ef_image = ef_text = each of these values "
                             "(the beam at 1M vectors; smaller collections scale it down)")
    parser.add_argument("--chunk", type=int, default=20_000, help="records per WriteBatch (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "clipsearch-bench" / "recall")
    parser.add_argument("--keep", action="store_true", help="keep the built index folders")
    parser.add_argument("--reuse", action="store_true",
                        help="open an index kept by an earlier run (same size and seed) instead of "
                             "building it again; implies --keep")
    parser.add_argument("--quick", action="store_true",
                        help="a fast sanity run: at most 20k vectors and 100 queries "
                             "(smaller values given are kept)")
    args = parser.parse_args(argv)
    if args.quick:  # caps: a smaller value given on the command line is kept
        args.sizes = sorted({min(n, 20_000) for n in args.sizes})
        args.queries, args.exact_queries = min(args.queries, 100), min(args.exact_queries, 50)

    out = ["# Recall benchmark (issue 2): HnswStore on CLIP-like vectors with a modality gap", "",
           f"Machine at start: {load_line()}", "",
           f"Store defaults: M={hnsw_module.M}, ef_construction={hnsw_module.EF_CONSTRUCTION}, "
           f"EF_IMAGE={hnsw_module.EF_IMAGE}, EF_TEXT={hnsw_module.EF_TEXT}, "
           f"EF_REFERENCE_SIZE={hnsw_module.EF_REFERENCE_SIZE:,} (beams scale as (N / that) ** 0.3), "
           f"MIN_CANDIDATES={hnsw_module.MIN_CANDIDATES}; dim {DIM}; {args.queries} queries of each kind; "
           f"recall@{args.k} against exact search; latency of `store.search` (one query at a time, "
           f"SQLite record lookup included) next to exact NumPy search ({args.exact_queries} queries).", ""]
    rows = []
    for n in args.sizes:
        rows += run_size(n, args, out)
    out += ["### Results", "",
            table(["N", "setting", "queries", "beam (ef)", f"recall@{args.k}", f">= {BAR}",
                   "p50 ms", "p99 ms", "exact p50 ms", "exact p99 ms"], rows), ""]
    defaults = [r for r in rows if r[1] == "default"]
    met = all(float(r[4]) >= BAR for r in defaults)
    out += [f"Bar (recall@{args.k} >= {BAR} for image and text queries with the defaults, every size): "
            f"{'met' if met else 'MISSED'}", "", f"Machine at end: {load_line()}", ""]
    text = "\n".join(out)
    print(text)
    name = "recall-quick.md" if args.quick else "recall.md"
    print(f"(saved to {save_result(name, text)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
