"""Search latency while the web app re-indexes, by model batch size (issue 5: "searches keep working").

The web app's re-index shares the loaded model with searches, so a search waits for the model
call in flight. For each batch size, a fresh index of ViT-B-32 (random weights, same compute as
pretrained) is re-indexed from the app's own handlers over 12-megapixel JPEGs (bench_indexing's
generated photos), while text searches go through the app's ``/search_text`` handler every
200 ms. The default (no ``Settings.batch_size``) is the app's ``INTERACTIVE_BATCH``. The engine's
encoder is wrapped as the app wraps it (``clipsearch.batching``): the re-index's model calls go in
chunks of ``BULK_CHUNK`` images, and a waiting search goes before the next chunk.

    python benchmarks/bench_reindex_search.py                  # 160 photos, batches 32 16 8
    python benchmarks/bench_reindex_search.py --photos 96 --batches 32 8
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from _common import load_line, percentiles_ms, save_result, table  # noqa: E402
from bench_indexing import CACHE, ensure_photos, selection  # noqa: E402
from bench_query_latency import time_calls  # noqa: E402

from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.affinity import reserve_core  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from clipsearch.stores import open_store  # noqa: E402
from webui.app import batched, model_thread  # noqa: E402
from webui.handlers import Handlers  # noqa: E402
from webui.reindex import INTERACTIVE_BATCH  # noqa: E402


def measure(encoder, photos: Path, batch: int | None, work: Path) -> list[object]:
    """One row: re-index ``photos`` from the app while searching; batch None is the app's default."""
    settings = Settings(index_dir=work / "index", cache_dir=work / "cache", batch_size=batch)
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True),
                          settings=settings)
    engine.store.set_folders([str(photos)])
    handlers = Handlers(batched(engine), settings)  # as the app runs it: queries go before index chunks
    try:
        idle = search_times(handlers, 10)
        handlers.start_reindex()
        time.sleep(1.0)  # past the scan, into embedding
        during = []
        while handlers.job.status.running:
            during += search_times(handlers, 1)
            time.sleep(0.2)
        report = handlers.job.status.report
        assert report is not None and report.added > 0, handlers.job.status
    finally:
        handlers.close()
        engine.close()
        shutil.rmtree(work)
    label = f"{batch}" if batch else f"{INTERACTIVE_BATCH} (the app's default)"
    return [label, f"{report.added / report.elapsed:.1f}", *during_columns(during),
            f"{percentiles_ms(idle, (50,))[0]:.0f}"]


def during_columns(during: list[float]) -> list[object]:
    """The searches, p50, p95 and max (ms) of the searches made while the job ran; "-" for each
    figure when there was none (a few photos can be re-indexed before the first search starts)."""
    if not during:
        return [0, "-", "-", "-"]
    p50, p95 = percentiles_ms(during, (50, 95))
    return [len(during), f"{p50:.0f}", f"{p95:.0f}", f"{max(during) * 1000:.0f}"]


def search_times(handlers: Handlers, count: int) -> list[float]:
    """Seconds for each of ``count`` fresh text searches through the app's handler."""
    texts = [f"a dog on a beach #{time.monotonic_ns()} {i}" for i in range(count)]
    return time_calls(lambda text: handlers.api_search_text(text, 20), texts, warmup=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=160, help="12 MP JPEGs to re-index (default 160)")
    parser.add_argument("--batches", type=int, nargs="+", default=[32, 16],
                        help="batch sizes set through Settings.batch_size; the app's default is always run too")
    parser.add_argument("--model-core", action="store_true",
                        help="keep a core for the model thread as `python -m webui` does (clipsearch.affinity); "
                             "the re-index gives every thread every core while it runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    photos = selection(ensure_photos(CACHE / "12mp", args.photos), CACHE / f"12mp-view-{args.photos}")
    encoder = load_encoder(ModelSpec(name="ViT-B-32", pretrained=None))
    encoder.embed_texts(["warm up"])
    if args.model_core:  # the server's set-up: the model warm on its own thread, then its core kept
        model_thread().call(encoder.embed_texts, ["warm up"])
        print(f"the model thread keeps core {reserve_core(model_thread().call)}", file=sys.stderr)
    before = load_line()
    rows = []
    for batch in [*args.batches, None]:
        print(f"batch {batch or 'default'} ...", file=sys.stderr, flush=True)
        rows.append(measure(encoder, photos, batch, Path(tempfile.mkdtemp(prefix="bench-reindex-"))))
    headers = ["batch", "indexing images/s", "searches", "search p50 ms", "search p95 ms", "search max ms",
               "idle search p50 ms"]
    text = (f"# Searching while the web app re-indexes {args.photos} 12 MP JPEGs (ViT-B-32, "
            f"{encoder.precision}, {encoder.device}{', a core kept for the model' if args.model_core else ''})"
            f"\n\nMachine before: {before}\n\n"
            f"{table(headers, rows)}\n\nMachine after: {load_line()}\n")
    print(text)
    save_result("reindex_search.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
