"""Text-query latency through the web app's API, end to end (issue 5).

For each size, an index of random unit vectors is written straight into the store (chunks of
``WriteBatch``; no image is embedded), stamped with ViT-B-32 with random weights
(``pretrained=None``, loads offline). The web app is launched in-process over it, and
``gradio_client`` sends text queries to ``/search_text`` one at a time, as a user would: every
query embeds its text with the real ViT-B-32 text tower, then searches the HNSW index. The
same queries are also sent as plain HTTP (what curl or a browser does), and run on the engine
alone (no server), to show where the time goes: gradio_client polls its event stream every 50 ms
(gradio_client/utils.py, ``stream_sse_v1plus``), which no server can make up for. The bar: p50
under 100 ms.

    python benchmarks/bench_query_latency.py                    # 10k and 100k vectors
    python benchmarks/bench_query_latency.py --sizes 10000 --queries 30
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_line, percentiles_ms, save_result, table  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from clipsearch.stores import ImageRecord, WriteBatch, open_store  # noqa: E402

BAR_MS = 100.0
CHUNK = 10_000
WORDS = ["dog", "cat", "beach", "sunset", "mountain", "city", "snow", "forest", "car", "birthday",
         "cake", "river", "bridge", "flower", "child", "portrait", "night", "market", "boat", "train"]


def queries(n: int, seed: int = 0) -> list[str]:
    """Distinct plausible queries, some composite, so nothing can be answered from a cache."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b, c = rng.choice(WORDS, 3, replace=False)
        out.append(f"a {a} near a {b} #{i}" if i % 3 else f"{a} + {b} - {c}")
    return out


def build_index(folder: Path, encoder, n: int, seed: int = 0) -> float:
    """Write ``n`` random unit vectors with plausible records; returns the seconds it took."""
    started = time.perf_counter()
    store = open_store(folder, encoder.stamp, create=True)
    rng = np.random.default_rng(seed)
    now = time.time_ns()
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        vectors = rng.standard_normal((count, encoder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        batch = WriteBatch(put=[
            (ImageRecord(path=f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", size=4_000_000 + i,
                         mtime_ns=now - i * 10**9, fingerprint=f"{i:032x}", width=4000, height=3000), vec)
            for i, vec in zip(range(start, start + count), vectors, strict=True)
        ])
        store.write(batch)
    store.set_folders(["/bench/photos"])
    store.save()
    store.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(size: int, encoder, work: Path, n_queries: int, warmup: int) -> list[str]:
    """One table row: build, launch, query through the client and through the engine."""
    from gradio_client import Client

    from webui import build_demo, launch_options

    settings = Settings(index_dir=work / f"index-{size}", cache_dir=work / "cache",
                        model=ModelSpec(name="ViT-B-32", pretrained=None))
    build_s = build_index(settings.index_dir, encoder, size)
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp), settings=settings)
    demo = build_demo(engine, settings)
    port = free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(settings, engine))
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        texts = queries(warmup + n_queries, seed=size)
        for text in texts[:warmup]:
            client.predict(text, 20, 0.0, api_name="/search_text")
        through_app = []
        for text in texts[warmup:]:
            started = time.perf_counter()
            hits = client.predict(text, 20, 0.0, api_name="/search_text")
            through_app.append(time.perf_counter() - started)
            assert len(hits) == 20
        over_http = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/gradio_api/", timeout=60) as http:
            for text in texts[warmup:]:
                started = time.perf_counter()
                event = http.post("call/search_text", json={"data": [text, 20, 0.0]}).json()["event_id"]
                stream = http.get(f"call/search_text/{event}").text
                over_http.append(time.perf_counter() - started)
                assert "event: complete" in stream
        engine_only = []
        for text in texts[warmup:]:
            started = time.perf_counter()
            engine.search_text(text, k=20)
            engine_only.append(time.perf_counter() - started)
    finally:
        demo.close()
        demo.handlers.close()
        engine.close()
    row = [f"{size:,}"]
    for durations in (through_app, over_http, engine_only):
        p50, p95 = percentiles_ms(durations, (50, 95))
        row += [f"{p50:.1f}", f"{p95:.1f}"]
    return row + [f"{build_s:.0f} s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50, help="measured queries per size (default 50)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    encoder = load_encoder(ModelSpec(name="ViT-B-32", pretrained=None, threads=args.threads))
    encoder.embed_texts(["warm up"])
    before = load_line()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        for size in args.sizes:
            print(f"measuring {size:,} vectors...", file=sys.stderr, flush=True)
            rows.append(measure(size, encoder, Path(tmp), args.queries, args.warmup))
    headers = ["vectors", "gradio_client p50", "gradio_client p95", "HTTP /call p50", "HTTP /call p95",
               "engine p50", "engine p95", "index build"]
    text = (f"Text-query latency in ms, ViT-B-32 (random weights) on {encoder.device}, k=20, "
            f"{args.queries} queries per size, one at a time: through gradio_client /search_text, "
            f"through plain HTTP (POST /gradio_api/call/search_text + its event stream), and the "
            f"engine alone (no server). Bar: p50 < {BAR_MS:.0f} ms.\n\n"
            f"{table(headers, rows)}\n\nMachine before: {before}\nMachine after: {load_line()}\n")
    print(text)
    save_result("query_latency.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
