"""Query pictures whose decoding their size bounds are decoded where they are asked for, the rest on
a thread a time limit can abandon (``clipsearch.bounded_decode``)."""

from __future__ import annotations

import io
import threading

import pytest

import clipsearch.images
from clipsearch import bounded_decode
from clipsearch.bounded_decode import INLINE_BYTES, bounded, read_if_bounded
from clipsearch.images import load_image
from testsupport.imagefactory import photo


def encoded(fmt: str, **options) -> bytes:
    out = io.BytesIO()
    photo(320, 240, seed=4).save(out, fmt, **options)
    return out.getvalue()


def test_baseline_jpegs_and_pngs_are_bounded_and_other_pictures_are_not():
    assert bounded(encoded("JPEG")) and bounded(encoded("JPEG", optimize=True)) and bounded(encoded("PNG"))
    assert bounded(encoded("JPEG", exif=b"Exif\0\0" + b"\0" * 40_000))  # a camera's segments before the frame
    assert not bounded(encoded("JPEG", progressive=True))  # its scans, as many as a file holds
    for fmt in ("WEBP", "TIFF", "GIF", "BMP"):
        assert not bounded(encoded(fmt)), fmt


def test_cut_malformed_too_large_or_endless_headers_are_not_bounded():
    jpeg = encoded("JPEG")
    assert not bounded(jpeg[:4]) and not bounded(jpeg[:30]) and not bounded(b"")
    assert not bounded(jpeg[:2] + b"\x00\x00" + jpeg[4:])  # no marker where one must be
    assert not bounded(jpeg[:2] + b"\xff\xfe\x00\x04ab" * (bounded_decode.MAX_SEGMENTS + 1) + jpeg[2:])
    assert bounded(jpeg[:2] + b"\xff\xfe\x00\x04ab" * 10 + jpeg[2:])  # comments: a few are fine
    assert not bounded(jpeg + b"\0" * (INLINE_BYTES + 1 - len(jpeg)))


def where_decoded(monkeypatch) -> list[str]:
    threads, real = [], clipsearch.images._decode

    def noting(*args):
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(clipsearch.images, "_decode", noting)
    return threads


def test_with_a_time_limit_only_bounded_bytes_are_decoded_on_the_callers_thread(tmp_path, monkeypatch):
    threads, here = where_decoded(monkeypatch), threading.current_thread().name
    for data in (encoded("JPEG"), encoded("PNG")):
        assert load_image(data, path="upload", min_size=224, timeout=5).image.size[0] >= 224
    assert threads == [here, here]
    threads.clear()
    path = tmp_path / "p.jpg"
    path.write_bytes(encoded("JPEG"))
    for source in (encoded("JPEG", progressive=True), encoded("WEBP"), str(path)):  # a path: its disk may hang
        load_image(source, path="upload", timeout=5)
    assert threads == ["decode"] * 3
    threads.clear()
    load_image(encoded("JPEG"), path="upload.dng", timeout=5)  # a RAW file's name: LibRaw's turn first, guarded
    load_image(encoded("JPEG"), path="upload")  # no time limit: here, as before
    assert threads == ["decode", here]


@pytest.mark.parametrize("fmt, read", [("JPEG", True), ("PNG", True), ("WEBP", False)])
def test_read_if_bounded_reads_only_what_is_decoded_here(tmp_path, fmt, read):
    path = tmp_path / "upload.bin"
    path.write_bytes(encoded(fmt))
    assert read_if_bounded(str(path)) == (path.read_bytes() if read else str(path))
    assert read_if_bounded(str(tmp_path / "gone.jpg")) == str(tmp_path / "gone.jpg")  # its reader says why
