"""A run after a photo tool wrote metadata into every JPEG of a folder, and an unchanged run.

A folder of JPEGs (1600x1200, quality 90, each with an EXIF capture date) is indexed with the
fake encoder from ``testsupport/fakes.py`` (decoding alone), or with ``--model``, an open_clip
model with random weights (what the pretrained one costs to run); then every file's EXIF segment is replaced by one with another date, as
``exiftool`` or Lightroom's "write metadata to file" do, leaving the picture data as it was, and
the next run is timed; then runs over the unchanged folder (a stat a file).

    python benchmarks/bench_metadata_edits.py              # 1,000 photos
    python benchmarks/bench_metadata_edits.py --count 200 --model ViT-B-32
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from clipsearch import ModelSpec, SearchEngine, Settings  # noqa: E402
from clipsearch.encoders import load_encoder  # noqa: E402
from clipsearch.stores import open_store  # noqa: E402
from testsupport.fakes import FakeEncoder  # noqa: E402


def exif_app1(date: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = date
    payload = exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_exif(data: bytes, segment: bytes) -> bytes:
    """``data`` with its APP1 segments replaced by ``segment``, the rest byte for byte."""
    out, pos = [data[:2], segment], 2
    while data[pos + 1] != 0xDA:
        end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if data[pos + 1] != 0xE1:
            out.append(data[pos:end])
        pos = end
    return b"".join(out) + data[pos:]


def make_photos(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((1600, 1200), Image.BICUBIC)
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        (folder / f"p{i:05d}.jpg").write_bytes(with_exif(buffer.getvalue(), exif_app1("2019:05:06 07:08:09")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--model", help="an open_clip model, with random weights (default: the fake encoder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        make_photos(photos, args.count)
        encoder = load_encoder(ModelSpec(name=args.model, pretrained=None)) if args.model else FakeEncoder()
        settings = Settings(index_dir=Path(tmp) / "index", cache_dir=Path(tmp) / "cache")
        engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
        try:
            engine.index_folder(photos)
            segment = exif_app1("2021:08:01 12:00:00")
            for path in photos.iterdir():
                data = path.read_bytes()
                path.write_bytes(with_exif(data, segment))
                later = path.stat().st_mtime_ns + 60 * 10**9
                os.utime(path, ns=(later, later))
            start = time.perf_counter()
            report = engine.index_folder(photos)
            edited = time.perf_counter() - start
            unchanged = []
            for _ in range(7):  # the median of seven: a run of stats is short, and the machine noisy
                start = time.perf_counter()
                again = engine.index_folder(photos)
                unchanged.append(time.perf_counter() - start)
        finally:
            engine.close()
    print(f"{args.count} JPEGs, {args.model or 'fake encoder'}, metadata edited: {edited:.2f} s, embedded {report.embedded}, "
          f"updated {report.updated}, kept despite a metadata change {getattr(report, 'metadata_kept', 0)}")
    print(f"unchanged run: {statistics.median(unchanged) * 1000:.1f} ms, median of 7 ({again.unchanged} unchanged)")
    print("load:", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
