"""Hostile files: each is indexed correctly or skipped with a precise reason; nothing hangs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image, ImageFile

import clipsearch.decoding
import clipsearch.file_reading
import clipsearch.images
import clipsearch.pipeline
from clipsearch import ModelSpec, QueryTerm, SearchEngine, Settings
from clipsearch.errors import UnreadableImage
from indexer.report import format_report
from tests.integration.conftest import REPO
from testsupport.imagefactory import (
    big_jpeg,
    bomb_png,
    hostile_library,
    photo,
    save,
    truncated,
    upright_marker,
)
from testsupport.memory import MEASURED_INDEXER_RUN, peak_rss_mb
from webui.thumbnails import THUMB_SIZE, ThumbnailCache


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "photos"
    return root, hostile_library(root)


def demo_engine_at(tmp_path, **settings):
    base = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                    model=ModelSpec(name="demo"), **settings)
    return SearchEngine.for_writing(base)


@pytest.fixture(scope="module")
def hostile_indexed(hostile, tmp_path_factory):
    """The hostile library indexed once with the demo model: the engine and its run's report, for
    the tests that only read them."""
    root, _ = hostile
    engine = demo_engine_at(tmp_path_factory.mktemp("hostile-index"))
    report = engine.index_folder(root)
    yield engine, report
    engine.close()


def test_every_hostile_file_is_indexed_or_skipped_with_its_reason(hostile, hostile_indexed):
    root, expect = hostile
    engine, report = hostile_indexed
    skipped = {os.path.basename(p): reason for reason, paths in report.skipped.items() for p in paths}
    for name, (outcome, detail) in expect.items():
        record = engine.store.get(str(root / name))
        if outcome == "indexed":
            assert record is not None, f"{name!r} was not indexed: {skipped.get(name)}"
            assert (record.width, record.height) == detail, name
        else:
            assert record is None, f"{name!r} should have been skipped"
            assert skipped.get(name) == detail, f"{name!r}: {skipped.get(name)} != {detail}"
    assert report.added == sum(1 for o, _ in expect.values() if o == "indexed")
    assert set(skipped) == {n for n, (o, _) in expect.items() if o == "skipped"}
    assert engine.store.check() == []
    # the same names come back from search, byte for byte
    for name in ("new\nline.jpg", os.fsdecode(b"bad-\xff\xfe-bytes.jpg"), "ünïcödé-写真.jpg"):
        hits = engine.similar(root / name, k=1, include_self=True)
        assert hits[0].path == str(root / name)


def test_exif_rotations_embed_like_the_upright_picture(hostile, hostile_indexed):
    root, _ = hostile
    engine, _ = hostile_indexed
    upright = engine.encoder.embed_images([upright_marker(120, 80)])[0]
    for orientation in range(1, 9):
        path = root / f"exif-{orientation}.jpg"
        vector = engine.store.vector(str(path))
        assert float(vector @ upright) > 0.98, f"orientation {orientation}"
        if orientation == 1:
            continue
        # The pixels as stored, EXIF ignored: the index must not hold their picture. (The demo
        # model, trained on rotated shapes, still scores them 0.88-0.96 against the upright one.)
        with Image.open(path) as stored:
            as_stored = engine.encoder.embed_images([stored.convert("RGB")])[0]
        assert float(as_stored @ upright) < 0.97, f"orientation {orientation}: the marker is symmetric"
        assert float(vector @ as_stored) < 0.97, f"orientation {orientation} was ignored"


def test_a_hanging_decoder_is_timed_out_and_the_run_goes_on(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    for i in range(6):
        save(photo(64, 48, seed=i), folder / f"p{i}.jpg")
    real_load = clipsearch.decoding.load_image
    release = threading.Event()

    def stuck_on_p3(data, *, path=None, **kw):
        if path and path.endswith("p3.jpg"):
            release.wait(30)  # a decoder that never returns (until the test ends)
        return real_load(data, path=path, **kw)

    monkeypatch.setattr(clipsearch.decoding, "load_image", stuck_on_p3)
    engine = demo_engine_at(tmp_path, file_timeout=1.0)
    started = time.monotonic()
    try:
        report = engine.index_folder(folder)
    finally:
        release.set()
    assert time.monotonic() - started < 25
    assert report.skipped == {"timed out": [str(folder / "p3.jpg")]}
    assert report.added == 5
    engine.close()


def test_a_file_skipped_for_good_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    """A watcher's passes (and the web app's re-index) run in one process: a broken file is read
    and reported once, not after every change elsewhere in the folder."""
    folder = tmp_path / "photos"
    for i in range(3):
        save(photo(64, 48, seed=i), folder / f"p{i}.jpg")
    (folder / "text.jpg").write_text("not a picture")
    truncated(photo(64, 48, seed=7), folder / "half.jpg", "JPEG")
    real_read, reads = clipsearch.decoding.read_file_bytes, []

    def counting(path, *args, **kwargs):
        reads.append(os.path.basename(path))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(clipsearch.decoding, "read_file_bytes", counting)
    engine = demo_engine_at(tmp_path)
    first = engine.index_folder(folder)
    assert first.skipped_count == 2 and first.added == 3
    save(photo(64, 48, seed=3), folder / "p3.jpg")  # a change elsewhere: the next pass
    reads.clear()
    second = engine.index_folder(folder)
    assert reads == ["p3.jpg"] and second.added == 1
    assert second.skipped == {} and second.still_unreadable == 2
    assert "2 unreadable files skipped again without reading" in format_report(second)
    save(photo(64, 48, seed=8), folder / "text.jpg")  # fixed: read, indexed, forgotten as broken
    (folder / "half.jpg").unlink()
    third = engine.index_folder(folder)
    assert third.added == 1 and third.still_unreadable == 0 and third.skipped == {}
    truncated(photo(64, 48, seed=7), folder / "half.jpg", "JPEG")  # broken again: read again
    assert engine.index_folder(folder).skipped_count == 1
    engine.close()
    fresh = demo_engine_at(tmp_path)  # the next process remembers it too (kept beside the index)
    again = fresh.index_folder(folder)
    assert again.skipped_count == 0 and again.still_unreadable == 1
    fresh.close()


def test_a_file_skipped_for_good_stays_unread_in_later_runs_and_they_load_no_model(tmp_path):
    """Cron runs one process a night: a broken file read and reported once, not every night,
    and a run that finds nothing else new loads no model (README: unchanged files cost a stat)."""
    from tests.integration.conftest import run_indexer

    folder, index = tmp_path / "photos", tmp_path / "index"
    for i in range(3):
        save(photo(64, 48, seed=i), folder / f"p{i}.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("not a picture")
    first = run_indexer(str(folder), "--index", str(index), "--model", "demo", "-q")
    assert first.returncode == 0, first.stderr
    again = run_indexer(str(folder), "--index", str(index), "-v")
    assert again.returncode == 0, again.stderr
    assert "2 unreadable files skipped again without reading" in again.stdout
    assert "skipping" not in again.stderr and "loading model" not in again.stderr
    (folder / "text.jpg").unlink()  # gone: forgotten; the other one, fixed: read and indexed
    save(photo(64, 48, seed=5), folder / "empty.jpg")
    fixed = run_indexer(str(folder), "--index", str(index), "--json")
    assert '"added": 1' in fixed.stdout and '"still_unreadable": 0' in fixed.stdout
    assert not (index / "unreadable.json").exists()


# A 200 MP phone frame, and one of 250 MP: over Pillow's own 89.5 MP limit, under ours.
BIG_PHOTOS = {"phone-200mp.jpg": (16320, 12240), "phone-250mp.jpg": (18256, 13696)}


def test_a_broken_file_replaced_by_a_good_copy_of_its_size_and_time_is_read_again(tmp_path):
    """``rsync -t`` or a restore puts the good photo back with the size and time of the broken one
    a run skipped: its inode and ctime tell it apart, in the next process as in this one."""
    folder, good = tmp_path / "photos", tmp_path / "good.jpg"
    save(photo(64, 48, seed=1), folder / "p1.jpg")
    save(photo(64, 48, seed=9), good)
    broken = folder / "p9.jpg"
    broken.write_bytes(b"\0" * good.stat().st_size)  # no picture, the good copy's size
    os.utime(broken, ns=(good.stat().st_atime_ns, good.stat().st_mtime_ns))
    engine = demo_engine_at(tmp_path)
    assert engine.index_folder(folder).skipped_count == 1
    engine.close()
    engine = demo_engine_at(tmp_path)  # a later cron run: the list read back from beside the index
    assert engine.index_folder(folder).still_unreadable == 1
    staged = folder / ".p9.jpg.tmp"
    shutil.copy2(good, staged)  # the size and time of the broken file, another inode
    os.replace(staged, broken)
    assert (broken.stat().st_size, broken.stat().st_mtime_ns) == (good.stat().st_size, good.stat().st_mtime_ns)
    report = engine.index_folder(folder)
    assert report.added == 1 and report.still_unreadable == 0 and report.skipped_count == 0
    assert str(broken) in {r.path for r in engine.store.records()}
    engine.close()


def test_big_phone_photos_are_indexed_found_and_thumbnailed(tmp_path):
    folder = tmp_path / "photos"
    for seed, (name, (width, height)) in enumerate(BIG_PHOTOS.items()):
        big_jpeg(folder / name, width, height, seed=seed)
    for i in range(3):
        save(photo(320, 240, seed=10 + i), folder / f"small-{i}.jpg")
    engine = demo_engine_at(tmp_path, workers=2)
    report = engine.index_folder(folder)
    assert report.skipped == {} and report.added == 5
    thumbs = ThumbnailCache(tmp_path / "cache")
    for name, (width, height) in BIG_PHOTOS.items():
        path = str(folder / name)
        record = engine.store.get(path)
        assert (record.width, record.height) == (width, height)
        assert engine.search([QueryTerm(1.0, image=path)], k=1)[0].path == path
        thumb = thumbs.get(path)
        assert thumb != thumbs.placeholder()
        with Image.open(thumb) as picture:
            assert picture.size == (THUMB_SIZE, round(THUMB_SIZE * height / width))
    thumbs.close()
    engine.close()


def test_files_and_folders_vanishing_or_changing_mid_run(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    for i in range(8):
        save(photo(64, 48, seed=i), folder / ("sub" if i >= 6 else "") / f"p{i}.jpg")
    real_scan = clipsearch.pipeline.scan_images

    def scan_then_change(*args, **kwargs):
        result = real_scan(*args, **kwargs)
        (folder / "p1.jpg").unlink()  # deleted after the scan saw it
        shutil.rmtree(folder / "sub")  # a folder removed mid-run
        save(photo(80, 60, seed=99), folder / "p2.jpg")  # rewritten after the scan
        return result

    monkeypatch.setattr(clipsearch.pipeline, "scan_images", scan_then_change)
    engine = demo_engine_at(tmp_path)
    report = engine.index_folder(folder)
    assert sorted(report.skipped["vanished"]) == sorted(
        [str(folder / "p1.jpg"), str(folder / "sub" / "p6.jpg"), str(folder / "sub" / "p7.jpg")])
    record = engine.store.get(str(folder / "p2.jpg"))
    assert (record.width, record.height) == (80, 60)  # the content that was read
    monkeypatch.setattr(clipsearch.pipeline, "scan_images", real_scan)
    again = engine.index_folder(folder)  # the next run settles: nothing stale, nothing twice
    assert again.embedded == 0 and again.unchanged == 5 and again.skipped == {}
    assert engine.store.count() == 5
    engine.close()


def test_unreadable_permissions_are_reported(tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    for i in range(3):
        save(photo(64, 48, seed=i), folder / f"p{i}.jpg")
    locked = str(folder / "p1.jpg")
    if os.geteuid() != 0:
        os.chmod(locked, 0)
    else:  # root reads every file: make the OS refuse it the way it refuses a user
        real_open = open

        def refusing_open(path, *args, **kwargs):
            if os.fspath(path) == locked:
                raise PermissionError(13, "Permission denied", locked)
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(clipsearch.file_reading, "open", refusing_open, raising=False)
    engine = demo_engine_at(tmp_path)
    report = engine.index_folder(folder)
    assert report.skipped == {"permission denied": [locked]} and report.added == 2
    again = engine.index_folder(folder)  # a chmod leaves the file's time alone: tried every run
    assert again.skipped == {"permission denied": [locked]} and again.still_unreadable == 0
    engine.close()


# The peak of this process's own memory: VmHWM starts afresh at exec, while ru_maxrss counts
# the parent's pages at fork time (a parent holding a model would dominate it).


def test_indexing_hostile_files_keeps_memory_bounded(hostile, tmp_path):
    root, _ = hostile
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_INDEXER_RUN, str(root), "--index", str(tmp_path / "index"), "--model", "demo", "-q"],
        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    peak_mb = peak_rss_mb(result.stderr)  # this process alone
    assert peak_mb < 1500, f"peak resident memory {peak_mb:.0f} MB"


@pytest.mark.parametrize("make", [bomb_png, lambda p: big_jpeg(p, 20480, 15632)], ids=["png-1.6G", "jpeg-320M"])
def test_uploaded_bomb_is_refused_before_decoding(tmp_path, monkeypatch, make):
    data = make(tmp_path / "bomb").read_bytes()
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or real_load(self))
    with pytest.raises(UnreadableImage, match="too many pixels"):
        clipsearch.images.load_image(data, path="upload", max_pixels=Settings().max_pixels)
    assert decoded == []  # refused from the header: not one pixel was decoded
    # the same check lets an ordinary upload through, decoding it
    clipsearch.images.load_image(save(photo(64, 48), tmp_path / "ok.png").read_bytes(), path="upload")
    assert decoded and set(decoded) == {(64, 48)}
