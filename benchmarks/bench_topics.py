"""Topics: how well each group is named, on rendered libraries, and how long grouping takes.

    python benchmarks/bench_topics.py [--seeds 0-4] [--n 400] [--photos 100000]

Naming: renders the sample library for each seed, indexes it with the offline demo model, and
groups it with the demo model's own vocabulary (every colour and shape, "a red circle"). For each
library: the share of photos whose topic's name gives the shape most of that topic's photos hold,
the colour most of them hold, either, and both. Speed: ``find_topics`` over random unit vectors of
ViT-B-32's width (512) and the default vocabulary's size (grouping costs the same whatever the
vectors mean; naming is one matrix product), and reading the vectors from a store of that many.
The words' own embedding (one text batch, about 300 prompts) is the model's and not timed here.
Prints markdown tables with the machine's load. Not a
test: tests/integration/test_topics.py asserts the behaviour.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks._common import load_line, table  # noqa: E402
from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.demo import DEMO_WORDS, make_sample_library  # noqa: E402
from clipsearch.demo.quality import load_truth  # noqa: E402
from clipsearch.topics import default_words, find_topics, topic_count  # noqa: E402


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def naming(seed: int, n: int, root: Path) -> list[object]:
    library = root / f"library-{seed}"
    make_sample_library(library, n=n, seed=seed)
    settings = Settings(index_dir=root / f"index-{seed}", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.index_folder(library)
        truth = load_truth(library)
        topics = engine.topics(words=DEMO_WORDS)
    finally:
        engine.close()
    counts = Counter()
    for topic in topics:
        _, colour, shape = topic.name.split(" ")
        colours = Counter(c for p in topic.paths for c in {c for c, _ in truth[p]})
        shapes = Counter(s for p in topic.paths for s in {s for _, s in truth[p]})
        right = (shape == shapes.most_common(1)[0][0], colour == colours.most_common(1)[0][0])
        counts["shape"] += topic.size * right[0]
        counts["colour"] += topic.size * right[1]
        counts["either"] += topic.size * any(right)
        counts["both"] += topic.size * all(right)
    total = sum(t.size for t in topics)
    return [seed, total, len(topics), *(f"{counts[key] / total:.2f}" for key in ("shape", "colour", "either", "both"))]


def speed(photos: int) -> list[object]:
    rng = np.random.default_rng(0)
    words = default_words()
    # Vectors in groups, as a library's are (random ones have none to find): 200 centres, spread.
    centres = rng.normal(size=(200, 512)).astype(np.float32)
    vectors = centres[rng.integers(200, size=photos)] + rng.normal(size=(photos, 512)).astype(np.float32) * 0.05
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    word_vectors = rng.normal(size=(len(words), 512)).astype(np.float32)
    word_vectors /= np.linalg.norm(word_vectors, axis=1, keepdims=True)
    paths = [f"/photos/{i}.jpg" for i in range(photos)]
    started = time.perf_counter()
    topics = find_topics(paths, vectors, words, word_vectors)
    return [f"{photos:,}", len(topics), f"{time.perf_counter() - started:.2f} s"]


def reading(photos: int) -> list[object]:
    """How long a topics pass reads the index's vectors (``TopicFinding.topics``: every record,
    then the vectors by fingerprint), from a store of ``photos`` random vectors."""
    from clipsearch.stores import ImageRecord, WriteBatch, open_store

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        stamp = {"model": "synthetic", "pretrained": None, "dim": 512, "image_size": 224, "preprocess": {}}
        store = open_store(Path(tmp) / "index", stamp, create=True)
        for start in range(0, photos, 10_000):
            vectors = rng.standard_normal((min(10_000, photos - start), 512)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.write(WriteBatch(put=[(ImageRecord(f"/photos/{start + i:07d}.jpg", 1000, 0, f"fp{start + i}",
                                                     640, 480), v) for i, v in enumerate(vectors)]))
        started = time.perf_counter()
        records = list(store.records())
        found = store.vectors_by_fingerprint(sorted({r.fingerprint for r in records}))
        took = time.perf_counter() - started
        store.close()
    return [f"{photos:,}", f"{len(found):,}", f"{took:.2f} s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-4", help="sample libraries to render (default 0-4)")
    parser.add_argument("--n", type=int, default=400, help="pictures in each (default 400)")
    parser.add_argument("--photos", type=int, action="append", help="vectors to group for speed "
                        "(repeatable; default 10,000 and 100,000)")
    args = parser.parse_args()
    print(load_line())
    with tempfile.TemporaryDirectory() as root:
        rows = [naming(seed, args.n, Path(root)) for seed in seeds(args.seeds)]
    print("\nHow well topics are named (demo model, its own vocabulary; share of photos whose topic's name "
          f"gives its photos' commonest ...; {topic_count(args.n)} topics for {args.n} pictures):\n")
    print(table(["seed", "photos", "topics", "shape", "colour", "either", "both"], rows))
    print("\nHow long grouping takes (random grouped vectors, 512 wide; the default vocabulary's size):\n")
    sizes = args.photos or (10_000, 100_000)
    print(table(["photos", "topics", "grouping and naming"], [speed(n) for n in sizes]))
    print("\nHow long reading the vectors takes (an HNSW store of random vectors; SQLite):\n")
    print(table(["photos", "vectors read", "reading"], [reading(n) for n in sizes]))
    print(load_line())


if __name__ == "__main__":
    main()
