"""Load: one client, then ``--clients`` concurrent clients (8), text and mixed queries, on each route.

    python benchmarks/bench_load.py                          # ViT-B-32 (random weights), 10k vectors, 20 s
    python benchmarks/bench_load.py --seconds 10 --size 10000
    git worktree add /tmp/previous 39c03c8                   # the release before (any checkout)
    python benchmarks/bench_load.py --baseline /tmp/previous # both releases, in one run
    python benchmarks/bench_load.py --baseline /tmp/previous --rounds 2 --seconds 10
    python benchmarks/bench_load.py --baseline /tmp/previous --rounds 2 --ceiling

(From a second checkout while another one is installed with ``pip install -e``, put this one first:
``PYTHONPATH=. python benchmarks/bench_load.py ...``.)

The index is random unit vectors written straight into the store (bench_query_latency's builder),
stamped with ViT-B-32; every query runs the real model (text tower, or decode + image tower for an
uploaded 1024x768 JPEG) and the HNSW search. The server is ``python -m webui`` in its own process,
as a user runs it; with ``--baseline`` the previous release's web app is served from that checkout
over the same index, in the same run, so the ratios compare like with like on a busy machine.

Routes: Gradio's call API (gradio_client on /search_text and /search_image, ssl_verify=False),
and the REST route (/api/search, plain HTTP), where the release has it. Every answer under load is
checked against the answer the server gave the same query alone ("mixed-up": a query answered
with another's results). Prints the table, the ratios against the baseline, and the batch sizes
the model saw (callers per model call) during each load run, and the server's CPU per request
answered under load. Requests go to 127.0.0.1 only.

``--ceiling`` also loads ``idle_app.py`` each round: Gradio's call API set up as the web app sets
it up, with an endpoint that answers at once. Its throughput under the same clients is the most
that any build of the web app can reach through the call API on that machine (its ratio to the
previous release says whether a goal stated as such a ratio can be met there at all).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx  # noqa: E402
from _common import ROOT, load_line, percentiles_ms, save_result, table  # noqa: E402
from bench_query_latency import build_index, queries, serve_process  # noqa: E402

from clipsearch import ModelSpec  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from clipsearch.memory import settle_loaded_objects  # noqa: E402
from testsupport.imagefactory import photo  # noqa: E402
from testsupport.load import reference_answers, run_load, time_one_at_a_time  # noqa: E402

REST_SECONDS = 10.0  # how long the app is left alone to measure its CPU at rest
IDLE_APP = Path(__file__).resolve().parent / "idle_app.py"
IDLE = "Gradio alone (answers at once)"


def headers(clients: int) -> list[str]:
    """The table's columns; the throughput column names the ``--clients`` it was measured with."""
    return ["release", "route", "queries", "one client p50 ms", f"{clients} clients req/s", "text p50 / p99 ms",
            "image p50 / p99 ms", "all p99 ms", "errors", "mixed-up", "server peak RSS", "batch sizes seen",
            "server CPU ms / request"]


def peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_at_rest(pid: int, seconds: float = REST_SECONDS) -> float:
    """The share of one core a served app uses while nobody asks it anything."""
    time.sleep(2.0)  # past its start-up
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def batch_counts(url: str) -> dict[str, dict[str, int]]:
    """Callers per model call so far, from the app's /api/info (empty for a release without it)."""
    try:
        answer = httpx.get(url + "api/info", timeout=30)
        return answer.json().get("batches", {}) if answer.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}


def batches_between(before: dict, after: dict) -> str:
    parts = []
    for kind in ("text", "image"):
        seen = {int(size): n - before.get(kind, {}).get(size, 0) for size, n in after.get(kind, {}).items()}
        seen = {size: n for size, n in sorted(seen.items()) if n > 0}
        if seen:
            calls = sum(seen.values())
            mean = sum(size * n for size, n in seen.items()) / calls
            parts.append(f"{kind}: {calls} calls, mean {mean:.1f}, max {max(seen)}")
    return "; ".join(parts) or "-"


def measure_release(label: str, root: Path, index: Path, work: Path, texts: list[str], images: list[str],
                    args) -> tuple[list[list[str]], dict]:
    """Rows for one release: each route, one client then ``args.clients``, for each query mix."""
    rows, numbers = [], {}
    with serve_process(index, work / f"cache-{label.split()[0]}", args.threads, root=root) as (url, server):
        numbers["at rest"] = cpu_at_rest(server.pid)
        routes = ["gradio"] + (["rest"] if httpx.get(url + "api/info", timeout=30).status_code == 200 else [])
        for route in routes:
            print(f"{label}: {route} ...", file=sys.stderr, flush=True)
            single = percentiles_ms(time_one_at_a_time(url, route, queries(args.single + 3, seed=7)), (50,))[0]
            expected = reference_answers(url, route, texts, images)
            for mix in args.mix:
                before, cpu_before = batch_counts(url), cpu_seconds(server.pid)
                result = run_load(url, texts, images if mix == "mixed" else [], clients=args.clients,
                                  seconds=args.seconds, route=route, expected=expected)
                cpu = _per_request(cpu_seconds(server.pid) - cpu_before, result)
                batches = batches_between(before, batch_counts(url))
                every = sorted(result.latencies["text"] + result.latencies["image"])
                p99_all = percentiles_ms(every, (99,))[0]
                numbers[(route, mix)] = {"single": single, "rps": result.throughput, "p99": p99_all}
                rows.append([label, route, mix, f"{single:.0f}", f"{result.throughput:.1f}",
                             _pair(result, "text"), _pair(result, "image"), f"{p99_all:.0f}",
                             str(len(result.errors)), str(len(result.wrong)), "", batches, cpu])
                for error in result.errors[:3]:
                    print(f"{label} {route} {mix} error: {error}", file=sys.stderr)
                for query in sorted(set(result.wrong))[:5]:
                    print(f"{label} {route} {mix} mixed-up: {query!r}", file=sys.stderr)
        peak = f"{peak_rss_mb(server.pid):.0f} MB"
        for row in rows:
            row[10] = peak
    return rows, numbers


def measure_idle(label: str, work: Path, texts: list[str], args) -> tuple[list[str], dict]:
    """The row of ``idle_app.py`` (the call API answering at once), loaded as a release is."""
    with serve_process(work / "index", work / "cache-idle", root=ROOT, app=[str(IDLE_APP)]) as (url, server):
        print(f"{label}: gradio ...", file=sys.stderr, flush=True)
        single = percentiles_ms(time_one_at_a_time(url, "gradio", queries(args.single + 3, seed=7)), (50,))[0]
        cpu_before = cpu_seconds(server.pid)
        result = run_load(url, texts, [], clients=args.clients, seconds=args.seconds, route="gradio")
        cpu = _per_request(cpu_seconds(server.pid) - cpu_before, result)
        p99 = percentiles_ms(sorted(result.latencies["text"]), (99,))[0]
        row = [label, "gradio", "text", f"{single:.0f}", f"{result.throughput:.1f}", _pair(result, "text"), "-",
               f"{p99:.0f}", str(len(result.errors)), "-", f"{peak_rss_mb(server.pid):.0f} MB", "-", cpu]
    for error in result.errors[:3]:
        print(f"{label} error: {error}", file=sys.stderr)
    return row, {"single": single, "rps": result.throughput, "p99": p99}


def _per_request(cpu: float, result) -> str:
    answered = len(result.latencies["text"]) + len(result.latencies["image"])
    return f"{1000 * cpu / answered:.1f}" if answered else "-"


def _pair(result, kind: str) -> str:
    if not result.latencies[kind]:
        return "-"
    return f"{1000 * result.percentile(kind, 50):.0f} / {1000 * result.percentile(kind, 99):.0f}"


def ratios(rounds: list[tuple[dict, dict]], mixes: list[str]) -> str:
    """Ratios now / before, per round (each round serves both releases back to back) and the median."""
    measures = [("gradio", "rps", "call API, {n} clients, throughput", ">= 2.5x"),
                ("gradio", "p99", "call API, {n} clients, p99", "<= 0.5x"),
                ("gradio", "single", "call API, one client, text p50", "<= 1x"),
                ("rest", "rps", "REST, {n} clients, throughput vs old call API", ">= 4x"),
                ("rest", "single", "REST, one client, text p50 vs old call API", "<= 0.6x"),
                ("idle", "rps", "call API answering at once (idle_app.py), {n} clients, throughput: "
                 "the most any build can reach here", "-")]
    lines = ["| queries | measure | ratio now / before, by round | median | goal |", "|---|---|---|---:|---|"]
    for mix in mixes:
        for route, key, label, goal in measures:
            values = [now[(route, mix)][key] / before[("gradio", mix)][key]
                      for before, now in rounds if (route, mix) in now and ("gradio", mix) in before]
            if values:
                listed = ", ".join(f"{v:.2f}" for v in values)
                lines.append(f"| {mix} | {label} | {listed} | {statistics.median(values):.2f}x | {goal} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", type=int, default=10_000, help="indexed vectors (default 10000)")
    parser.add_argument("--single", type=int, default=40, help="queries timed one at a time (default 40)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--mix", nargs="+", choices=["text", "mixed"], default=["text", "mixed"],
                        help="query mixes under load: text only, and/or a third 1024x768 JPEG uploads")
    parser.add_argument("--rounds", type=int, default=1,
                        help="serve the releases in turn this many times (a busy machine drifts; default 1)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a checkout of the previous release, served over the same index first")
    parser.add_argument("--ceiling", action="store_true",
                        help="also load idle_app.py each round (the call API answering at once, text only): "
                             "the throughput no build can pass on this machine")
    args = parser.parse_args(argv)
    encoder = load_encoder(ModelSpec(name="ViT-B-32", pretrained=None, threads=args.threads))
    before_load = load_line()
    rows, numbers = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        build_index(work / "index", encoder, args.size)
        images = []
        for i in range(6):
            path = work / f"query{i}.jpg"
            photo(1024, 768, seed=i).save(path, quality=90)
            images.append(str(path))
        texts = queries(40)
        # The clients' own process holds torch and gradio_client: its full garbage-collector
        # passes (0.2 s here) would stop every client at once and land in either release's times.
        settle_loaded_objects()
        releases = ([("before", args.baseline.resolve())] if args.baseline else []) + [("now", ROOT)]
        rounds, at_rest = [], []
        for number in range(1, args.rounds + 1):
            for label, root in releases:
                name = f"{label} (round {number})" if args.rounds > 1 else label
                release_rows, numbers[label] = measure_release(name, root, work / "index", work, texts,
                                                               images, args)
                rows += release_rows
                at_rest.append(f"{name} {100 * numbers[label]['at rest']:.1f}%")
            if args.ceiling and "text" in args.mix:
                idle_name = f"{IDLE} (round {number})" if args.rounds > 1 else IDLE
                idle_row, numbers["now"][("idle", "text")] = measure_idle(idle_name, work, texts, args)
                rows.append(idle_row)
            rounds.append((numbers.get("before"), numbers["now"]))
    text = (f"Load, ViT-B-32 ({encoder.precision}, random weights), {args.size:,} vectors, "
            f"{args.clients} clients for {args.seconds:.0f} s per route and query mix (text: text queries only; "
            f"mixed: a third are 1024x768 JPEG uploads); one client: {args.single} text queries, one at a time.\n\nMachine before: {before_load}\n\n"
            f"{table(headers(args.clients), rows)}\n\n"
            f"Server CPU at rest ({REST_SECONDS:.0f} s with nobody asking), share of one core: {', '.join(at_rest)}\n\n")
    if args.baseline:
        text += ratios(rounds, args.mix).replace("{n}", str(args.clients)) + "\n\n"
    text += f"Machine after: {load_line()}\n"
    print(text)
    save_result("load.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
