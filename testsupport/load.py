"""A bounded load generator for the web app: N gradio_client clients, mixed text and image queries.

Used by the load test (short, asserts zero errors) and by benchmarks/bench_load.py (longer, prints
latencies). Requests go only to the given local URL, and every loop is bounded in time and count.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"text": [], "image": []})
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def percentile(self, kind: str | None, q: float) -> float:
        values = sorted(self.latencies[kind] if kind else sum(self.latencies.values(), []))
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

    def table_row(self) -> str:
        return (f"| {self.clients} | {self.seconds:.0f} s | {self.requests} | "
                f"{self.requests / self.seconds:.1f} | {1000 * self.percentile('text', 50):.0f} / "
                f"{1000 * self.percentile('text', 99):.0f} | {1000 * self.percentile('image', 50):.0f} / "
                f"{1000 * self.percentile('image', 99):.0f} | {len(self.errors)} |")


TABLE_HEADER = ("| clients | duration | requests | requests/s | text p50 / p99 ms | image p50 / p99 ms | errors |\n"
                "|---:|---:|---:|---:|---:|---:|---:|")


def run_load(url: str, texts: list[str], images: list[str], *, clients: int = 8, seconds: float = 10.0,
             max_requests_per_client: int = 10_000) -> LoadResult:
    """Hammer ``url`` (a local server) with ``clients`` concurrent clients for ``seconds``."""
    from gradio_client import Client, handle_file

    assert url.startswith(("http://127.0.0.1:", "http://localhost:")), "load goes to this machine only"
    result = LoadResult(clients, seconds)
    lock = threading.Lock()
    connected = [Client(url, verbose=False) for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def client_loop(index: int, client) -> None:
        start.wait()
        deadline = time.monotonic() + seconds
        for n in range(max_requests_per_client):
            if time.monotonic() >= deadline:
                break
            use_image = images and (n + index) % 3 == 0
            began = time.perf_counter()
            try:
                if use_image:
                    hits = client.predict(handle_file(images[(n + index) % len(images)]), 10,
                                          api_name="/search_image")
                else:
                    hits = client.predict(texts[(n + index) % len(texts)], 10, 0.0, api_name="/search_text")
                if not hits:
                    raise AssertionError("no results")
            except Exception as exc:  # every failure is counted and reported
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                result.latencies["image" if use_image else "text"].append(time.perf_counter() - began)

    threads = [threading.Thread(target=client_loop, args=(i, c)) for i, c in enumerate(connected)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(seconds + 120)
    result.seconds = time.monotonic() - began
    return result
