"""Peak memory of the indexer on big phone photos (250 MP JPEGs), with two decode threads.

    python benchmarks/bench_big_photos.py                 # 4 photos of 18256x13696, ~30 MB each
    python benchmarks/bench_big_photos.py --photos 8 --workers 4

The photos are real baseline JPEGs of full size, made without holding their pixels (see
``big_jpeg``); ``--detail`` sets their noise and so their file size (6: about a real 200 MP
photo's 30 MB). The indexer runs as a user runs it, ``python -m indexer``, in its own process,
with the bundled demo model; the peak is that process's own high-water mark (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, load_line, save_result, table

from testsupport.imagefactory import big_jpeg
from testsupport.memory import MEASURED_INDEXER_RUN, peak_rss_mb

# VmHWM starts afresh at exec; ru_maxrss would count the parent's pages at fork time.


def jpeg_side(text: str) -> int:
    """A width or height ``big_jpeg`` can write (it writes whole 16-pixel rows and columns of
    blocks), refused as a usage error before any photo is made."""
    side = int(text) if text.strip().isdigit() else 0
    if side <= 0 or side % 16 or side > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a multiple of 16 from 16 to 65535")
    return side


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--width", type=jpeg_side, default=18256, help="a multiple of 16 (default 18256)")
    parser.add_argument("--height", type=jpeg_side, default=13696, help="a multiple of 16 (default 13696)")
    parser.add_argument("--detail", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-big-") as temp:
        folder = Path(temp) / "photos"
        for seed in range(args.photos):
            big_jpeg(folder / f"phone-{seed}.jpg", args.width, args.height, seed=seed, detail=args.detail)
        file_mb = sum(p.stat().st_size for p in folder.iterdir()) / args.photos / 1e6
        load = load_line()
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", MEASURED_INDEXER_RUN, str(folder), "--index", str(Path(temp) / "index"),
             "--model", "demo", "--workers", str(args.workers), "--json", "-q"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"the indexer failed:\n{result.stderr[-3000:]}")
    peak_mb = peak_rss_mb(result.stderr)
    megapixels = args.width * args.height / 1e6
    text = "\n".join([
        f"Indexer peak memory on big photos · {load}",
        "",
        table(["photos", "size", "file (avg)", "decode threads", "peak RSS", "wall time"],
              [[args.photos, f"{args.width}x{args.height} ({megapixels:.0f} MP)", f"{file_mb:.0f} MB",
                args.workers, f"{peak_mb:.0f} MB", f"{seconds:.1f} s"]]),
        "",
        f"indexer summary: {result.stdout.strip()[:400]}",
    ])
    print(text)
    save_result("big_photos.md", text + "\n")


if __name__ == "__main__":
    main()
