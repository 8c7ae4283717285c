"""The CUDA path on a machine with an NVIDIA GPU: fp16 against fp32, the model alone, indexing and
queries (README's "On a GPU").

    python benchmarks/bench_gpu.py                      # needs CUDA
    python benchmarks/bench_gpu.py --images 320 --size 100000

1. **fp16 agrees with fp32.** ViT-B-32 with random weights (seeded, so every copy has the same
   weights) and the demo model are loaded three times: on the CPU in fp32 (the reference), on the
   GPU as a user gets it (``--precision auto``: fp16) and on the GPU in fp32. Each embeds 32
   photo-like pictures and 16 queries; the table gives the lowest cosine against the reference
   and how often each query's nearest picture is the same.
2. **The demo library's meaning figures** with the demo model in fp16 on the GPU (the same table
   as ``bench_demo_quality.py`` prints on a CPU).
3. **The model alone**, fp16 and fp32: images per second on ready tensors at several batch sizes,
   and one text query, and eight at once, in milliseconds (each call from Python lists to unit
   vectors in NumPy: the copies to and from the GPU are counted).
4. **Indexing** 12 MP JPEGs with ``index_folder`` (decode at reduced scale on the CPU threads, the
   model on the GPU), with 4 decode threads (the default) and more.
5. **Queries** through the engine (no web server: its HTTP cost is CPU work, measured by
   ``bench_query_latency.py``) over an index of random unit vectors: text and picture queries.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import load_line, percentiles_ms, save_result, table  # noqa: E402
from bench_indexing import ensure_photos, photo_like, prepare_all, run_clipsearch, run_decode_pool, selection  # noqa: E402
from bench_query_latency import build_index, queries  # noqa: E402

TEXTS = ["a dog on a beach", "a red circle", "sunset over the sea", "two cats on a sofa", "a birthday cake",
         "a snowy mountain", "a city at night", "a green square", "a child with a kite", "a boat on a river",
         "a bowl of fruit", "a yellow triangle", "an old bridge", "a train in the rain", "a market stall",
         "a portrait of a woman"]
DEVICE = "cuda"  # --device cpu: a dry run of the script's own code on a machine without a GPU


def cuda_or_exit():
    import torch

    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs an NVIDIA GPU", file=sys.stderr)
        raise SystemExit(2)
    return torch


def encoder(name: str, device: str, precision: str):
    import torch

    from clipsearch.config import ModelSpec
    from clipsearch.encoders.openclip import OpenClipEncoder

    torch.manual_seed(0)  # random weights: every copy of the model gets the same ones
    pretrained = "demo" if name == "demo" else None
    return OpenClipEncoder(ModelSpec(name=name, pretrained=pretrained, device=device, precision=precision)).load()


# --- 1. agreement --------------------------------------------------------------------------------
def agreement_rows() -> list[list[object]]:
    pictures = [photo_like(seed, (800, 600)) for seed in range(32)]
    rows = []
    for name in ("ViT-B-32", "demo"):
        reference = encoder(name, "cpu", "fp32")
        ref_img, ref_txt = reference.embed_images(pictures), reference.embed_texts(TEXTS)
        ref_top = np.argmax(ref_txt @ ref_img.T, axis=1)
        for precision in ("auto", "fp32"):
            gpu = encoder(name, DEVICE, precision)
            img, txt = gpu.embed_images(pictures), gpu.embed_texts(TEXTS)
            same_top = float(np.mean(np.argmax(txt @ img.T, axis=1) == ref_top))
            rows.append([name + (" (random weights)" if name != "demo" else ""), f"{DEVICE} {gpu.precision}",
                         f"{np.min(np.sum(img * ref_img, axis=1)):.5f}", f"{np.min(np.sum(txt * ref_txt, axis=1)):.5f}",
                         f"{same_top:.0%}"])
    return rows


# --- 2. the demo library's meaning ---------------------------------------------------------------
def demo_quality(work: Path) -> tuple[str, str]:
    from clipsearch import ModelSpec, SearchEngine, Settings
    from clipsearch.demo import make_sample_library
    from clipsearch.demo.quality import figures_table, measure

    library = work / "demo-photos"
    make_sample_library(library, n=300, seed=0)
    settings = Settings(index_dir=work / "demo-index", cache_dir=work / "demo-cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    started = time.perf_counter()
    report = engine.index_folder(library)
    line = (f"indexed {report.added} pictures in {time.perf_counter() - started:.1f} s on "
            f"{engine.encoder.device} in {engine.encoder.precision}")
    text = figures_table(measure(engine, library, k=5))
    engine.close()
    return line, text


# --- 3. the model alone --------------------------------------------------------------------------
def median_ms(call, repeat: int) -> tuple[float, float]:
    call()
    call()  # warm-up: kernels chosen, memory allocated
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    p50, p99 = percentiles_ms(times, (50, 99))
    return p50, p99


def model_rows(batches: list[int]) -> list[list[object]]:
    rows = []
    for precision in ("auto", "fp32"):
        model = encoder("ViT-B-32", DEVICE, precision)
        ready = [model.prepare(photo_like(seed, (800, 600))) for seed in range(8)]
        for size in batches:
            tensors = [ready[i % len(ready)] for i in range(size)]
            p50, _ = median_ms(lambda t=tensors, m=model: m.embed_prepared(t), 20)
            rows.append([f"{DEVICE} {model.precision}", f"{size} image{'s' if size > 1 else ''}", f"{p50:.2f}", f"{size / p50 * 1000:,.0f} images/s"])
        for count in (1, 8):
            texts = TEXTS[:count]
            p50, _ = median_ms(lambda t=texts, m=model: m.embed_texts(t), 50)
            rows.append([f"{DEVICE} {model.precision}", f"{count} text{'s' if count > 1 else ''}", f"{p50:.2f}", "-"])
    return rows


# --- 4. indexing ---------------------------------------------------------------------------------
def indexing_rows(work: Path, count: int, setups: list[tuple[int | None, int | None]], repeat: int) -> tuple[list, str]:
    from clipsearch.pipeline import default_workers

    started = time.perf_counter()
    paths = ensure_photos(work / "12mp", count)
    print(f"{count} 12 MP JPEGs made in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    folder = selection(paths, work / "12mp-view")
    model = encoder("ViT-B-32", DEVICE, "auto")
    _, decode_one = prepare_all(model, paths[:32])
    rows = []
    for workers, batch in setups:
        pool_s = run_decode_pool(model, paths, workers or default_workers(model))
        runs = [run_clipsearch(model, folder, work / "12mp-index", batch, workers) for _ in range(repeat)]
        best = min(seconds for seconds, _ in runs)
        embedded = runs[-1][1].embedded
        defaults = "" if workers or batch else " (the defaults)"
        rows.append([f"{workers or default_workers(model)}{defaults}", batch or model.batch_size,
                     f"{count / pool_s:.0f}", f"{count / best:.0f}", ", ".join(f"{count / s:.0f}" for s, _ in runs), f"{embedded} of {count}"])
    note = f"one decode + preprocess: {decode_one * 1000:.1f} ms of one core; model {DEVICE} {model.precision}"
    return rows, note


# --- 5. queries ----------------------------------------------------------------------------------
def query_rows(work: Path, size: int, n: int) -> tuple[list, str]:
    from clipsearch import SearchEngine
    from clipsearch.stores import open_store

    model = encoder("ViT-B-32", DEVICE, "auto")
    index_dir = work / f"index-{size}"
    build_s = build_index(index_dir, model, size)
    engine = SearchEngine(model, open_store(index_dir, model.stamp))
    texts = iter(queries(10 * n, seed=size))
    pictures = iter([photo_like(seed, (1024, 768)) for seed in range(1000, 1000 + 2 * n + 4)])
    rows = []
    try:
        for what, call in (("text query (k=20, cut-off auto)", lambda: engine.search_text(next(texts), k=20)),
                           ("text query, no cut-off (min_score 0)",
                            lambda: engine.search_text(next(texts), k=20, cutoff=0.0)),
                           ("the text tower alone (one text)", lambda: model.embed_texts([next(texts)])),
                           ("picture query, 1024x768 (k=20)", lambda: engine.search_image(next(pictures), k=20))):
            p50, p99 = median_ms(call, n)
            rows.append([f"{size:,}", what, f"{p50:.1f}", f"{p99:.1f}"])
    finally:
        engine.close()
    return rows, f"index of {size:,} random unit vectors written in {build_s:.0f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=320, help="12 MP JPEGs to index (default 320)")
    parser.add_argument("--workers", type=int, default=None,
                        help="decode threads beside the defaults (default: every core)")
    parser.add_argument("--sections", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="which to run")
    parser.add_argument("--repeat", type=int, default=2, help="indexing runs per thread count; best is kept")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--size", type=int, default=100_000, help="vectors in the query index (default 100,000)")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clipsearch-gpu-bench"))
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu only checks the script itself")
    args = parser.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    torch = cuda_or_exit()
    cores = os.cpu_count() or 1
    setups = [(4, 64), (None, None)] + [(args.workers or cores, b) for b in (64, 128, 512)]
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    gpu = torch.cuda.get_device_properties(0) if DEVICE == "cuda" else None
    out = ["# clipsearch on a GPU", "",
           f"{gpu.name if gpu else 'no GPU'}, {gpu.total_memory / 2**30 if gpu else 0:.0f} GiB; torch {torch.__version__}; {cores} CPU cores; "
           f"machine at start: {load_line()}", ""]

    def section(title: str, run) -> None:
        """One section's lines; a failure is reported in its place and the others still run."""
        print(f"{title} ...", file=sys.stderr, flush=True)
        try:
            out.extend(run())
        except Exception:  # one run on a lent machine: keep what the other sections measure
            out.extend([f"## {title}: FAILED", "", "```", traceback.format_exc(), "```", ""])

    def agreement():
        return ["## 1. fp16 against fp32 (lowest cosine against the CPU's fp32 vectors; 32 pictures, 16 texts)", "",
                table(["model", "on", "pictures", "texts", "same nearest picture"], agreement_rows()), ""]

    def demo():
        line, text = demo_quality(args.work)
        return ["## 2. The demo library (300 pictures) with the demo model", "", line, "", text, ""]

    def alone():
        return ["## 3. ViT-B-32 alone (random weights; lists in, unit vectors in NumPy out)", "",
                table(["precision", "one call of", "p50 ms", "throughput"], model_rows(args.batches)), ""]

    def indexing():
        rows, note = indexing_rows(args.work, args.images, setups, args.repeat)
        return [f"## 4. Indexing {args.images} 12 MP JPEGs (index_folder into a fresh index)", "", note, "",
                table(["decode threads", "batch", "decode only, images/s", "index_folder, images/s (best)", "runs",
                       "embedded"], rows), ""]

    def querying():
        rows, note = query_rows(args.work, args.size, args.queries)
        return [f"## 5. Queries through the engine (ViT-B-32 on {DEVICE}, hnswlib on the CPU)", "", note, "",
                table(["vectors", "query", "p50 ms", "p99 ms"], rows), ""]

    for number, (title, run) in enumerate(
            (("1. fp16 against fp32", agreement), ("2. the demo library", demo), ("3. the model alone", alone),
             ("4. indexing", indexing), ("5. queries", querying)), start=1):
        if number in args.sections:
            section(title, run)
    out += [f"Machine at end: {load_line()}", ""]
    text = "\n".join(out)
    print(text)
    print(f"(saved to {save_result('gpu.md', text)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
