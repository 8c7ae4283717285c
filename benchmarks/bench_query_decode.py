"""What a query picture's decoding costs its caller, on a thread of its own or where it is asked for.

    python benchmarks/bench_query_decode.py [--rounds 100] [--busy 2]

The web app decodes an uploaded query picture under a time limit. On a thread it can abandon (what
every upload did), the thread's start and its result are hand-overs of the interpreter lock, each
waiting for the threads that hold it; a baseline JPEG or a PNG the server wrote is decoded where it
is asked for (``clipsearch.bounded_decode``). A 1024x768 JPEG (the size ``bench_load.py`` uploads),
decoded for ViT-B-32's 224 px input, each way in turn: alone, then beside ``--busy`` threads of pure
Python (what a server's request threads are, under load). Prints the machine's load beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import load_line, percentiles_ms, table  # noqa: E402
from clipsearch.bounded_decode import read_if_bounded  # noqa: E402
from clipsearch.region import query_picture  # noqa: E402

WAYS = {
    "on a thread of its own": lambda path: query_picture(path, None, 224, path="the upload", timeout=60.0),
    "where asked for (bounded)": lambda path: query_picture(read_if_bounded(path), None, 224, path="the upload",
                                                            timeout=60.0),
}


def picture(folder: Path) -> str:
    """A 1024x768 JPEG with a photo's smoothness (random noise would decode slower than photos do)."""
    noise = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    path = folder / "query.jpg"
    Image.fromarray(noise).resize((1024, 768), Image.Resampling.BICUBIC).save(path, quality=90)
    return str(path)


def spin(stop: threading.Event) -> None:
    """Pure Python until told to stop: holds the interpreter lock as a busy request thread does."""
    while not stop.is_set():
        sum(range(100))


def measure(path: str, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(rounds):
        for way, decode in WAYS.items():  # in turn, so that the machine's moments fall on both
            started = time.perf_counter()
            decode(path)
            times[way].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100, help="decodes each way, each setting (default 100)")
    parser.add_argument("--busy", type=int, default=2, help="busy Python threads beside it (default 2)")
    args = parser.parse_args()
    print(load_line())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = picture(Path(folder))
        for busy in (0, args.busy):
            stop = threading.Event()

            spinners = [threading.Thread(target=spin, args=(stop,), daemon=True) for _ in range(busy)]
            for thread in spinners:
                thread.start()
            try:
                for way, times in measure(path, args.rounds).items():
                    p50, p90, p99 = percentiles_ms(times, (50, 90, 99))
                    rows.append([busy, way, f"{p50:.1f}", f"{p90:.1f}", f"{p99:.1f}"])
            finally:
                stop.set()
                for thread in spinners:
                    thread.join()
    print(table(["busy Python threads", "decoded", "p50 ms", "p90 ms", "p99 ms"], rows))
    print(load_line())


if __name__ == "__main__":
    main()
