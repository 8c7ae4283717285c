"""An index made by the first release opens in later ones: nothing re-embedded, upgraded in place.

The fixture (tests/fixtures/first-release) was written by the first release's code with the demo
model: six pictures, indexed from /home/user/Pictures. Its SQLite file has no ``revision`` row
(revision 1) and no ``purged_gen``; the upgrade to today's revision runs in one transaction when a
writer opens it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.saved import FILE_NAME, PHOTO_FILE_NAME, SavedSearch, SavedSearches
from clipsearch.stores import migrations, open_store
from clipsearch.stores.layout import DB_NAME

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "first-release"
OLD_ROOT = "/home/user/Pictures"


@pytest.fixture
def old_index(tmp_path) -> Path:
    index = tmp_path / "index"
    shutil.copytree(FIXTURE / "index", index)
    return index


def layout(index: Path) -> tuple[dict[str, str], set[str]]:
    """The meta rows (but the stamp) and SQLite index names of an index."""
    with sqlite3.connect(index / DB_NAME) as db:
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key != 'stamp'"))
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return meta, names


def assert_every_photo_finds_itself(store) -> None:
    assert store.count() == 6 and store.check() == []
    for record in store.records():
        assert store.search(store.vector(record.path), 1)[0][0].path == record.path


def test_the_fixture_is_the_first_release_format(old_index):
    meta, _ = layout(old_index)
    assert "revision" not in meta and "purged_gen" not in meta and meta["generation"] == "1"
    assert (FIXTURE / "index" / "records.sqlite").stat().st_size + (FIXTURE / "index" / "vectors-1.hnsw").stat().st_size < 1 << 20


def test_a_reader_opens_it_as_it_is(old_index):
    before = layout(old_index)
    store = open_store(old_index)
    try:
        assert store.stamp["model"] == "demo" and store.stamp["schema_version"] == 1
        assert_every_photo_finds_itself(store)
        assert {r.path for r in store.records()} == {
            f"{OLD_ROOT}/{name}" for name in ("pic_0.jpg", "pic_2.jpg", "pic_4.jpg", "trips/pic_1.jpg",
                                              "trips/pic_3.jpg", "trips/pic_5.jpg")}
    finally:
        store.close()
    assert layout(old_index) == before  # reading upgrades nothing


def test_a_writer_upgrades_it_in_place_without_embedding_anything(old_index, tmp_path, monkeypatch):
    photos = tmp_path / "photos"
    shutil.copytree(FIXTURE / "photos", photos)
    engine = SearchEngine.for_writing(Settings(index_dir=old_index, cache_dir=tmp_path / "cache",
                                               model=ModelSpec(name="demo")))
    try:
        def never(images):
            raise AssertionError("the upgrade embedded a picture")

        monkeypatch.setattr(engine.encoder, "embed_images", never)
        meta, names = layout(old_index)
        assert meta["revision"] == str(migrations.REVISION) and meta["purged_gen"] == "1"
        assert "images_date" in names
        # The same pictures in another place: known by their content, so their vectors are reused.
        report = engine.index_folder(photos)
        assert report.embedded == 0 and report.reused == 6 and report.skipped_count == 0
        assert engine.store.count() == 12 and engine.store.check() == []
        monkeypatch.undo()
        for path in sorted(photos.rglob("*.jpg")):  # searching with the photo itself
            hits = engine.search_image(path, k=2)
            assert str(path) in {h.path for h in hits} and hits[0].score > 0.99
    finally:
        engine.close()


def test_an_upgraded_index_learns_the_pictures_it_reads_and_then_keeps_a_metadata_edit(old_index, tmp_path):
    """The first release stored no picture fingerprints: the upgrade reads no file to make them, the
    photos a run reads are learnt, and a later edit of their metadata alone embeds nothing."""
    photos = tmp_path / "photos"
    shutil.copytree(FIXTURE / "photos", photos)
    engine = SearchEngine.for_writing(Settings(index_dir=old_index, cache_dir=tmp_path / "cache",
                                               model=ModelSpec(name="demo")))
    try:
        assert engine.store.pictures() == {}
        assert engine.index_folder(photos).embedded == 0
        assert len(engine.store.pictures()) == 6
        path = photos / "pic_0.jpg"
        data = path.read_bytes()
        comment = b"\xff\xfe\x00\x0ekeyword: sea"  # a comment segment after the start of the image
        path.write_bytes(data[:2] + comment + data[2:])
        report = engine.index_folder(photos)
        assert (report.updated, report.metadata_kept, report.embedded) == (1, 1, 0)
    finally:
        engine.close()


def test_a_crash_during_the_upgrade_leaves_an_index_that_opens_and_upgrades_later(old_index, monkeypatch):
    before = layout(old_index)
    # A failure after the first statements of the upgrade ran (as a kill or full disk would land).
    monkeypatch.setattr(migrations, "STEPS", [migrations.STEPS[0] + "INSERT INTO no_such_table VALUES (1);"])
    with pytest.raises(sqlite3.OperationalError):
        open_store(old_index, create=True)
    assert layout(old_index) == before  # all or nothing: nothing
    monkeypatch.undo()
    store = open_store(old_index)
    try:
        assert_every_photo_finds_itself(store)
    finally:
        store.close()
    store = open_store(old_index, create=True)
    try:
        assert_every_photo_finds_itself(store)
    finally:
        store.close()
    meta, _ = layout(old_index)
    assert meta["revision"] == str(migrations.REVISION)


# --- saved searches, and the release before their photos ---------------------------------------------
@dataclass(frozen=True)
class SearchBeforePhotos:
    """A saved search as the release before photos knew it (``clipsearch.saved`` at e435f42)."""

    name: str
    query: str
    folder: str | None = None
    since: str | None = None
    until: str | None = None


def read_before_photos(index: Path) -> dict[str, SearchBeforePhotos]:
    """That release's reader, as it was: the file's searches, or an exception that refuses them all
    (a field it does not know is a TypeError there, its "not a list of saved searches")."""
    text = (index / FILE_NAME).read_text(encoding="utf-8")
    return {entry["name"]: SearchBeforePhotos(**entry) for entry in json.loads(text)["searches"]}


def write_before_photos(index: Path, searches: dict[str, SearchBeforePhotos]) -> None:
    """That release's writer: its own file, whole, in its form."""
    data = {"version": 1, "searches": [asdict(s) for s in sorted(searches.values(), key=lambda s: s.name)]}
    (index / FILE_NAME).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_release_before_photos_reads_the_searches_of_words_and_its_saves_keep_the_photo_ones(tmp_path):
    saved = SavedSearches(tmp_path)
    saved.save(SavedSearch("Beach", "beach + sea", since="2019"))
    rex = saved.save(SavedSearch("Rex", "+ snow", region="0.5,0,1,0.5"), png(), "rex.png")
    # A downgrade: that release lists the search of words (it refused the whole file for Rex's photo).
    before = read_before_photos(tmp_path)
    assert before == {"Beach": SearchBeforePhotos("Beach", "beach + sea", None, "2019-01-01", None)}
    # It saves one of its own and replaces one, rewriting its file whole: the photo search stays.
    write_before_photos(tmp_path, {**before, "Cats": SearchBeforePhotos("Cats", "a cat"),
                                   "Beach": SearchBeforePhotos("Beach", "beach")})
    upgraded = SavedSearches(tmp_path)
    assert [s.name for s in upgraded.all()] == ["Beach", "Cats", "Rex"]
    assert upgraded.get("Beach").query == "beach" and upgraded.get("Rex") == rex
    assert Path(rex.photo_path(tmp_path)).read_bytes() == png()
    # A name that release saved over a photo search is its (the later save).
    write_before_photos(tmp_path, {**read_before_photos(tmp_path), "Rex": SearchBeforePhotos("Rex", "a dog")})
    assert SavedSearches(tmp_path).get("Rex") == SavedSearch("Rex", "a dog")
    saved.remove("Rex")  # both of that name go: none is left behind to come back
    assert saved.get("Rex") is None and not (tmp_path / PHOTO_FILE_NAME).exists()
    assert list(read_before_photos(tmp_path)) == ["Beach", "Cats"]


def test_photo_searches_kept_in_the_one_file_are_read_and_moved_out_of_it_at_the_next_save(tmp_path):
    """The release that first kept photos wrote them into saved-searches.json: read as it is, and
    split at the next save, so that a downgrade after it reads the rest."""
    photo = SavedSearches(tmp_path).save(SavedSearch("Red", "", region="0,0,0.5,0.5"), png(), "red.png")
    (tmp_path / PHOTO_FILE_NAME).rename(tmp_path / FILE_NAME)  # that release's form: one file, photo fields in it
    entries = json.loads((tmp_path / FILE_NAME).read_text())["searches"]
    entries.append({"name": "Sea", "query": "the sea", "folder": None, "since": None, "until": None})
    (tmp_path / FILE_NAME).write_text(json.dumps({"version": 1, "searches": entries}))
    with pytest.raises(TypeError):
        read_before_photos(tmp_path)  # what a downgrade met
    saved = SavedSearches(tmp_path)
    assert saved.all() == [photo, SavedSearch("Sea", "the sea")]
    saved.save(SavedSearch("Trees", "a tree"))
    assert list(read_before_photos(tmp_path)) == ["Sea", "Trees"]
    assert SavedSearches(tmp_path).all() == [photo, SavedSearch("Sea", "the sea"), SavedSearch("Trees", "a tree")]


# --- a downgrade to the release before file ids, and back ---------------------------------------------
def test_a_release_before_file_ids_writing_between_two_runs_loses_nothing_and_is_caught_up(tmp_path, monkeypatch):
    """Revision 3 keeps file ids in a table of their own, which the release before (revision 2) neither
    reads nor writes: that release indexes as it did, and a run of this one then reads only the files
    whose ids it left behind, embeds only the one whose content changed unseen, and ends with an id
    for every record."""
    import os

    import clipsearch.decoding
    from clipsearch.stores.hnsw import HnswStore
    from testsupport.imagefactory import photo, save

    library = tmp_path / "bitmaps"  # uncompressed: other pixels, the same size
    paths = {name: save(photo(96, 64, seed=i), library / f"{name}.bmp") for i, name in enumerate("abcdf")}
    engine = SearchEngine.for_writing(Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache",
                                               model=ModelSpec(name="demo")))
    try:
        engine.index_folder(library)
        assert set(engine.store.file_ids()) == {str(p) for p in paths.values()}
        reads, read = [], clipsearch.decoding.read_file_bytes
        monkeypatch.setattr(clipsearch.decoding, "read_file_bytes", lambda p, *a: reads.append(p) or read(p, *a))
        # The release before: a store that keeps no file ids.
        with monkeypatch.context() as older:
            older.delattr(HnswStore, "file_ids")
            paths["a"].unlink()
            save(photo(120, 80, seed=10), paths["b"])  # edited: another size, seen by size and time
            save(photo(96, 64, seed=11), library / "c2.bmp")  # added
            paths["d"].rename(library / "e.bmp")  # moved
            stat = paths["f"].stat()  # replaced keeping size and time: that release cannot tell
            save(photo(96, 64, seed=12), paths["f"])
            os.utime(paths["f"], ns=(stat.st_atime_ns, stat.st_mtime_ns))
            report = engine.index_folder(library)
            assert (report.added, report.updated, report.moved, report.removed, report.unchanged) == (1, 1, 1, 1, 2)
        f_before = engine.store.vector(str(paths["f"]))
        reads.clear()
        report = engine.index_folder(library)
        # b's record left with its id when that release embedded it anew: trusted once, not read;
        # f kept an id not its own: read, and embedded.
        assert set(reads) == {str(paths["f"])}
        assert (report.added, report.updated, report.embedded, report.unchanged) == (0, 1, 1, 4)
        assert not np.array_equal(engine.store.vector(str(paths["f"])), f_before)
        records = {r.path for r in engine.store.records()}
        assert records == {str(p) for p in library.glob("*.bmp")} and engine.store.check() == []
        ids = engine.store.file_ids()
        assert all(ids[p] == (os.stat(p).st_ino, os.stat(p).st_ctime_ns) for p in records)
        reads.clear()
        again = engine.index_folder(library)
        assert (again.unchanged, again.embedded, reads) == (5, 0, [])
    finally:
        engine.close()


def test_the_command_lines_take_it_at_its_own_paths_and_embed_nothing(old_index, tmp_path):
    """What a user upgrading does: the next cron run, then a search, over the index and the photos
    where they were. Only the Python API was tested, over copies elsewhere (all "reused"). The
    fixture's paths are moved to this test's folder, its files given the times it recorded."""
    from tests.integration.conftest import run_indexer
    from testsupport.warm import run_module

    photos = tmp_path / "Pictures"
    shutil.copytree(FIXTURE / "photos", photos)
    with sqlite3.connect(old_index / DB_NAME) as db:  # only the place changes: the format stays the first's
        for path, mtime_ns in db.execute("SELECT path, mtime_ns FROM images").fetchall():
            here = str(photos) + path.decode()[len(OLD_ROOT):]
            os.utime(here, ns=(mtime_ns, mtime_ns))
            db.execute("UPDATE images SET path = ? WHERE path = ?", (os.fsencode(here), path))
        db.execute("UPDATE meta SET value = ? WHERE key = 'folders'", (json.dumps([str(photos)]),))
    assert "revision" not in layout(old_index)[0]
    run = run_indexer("--index", str(old_index), "--json")  # no folder: the ones it covers, as cron runs it
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert (report["unchanged"], report["added"], report["updated"], report["embedded"]) == (6, 0, 0, 0)
    assert layout(old_index)[0]["revision"] == str(migrations.REVISION)
    found = run_module("clipsearch", "search", "a picture", "-k", "6", "--min-score", "0", "--json",
                       "--index", str(old_index))
    assert found.returncode == 0, found.stderr
    assert sorted(hit["path"] for hit in json.loads(found.stdout)) == sorted(str(p) for p in photos.rglob("*.jpg"))
