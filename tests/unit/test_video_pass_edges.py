"""The video pass at its edges: a disk not mounted, a video that breaks, a removal, a dry run over
one folder of several, a rename, copies before the first run (real clips, the fake model)."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

import clipsearch.videopass as videopass
import clipsearch.videos
import indexer.cli
from clipsearch import SearchEngine, Settings, kept_lists, mount_points
from clipsearch.demo import Scene, SceneObject
from clipsearch.demo.clips import write_clip
from clipsearch.dryrun import first_video_pass
from clipsearch.ocr import Line, PageText, Word
from clipsearch.stores import open_store
from clipsearch.videoindex import VideoIndex
from clipsearch.videopass import VideoPass
from indexer.videoreport import format_video_report
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save

TWO_SHOTS = [Scene((SceneObject("red", "circle"),), "gray"), Scene((SceneObject("blue", "square"),), "white")]
ONE_SHOT = [Scene((SceneObject("green", "triangle"),), "brown")]


def clip(path, scenes=TWO_SHOTS, seconds_each: float = 2.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_clip(path, scenes, seconds_each=seconds_each, fps=5, size=64)


def run(store: VideoIndex, folder, dry_run: bool = False, **kwargs):
    return VideoPass(store, FakeEncoder(), **kwargs).run([str(folder)], [], dry_run=dry_run)


def engine_of(settings: Settings) -> SearchEngine:
    encoder = FakeEncoder()
    return SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)


def indexed(settings: Settings, *folders) -> None:
    """``folders`` indexed with the fake model, their videos read, the engine closed."""
    engine = engine_of(settings)
    try:
        engine.set_video_reading(True)
        for folder in folders:
            engine.index_folder(folder)
        engine.read_videos()
    finally:
        engine.close()


def cli(*args: str, capsys) -> str:
    assert indexer.cli.main([*args]) == 0
    return capsys.readouterr().out


@pytest.fixture
def real_runs(monkeypatch):
    """The CLI's runs (not its dry runs, which load no model) with the fake model."""
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine_of(settings))
    monkeypatch.setattr(indexer.cli, "stop_on_signals", threading.Event)


class Mounts:
    """A stand-in for the disks mounted inside a folder: the video pass's scan finds each folder of
    ``on`` on a device of its own, as it finds a mount point."""

    def __init__(self, monkeypatch) -> None:
        self.on: set[str] = set()
        scan = videopass.scan_images

        def scan_images(*args, **kwargs):
            result = scan(*args, **kwargs)
            result.mounts.update({folder: 99 for folder in self.on if os.path.isdir(folder)})
            return result

        monkeypatch.setattr(videopass, "scan_images", scan_images)


# --- 1. a disk not mounted inside a covered folder keeps its videos ------------------------------

def test_a_disk_of_videos_alone_not_mounted_inside_a_covered_folder_keeps_them(tmp_path, monkeypatch):
    """Its photos were kept (``mounts.json``), its videos not: unmounted, "removed 1", the moments
    gone, and decoded again once it was back. A disk of videos alone was not even remembered."""
    library, away = tmp_path / "library", tmp_path / "away"
    disk = library / "nas"
    clip(disk / "a.mp4")
    clip(library / "here.mp4", ONE_SHOT)
    mounts = Mounts(monkeypatch)
    mounts.on.add(str(disk))
    store = VideoIndex.open(tmp_path / "index", create=True)
    assert run(store, library).read == 2
    moments = store.counts()["moments"]
    shutil.move(disk, away)  # unmounted: an empty mount point on the library's disk
    disk.mkdir()
    mounts.on.clear()
    gone = run(store, library)
    assert (gone.removed, gone.kept) == (0, {str(disk): 1}), gone
    assert len(store.records()) == 2 and store.counts()["moments"] == moments
    assert run(store, library, dry_run=True).kept == {str(disk): 1}
    disk.rmdir()
    shutil.move(away, disk)  # mounted again: nothing decoded
    mounts.on.add(str(disk))
    back = run(store, library)
    assert (back.read, back.removed, back.unchanged, back.kept) == (0, 0, 2, {})
    (disk / "a.mp4").unlink()  # deleted from the disk while it is mounted: it leaves, as before
    assert run(store, library).removed == 1 and len(store.records()) == 1


def test_a_disk_the_photos_runs_remember_keeps_its_videos_too(tmp_path, monkeypatch):
    """A disk the photos' runs remember (``mounts.json``), not the video store (its videos read by
    a release before, or while its mount was not seen): not mounted, its videos are kept too."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    library = tmp_path / "library"
    disk = library / "nas"
    save(photo(160, 120, seed=1), library / "p1.jpg", quality=90)
    clip(disk / "a.mp4")
    indexed(settings, library)
    kept_lists.save(settings.index_dir, mount_points.FILE_NAME, mount_points.VERSION, {str(disk): []}, "test")
    (disk / "a.mp4").rename(tmp_path / "a.mp4")  # its disk away: an empty mount point
    engine = engine_of(settings)
    try:
        report = engine.read_videos()
        assert (report.removed, report.kept) == (0, {str(disk): 1}), report
        assert [r.path for r in engine.video_records()] == [str(disk / "a.mp4")]
    finally:
        engine.close()


# --- 2. an indexed video that breaks keeps its moments ------------------------------------------

def test_an_indexed_video_that_breaks_keeps_its_moments_until_it_reads_again(tmp_path):
    """A half-synced copy (cut to a third) lost the video's record and moments, and the good file
    back was decoded again; a photo keeps its record (``kept_unreadable``)."""
    folder = tmp_path / "clips"
    clip(folder / "a.mp4")
    clip(folder / "stays.mp4", ONE_SHOT)  # the folder is not empty (as a disk not mounted is)
    store = VideoIndex.open(tmp_path / "index", create=True)
    assert run(store, folder).read == 2
    before, good = store.records(), (folder / "a.mp4").read_bytes()
    moments = store.counts()["moments"]
    (folder / "a.mp4").write_bytes(good[: len(good) // 3])
    broken = run(store, folder)
    assert store.records() == before and store.counts()["moments"] == moments, store.counts()
    assert list(broken.skipped) and (broken.removed, broken.kept_unreadable) == (0, 1), broken
    assert "1 unreadable video was read before it stopped reading: the index keeps its moments" in \
        format_video_report(broken)
    assert list(store.unreadable()) == [str(folder / "a.mp4")]
    again = run(store, folder)
    assert (again.still_unreadable, again.kept_unreadable, again.read, again.skipped) == (1, 1, 0, {})
    assert run(store, folder, dry_run=True).kept_unreadable == 1
    (folder / "a.mp4").write_bytes(good)  # the copy completes: its moments, nothing decoded
    whole = run(store, folder)
    assert (whole.read, whole.reused, whole.kept_unreadable, whole.removed) == (0, 1, 0, 0), whole
    assert store.unreadable() == {} and store.counts()["moments"] == moments
    (folder / "a.mp4").write_bytes(good[: len(good) // 3])
    run(store, folder)
    (folder / "a.mp4").unlink()  # a broken video deleted leaves, as any deleted one does
    assert run(store, folder).removed == 1 and len(store.records()) == 1 and store.unreadable() == {}


class SignReader:
    """A text reader (``--ocr``) that reads OPEN in every frame."""

    threads, stamp = 1, {"reader": "sign"}

    def read(self, image):
        box = ((0, 0), (9, 0), (9, 9), (0, 9))
        return PageText((Line("OPEN", 0.9, (Word("OPEN", 0.9, box),)),), image.width, image.height)


def test_the_words_of_a_video_that_broke_wait_until_it_reads_again(tmp_path, monkeypatch):
    """Its moments kept, a broken video's words were read from the broken file: none, and marked
    read, so the whole file back would never have its words read."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    library = tmp_path / "library"
    clip(library / "a.mp4")
    clip(library / "stays.mp4", ONE_SHOT)
    indexed(settings, library)
    good = (library / "a.mp4").read_bytes()
    (library / "a.mp4").write_bytes(good[: len(good) // 3])
    monkeypatch.setattr(clipsearch.videos, "TextReader", SignReader)
    engine = engine_of(settings)
    try:
        engine.set_text_reading(True)  # --ocr given while it is broken
        broken = engine.read_videos()
        assert broken.kept_unreadable == 1 and (broken.words.videos, broken.words.skipped) == (1, {}), broken
        (library / "a.mp4").write_bytes(good)
        whole = engine.read_videos()
        assert (whole.read, whole.reused, whole.words.videos, whole.words.moments) == (0, 1, 1, 2), whole
    finally:
        engine.close()


# --- 3. --remove says the videos it forgets -----------------------------------------------------

def test_removing_a_folder_of_videos_says_them_in_the_dry_run_the_run_and_json(tmp_path, real_runs, capsys):
    """``--remove LIB/videos`` forgot its video silently: "would remove 0 images", "removed 0",
    ``{"removed_folders": {".../videos": 0}}``."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    library, index = tmp_path / "library", str(tmp_path / "index")
    save(photo(160, 120, seed=1), library / "p1.jpg", quality=90)
    clip(library / "videos" / "a.mp4")
    indexed(settings, library)
    videos = str(library / "videos")
    said = cli("--remove", videos, "--dry-run", "--index", index, capsys=capsys)
    assert f"would remove 0 images and 1 video (2 moments) under {videos}" in said, said
    dry = json.loads(cli("--remove", videos, "--dry-run", "--json", "--index", index, capsys=capsys))
    assert dry["removed_folders"] == {videos: 0}  # the photos, as before
    assert dry["removed_videos"] == {videos: {"videos": 1, "moments": 2}}, dry
    said = cli("--remove", videos, "--index", index, capsys=capsys)
    assert f"removed 0 images and 1 video (2 moments) under {videos}" in said, said
    engine = engine_of(settings)
    try:
        assert engine.video_records() == []
    finally:
        engine.close()


def test_a_dry_run_that_removes_a_folder_inside_one_counts_the_videos_as_the_run(tmp_path, real_runs, capsys):
    """``--remove SUB FOLDER --dry-run``: SUB's videos were found and unchanged, where the run,
    which forgets them first, leaves SUB out."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    library, index = tmp_path / "library", str(tmp_path / "index")
    save(photo(160, 120, seed=1), library / "p1.jpg", quality=90)
    clip(library / "sub" / "a.mp4")
    clip(library / "b.mp4", ONE_SHOT)
    indexed(settings, library)
    args = ["--remove", str(library / "sub"), str(library), "--json", "--index", index]
    dry = json.loads(cli(*args, "--dry-run", capsys=capsys))["videos"]
    real = json.loads(cli(*args, capsys=capsys))["videos"]
    names = ("videos", "unchanged", "removed", "reused")
    assert {k: dry[k] for k in names} == {k: real[k] for k in names} == {"videos": 1, "unchanged": 1, "removed": 0,
                                                                         "reused": 0}, (dry, real)
    assert dry["left"] == real["read"] == 0


# --- 4. a dry run over one folder of several ----------------------------------------------------

def test_a_dry_run_of_one_folder_says_the_videos_of_every_covered_folder_as_the_run(tmp_path, real_runs, capsys):
    """``--dry-run A`` on an index of A and B said it would remove B's videos and did not count B's
    new one; the run reads every covered folder's."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    first, second, index = tmp_path / "a", tmp_path / "b", str(tmp_path / "index")
    for folder in (first, second):
        save(photo(160, 120, seed=len(str(folder))), folder / "p.jpg", quality=90)
        clip(folder / "v.mp4")
    indexed(settings, first, second)
    clip(second / "new.mp4", ONE_SHOT)
    dry = json.loads(cli(str(first), "--dry-run", "--json", "--index", index, capsys=capsys))["videos"]
    real = json.loads(cli(str(first), "--json", "--index", index, capsys=capsys))["videos"]
    assert (dry["videos"], dry["left"], dry["removed"], dry["unchanged"]) == (3, 1, 0, 2), dry
    assert (real["videos"], real["read"], real["removed"], real["unchanged"]) == (3, 1, 0, 2), real


# --- 5. --ocr --dry-run says the moments' words -------------------------------------------------

def test_a_dry_run_with_ocr_says_the_moments_whose_words_it_would_read(tmp_path, capsys):
    """``--ocr --dry-run`` on an index whose moments' words were never read said nothing of them
    ("words": null), where README says the dry run counts them."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    library, index = tmp_path / "library", str(tmp_path / "index")
    save(photo(160, 120, seed=1), library / "p1.jpg", quality=90)
    clip(library / "a.mp4")
    indexed(settings, library)
    dry = json.loads(cli(str(library), "--dry-run", "--ocr", "--json", "--index", index, capsys=capsys))
    assert dry["videos"]["words"] is not None, dry["videos"]
    assert (dry["videos"]["words"]["videos"], dry["videos"]["words"]["moments"]) == (1, 2)
    said = cli(str(library), "--dry-run", "--ocr", "--index", index, capsys=capsys)
    assert "would read the words in 2 moments of 1 video already read" in said, said
    plain = json.loads(cli(str(library), "--dry-run", "--json", "--index", index, capsys=capsys))
    assert plain["videos"]["words"] is None  # the index reads no words: none said


# --- 6. a rename is a move, an unreadable entry no video ----------------------------------------

def test_a_renamed_video_is_moved_not_removed_and_an_unreadable_file_deleted_is_no_video_removed(tmp_path):
    """A rename counted "1 moved or copied kept their moments; ... removed 1" (photos: moved 1,
    removed 0), and deleting a file only on the unreadable list counted as a video removed."""
    folder = tmp_path / "clips"
    clip(folder / "a.mp4")
    (folder / "notes.mp4").write_text("not a video\n" * 50)
    clip(folder / "stays.mp4", ONE_SHOT)  # the folder is not empty (as a disk not mounted is)
    store = VideoIndex.open(tmp_path / "index", create=True)
    run(store, folder)
    (folder / "a.mp4").rename(folder / "b.mp4")
    (folder / "notes.mp4").unlink()
    dry = run(store, folder, dry_run=True)
    assert (dry.left, dry.reused, dry.removed) == (0, 1, 0), dry
    moved = run(store, folder)
    assert (moved.read, moved.reused, moved.removed) == (0, 1, 0), moved
    assert [r.path for r in store.records()] == [str(folder / "b.mp4"), str(folder / "stays.mp4")]
    assert store.unreadable() == {}
    shutil.copy(folder / "b.mp4", folder / "c.mp4")
    (folder / "b.mp4").unlink()  # copied, then the original deleted: a move too
    assert run(store, folder).removed == 0
    (folder / "c.mp4").unlink()
    assert run(store, folder).removed == 1  # deleted


# --- 7. a first dry run counts copies as the run reads them -------------------------------------

def test_a_first_dry_run_counts_two_copies_of_a_video_as_one_to_read(tmp_path):
    """Where there is no index yet, the dry run said 2 videos to read for two copies of one; the
    run reads one, and gives the other its moments."""
    folder = tmp_path / "clips"
    clip(folder / "a.mp4")
    shutil.copy(folder / "a.mp4", folder / "copy.mp4")
    clip(folder / "other.mp4", ONE_SHOT)
    dry = first_video_pass([folder])
    real = run(VideoIndex.open(tmp_path / "index", create=True), folder)
    assert (dry.videos, dry.left, dry.reused) == (3, 2, 1), dry
    assert (real.videos, real.read, real.reused) == (3, 2, 1)
    assert first_video_pass([folder], words=True).words is not None  # --ocr: the words would be read


def test_the_moments_search_checks_k_and_the_cutoff_as_the_photos_search_does(tmp_path):
    """``moments(k=-1)`` listed all but one video, and a NaN cut-off marked every moment strong,
    where ``search`` refuses both."""
    from clipsearch.errors import InvalidQuery

    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    folder = tmp_path / "clips"
    clip(folder / "a.mp4")
    clip(folder / "b.mp4", ONE_SHOT)
    save(photo(64, 48, seed=1), folder / "p.jpg")
    indexed(settings, folder)
    engine = engine_of(settings)
    try:
        assert len(engine.moments("a red circle", k=2, cutoff=0)) == 2
        for k in (-1, -2):
            with pytest.raises(InvalidQuery, match="0 or more"):
                engine.moments("a red circle", k=k)
            with pytest.raises(InvalidQuery, match="0 or more"):
                engine.similar_moments(str(folder / "p.jpg"), k=k)
        with pytest.raises(TypeError, match="whole number"):
            engine.moments("a red circle", k=1.5)
        with pytest.raises(InvalidQuery, match="cut-off"):
            engine.moments("a red circle", cutoff=float("nan"))
        assert engine.moments("a red circle", k=0) == []
    finally:
        engine.close()
