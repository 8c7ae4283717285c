"""Search by a part of a picture: what a box around one object finds, against the whole picture.

    python benchmarks/bench_region.py [--n 400] [--seed 0] [--queries 60] [--k 5]

Renders the sample library and indexes it with the offline demo model (as bench_demo_quality.py).
Each query picture is four objects of the library, each rendered alone on a background of its own
and tiled two by two; one of them is the target. Searched with:
- the whole picture (what a search without a box does);
- a box on the target's tile, exactly (a box drawn with care);
- a loose box: the tile and 5% of the picture's side more on each side, into its neighbours;
- a box over the target's half of the picture (two of the four objects).
For each, precision@k: the share of the k best results that hold the target (its colour and
shape), and the share that hold one of the three other objects and not the target. Prints a
markdown table with the machine's load. Not a test: tests/integration/test_region_search.py
asserts the behaviour.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from benchmarks._common import load_line, table  # noqa: E402
from clipsearch import ModelSpec, Region, SearchEngine, Settings  # noqa: E402
from clipsearch.demo import make_sample_library  # noqa: E402
from clipsearch.demo.quality import load_truth  # noqa: E402
from clipsearch.demo.render import BACKGROUNDS, Scene, SceneObject, render_scene  # noqa: E402

TILE = 192


def query_picture(objects: list[tuple[str, str]], rng: random.Random) -> Image.Image:
    """The four objects, each alone on a background of its own, two by two."""
    picture = Image.new("RGB", (2 * TILE, 2 * TILE))
    for place, (colour, shape) in enumerate(objects):
        background = rng.choice([b for b in BACKGROUNDS if b != colour])
        tile = render_scene(Scene((SceneObject(colour, shape),), background), TILE, rng)
        picture.paste(tile, ((place % 2) * TILE, (place // 2) * TILE))
    return picture


def boxes(place: int) -> dict[str, Region | None]:
    """The ways of searching with the target at ``place`` (0-3, row by row)."""
    left, top = (place % 2) / 2, (place // 2) / 2
    loose = 0.05
    return {
        "the whole picture": None,
        "a box on the target's tile": Region(left, top, left + 0.5, top + 0.5),
        "a loose box (5% into its neighbours)": Region(max(0.0, left - loose), max(0.0, top - loose),
                                                      min(1.0, left + 0.5 + loose), min(1.0, top + 0.5 + loose)),
        "the target's half (two objects)": Region(left, 0.0, left + 0.5, 1.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400, help="pictures in the library (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="library seed (default 0)")
    parser.add_argument("--queries", type=int, default=60, help="query pictures (default 60)")
    parser.add_argument("--k", type=int, default=5, help="results looked at per query (default 5)")
    args = parser.parse_args()
    before = load_line()
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "photos"
        make_sample_library(library, n=args.n, seed=args.seed)
        truth = {path: set(objects) for path, objects in load_truth(library).items()}
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache", model=ModelSpec("demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        present = sorted({obj for objects in truth.values() for obj in objects})
        rng = random.Random(args.seed + 1)
        hits: dict[str, list[float]] = {}
        others: dict[str, list[float]] = {}
        started = time.monotonic()
        for _ in range(args.queries):
            objects = rng.sample(present, 4)
            place = rng.randrange(4)
            target, rest = objects[place], set(objects) - {objects[place]}
            picture = query_picture(objects, rng)
            for name, region in boxes(place).items():
                found = engine.search_image(picture, k=args.k, region=region, cutoff=None)
                held = [truth[hit.path] for hit in found]
                hits.setdefault(name, []).append(sum(target in objs for objs in held) / args.k)
                others.setdefault(name, []).append(sum(bool(objs & rest) and target not in objs
                                                       for objs in held) / args.k)
        took = time.monotonic() - started
        engine.close()
    rows = [[name, f"{sum(hits[name]) / len(hits[name]):.2f}", f"{sum(others[name]) / len(others[name]):.2f}"]
            for name in hits]
    print(f"{args.queries} query pictures of four objects each, library of {args.n} (seed {args.seed}), "
          f"demo model, k={args.k}; {took:.0f} s for {args.queries * len(rows)} searches.\n")
    print(table(["searched with", f"precision@{args.k}: the target", "another of the four, not the target"],
                rows))
    print(f"\nMachine before: {before}\nMachine after: {load_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
