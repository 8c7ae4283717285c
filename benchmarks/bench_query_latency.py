"""Text-query latency through the web app's API, end to end (issues 5 and 16).

For each size, an index of random unit vectors is written straight into the store (chunks of
``WriteBatch``; no image is embedded), stamped with ViT-B-32 with random weights
(``pretrained=None``, loads offline). The web app is started over it as a user starts it
(``python -m webui --index DIR``, its own process), and ``gradio_client`` sends text queries to
``/search_text`` one at a time, as a user would: every query embeds its text with the real
ViT-B-32 text tower, then searches the HNSW index.

Two gradio_client set-ups are timed. ``Client(url)`` as constructed by default builds two fresh
httpx clients per call (the POST that queues the job, and the event stream that returns it), and
each loads the CA certificate bundle for TLS: about 20 ms each on this machine, even for an
``http://`` URL that never uses TLS. ``Client(url, ssl_verify=False)`` skips that load; over plain
``http://`` there is nothing to verify, so it is what webui/API.md recommends for a local app.
Either way gradio_client checks for the result every 50 ms (``stream_sse_v1plus``), so its
latency moves in 50 ms steps. The same queries are also sent as plain HTTP (what curl does) and
run on the engine alone (no server), to show where the time goes, and through the REST route
(``GET /api/search``: one request, one JSON answer). The batch sizes the model saw come from the
app's ``/api/info`` (one at a time, they are all 1). The bar: p50 under 100 ms.

    python benchmarks/bench_query_latency.py                    # 10k and 100k vectors
    python benchmarks/bench_query_latency.py --sizes 10000 --queries 30
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from _common import ROOT, load_line, percentiles_ms, save_result, table  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from clipsearch import ModelSpec, SearchEngine  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from clipsearch.stores import ImageRecord, WriteBatch, open_store  # noqa: E402
from testsupport.net import free_port  # noqa: E402

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


@contextlib.contextmanager
def serve(index_dir: Path, cache_dir: Path, threads: int | None = None,
          timeout: float = 300.0, root: Path = ROOT) -> Iterator[str]:
    """Run ``python -m webui`` over ``index_dir`` in its own process, as a user does; yields its URL.

    A server in the benchmark's own process would share one interpreter lock with the clients
    being timed, and run with settings the command line does not use. ``root``: the checkout
    whose web app runs (another release's, to compare in one run).
    """
    with serve_process(index_dir, cache_dir, threads, timeout, root) as (url, _):
        yield url


@contextlib.contextmanager
def serve_process(index_dir: Path, cache_dir: Path, threads: int | None = None, timeout: float = 300.0,
                  root: Path = ROOT, app: list[str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``serve``, yielding the URL and the server's process (to read its memory). ``app``: another
    program to serve in its place (its arguments; it is given ``--port``), such as ``idle_app.py``."""
    port = free_port()
    if app:
        command = [sys.executable, *app, "--port", str(port)]
    else:
        command = [sys.executable, "-m", "webui", "--index", str(index_dir), "--port", str(port)]
        if threads:
            command += ["--threads", str(threads)]
    env = {**os.environ, "CLIPSEARCH_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(root)}
    log_path = cache_dir.parent / f"webui-{port}.log"
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the web app exited with {server.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the web app did not answer in {timeout:.0f} s (log: {log_path})")
            time.sleep(0.5)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def http_data(text: str, k: int = 20) -> list[object]:
    """The ``data`` a plain HTTP call to ``/search_text`` posts: every input the endpoint takes, as
    webui/API.md's curl example sends them (``folder``, ``since``, ``until`` empty: no filter), so
    the call timed is the one documented (the release this was written for refused a shorter list)."""
    return [text, k, 0.0, "", "", ""]


def time_calls(call, texts: list[str], warmup: int) -> list[float]:
    """Seconds per call of ``call(text)``, after ``warmup`` untimed calls."""
    for text in texts[:warmup]:
        call(text)
    durations = []
    for text in texts[warmup:]:
        started = time.perf_counter()
        call(text)
        durations.append(time.perf_counter() - started)
    return durations


def measure(size: int, encoder, work: Path, n_queries: int, warmup: int, threads: int | None) -> list[str]:
    """One table row: build an index, serve it, query it through each client, then the engine alone."""
    from gradio_client import Client

    index_dir = work / f"index-{size}"
    build_s = build_index(index_dir, encoder, size)
    texts = queries(warmup + n_queries, seed=size)

    def through(client):
        def call(text: str) -> None:
            hits = client.predict(text, 20, 0.0, api_name="/search_text")
            assert len(hits) == 20, hits
        return call

    def over_http(http: httpx.Client):
        def call(text: str) -> None:
            event = http.post("call/search_text", json={"data": http_data(text)}).json()["event_id"]
            stream = http.get(f"call/search_text/{event}").text
            assert "event: complete" in stream, stream
        return call

    def over_rest(http: httpx.Client):
        def call(text: str) -> None:
            answer = http.get("api/search", params={"q": text, "k": 20})
            assert answer.status_code == 200 and len(answer.json()["results"]) == 20, answer.text
        return call

    columns = []
    with serve(index_dir, work / "cache", threads) as url:
        for ssl_verify in (True, False):
            client = Client(url, verbose=False, ssl_verify=ssl_verify)
            columns.append(time_calls(through(client), texts, warmup))
            client.close()
        with httpx.Client(base_url=url + "gradio_api/", timeout=60) as http:
            columns.append(time_calls(over_http(http), texts, warmup))
        with httpx.Client(base_url=url, timeout=60) as http:
            columns.append(time_calls(over_rest(http), texts, warmup))
            batches = http.get("api/info").json()["batches"].get("text", {})
    engine = SearchEngine(encoder, open_store(index_dir, encoder.stamp))
    try:
        columns.append(time_calls(lambda text: engine.search_text(text, k=20), texts, warmup))
    finally:
        engine.close()
    row = [f"{size:,}"]
    for durations in columns:
        p50, p95 = percentiles_ms(durations, (50, 95))
        row += [f"{p50:.1f}", f"{p95:.1f}"]
    sizes = " ".join(f"{size}:{n}" for size, n in sorted(batches.items(), key=lambda kv: int(kv[0])))
    return row + [f"{build_s:.0f} s", sizes or "-"]


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
            rows.append(measure(size, encoder, Path(tmp), args.queries, args.warmup, args.threads))
    headers = ["vectors", "gradio_client p50", "gradio_client p95", "ssl_verify=False p50", "ssl_verify=False p95",
               "HTTP /call p50", "HTTP /call p95", "REST p50", "REST p95", "engine p50", "engine p95", "index build",
               "text batch sizes seen (size:calls)"]
    text = (f"Text-query latency in ms, ViT-B-32 (random weights) on {encoder.device}, k=20, "
            f"{args.queries} queries per size, one at a time: through gradio_client /search_text "
            f"(Client(url), then Client(url, ssl_verify=False)), "
            f"through plain HTTP (POST /gradio_api/call/search_text + its event stream), through the "
            f"REST route (GET /api/search), and the engine alone (no server). Bar: p50 < {BAR_MS:.0f} ms.\n\n"
            f"{table(headers, rows)}\n\nMachine before: {before}\nMachine after: {load_line()}\n")
    print(text)
    save_result("query_latency.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
