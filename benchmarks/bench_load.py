"""Load: 8 concurrent gradio_client clients, mixed text and image queries, against a local server.

    python benchmarks/bench_load.py                      # ViT-B-32 (random weights), 10k vectors, 30 s
    python benchmarks/bench_load.py --clients 8 --seconds 10 --size 10000

The index is random unit vectors written straight into the store (bench_query_latency's builder),
stamped with ViT-B-32; every query runs the real model (text tower, or decode + image tower for an
uploaded 1024x768 JPEG) and the HNSW search. Requests go to 127.0.0.1 only, bounded in time.
The server is ``python -m webui`` in its own process, as a user runs it. Prints one markdown
row per run: throughput, p50/p99 by query kind, errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from _common import load_line  # noqa: E402
from bench_query_latency import build_index, queries, serve  # noqa: E402

from clipsearch import ModelSpec  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from testsupport.imagefactory import photo  # noqa: E402
from testsupport.load import TABLE_HEADER, run_load  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", type=int, default=10_000, help="indexed vectors (default 10000)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    args = parser.parse_args()
    encoder = load_encoder(ModelSpec(name="ViT-B-32", pretrained=None, threads=args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build_index(work / "index", encoder, args.size)
        images = []
        for i in range(6):
            path = work / f"query{i}.jpg"
            photo(1024, 768, seed=i).save(path, quality=90)
            images.append(str(path))
        with serve(work / "index", work / "cache", args.threads) as url:
            result = run_load(url, queries(200), images, clients=args.clients, seconds=args.seconds)
    print(f"ViT-B-32 ({encoder.precision}), {args.size} vectors; {load_line()}\n")
    print(TABLE_HEADER)
    print(result.table_row())
    for error in result.errors[:5]:
        print("error:", error)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
