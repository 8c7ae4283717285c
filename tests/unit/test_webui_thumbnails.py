"""The thumbnail cache forgets photos that left the index."""

from __future__ import annotations

import os

import numpy as np

from clipsearch.stores import ImageRecord
from testsupport.imagefactory import photo, save
from webui.thumbnails import ThumbnailCache


def test_prune_removes_thumbnails_of_photos_no_longer_indexed(tmp_path):
    cache = ThumbnailCache(tmp_path / "cache")
    kept, gone = save(photo(300, 200, seed=1), tmp_path / "kept.jpg"), save(photo(300, 200, seed=2), tmp_path / "gone.jpg")
    thumbs = {p: cache.get(str(p)) for p in (kept, gone)}
    preview = cache.get(str(kept), 1024)
    st = os.stat(kept)
    records = [ImageRecord(str(kept), st.st_size, st.st_mtime_ns, "fp", 300, 200)]
    assert cache.prune(records) == 1
    assert os.path.exists(thumbs[kept]) and os.path.exists(preview)
    assert not os.path.exists(thumbs[gone])
    cache.close()


def test_a_reindex_committing_batch_after_batch_prunes_now_and_then_not_per_batch(tmp_path):
    """A prune reads every record: after a change, at most once per quiet period, one at a time."""
    now = [1000.0]
    cache = ThumbnailCache(tmp_path / "cache", prune_every=300.0, clock=lambda: now[0])
    kept, gone = save(photo(300, 200, seed=1), tmp_path / "kept.jpg"), save(photo(300, 200, seed=2), tmp_path / "gone.jpg")
    thumbs = {p: cache.get(str(p)) for p in (kept, gone)}
    st = os.stat(kept)
    reads = []

    def records():
        reads.append(now[0])
        return [ImageRecord(str(kept), st.st_size, st.st_mtime_ns, "fp", 300, 200)]

    assert cache.prune_when_due(records, changed=False) is None  # nothing changed: nothing to prune
    first = cache.prune_when_due(records, changed=True)  # the first change prunes at once
    first.join(10)
    assert reads == [1000.0] and not os.path.exists(thumbs[gone]) and os.path.exists(thumbs[kept])
    for _ in range(50):  # a re-index commits batch after batch within the quiet period
        now[0] += 5.0
        assert cache.prune_when_due(records, changed=True) is None
    assert reads == [1000.0]
    now[0] = 1300.0  # the quiet period is over: the changes seen during it are pruned once
    cache.prune_when_due(records, changed=False).join(10)
    assert reads == [1000.0, 1300.0]
    now[0] = 2000.0
    assert cache.prune_when_due(records, changed=False) is None  # and nothing since: no prune
    assert reads == [1000.0, 1300.0]
    cache.close()


def test_only_one_prune_runs_at_a_time(tmp_path):
    import threading

    cache = ThumbnailCache(tmp_path / "cache", prune_every=0.0)
    release, started = threading.Event(), threading.Event()

    def slow_records():
        started.set()
        release.wait(10)
        return []

    running = cache.prune_when_due(slow_records, changed=True)
    assert started.wait(10)
    assert cache.prune_when_due(slow_records, changed=True) is None  # remembered, not started beside it
    release.set()
    running.join(10)
    cache.prune_when_due(lambda: [], changed=False).join(10)  # the remembered change is pruned next
    cache.close()


def test_a_failing_prune_is_logged_and_the_next_change_prunes_again(tmp_path, caplog):
    cache = ThumbnailCache(tmp_path / "cache", prune_every=0.0)

    def broken():
        raise OSError("disk gone")

    cache.prune_when_due(broken, changed=True).join(10)
    assert "could not prune thumbnails" in caplog.text
    assert cache.prune_when_due(lambda: [], changed=True) is not None
    cache.close()


def test_a_full_disk_shows_placeholders_says_why_and_recovers(tmp_path, monkeypatch, caplog):
    import errno

    import webui.thumbnails

    photo_path = tmp_path / "p.jpg"
    save(photo(320, 240, seed=1), photo_path)
    cache = ThumbnailCache(tmp_path / "cache")
    placeholder = cache.placeholder()  # made when the cache is, while there is room
    real_save = webui.thumbnails._save_jpeg

    def full(picture, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(webui.thumbnails, "_save_jpeg", full)
    assert cache.get(str(photo_path)) == placeholder == cache.get(str(photo_path))
    assert cache.write_error == f"cannot save thumbnails in {cache.root}: No space left on device"
    assert sum("cannot save thumbnails" in r.getMessage() for r in caplog.records) == 1  # said once
    monkeypatch.setattr(webui.thumbnails, "_save_jpeg", real_save)  # room again
    thumb = cache.get(str(photo_path))
    assert thumb != placeholder and os.path.exists(thumb) and cache.write_error is None


def test_a_cache_that_cannot_hold_even_the_placeholder_still_shows_one(tmp_path, monkeypatch):
    """The cache deleted while serving and its disk full (or read-only) now, or full from the start:
    the placeholder's own write failed, and every thumbnail was a 500 where a grey cross is promised."""
    from gradio.utils import get_upload_folder
    from PIL import Image

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    photo_path = tmp_path / "p.jpg"
    save(photo(320, 240, seed=1), photo_path)
    cache = ThumbnailCache(tmp_path / "cache")
    os.remove(cache.placeholder())
    os.remove(cache.root / "CACHEDIR.TAG")  # the tag that keeps the folder out of every scan, deleted with it
    os.rmdir(cache.root)
    (tmp_path / "cache").rmdir()
    (tmp_path / "cache").write_bytes(b"")  # a file where the cache folder was: nothing can be written there
    shown = cache.get(str(photo_path))
    assert shown == cache.placeholder() == cache.get(str(tmp_path / "gone.jpg"))
    assert shown.startswith(os.path.join(get_upload_folder(), ""))  # served by the page and REST as well
    with Image.open(shown) as picture:
        assert picture.size == (256, 256)
    cache.close()


def test_a_part_of_a_photo_is_kept_beside_its_thumbnails_and_pruned_with_them(tmp_path):
    """look_at_photo's closer look: the part's own JPEG, made once, gone when its photo leaves."""
    from PIL import Image

    from clipsearch import parse_region

    cache = ThumbnailCache(tmp_path / "cache")
    kept, gone = save(photo(1600, 1200, seed=1), tmp_path / "kept.jpg"), save(photo(800, 600, seed=2), tmp_path / "gone.jpg")
    part = cache.get_part(str(kept), parse_region("0.5,0,1,0.25"), 512)
    with Image.open(part) as shown, Image.open(kept) as original:
        assert shown.size == (512, 192)  # 800 x 300 of the photo, at most 512 px
        expected = np.asarray(original.convert("RGB").crop((800, 0, 1600, 300)).resize((16, 6)), float)
        assert np.abs(np.asarray(shown.convert("RGB").resize((16, 6)), float) - expected).mean() < 8
    assert cache.get_part(str(kept), parse_region("0.5,0,1,0.25"), 512) == part  # made once
    other = cache.get_part(str(gone), parse_region("0,0,0.5,0.5"), 512)
    st = os.stat(kept)
    assert cache.prune([ImageRecord(str(kept), st.st_size, st.st_mtime_ns, "fp", 1600, 1200)]) == 1
    assert os.path.exists(part) and not os.path.exists(other)
    assert cache.get_part(str(tmp_path / "vanished.jpg"), parse_region("0,0,0.5,0.5"), 512) == cache.placeholder()
    cache.close()


def test_a_photo_repainted_at_the_same_byte_size_gets_a_new_thumbnail(tmp_path):
    """An uncompressed picture (BMP, TIFF) edited in place keeps its size to the byte: its new time
    alone says the cached thumbnail is out of date."""
    from PIL import Image

    path = tmp_path / "scan.bmp"
    Image.new("RGB", (120, 90), (200, 0, 0)).save(path)
    cache = ThumbnailCache(tmp_path / "cache")
    red = cache.get(str(path))
    size, mtime = os.stat(path).st_size, os.stat(path).st_mtime_ns
    Image.new("RGB", (120, 90), (0, 0, 200)).save(path)
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    assert os.stat(path).st_size == size
    blue = cache.get(str(path))
    assert blue != red
    with Image.open(blue) as shown:
        r, _, b = shown.convert("RGB").getpixel((10, 10))
    assert b > 150 > r
    cache.close()


def test_thumbnails_are_as_readable_as_any_new_file(tmp_path):
    """``mkstemp`` made each thumbnail 0600: a web app run as another user than the one who first
    served the cache (a service account) showed none."""
    import stat

    photo_path = tmp_path / "p.jpg"
    save(photo(320, 240, seed=1), photo_path)
    old = os.umask(0o022)
    try:
        cache = ThumbnailCache(tmp_path / "cache")
        thumb = cache.get(str(photo_path))
        assert stat.S_IMODE(os.stat(thumb).st_mode) == 0o644
        assert stat.S_IMODE(os.stat(cache.placeholder()).st_mode) == 0o644
        cache.close()
    finally:
        os.umask(old)
