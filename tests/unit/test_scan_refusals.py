"""What a folder scan could not look at keeps its records; a symlink loop is said by one scan only.

Tests run as root here, where ``chmod`` refuses nothing: the OS's refusal is simulated for one
path (``os.scandir``, a listed entry's ``stat``); ``tests/integration/test_refused_folders.py``
refuses for real, with the capabilities that let root past ``chmod`` dropped.
"""

from __future__ import annotations

import errno
import os
import shutil

import pytest

from clipsearch import SearchEngine, Settings
from clipsearch.image_formats import is_video_name
from clipsearch.images import scan_images
from clipsearch.stores import open_store
from clipsearch.videoindex import VideoIndex
from clipsearch.videopass import VideoPass
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


def runs_over(library, tmp_path):
    """A run over ``library`` (its keyword arguments: ``dry_run``...) by a new engine over the same
    index, as runs of the indexer are; and the paths the index holds."""
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")

    def run(**kwargs):
        store = open_store(settings.index_dir, FakeEncoder().stamp, create=True)
        engine = SearchEngine(FakeEncoder(), store, settings=settings)
        try:
            return engine.index_folder(library, **kwargs), set(store.file_states())
        finally:
            engine.close()
    return run


def a_library(tmp_path):
    """Two photos at the top, three in ``winter``, two in ``2020``."""
    library = tmp_path / "photos"
    for i, rel in enumerate(["a.jpg", "b.png", "winter/c.jpg", "winter/d.jpg", "winter/e.png",
                             "2020/f.jpg", "2020/g.jpg"]):
        save(photo(160, 120, seed=i), library / rel)
    return library


def refusing_to_list(monkeypatch, folder, error: int = errno.EACCES) -> None:
    """``os.scandir`` refuses ``folder`` as the OS does a ``chmod 000`` one (or a stale mount: EIO)."""
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(folder):
            raise OSError(error, os.strerror(error), os.fspath(path))
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)


class _Unstattable:
    """A listed entry whose ``stat`` the OS refuses (its folder readable but not searchable: 644)."""

    def __init__(self, entry: os.DirEntry) -> None:
        self.name, self.path = entry.name, entry.path

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return False  # the folder's listing says so (d_type), without a stat

    def is_symlink(self) -> bool:
        return False

    def stat(self, follow_symlinks: bool = True):
        raise PermissionError(errno.EACCES, "Permission denied", self.path)


def refusing_to_stat(monkeypatch, folder) -> None:
    real = os.scandir

    def scandir(path="."):
        entries = list(real(path))
        return iter([_Unstattable(e) for e in entries] if os.fspath(path) == os.fspath(folder) else entries)
    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.parametrize("error", [errno.EACCES, errno.EIO, errno.ENOTCONN], ids=["EACCES", "EIO", "ENOTCONN"])
def test_a_subfolder_that_cannot_be_listed_keeps_its_photos_and_they_are_back_unchanged(tmp_path, error):
    """A subfolder the OS would not list (``chmod 000``), or that failed to read (a stale network
    or FUSE mount), lost its indexed photos: the run removed them ("removed 3") and, once it read
    again, embedded them all again. They are kept, as a folder gone or empty keeps its photos
    (``kept``: folder -> photos), and back unchanged, nothing embedded, when it reads again."""
    library = a_library(tmp_path)
    run = runs_over(library, tmp_path)
    first, indexed = run()
    assert first.added == 7 and len(indexed) == 7
    winter = str(library / "winter")
    with pytest.MonkeyPatch.context() as refused:
        refusing_to_list(refused, winter, error)
        dry, _ = run(dry_run=True)
        assert (dry.removed, dry.kept, list(dry.skipped.values())) == (0, {winter: 3}, [[winter]])
        report, held = run()
        assert (report.removed, report.kept, report.unchanged) == (0, {winter: 3}, 4)
        assert held == indexed
    back, held = run()
    assert (back.unchanged, back.added, back.embedded, back.removed, back.kept) == (7, 0, 0, 0, {})
    assert held == indexed


def test_photos_whose_files_cannot_be_statted_are_kept_under_their_folder(tmp_path):
    """A folder listed but not searchable (``chmod 644``: each file's ``stat`` refused) lost its
    photos ("removed 2"). Each is skipped with its reason, and its record kept, counted under its
    folder as a refused folder's are (``kept``; not ``kept_unreadable``, the files that broke, which
    ``info`` names), in the dry run too; readable again, nothing is embedded."""
    library = a_library(tmp_path)
    run = runs_over(library, tmp_path)
    _, indexed = run()
    folder = library / "2020"
    with pytest.MonkeyPatch.context() as refused:
        refusing_to_stat(refused, folder)
        for dry_run in (True, False):
            report, held = run(dry_run=dry_run)
            assert (report.removed, report.kept, report.kept_unreadable) == (0, {str(folder): 2}, 0)
            assert sorted(report.skipped["permission denied"]) == [str(folder / "f.jpg"), str(folder / "g.jpg")]
        assert held == indexed
    back, held = run()
    assert (back.unchanged, back.embedded, back.removed, held) == (7, 0, 0, indexed)


def test_a_folder_deleted_still_loses_its_photos(tmp_path):
    library = a_library(tmp_path)
    run = runs_over(library, tmp_path)
    run()
    shutil.rmtree(library / "winter")
    report, held = run()
    assert (report.removed, report.kept, report.kept_unreadable, len(held)) == (3, {}, 0, 4)


def test_a_video_pass_keeps_the_videos_of_a_folder_it_cannot_list(tmp_path, monkeypatch):
    """The video pass removed them too (their moments lost); kept as a folder gone or empty keeps them."""
    from clipsearch.demo import Scene, SceneObject
    from clipsearch.demo.clips import write_clip

    folder = tmp_path / "clips"
    for rel, colour in (("top.mp4", "red"), ("trip/a.mp4", "blue")):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_clip(folder / rel, [Scene((SceneObject(colour, "circle"),), "gray")], seconds_each=1.0, fps=4, size=48)
    store = VideoIndex.open(tmp_path / "index", create=True)
    try:
        assert VideoPass(store, FakeEncoder()).run([str(folder)], []).read == 2
        with pytest.MonkeyPatch.context() as refused:
            refusing_to_list(refused, folder / "trip")
            for dry_run in (True, False):
                report = VideoPass(store, FakeEncoder()).run([str(folder)], [], dry_run=dry_run)
                assert (report.removed, report.kept) == (0, {str(folder / "trip"): 1})
        back = VideoPass(store, FakeEncoder()).run([str(folder)], [])
        assert (back.unchanged, back.read, back.removed) == (2, 0, 0)
    finally:
        store.close()


def test_a_symlink_loop_is_said_only_by_the_scan_its_name_is_for(tmp_path):
    """A link looping on itself raised in ``is_dir`` before its name was looked at, and both scans
    (photos', videos') reported it, whatever its name: a ``.jpg`` loop was a skipped video too,
    and a ``.txt`` one an error in both. It leads to no folder: a photo's name is the photo scan's
    "symlink loop", a video's the video scan's, another name neither's."""
    folder = tmp_path / "bad"
    folder.mkdir()
    for a, b in (("loop1.jpg", "loop2.jpg"), ("a.txt", "b.txt"), ("x.mp4", "y.mp4"), ("noext1", "noext2")):
        (folder / a).symlink_to(b)
        (folder / b).symlink_to(a)
    photos = scan_images([folder])
    assert sorted(photos.errors) == [(str(folder / "loop1.jpg"), "symlink loop"), (str(folder / "loop2.jpg"), "symlink loop")]
    videos = scan_images([folder], wanted=is_video_name)
    assert sorted(videos.errors) == [(str(folder / "x.mp4"), "symlink loop"), (str(folder / "y.mp4"), "symlink loop")]
    assert photos.files == videos.files == []


def test_a_dry_run_does_not_count_copied_or_touched_videos_as_videos_to_read(tmp_path):
    """A video copied and one touched were "would read 2 (new or changed)" in a dry run, while the
    pass read none (both keep their moments, by content). The dry run hashes a video of an indexed
    one's size, as the pass does, and counts them ``reused``, not to read."""
    from clipsearch.demo import Scene, SceneObject
    from clipsearch.demo.clips import write_clip

    folder = tmp_path / "clips"
    folder.mkdir()
    for name, colour in (("a.mp4", "red"), ("b.mp4", "blue")):
        write_clip(folder / name, [Scene((SceneObject(colour, "circle"),), "gray")], seconds_each=1.0, fps=4, size=48)
    store = VideoIndex.open(tmp_path / "index", create=True)
    try:
        assert VideoPass(store, FakeEncoder()).run([str(folder)], []).read == 2
        shutil.copy(folder / "a.mp4", folder / "copy.mp4")
        os.utime(folder / "b.mp4", ns=(1, 1))
        write_clip(folder / "new.mp4", [Scene((SceneObject("green", "square"),), "white")], seconds_each=1.0,
                   fps=4, size=48)
        dry = VideoPass(store, FakeEncoder()).run([str(folder)], [], dry_run=True)
        assert (dry.left, dry.reused, dry.unchanged) == (1, 2, 1)
        done = VideoPass(store, FakeEncoder()).run([str(folder)], [])
        assert (done.read, done.reused, done.unchanged) == (1, 2, 1)
    finally:
        store.close()
