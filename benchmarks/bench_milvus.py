"""hnswlib (HnswStore) against Milvus (MilvusStore on a real server) on the same vectors (issue 7).

Both stores get the same CLIP-like vectors through their ordinary ``write`` path, build HNSW
graphs with the same parameters (M 16, efConstruction 200), search with their own default beams
(HnswStore: 256 for image queries and 2048 for text at 1M vectors, narrower for fewer; Milvus:
128 and 512), and answer through ``store.search``: recall@10 against exact search, p50/p99 latency, and recall with
a folder filter (1% of the collection) and a date filter (10%), for image-like and text-like
queries. Milvus runs the filters inside its ANN search; HnswStore searches small filtered sets
exactly and larger ones with a filtered graph search.

Needs a Milvus server (not milvus-lite, whose filtered recall and latency are not the engine's):

    python benchmarks/bench_milvus.py --milvus-uri http://127.0.0.1:19530
    CLIPSEARCH_MILVUS_SERVER_PYTHON=/tmp/milvus-venv/bin/python python benchmarks/bench_milvus.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import load_line, percentiles_ms, save_result, table  # noqa: E402
from bench_recall import ClipLikeVectors, exact_top_k, label_of  # noqa: E402

from clipsearch.stores.base import ImageRecord, SearchFilter, WriteBatch  # noqa: E402
from testsupport.milvus_server import PYTHON_ENV, LocalMilvusServer  # noqa: E402

DIM = 512
STAMP = {"model": "bench-clip-like", "pretrained": None, "dim": DIM, "image_size": 224, "preprocess": {"size": 224}}
FOLDERS = 100  # image i lives in /bench/<i % 100>/ : a folder filter keeps 1%
YEARS = 10  # and was taken in 2015 + i % 10: a one-year filter keeps 10%


def record(i: int) -> ImageRecord:
    return ImageRecord(f"/bench/{i % FOLDERS:02d}/img-{i:07d}.jpg", 2_500_000, 1_600_000_000_000_000_000 + i,
                       f"{i:032x}", 4000, 3000, f"{2015 + i % YEARS}-06-01T12:00:00")


def fill(store, data: np.ndarray, chunk: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(data), chunk):
        rows = range(start, min(start + chunk, len(data)))
        store.write(WriteBatch(put=[(record(i), data[i]) for i in rows]))
    store.save()
    return time.perf_counter() - started


def wait_for_milvus_index(store, n: int, timeout: float = 900.0) -> float:
    """Seconds until Milvus reports every row in its HNSW index (segments are indexed after flush)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        info = store._client.describe_index(store.collection, index_name="vector")
        if int(info.get("indexed_rows", 0)) >= n and int(info.get("pending_index_rows", 0)) == 0:
            break
        time.sleep(1.0)
    return time.perf_counter() - started


def measure(store, queries, truth, k, text_like, where=None) -> tuple[float, list[float]]:
    hits, times = 0, []
    for query, want in zip(queries, truth):
        started = time.perf_counter()
        found = store.search(query, k, where=where, text_like=text_like)
        times.append(time.perf_counter() - started)
        hits += len({label_of(r.path) for r, _ in found} & set(want.tolist()))
    return hits / (k * len(queries)), times


def subset_truth(data, queries, k, ids: np.ndarray) -> np.ndarray:
    return ids[exact_top_k(data[ids], queries, k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=2_000, help="rows per store.write")
    parser.add_argument("--milvus-uri", help="a running server, http://127.0.0.1:19530")
    parser.add_argument("--server-python", default=os.environ.get(PYTHON_ENV),
                        help="start a server with this venv's PyPI 'milvus' package")
    args = parser.parse_args(argv)
    if not args.milvus_uri and not args.server_python:
        parser.error(f"give --milvus-uri, or --server-python / ${PYTHON_ENV} to start a local server")

    from clipsearch.stores.hnsw import HnswStore
    from clipsearch.stores.milvus import MilvusStore

    n, k = args.n, args.k
    gen = ClipLikeVectors(n)
    data = gen.collection(n)
    rng = np.random.default_rng(7)
    kinds = {"image": (gen.images(args.queries, rng), False), "text": (gen.texts(args.queries, rng), True)}
    ids = np.arange(n)
    filters = {
        "none": (None, ids),
        "folder 1%": (SearchFilter(folder="/bench/07"), ids[ids % FOLDERS == 7]),
        "year 10%": (SearchFilter(date_from="2019-01-01", date_to="2019-12-31"), ids[ids % YEARS == 4]),
    }
    truth = {(kind, name): subset_truth(data, q, k, subset) for kind, (q, _) in kinds.items()
             for name, (_, subset) in filters.items()}
    work = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
    server = None
    rows, notes = [], []
    try:
        uri = args.milvus_uri
        if not uri:
            server = LocalMilvusServer(args.server_python, work / "server").start()
            uri = server.uri
        stores = {}
        print(f"building hnswlib with {n} vectors ...", file=sys.stderr)
        stores["hnswlib"] = HnswStore.open(work / "hnsw", STAMP, create=True)
        notes.append(f"hnswlib build {fill(stores['hnswlib'], data, args.chunk):.0f} s")
        print("building Milvus ...", file=sys.stderr)
        collection = f"bench{int(time.time())}"
        stores["Milvus"] = MilvusStore.open(work / "milvus", STAMP, create=True, uri=f"{uri}#{collection}")
        seconds = fill(stores["Milvus"], data, args.chunk)
        indexed = wait_for_milvus_index(stores["Milvus"], n)
        # Reload so the query node serves the indexed sealed segments (until the hand-off it searches
        # them, and growing ones, through a temporary IVF index with lower recall).
        stores["Milvus"]._client.release_collection(collection)
        stores["Milvus"]._client.load_collection(collection)
        notes.append(f"Milvus insert+flush {seconds:.0f} s, then HNSW index build {indexed:.0f} s")
        time.sleep(6)  # past the read-your-writes window: searches run at Bounded consistency, as in the app
        for name, store in stores.items():
            for kind, (queries, text_like) in kinds.items():
                for label, (where, _) in filters.items():
                    store.search(queries[0], k, where=where, text_like=text_like)  # warm up
                    recall, times = measure(store, queries, truth[(kind, label)], k, text_like, where)
                    p50, p99 = percentiles_ms(times)
                    rows.append([name, kind, label, f"{recall:.3f}", f"{p50:.2f}", f"{p99:.2f}"])
                    print("  ", rows[-1], file=sys.stderr)
        stores["Milvus"]._client.drop_collection(collection)
        stores["Milvus"]._client.drop_collection(f"{collection}_meta")
        for store in stores.values():
            store.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = "\n".join([
        f"# hnswlib vs Milvus {n} x {DIM} CLIP-like vectors, recall@{k}, {args.queries} queries per row",
        "", load_line(), "; ".join(notes), "",
        table(["store", "queries", "filter", f"recall@{k}", "p50 ms", "p99 ms"], rows), "",
    ])
    print(text)
    save_result("milvus.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
