"""Videos searched by moment: how often a scene is found at its time, how fast videos are read,
and what the moments add to a query.

    python benchmarks/bench_videos.py [--seeds 0-2] [--clips 40] [--minutes 1] [--moments 100000]

Finding: renders ``--clips`` short clips a seed (alone, then beside ``--photos`` sample pictures) (four to six shots of 2-6 s each, one rendered
scene a shot: a random colour and shape on a random background), reads them with the demo model
(``VideoPass``), and searches each shot's full caption ("a red circle on a gray background"). A
caption is found when the first answer is a clip that shows it and its best moment lies inside
such a shot; the F1 of the videos the cut-off calls strong is against the videos that show the
caption (others show the same shape on another background, the same colour...); and 20 captions
no clip shows should keep nothing strong. Shapes ("a circle"), colours ("a red object") and
queries of two terms are searched too: "a circle - red" (a circle of another colour) and "a red
circle + a blue square" (either), eight of each. Words in moments: ``--word-clips`` clips with
a rendered sign in one shot, read with ``--ocr``; a word is found when its search's first answer
is that clip at that shot, saying it. Reading: one ``--minutes``
long 1280x720 H.264 clip at 30 frames a second (a new shot every 5 s), read with ViT-B-32 with
random weights (a pretrained one costs the same), with a keyframe every second (phones) and
every 10 s; the decoding and the embedding timed apart, then the pass as it runs (a batch
embedded while the next decodes) with the most memory it took beyond what was resident before
it (the frames it holds, the model's working memory). Query: ``--moments`` random unit vectors
of 512 dimensions, searched with the automatic cut-off, alone and as a query of three terms
(each other term's moments scored and cut too, as a composite query's are). Prints markdown tables with the
machine's load. Not a test: tests/integration/test_videos.py asserts the behaviour.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks._common import load_line, peak_rss_bytes, reset_peak_rss, rss_bytes  # noqa: E402
from benchmarks._common import table as _table  # noqa: E402
from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.cutoff import TOP_CANDIDATES, relevance_cutoff  # noqa: E402
from clipsearch.demo import make_sample_library, random_scene  # noqa: E402
from clipsearch.demo.clips import write_clip  # noqa: E402
from clipsearch.video_frames import read_video  # noqa: E402
from clipsearch.videoindex import VideoIndex, VideoRecord  # noqa: E402
from clipsearch.videopass import MOMENT_EVERY, VideoPass, distinct_moments  # noqa: E402
from clipsearch.videos import VideoSide  # noqa: E402


def table(rows: list[dict]) -> str:
    return _table(list(rows[0]), [list(row.values()) for row in rows])


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def finding(seed: int, clips: int, root: Path, photos: int = 0) -> dict:
    rng = random.Random(seed)
    library = root / f"clips-{seed}-{photos}"
    library.mkdir()
    if photos:  # the sample library's pictures beside the clips: moments are judged with them
        make_sample_library(library / "photos", n=photos, seed=seed)
    shots = []  # (clip path, start, end, scene)
    for number in range(clips):
        scenes = [random_scene(rng, 1) for _ in range(rng.randint(4, 6))]
        seconds = rng.choice((2.0, 4.0, 6.0))
        path = library / f"clip{number:02d}.mp4"
        for start, end, scene in write_clip(path, scenes, seconds_each=seconds, fps=10, size=192, seed=seed):
            shots.append((str(path), start, end, scene))
    settings = Settings(index_dir=root / f"index-{seed}-{photos}", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.set_video_reading(True)
        engine.index_folder(library)
        report = engine.read_videos()
        row = {"seed": seed, "photos": photos, "clips": clips, "shots": len(shots), "moments": report.moments}
        row.update(_kinds(engine, shots, clips))
        captions = {scene.caption for *_, scene in shots}
        absent = [c for c in dict.fromkeys(random_scene(rng, 1).caption for _ in range(400)) if c not in captions][:20]
        nothing = sum(not any(h.strong for h in engine.moments(caption, k=clips)) for caption in absent)
        row["absent scenes with nothing strong"] = f"{nothing} of {len(absent)}"
    finally:
        engine.close()
    return row


def _kinds(engine, shots: list, clips: int) -> dict:
    """Per kind of query, the share whose first answer shows it at its time, and the mean F1 of the
    videos called strong against the videos that show it."""
    def thing(scene):
        return scene.objects[0]

    kinds = {"scene": lambda sc: [sc.caption], "shape": lambda sc: [f"a {thing(sc).shape}"],
             "colour": lambda sc: [f"a {thing(sc).colour} object"]}
    out = {}
    for kind, queries_of in {**kinds, **_composite(shots)}.items():
        found, f1s = [], []
        for query in sorted({q for *_, scene in shots for q in queries_of(scene)}):
            right = [(p, s, e) for p, s, e, scene in shots if query in queries_of(scene)]
            if not right:
                continue
            hits = engine.moments(query, k=clips)
            top = hits[0] if hits else None
            found.append(bool(top and any(top.path == p and s <= top.at < e for p, s, e in right)))
            strong, holding = {h.path for h in hits if h.strong}, {p for p, _, _ in right}
            f1s.append(2 * len(strong & holding) / (len(strong) + len(holding)))
        out[f"{kind}: first at its time"] = f"{np.mean(found):.2f}"
        out[f"{kind}: F1 of strong videos"] = f"{np.mean(f1s):.2f}"
    return out


def _composite(shots: list) -> dict:
    """Queries of two terms, each kind a function from a shot's scene to the queries it answers:
    "a circle - red" (a circle of any other colour), and "a red circle + a blue square" (either),
    eight of each, drawn from the shots' own scenes."""
    rng = random.Random(len(shots))
    things = sorted({(s.objects[0].colour, s.objects[0].shape) for *_, s in shots})
    colours = sorted({c for c, _ in things})
    negatives = [(shape, rng.choice([c for c in colours if c != keep]))
                 for keep, shape in rng.sample(things, min(8, len(things)))]
    sums = [tuple(rng.sample(things, 2)) for _ in range(8)]

    def negative(scene):
        thing = scene.objects[0]
        return [f"a {shape} - {colour}" for shape, colour in negatives if thing.shape == shape and thing.colour != colour]

    def either(scene):
        thing = (scene.objects[0].colour, scene.objects[0].shape)
        return [f"a {a[0]} {a[1]} + a {b[0]} {b[1]}" for a, b in sums if thing in (a, b)]

    return {"negative": negative, "sum": either}


def words_found(seed: int, clips: int, root: Path) -> dict:
    """Clips with a sign in one shot (two words of the renderer's vocabulary, on a 960x720 frame,
    as a phone films a shop front), read with ``--ocr``: the share of the words whose search's first
    answer is that clip, at that shot, saying it."""
    from clipsearch.demo.textrender import WORDS, render_text_photo

    rng = random.Random(seed)
    library = root / f"words-{seed}"
    library.mkdir()
    placed = []  # (clip, start, end, word)
    for number in range(clips):
        picture, info = render_text_photo(rng.sample(WORDS, 2), rng, size=(960, 720))
        path = library / f"clip{number:02d}.mp4"
        shots = write_clip(path, [random_scene(rng, 1), picture, random_scene(rng, 1)], seconds_each=2.0, fps=5,
                           size=(960, 720), seed=seed)
        placed += [(str(path), shots[1][0], shots[1][1], w.word) for w in info.words]  # drawn: not all fit
    settings = Settings(index_dir=root / f"index-words-{seed}", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    try:
        engine.set_video_reading(True)
        engine.set_text_reading(True)
        engine.index_folder(library)
        report = engine.read_videos()
        found, asked = 0, sorted({word for *_, word in placed})
        for word in asked:  # a word on two clips' signs: either is right
            top = (engine.moments(word, k=3) or [None])[0]
            found += bool(top and top.words and any(top.path == path and start <= top.at < end
                                                    for path, start, end, said in placed if said == word))
    finally:
        engine.close()
    words = report.words
    return {"seed": seed, "clips": clips, "words": len(asked), "found first at their shot": found,
            "recall": f"{found / max(1, len(asked)):.2f}", "moments read": words.moments,
            "reading a moment's words, s": round(words.elapsed / max(1, words.moments), 2)}


def moving_clip(path: Path, minutes: float, gop_seconds: int) -> None:
    """A clip a decoder must work at: each 5 s shot pans by 2 px a frame, with sensor-like noise, at
    8 Mb/s (a still shot of a flat picture costs a decoder next to nothing)."""
    import av

    from clipsearch.demo.render import render_scene

    rng, noise = random.Random(7), np.random.default_rng(7)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"preset": "veryfast", "g": str(30 * gop_seconds),
                                                                   "x264-params": f"keyint={30 * gop_seconds}:scenecut=0"})
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.bit_rate = 8_000_000  # what phones and cameras write at 720p-1080p
        for _ in range(max(1, int(minutes * 60 / 5))):
            wide = np.asarray(render_scene(random_scene(rng), 1600, rng).resize((1600, 900)))
            for frame_number in range(150):
                shift = 2 * frame_number
                picture = wide[90:810, shift:shift + 1280].astype(np.int16)
                picture = np.clip(picture + noise.integers(-16, 17, picture.shape), 0, 255).astype(np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))


def reading(minutes: float, gop_seconds: int, root: Path, encoder) -> dict:
    """Decoding, then embedding, each timed alone; then the pass as it runs (``VideoPass``: a batch
    embedded while the next decodes)."""
    folder = root / f"gop{gop_seconds}"
    folder.mkdir()
    path = folder / "long.mp4"
    moving_clip(path, minutes, gop_seconds)
    started = time.perf_counter()
    facts, frames = read_video(str(path), every=MOMENT_EVERY, min_size=encoder.input_size)
    decoded = time.perf_counter() - started
    prepared = [encoder.prepare(f.image) for f in frames]
    vectors = np.concatenate([encoder.embed_prepared(prepared[i:i + 16]) for i in range(0, len(prepared), 16)])
    kept, sampled = distinct_moments([f.t for f in frames], vectors), len(frames)
    total = time.perf_counter() - started
    store = VideoIndex.open(root / f"index-gop{gop_seconds}", create=True)
    del frames, prepared
    gc.collect()
    before, measured = rss_bytes(), reset_peak_rss()
    started = time.perf_counter()
    report = VideoPass(store, encoder).run([str(folder)], [])
    passed = time.perf_counter() - started
    held = f"{(peak_rss_bytes() - before) / 1e6:.0f}" if measured else "?"
    store.close()
    assert report.read == 1 and report.moments == len(kept), report
    return {"keyframes": f"every {gop_seconds} s", "video s": round(facts.duration, 1),
            "MB": round(path.stat().st_size / 1e6, 1), "frames sampled": sampled, "moments kept*": len(kept),
            "decode s": round(decoded, 2), "embed s": round(total - decoded, 2), "one then the other s": round(total, 2),
            "the pass s": round(passed, 2), "x real time": round(facts.duration / passed, 1),
            "the pass's peak MB": held}


def query_cost(count: int, root: Path) -> dict:
    rng = np.random.default_rng(0)
    store = VideoIndex.open(root / "moments", create=True)
    vectors = rng.standard_normal((count, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    per_video = 100
    for start in range(0, count, per_video):
        record = VideoRecord(f"/videos/v{start:07d}.mp4", 1, 1, f"f{start:07d}", 200.0, 1280, 720)
        store.put(record, "2024-01-01T00:00:00", [(2.0 * i, v) for i, v in enumerate(vectors[start:start + per_video])])
    store.close()
    side = VideoSide(root / "moments")
    started = time.perf_counter()
    side.store().moments()
    load = time.perf_counter() - started

    def unit() -> np.ndarray:
        vector = rng.standard_normal(512).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def cut(scores, standing, moments):
        top, sample = standing(scores)
        return scores >= relevance_cutoff(top[:TOP_CANDIDATES], sample, len(moments.times)).threshold

    def terms_cut(terms):  # a query of several terms: each judged term scored and cut on its own too
        def matching(scores, standing, moments):
            strong = cut(scores, standing, moments)
            for term in terms:
                strong &= ~cut(moments.vectors @ term, standing, moments)
            return strong
        return matching

    times, composite = [], []
    for _ in range(30):
        query, others = unit(), [unit(), unit()]
        began = time.perf_counter()
        side.search(query, 10, None, cut)
        times.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        side.search(query, 10, None, terms_cut(others))
        composite.append((time.perf_counter() - began) * 1000)
    side.close()
    return {"moments": f"{count:,}", "videos": f"{count // per_video:,}", "read into memory s": round(load, 2),
            "search p50 ms": round(float(np.median(times)), 1), "p90 ms": round(float(np.percentile(times, 90)), 1),
            "three terms p50 ms": round(float(np.median(composite)), 1),
            "three terms p90 ms": round(float(np.percentile(composite, 90)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--moments", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=400, help="photos beside the clips, in a second run (0: none)")
    parser.add_argument("--word-clips", type=int, default=20, help="clips with a sign, for the words in moments")
    args = parser.parse_args()
    print(load_line(), "\n")
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        rows = [finding(seed, args.clips, root, photos) for photos in dict.fromkeys((0, args.photos))
                for seed in seeds(args.seeds)]
        print("## Found at its time (demo model, rendered clips)\n")
        print(table(rows))
        print("\n## Words in moments (--ocr: RapidOCR's bundled models; a sign in one shot of each clip)\n")
        print(table([words_found(seed, args.word_clips, root) for seed in seeds(args.seeds)]))
        from clipsearch.encoders import load_encoder

        encoder = load_encoder(ModelSpec(name="ViT-B-32", pretrained=None))
        print(f"\n## Reading a {args.minutes:g}-minute 1280x720 H.264 clip, 30 frames/s (ViT-B-32, random weights, "
              f"{encoder.device})\n")
        print(table([reading(args.minutes, gop, root, encoder) for gop in (1, 10)]))
        print("\n*random weights see every frame alike, so fewer moments are kept than a real model keeps")
        print("\n## A query's moments (exact scores, the automatic cut-off)\n")
        print(table([query_cost(args.moments, root)]))
    print("\n" + load_line())


if __name__ == "__main__":
    main()
