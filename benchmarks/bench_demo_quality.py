"""What each kind of query achieves on the demo library with the demo model (README's figures).

    python benchmarks/bench_demo_quality.py [--n 300] [--seed 0] [--k 5]

Renders the sample library, indexes it with the offline demo model through the real engine, runs
every kind of query (text, two objects, concept arithmetic, negatives, image, image + text) and
prints a markdown table. Not a test: tests/integration/test_meaning.py asserts the levels.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import load_line  # noqa: E402

from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.demo import make_sample_library  # noqa: E402
from clipsearch.demo.quality import figures_table, measure  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="pictures in the library (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="library seed (default 0, as the tests)")
    parser.add_argument("--k", type=int, default=5, help="hits looked at per query (default 5)")
    args = parser.parse_args()
    print(f"Machine before: {load_line()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "photos"
        make_sample_library(library, n=args.n, seed=args.seed)
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache",
                            model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        started = time.monotonic()
        report = engine.index_folder(library)
        print(f"indexed {report.added} pictures in {time.monotonic() - started:.1f} s "
              f"(precision {engine.encoder.precision})\n")
        print(figures_table(measure(engine, library, k=args.k)))
        engine.close()
    print(f"\nMachine after: {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
