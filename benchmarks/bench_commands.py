"""How long the commands a person or cron runs take, whole, each in its own process.

    python benchmarks/bench_commands.py                  # ViT-B-32 with random weights, 200 photos
    python benchmarks/bench_commands.py --model demo --runs 5

Each row is a command as a terminal runs it, from its start to its exit, Python's own start-up
and imports included (wall time; the median and the range of ``--runs`` runs):
- ``python -m indexer LIB`` with nothing changed, then after a folder of the library was renamed
  (every one of its photos a move: no model needed), then with one new photo (the model loads);
- ``python -m clipsearch search`` in its own process, and with ``--server`` asking a running
  ``python -m webui`` over the same index.
ViT-B-32 with random weights costs what the pretrained one costs to load and run (only the weights
file's read from disk is missing); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, load_line, save_result, table
from PIL import Image

from clipsearch.demo import make_sample_library
from testsupport.net import free_port

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
       "HF_HUB_DISABLE_TELEMETRY": "1"}


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *command], env=ENV, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def row(what: str, seconds: list[float], note: str) -> list[str]:
    return [what, f"{statistics.median(seconds):.2f} s", f"{min(seconds):.2f}-{max(seconds):.2f} s", note]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="ViT-B-32", help="'demo' for the bundled model")
    args = parser.parse_args()
    model = ["--model", args.model] + ([] if args.model == "demo" else ["--pretrained", "none"])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as temp:
        library, index = Path(temp) / "photos", Path(temp) / "index"
        make_sample_library(library, n=args.photos, seed=0)
        moved = sorted(p for p in library.iterdir() if p.is_dir())[0]
        count = sum(1 for p in moved.rglob("*") if p.is_file())
        timed(["-m", "indexer", str(library), "--index", str(index), *model, "-q"])
        load = load_line()
        indexer = ["-m", "indexer", str(library), "--index", str(index), "--json", "-q"]
        unchanged = [timed(indexer)[0] for _ in range(args.runs)]
        moves = []
        for i in range(args.runs):
            moved = moved.rename(moved.with_name(f"{moved.name}-{i}"))
            seconds, out = timed(indexer)
            assert json.loads(out)["moved"] == count and json.loads(out)["embedded"] == 0, out
            moves.append(seconds)
        new = []
        for i in range(args.runs):
            Image.new("RGB", (320 + i, 240), (40 * i, 120, 200)).save(library / f"new-{i}.jpg")
            seconds, out = timed(indexer)
            assert json.loads(out)["embedded"] >= 1, out
            new.append(seconds)
        rows += [row("indexer, nothing changed", unchanged, "a stat per file"),
                 row(f"indexer, a folder renamed ({count} moves)", moves, "no model loaded"),
                 row("indexer, one new photo", new, "the model loads, embeds it")]
        search = ["-m", "clipsearch", "search", "a red circle", "--index", str(index)]
        local = [timed(search)[0] for _ in range(args.runs)]
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "webui", "--index", str(index), "--port", str(port)],
                                  env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "api/info", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(1)
            remote = [timed([*search, "--server", url])[0] for _ in range(args.runs)]
        finally:
            server.terminate()
            server.wait(60)
        rows += [row("clipsearch search", local, "imports torch, loads the model"),
                 row("clipsearch search --server", remote, "the running web app answers")]
    text = "\n".join([
        f"Commands, whole, each in its own process · {args.model}"
        f"{'' if args.model == 'demo' else ' (random weights)'}, {args.photos} photos, {args.runs} runs each · {load}",
        "", table(["command", "median", "range", "what it does"], rows)])
    print(text)
    save_result("commands.md", text + "\n")


if __name__ == "__main__":
    main()
