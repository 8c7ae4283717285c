"""Indexing throughput on 12-megapixel JPEGs, and the re-run time of an unchanged folder (issue 4).

Side by side in one process, on the same generated photos (4000x3000, quality 90, ~2.6 MB):

  (a) the naive loop peers write: PIL open, open_clip's preprocess (a full decode), batches of
      32, ``model.encode_image`` in fp32 with default settings;
  (b) clipsearch: ``SearchEngine.index_folder`` into a fresh index (the whole run, wall time);
  (c) the compute bound: the clipsearch encoder alone on pre-decoded, pre-processed tensors, same
      precision and batch size as (b).

Targets: (b) >= 3x (a) and (b) >= 0.8x (c). The table also shows the decode cost and the bound
for decode and model sharing the same cores, since on a 2-core machine (b) pays for both.

Then the unchanged re-run: a folder of many tiny JPEGs is indexed once (with the fake encoder
from ``testsupport/fakes.py``: the model does not matter here) and the second, unchanged run is timed.

    python benchmarks/bench_indexing.py            # 160 photos, 100k tiny files
    python benchmarks/bench_indexing.py --quick    # 24 photos, 5k tiny files
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import load_line, peak_rss_bytes, save_result, table  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "clipsearch-bench"
PHOTO_SIZE = (4000, 3000)


# --- test material -----------------------------------------------------------------------------
def photo_like(seed: int, size: tuple[int, int] = PHOTO_SIZE) -> Image.Image:
    """A photo-like picture: smooth colour gradients, a dozen solid shapes, texture and sensor
    noise, tuned so that a 12 MP JPEG at quality 90 weighs ~2.6 MB like a camera's."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(h // 20, h // 3))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.rectangle([x - r, y - r // 2, x + r, y + r // 2], fill=colour)
    pixels = np.asarray(img, dtype=np.int16)
    texture = Image.fromarray(rng.integers(0, 256, (h // 8, w // 8), dtype=np.uint8)).resize((w, h), Image.BILINEAR)
    pixels = pixels + ((np.asarray(texture, np.int16) - 128) // 8)[..., None]
    pixels = pixels + rng.normal(0, 6, (h, w, 3)).astype(np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def ensure_photos(folder: Path, count: int) -> list[Path]:
    """``count`` distinct 12 MP JPEGs in ``folder``, generated once (on every core) and reused afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"photo-{i:04d}.jpg" for i in range(count)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        print(f"generating {len(missing)} 12 MP JPEGs into {folder} (once) ...", file=sys.stderr)
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            list(pool.map(make_photo, missing))
    return paths


def make_photo(path: Path) -> None:
    """One 12 MP JPEG at ``path``, its seed the number in its name (``photo-0042.jpg``)."""
    temp = path.with_suffix(".tmp")
    photo_like(int(path.stem.split("-")[1])).save(temp, "JPEG", quality=90)
    os.replace(temp, path)


def selection(paths: list[Path], folder: Path) -> Path:
    """A folder holding exactly ``paths`` (as symlinks), so a run indexes just those."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for path in paths:
        os.symlink(path, folder / path.name)
    return folder


def ensure_tiny_files(folder: Path, count: int) -> Path:
    """``count`` distinct 32x32 JPEGs in 100 subfolders, generated once and reused."""
    marker = folder / f".complete-{count}"
    if marker.exists():
        return folder
    print(f"generating {count} tiny JPEGs into {folder} (once) ...", file=sys.stderr)
    if folder.exists():
        shutil.rmtree(folder)
    rng = np.random.default_rng(0)
    base = np.asarray(photo_like(0, (32, 32)), np.int16)
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        if i < 100:
            sub.mkdir(parents=True)
        pixels = np.clip(base + rng.integers(-40, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"tiny-{i:06d}.jpg", "JPEG", quality=85)
    marker.touch()
    return folder


def warm_page_cache(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        total += len(path.read_bytes())
    return total


# --- the three contestants ---------------------------------------------------------------------
def run_naive(paths: list[Path], batch_size: int, threads: int) -> float:
    """(a) what peers write: open, open_clip preprocess, batch, fp32 encode. Returns seconds."""
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model.eval()
    ours = torch.get_num_threads()
    torch.set_num_threads(threads)  # torch's default, whatever (b) and (c) use
    started = time.perf_counter()
    vectors = []
    for start in range(0, len(paths), batch_size):
        batch = [preprocess(Image.open(p)) for p in paths[start : start + batch_size]]
        with torch.no_grad():
            features = model.encode_image(torch.stack(batch))
        vectors.append(torch.nn.functional.normalize(features, dim=-1).numpy())
    elapsed = time.perf_counter() - started
    torch.set_num_threads(ours)
    del model
    return elapsed


def run_clipsearch(encoder, folder: Path, index_dir: Path, batch_size: int | None, workers: int | None):
    """(b) a whole ``index_folder`` run into a fresh index. Returns (seconds, report)."""
    from clipsearch.config import Settings
    from clipsearch.engine import SearchEngine
    from clipsearch.stores.hnsw import HnswStore

    if index_dir.exists():
        shutil.rmtree(index_dir)
    store = HnswStore.open(index_dir, encoder.stamp, create=True)
    settings = Settings(index_dir=index_dir, cache_dir=index_dir / "cache")
    engine = SearchEngine(encoder, store, settings=settings)
    started = time.perf_counter()
    report = engine.index_folder(folder, batch_size=batch_size, workers=workers)
    elapsed = time.perf_counter() - started
    engine.close()
    return elapsed, report


def prepare_all(encoder, paths: list[Path]) -> tuple[list, float]:
    """Decode (reduced scale) and preprocess every file on one thread: tensors and seconds/file."""
    from clipsearch.images import load_image

    started = time.perf_counter()
    tensors = [encoder.prepare(load_image(p, min_size=encoder.input_size).image) for p in paths]
    return tensors, (time.perf_counter() - started) / len(paths)


def run_decode_pool(encoder, paths: list[Path], workers: int) -> float:
    """Decode + preprocess on a pool of ``workers`` threads, no model: seconds."""
    from clipsearch.images import load_image

    def one(path):
        return encoder.prepare(load_image(path, min_size=encoder.input_size).image)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(one, paths):
            pass
    return time.perf_counter() - started


def run_compute_bound(encoder, tensors: list, batch_size: int) -> float:
    """(c) the encoder alone on ready tensors, same batches as (b): seconds."""
    encoder.embed_prepared(tensors[:batch_size])  # warm-up: first call allocates
    started = time.perf_counter()
    for start in range(0, len(tensors), batch_size):
        encoder.embed_prepared(tensors[start : start + batch_size])
    return time.perf_counter() - started


# --- the unchanged re-run ----------------------------------------------------------------------
def rerun_unchanged(count: int, keep_index: bool, cache: Path = CACHE) -> list[list[object]]:
    """Index ``count`` tiny files under ``cache`` once, then time the unchanged re-runs (table rows)."""
    from clipsearch.config import Settings
    from clipsearch.engine import SearchEngine
    from clipsearch.stores.hnsw import HnswStore
    from testsupport.fakes import FakeEncoder

    folder = ensure_tiny_files(cache / f"tiny-{count}", count)
    index_dir = cache / f"tiny-{count}-index"
    encoder = FakeEncoder()
    rows = []
    fresh = not (index_dir / "records.sqlite").exists() or not keep_index
    if fresh and index_dir.exists():
        shutil.rmtree(index_dir)
    settings = Settings(index_dir=index_dir, cache_dir=index_dir / "cache")
    store = HnswStore.open(index_dir, encoder.stamp, create=True)
    engine = SearchEngine(encoder, store, settings=settings)
    if fresh:
        started = time.perf_counter()
        report = engine.index_folder(folder)
        rows.append(["first run (fake encoder)", report.found, report.added, report.unchanged,
                     f"{time.perf_counter() - started:.2f}"])
    for attempt in (1, 2):
        started = time.perf_counter()
        report = engine.index_folder(folder)
        rows.append([f"unchanged re-run #{attempt}", report.found, report.added, report.unchanged,
                     f"{time.perf_counter() - started:.2f}"])
    engine.close()
    # What a new indexer process does (besides importing): open the store, then re-run.
    started = time.perf_counter()
    store = HnswStore.open(index_dir, encoder.stamp, create=True)
    engine = SearchEngine(encoder, store, settings=settings)
    report = engine.index_folder(folder)
    rows.append(["open the store + unchanged re-run", report.found, report.added, report.unchanged,
                 f"{time.perf_counter() - started:.2f}"])
    engine.close()
    return rows


# --- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=160, help="12 MP JPEGs to index (default 160)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size for (b) and (c) (default: the encoder's own, 32 on CPU)")
    parser.add_argument("--naive-batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="decode threads for (b) (default: the library's)")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch threads for (b) and (c) (default: the library's choice)")
    parser.add_argument("--repeat", type=int, default=1, help="run (a), (b) and (c) this many times; best is kept")
    parser.add_argument("--tiny-files", type=int, default=100_000, help="files for the unchanged re-run")
    parser.add_argument("--skip-naive", action="store_true", help="leave out (a) (slow: ~7 img/s)")
    parser.add_argument("--skip-rerun", action="store_true", help="leave out the unchanged re-run")
    parser.add_argument("--skip-photos", action="store_true", help="only the unchanged re-run")
    parser.add_argument("--keep-tiny-index", action="store_true",
                        help="reuse the tiny-file index from an earlier run instead of rebuilding it")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"where generated files live (default {CACHE})")
    parser.add_argument("--quick", action="store_true", help="a fast sanity run: 24 photos, 5k tiny files")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.tiny_files = min(args.images, 24), min(args.tiny_files, 5_000)
    logging.basicConfig(level=logging.WARNING)
    out = ["# Indexing benchmark (issue 4)", "", f"Machine at start: {load_line()}", ""]

    if not args.skip_photos:
        out += photos_section(args)
    if not args.skip_rerun:
        print(f"unchanged re-run over {args.tiny_files} tiny files ...", file=sys.stderr)
        rows = rerun_unchanged(args.tiny_files, args.keep_tiny_index, args.cache)
        out += [f"## Unchanged re-run, {args.tiny_files} small files (32x32 JPEG)", "",
                table(["run", "found", "added", "unchanged", "seconds"], rows), ""]
    out += [f"Machine at end: {load_line()}", ""]
    text = "\n".join(out)
    print(text)
    parts = ["indexing"] + (["quick"] if args.quick else []) + (["photos"] if args.skip_rerun else []) \
        + (["rerun"] if args.skip_photos else [])
    name = "-".join(parts) + ".md"
    print(f"(saved to {save_result(name, text)})", file=sys.stderr)
    return 0


def photos_section(args) -> list[str]:
    import torch

    from clipsearch.config import ModelSpec
    from clipsearch.encoders.openclip import OpenClipEncoder

    source = ensure_photos(args.cache / "12mp", args.images)
    folder = selection(source, args.cache / f"12mp-view-{args.images}")
    megabytes = warm_page_cache(source) / len(source) / 1e6
    default_threads = torch.get_num_threads()
    started = time.perf_counter()
    encoder = OpenClipEncoder(ModelSpec(name="ViT-B-32", pretrained=None, threads=args.torch_threads)).load()
    load_seconds = time.perf_counter() - started
    batch = args.batch_size or encoder.batch_size
    from clipsearch.pipeline import Indexer

    probe = Indexer(encoder, store=None, batch_size=args.batch_size, workers=args.workers)
    n = len(source)
    print(f"{n} photos, {megabytes:.2f} MB each; model {encoder.precision}, batch {batch}, "
          f"{probe.workers} decode threads, torch threads {torch.get_num_threads()}", file=sys.stderr)

    tensors, decode_one = prepare_all(encoder, source)
    naive, ours, bound = [], [], []
    pool_seconds = run_decode_pool(encoder, source, probe.workers)
    report = None
    for round_ in range(args.repeat):
        print(f"round {round_ + 1}/{args.repeat}: compute bound ...", file=sys.stderr)
        bound.append(run_compute_bound(encoder, tensors, batch))
        if not args.skip_naive:
            print(f"round {round_ + 1}/{args.repeat}: naive loop ...", file=sys.stderr)
            naive.append(run_naive(source, args.naive_batch_size, default_threads))
        print(f"round {round_ + 1}/{args.repeat}: clipsearch index_folder ...", file=sys.stderr)
        seconds, report = run_clipsearch(encoder, folder, args.cache / "12mp-index", args.batch_size, args.workers)
        ours.append(seconds)
        if report.embedded != n:
            print(f"warning: clipsearch embedded {report.embedded} of {n}: {report.to_dict()}", file=sys.stderr)

    def rate(times):
        return n / min(times) if times else float("nan")

    a, b, c = rate(naive), rate(ours), rate(bound)
    cores = os.cpu_count() or 1
    # Decode and model share the cores: per image they need decode_one + cores/c core-seconds.
    shared = cores / (decode_one + cores / c)

    def spread(times):
        return f" (runs: {', '.join(f'{n / t:.1f}' for t in times)})" if len(times) > 1 else ""

    rows = [
        ["(a) naive loop: PIL open + open_clip preprocess, fp32, batch "
         f"{args.naive_batch_size}", f"{min(naive):.1f}" if naive else "skipped",
         f"{a:.1f}{spread(naive)}" if naive else "-", "1.00x" if naive else "-"],
        [f"(b) clipsearch index_folder (draft decode, {probe.workers} threads, {encoder.precision}, batch {batch})",
         f"{min(ours):.1f}", f"{b:.1f}{spread(ours)}", f"{b / a:.2f}x" if naive else "-"],
        [f"(c) compute bound: encoder alone on ready tensors ({encoder.precision}, batch {batch})",
         f"{min(bound):.1f}", f"{c:.1f}{spread(bound)}", f"{c / a:.2f}x" if naive else "-"],
        [f"decode + preprocess only, {probe.workers} threads, no model", f"{pool_seconds:.1f}",
         f"{n / pool_seconds:.1f}", "-"],
        [f"bound for decode + model sharing {cores} idle cores: cores / (decode + model core-s per image)",
         "-", f"{shared:.1f}", "-"],
    ]
    verdict = [
        f"- (b) / (a) = {b / a:.2f} (target >= 3): {'met' if b >= 3 * a else 'MISSED'}" if naive else
        "- (b) / (a): not measured (--skip-naive)",
        f"- (b) / (c) = {b / c:.2f} (target >= 0.8): {'met' if b >= 0.8 * c else 'MISSED'}",
        f"- (b) / shared-core bound = {b / shared:.2f}",
        f"- one decode + preprocess: {decode_one * 1000:.1f} ms of one core; model: "
        f"{cores / c * 1000:.1f} ms of core time per image",
    ]
    return [
        f"## {n} photos, 4000x3000 JPEG q90, {megabytes:.2f} MB each (ViT-B-32, random weights)", "",
        f"Model load {load_seconds:.1f} s (not counted); torch threads {torch.get_num_threads()}; "
        f"peak RSS {peak_rss_bytes() / 1e9:.2f} GB; best of {args.repeat} run(s).", "",
        table(["run", "seconds", "images/s", "vs (a)"], rows), "", *verdict, "",
        f"clipsearch report: {report.embedded} embedded, {report.skipped_count} skipped", "",
    ]


if __name__ == "__main__":
    raise SystemExit(main())
