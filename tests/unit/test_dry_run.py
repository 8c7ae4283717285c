"""``--dry-run``: its figures are those of the run that follows it, and it writes nothing, even
beside another run that holds the index's lock."""

from __future__ import annotations

import json
import os
import shutil
import threading

from PIL import Image

import clipsearch.textsearch
import indexer.cli
from clipsearch import SearchEngine, Settings
from clipsearch.lock import IndexLock
from clipsearch.ocr import PageText
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save

COUNTS = ("added", "updated", "moved", "removed", "unchanged", "reused", "metadata_kept", "content_kept",
          "embedded")


def indexed(settings: Settings, library, *, ocr: bool = False) -> None:
    """``library`` indexed with the fake model (its words read too, with ``ocr``), the engine closed:
    the folder as a run leaves it."""
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        if ocr:
            engine.set_text_reading(True)
        engine.index_folder(library)
        if ocr:
            engine.text.read(engine.store, reader=PageReader())
    finally:
        engine.close()


class PageReader:
    """An OCR engine stand-in that finds no words; counts the pictures it read."""

    threads = 1
    stamp = {"reader": "fake"}

    def __init__(self, threads: int | None = None) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> PageText:
        with self._lock:
            self.calls += 1
        return PageText((), image.width, image.height)  # read, no words found


def copies_of_new_content(library) -> None:
    """Two new copies of one new photo, a photo changed into a third, a new copy of a PNG new too
    (the same bytes), and a photo new once: 4 contents the index lacks in 6 files."""
    save(photo(160, 120, seed=40), library / "a" / "twin.jpg", quality=90)
    shutil.copy(library / "a" / "twin.jpg", library / "b" / "twin.jpg")
    shutil.copy(library / "a" / "twin.jpg", library / "b" / "p4.jpg")  # changed (its size too: read)
    save(photo(100, 100, seed=41), library / "a" / "flat.png")
    shutil.copy(library / "a" / "flat.png", library / "b" / "flat.png")
    save(photo(160, 120, seed=42), library / "new.jpg", quality=90)


def figures(report) -> dict[str, int]:
    get = report.get if isinstance(report, dict) else lambda name: getattr(report, name)
    return {name: get(name) for name in COUNTS}


def test_two_new_copies_of_one_new_content_count_as_one_to_embed_as_the_run_embeds_them(settings, library):
    """A dry run counted every new copy of a content the index lacked as a photo to embed; the run
    embeds it once and gives the copies its vector (``reused``)."""
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        engine.index_folder(library)
        copies_of_new_content(library)
        dry = engine.index_folder(library, dry_run=True)
        before = encoder.images_embedded
        real = engine.index_folder(library)
        assert figures(dry) == figures(real)
        assert (real.added, real.updated, real.reused, real.embedded) == (5, 1, 3, 3)
        assert encoder.images_embedded - before == dry.embedded == 3
    finally:
        engine.close()


def test_two_new_files_of_one_picture_with_other_metadata_are_two_to_embed_as_in_the_run(settings, library):
    """The run reuses a vector by content: two new files of one picture, their metadata not the
    same (a comment here), are two contents it embeds, each, and so says the dry run."""
    import io

    data = io.BytesIO()
    photo(160, 120, seed=45).save(data, "JPEG", quality=90)
    for name, words in (("one.jpg", b"first"), ("two.jpg", b"other")):  # the same size: both read
        (library / name).write_bytes(data.getvalue()[:2] + b"\xff\xfe\x00\x07" + words + data.getvalue()[2:])
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        dry = engine.index_folder(library, dry_run=True)
        real = engine.index_folder(library)
    finally:
        engine.close()
    assert figures(dry) == figures(real) and (real.added, real.reused, real.embedded) == (8, 0, 8)


def test_a_first_dry_run_counts_copies_of_one_content_once_to_embed_and_to_read(settings, library, capsys):
    """Where there is no index yet, the same: each content embedded and its words read once."""
    copies_of_new_content(library)  # 11 photos of 8 contents
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--json", "--index", str(settings.index_dir)]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert not settings.index_dir.exists()
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        engine.set_text_reading(True)
        real = engine.index_folder(library)
        reader = PageReader()
        text = engine.text.read(engine.store, reader=reader)
    finally:
        engine.close()
    assert figures(dry) == figures(real) and (real.added, real.reused, real.embedded) == (11, 3, 8)
    assert dry["text"]["to_read"] == text.to_read == reader.calls == encoder.images_embedded == 8


def test_a_dry_run_then_the_run_on_one_folder_say_the_same_figures_words_included(settings, library, monkeypatch,
                                                                                  capsys):
    """``python -m indexer FOLDER --dry-run --ocr`` and then the run: the same counts of photos to
    add, embed and reuse, and of photos whose words the text pass reads (each content once)."""
    indexed(settings, library, ocr=True)
    copies_of_new_content(library)
    index = str(settings.index_dir)
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--json", "--index", index]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--index", index]) == 0
    said = capsys.readouterr().out
    assert "would add 5, update 1, move 0, remove 0; 5 unchanged" in said
    assert "  would embed 3 (3 reused from identical files)" in said
    assert "  text: would read the words in 3 photos (3 new or changed); 6 already read" in said

    encoder = FakeEncoder()  # the run, with the fake model and OCR engine (the CLI's own would download)
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    readers: list[PageReader] = []
    monkeypatch.setattr(indexer.cli.SearchEngine, "for_writing", lambda settings, **_: engine)
    monkeypatch.setattr(clipsearch.textsearch, "TextReader", lambda threads=None: readers.append(PageReader()) or readers[-1])
    monkeypatch.setattr(indexer.cli, "stop_on_signals", threading.Event)
    try:
        assert indexer.cli.main([str(library), "--ocr", "--json", "--index", index]) == 0
    finally:
        engine.close()
    real = json.loads(capsys.readouterr().out)
    assert figures(dry) == figures(real) and real["embedded"] == encoder.images_embedded == 3
    assert dry["text"]["to_read"] == real["text"]["to_read"] == real["text"]["read"] == readers[0].calls == 3


def folder_state(folder) -> dict[str, tuple[bytes, int, int]]:
    """Every file in the index folder: its bytes, modification time and inode (a file replaced has another)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_dry_run_writes_nothing_into_the_index_folder(settings, library, capsys):
    """A dry run opened the index to write: it wrote the manifest again, and the lock's file."""
    indexed(settings, library, ocr=True)
    save(photo(160, 120, seed=43), library / "new.jpg", quality=90)
    (library / "a" / "p0.jpg").unlink()
    before = folder_state(settings.index_dir)
    index = str(settings.index_dir)
    for extra in ([], ["--ocr", "--json"], ["--videos"], ["--remove", str(library / "b")]):
        assert indexer.cli.main([str(library), "--dry-run", "--index", index, *extra]) == 0
        assert folder_state(settings.index_dir) == before, extra
    assert indexer.cli.main(["--remove", str(library / "b"), "--dry-run", "--index", index]) == 0
    assert "dry run: would remove 3 images under" in capsys.readouterr().out
    assert folder_state(settings.index_dir) == before


def test_a_dry_run_goes_ahead_beside_a_run_that_holds_the_lock_and_says_so(settings, library, capsys):
    """A dry run was refused while another indexer held the index's lock, though it writes nothing.
    It reads the index as it stands, says that another run is under way, and writes nothing."""
    indexed(settings, library, ocr=True)
    save(photo(160, 120, seed=44), library / "new.jpg", quality=90)
    index = str(settings.index_dir)
    with IndexLock(settings.index_dir):  # another run, at work
        before = folder_state(settings.index_dir)
        assert indexer.cli.main([str(library), "--dry-run", "--ocr", "--videos", "--index", index]) == 0
        said = capsys.readouterr().out
        assert "would add 1, update 0, move 0, remove 0; 6 unchanged" in said
        assert f"  another run is updating the index now (process {os.getpid()} on " in said
        assert "these figures may change by the time it ends" in said
        assert indexer.cli.main([str(library), "--dry-run", "--json", "--index", index]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["added"] == 1 and report["another_run"].startswith(f"process {os.getpid()} on ")
        assert indexer.cli.main(["--remove", str(library / "a"), "--dry-run", "--index", index]) == 0
        said = capsys.readouterr().out
        assert "dry run: would remove 3 images under" in said and "another run is updating the index now" in said
        assert indexer.cli.main(["--remove", str(library / "a"), "--dry-run", "--json", "--index", index]) == 0
        assert json.loads(capsys.readouterr().out)["another_run"].startswith(f"process {os.getpid()} on ")
        assert folder_state(settings.index_dir) == before
    assert indexer.cli.main([str(library), "--dry-run", "--json", "--index", index]) == 0  # the run ended
    assert "another_run" not in json.loads(capsys.readouterr().out)


def test_a_dry_run_beside_a_first_run_that_is_making_the_index_says_so(settings, library, capsys):
    """While a first run loaded its model (the lock taken, no index yet), a dry run said only "no
    index in DIR yet": as if none were on its way."""
    index = str(settings.index_dir)
    with IndexLock(settings.index_dir):  # a first run, its model loading
        assert indexer.cli.main([str(library), "--dry-run", "--index", index]) == 0
        said = capsys.readouterr().out
        assert f"no index in {index} yet (another run is making it now: process {os.getpid()} on " in said
        assert said.rstrip().endswith(": nothing was created")
        assert indexer.cli.main([str(library), "--dry-run", "--json", "--index", index]) == 0
        assert json.loads(capsys.readouterr().out)["another_run"].startswith(f"process {os.getpid()} on ")
    assert not (settings.index_dir / "records.sqlite").exists()
    assert indexer.cli.main([str(library), "--dry-run", "--index", index]) == 0  # the run ended, none made
    assert "another run" not in capsys.readouterr().out
