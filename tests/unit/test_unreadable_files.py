"""The files runs skipped for good, kept beside the index between runs (``unreadable.json``)."""

from __future__ import annotations

import os

from clipsearch import SearchEngine, Settings, unreadable_files
from clipsearch.images import FileStat
from clipsearch.stores import open_store
from clipsearch.videoindex import VideoIndex
from clipsearch.videopass import VideoPass
from indexer.report import format_report
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save, truncated


def test_the_list_round_trips_is_rewritten_only_when_it_changes_and_goes_when_empty(tmp_path):
    entries = {"/photos/caf\udce9.jpg": (12, 1_700_000_000_000_000_000, "not an image", 77, 5)}  # a Latin-1 name
    unreadable_files.save(tmp_path, entries)
    path = tmp_path / unreadable_files.FILE_NAME
    assert unreadable_files.load(tmp_path) == entries
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # an old time, which a write would move
    unreadable_files.save(tmp_path, dict(entries))
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000  # the same list: not rewritten
    unreadable_files.save(tmp_path, {**entries, "/photos/b.jpg": (3, 4, "truncated", 78, 6)})
    assert path.stat().st_mtime_ns != 1_000_000_000_000_000_000 and len(unreadable_files.load(tmp_path)) == 2
    unreadable_files.save(tmp_path, {})
    assert not path.exists() and unreadable_files.load(tmp_path) == {}


def test_an_unreadable_or_foreign_list_means_reading_the_files_again(tmp_path):
    path = tmp_path / unreadable_files.FILE_NAME
    for text in ("{not json", '{"version": 99, "files": {}}', '{"version": 1, "files": {"/a.jpg": [1]}}'):
        path.write_text(text, encoding="utf-8")
        assert unreadable_files.load(tmp_path) == {}
    unreadable_files.save(tmp_path / "gone", {"/a.jpg": (1, 2, "truncated")})  # no folder: nothing kept, no error
    assert not (tmp_path / "gone").exists()


def test_a_list_of_a_release_before_is_read_and_its_entries_take_the_files_ids_once(tmp_path):
    """Entries without inode and ctime (size, time, reason) stay trusted on size and time, once:
    the file's ids are then recorded, and a file with other ids is read again."""
    (tmp_path / unreadable_files.FILE_NAME).write_text(
        '{"version": 1, "files": {"/p/a.jpg": [10, 20, "not an image"]}}', encoding="utf-8")
    entries = unreadable_files.load(tmp_path)
    assert entries == {"/p/a.jpg": (10, 20, "not an image", 0, 0)}
    assert unreadable_files.still(entries, FileStat("/p/a.jpg", 10, 20, ino=5, ctime_ns=30))
    assert entries["/p/a.jpg"] == (10, 20, "not an image", 5, 30)
    assert unreadable_files.still(entries, FileStat("/p/a.jpg", 10, 20, ino=5, ctime_ns=30))
    assert not unreadable_files.still(entries, FileStat("/p/a.jpg", 10, 20, ino=6, ctime_ns=31))  # replaced
    assert not unreadable_files.still(entries, FileStat("/p/a.jpg", 11, 20, ino=5, ctime_ns=30))  # changed
    assert not unreadable_files.still(entries, FileStat("/p/b.jpg", 10, 20, ino=5, ctime_ns=30))  # not listed



def runs_over(library, tmp_path):
    """A run over ``library`` (its keyword arguments: ``dry_run``...), each by a new engine over the
    same index, as runs of the indexer are: what it remembers is beside the index."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")

    def run(**kwargs):
        store = open_store(settings.index_dir, FakeEncoder().stamp, create=True)
        engine = SearchEngine(FakeEncoder(), store, settings=settings)
        try:
            return engine.index_folder(library, **kwargs)
        finally:
            engine.close()
    return run

def test_a_link_that_leads_nowhere_is_reported_once_as_such_and_again_when_it_changes(tmp_path):
    """A symlink whose target is gone, or a loop, was skipped as "vanished" at every run and never
    remembered. It is reported once, as a "broken link" or a "symlink loop", remembered across
    runs (as the link stands) like any unreadable file, and reported again once it changes; once
    its target is there, the photo is indexed. Videos decide the same way."""
    library = tmp_path / "photos"
    save(photo(160, 120, seed=1), library / "p.jpg")
    (library / "x.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (library / "loop.jpg").symlink_to(library / "loop.jpg")
    run = runs_over(library, tmp_path)

    first = run()
    assert first.skipped == {"broken link": [str(library / "x.jpg")], "symlink loop": [str(library / "loop.jpg")]}
    for again in (run(dry_run=True), run()):  # a new engine: remembered beside the index
        assert (again.skipped, again.still_unreadable, again.unchanged) == ({}, 2, 1)
    (library / "x.jpg").unlink()
    (library / "x.jpg").symlink_to(tmp_path / "elsewhere.jpg")  # pointed elsewhere, nowhere still
    assert run().skipped == {"broken link": [str(library / "x.jpg")]}
    save(photo(160, 120, seed=2), tmp_path / "elsewhere.jpg")  # its target is there now
    there = run()
    assert (there.added, there.skipped, there.still_unreadable) == (1, {}, 1)

    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "v.mp4").symlink_to(tmp_path / "nowhere.mp4")
    store = VideoIndex.open(tmp_path / "index", create=True)
    try:
        first = VideoPass(store, FakeEncoder()).run([str(videos)], [])
        assert first.skipped == {"broken link": [str(videos / "v.mp4")]}
        second = VideoPass(store, FakeEncoder()).run([str(videos)], [])
        assert (second.skipped, second.still_unreadable) == ({}, 1)
    finally:
        store.close()


def test_a_photo_name_that_is_no_file_is_reported_once_and_indexed_once_it_is_one(tmp_path):
    """A named pipe or a device under a photo's name (``photo.jpg`` a FIFO, a link to /dev/null)
    was left out without a word: the photo was not indexed and no run said why. It is skipped as
    "not a file", once, remembered as a broken link is; once a photo is there, it is indexed."""
    library = tmp_path / "photos"
    save(photo(160, 120, seed=1), library / "p.jpg")
    os.mkfifo(library / "pipe.jpg")
    (library / "device.png").symlink_to(os.devnull)
    run = runs_over(library, tmp_path)

    first = run()
    assert {k: sorted(v) for k, v in first.skipped.items()} == {
        "not a file": [str(library / "device.png"), str(library / "pipe.jpg")]}
    assert first.added == 1
    for again in (run(dry_run=True), run()):
        assert (again.skipped, again.still_unreadable, again.unchanged) == ({}, 2, 1)
    (library / "pipe.jpg").unlink()
    save(photo(160, 120, seed=2), library / "pipe.jpg")
    there = run()
    assert (there.added, there.skipped, there.still_unreadable) == (1, {}, 1)


def test_an_indexed_photo_broken_since_keeps_its_record_says_so_and_is_back_without_embedding(tmp_path):
    """A photo indexed, then overwritten with half of a picture (a sync or a copy cut short) or with
    zeros (a disk fault), was skipped and its record kept without a word: searches still found
    it, and later runs said only "skipped again without reading". The record stays (nothing lost:
    synced whole or restored, it is found again without embedding) and every run says so."""
    library = tmp_path / "photos"
    cut, garbage = library / "cut.jpg", library / "zeroed.jpg"
    for n, path in enumerate((cut, garbage, library / "fine.jpg")):
        save(photo(320, 240, seed=n), path)
    run = runs_over(library, tmp_path)
    assert run().added == 3
    whole = cut.read_bytes()

    def vectors():
        store = open_store(tmp_path / "index", FakeEncoder().stamp)
        try:
            return [store.vector(str(p)) for p in (cut, garbage)]
        finally:
            store.close()
    before = vectors()
    truncated(photo(1600, 1200, seed=9), cut, "JPEG")
    garbage.write_bytes(bytes(10_000))  # zeroed
    first = run()
    assert first.skipped == {"truncated": [str(cut)], "decode error": [str(garbage)]}
    assert (first.kept_unreadable, first.removed, first.updated, first.unchanged) == (2, 0, 0, 1)
    said = ("2 unreadable files were indexed before they stopped reading: the index keeps their earlier pictures, which "
            "searches still find, until the files read again (deleted, they leave the index)")
    assert format_report(first).endswith(f"\n  {said}")
    for later in (run(dry_run=True), run()):  # left unread, and said again
        assert (later.skipped, later.still_unreadable, later.kept_unreadable) == ({}, 2, 2)
        assert said.replace("keeps", "would keep" if later.dry_run else "keeps") in format_report(later)
    assert all((a == b).all() for a, b in zip(vectors(), before))

    cut.write_bytes(whole)  # the sync completes
    garbage.unlink()
    back = run()
    assert (back.updated, back.content_kept, back.embedded, back.removed, back.kept_unreadable) == (1, 1, 0, 1, 0)
    assert "indexed before" not in format_report(back)


def test_info_the_index_panel_and_rest_name_the_indexed_photos_whose_files_broke(tmp_path):
    """After the run that skipped it, a photo broken since it was indexed was never named again:
    later runs counted it, ``clipsearch info`` said nothing. Info, the Index panel and REST's info
    name each (a broken file never indexed is no photo of the index: only the run says it)."""
    from cli.search import format_info
    from webui import rest
    from webui.handlers import Handlers
    from webui.markdown import info_markdown, md

    library = tmp_path / "photos"
    cut = save(photo(320, 240, seed=1), library / "cut.jpg")
    save(photo(320, 240, seed=2), library / "fine.jpg")
    run = runs_over(library, tmp_path)
    run()
    whole = cut.read_bytes()
    truncated(photo(1600, 1200, seed=9), cut, "JPEG")
    (library / "new.jpg").write_bytes(b"not a picture")
    assert run().kept_unreadable == 1
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    about = SearchEngine.index_info(settings)  # python -m clipsearch info
    assert about["unreadable_kept"] == {str(cut): "truncated"}
    said = ("1 indexed photo whose file no longer reads (a sync or a copy cut short?): kept as last read, and "
            "found by searches, until it reads again")
    assert f"Unreadable:    {said}\n               {cut} (truncated)" in format_info(about)
    engine = SearchEngine(FakeEncoder(), open_store(settings.index_dir, FakeEncoder().stamp), settings=settings)
    handlers = Handlers(engine, settings)
    try:
        assert engine.info()["unreadable_kept"] == {str(cut): "truncated"}
        assert f"- **Unreadable:** {said}: {md(str(cut))}\n" in info_markdown(engine.info())
        assert rest.info(handlers)["unreadable_kept"] == {str(cut): "truncated"}
        cut.write_bytes(whole)  # whole again: read by the next run; until then, not the file it skipped
        assert engine.info()["unreadable_kept"] == {}
        assert "Unreadable" not in format_info(engine.info()) and "Unreadable" not in info_markdown(engine.info())
    finally:
        handlers.close()
        engine.close()


def test_the_summary_counts_as_kept_unreadable_the_photos_info_names(tmp_path, monkeypatch):
    """One indexed photo the OS refuses (a chmod 000) and one truncated: the summary said "2
    unreadable files were indexed before they stopped reading", ``info`` named the truncated one
    alone (a refused file is no lasting reason: tried every pass, never listed). Both say 1 now."""
    library = tmp_path / "photos"
    cut = save(photo(320, 240, seed=1), library / "cut.jpg")
    refused = save(photo(320, 240, seed=2), library / "refused.jpg")
    run = runs_over(library, tmp_path)
    run()
    truncated(photo(1600, 1200, seed=9), cut, "JPEG")
    os.utime(refused, ns=(1, 1))  # changed: read again, and refused (tests run as root: the OS's answer simulated)
    real_open = os.open

    def refusing(path, *args, **kwargs):
        if os.fspath(path) == str(refused):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    report = run()
    assert report.skipped == {"permission denied": [str(refused)], "truncated": [str(cut)]}
    assert report.kept_unreadable == 1
    info = SearchEngine.index_info(Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache"))
    assert info["unreadable_kept"] == {str(cut): "truncated"}
    assert "1 unreadable file was indexed before it stopped reading" in format_report(run())
