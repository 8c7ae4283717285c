"""Edges of where an index lives and how its files come out: a folder named in bytes that are not
UTF-8, the permissions of the files written atomically, a name the terminal's encoding lacks, and
the index folder from a blank variable or a relative ``--index``."""

from __future__ import annotations

import argparse
import io
import logging
import os
import stat
import sys
from pathlib import Path

import platformdirs
import pytest

from cli import flags
from cli.search import main as clipsearch_main
from clipsearch import SearchEngine, Settings
from clipsearch.config import CACHE_ENV, INDEX_ENV, default_cache_dir, default_index_dir
from clipsearch.saved import FILE_NAME, SavedSearch, SavedSearches
from clipsearch.stores import open_store
from clipsearch.stores.atomic import atomic_write_text
from clipsearch.stores.graph import HnswGraph
from clipsearch.stores.layout import DB_NAME, MANIFEST_NAME, snapshots
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    for i in range(4):
        save(photo(160, 120, seed=i), root / f"p{i}.jpg", quality=90)
    return root


def _index(folder: Path, library: Path, cache: Path) -> None:
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(folder, encoder.stamp, create=True),
                          settings=Settings(index_dir=folder, cache_dir=cache))
    try:
        engine.index_folder(library)
    finally:
        engine.close()


# --- 1. an index folder named in bytes that are not UTF-8 -----------------------------------------
def test_an_index_in_a_folder_named_in_bytes_that_are_not_utf8_writes_its_snapshot_and_reads_it_back(
        tmp_path, library, caplog):
    """hnswlib was given the name as a str, which it encodes as UTF-8: a TypeError on every run,
    and no snapshot ever written (under a Latin-1 locale, a file written nowhere)."""
    folder = tmp_path / os.fsdecode(b"idx\xff")
    _index(folder, library, tmp_path / "cache")
    written = snapshots(folder)
    assert written, f"no snapshot in {os.listdir(os.fsencode(folder))}"
    assert HnswGraph.load(written[-1][1], FakeEncoder().dim).slots == 4
    caplog.set_level(logging.WARNING)
    encoder = FakeEncoder()
    store = open_store(folder, encoder.stamp)
    try:
        assert store.count() == 4
        assert len(SearchEngine(encoder, store).search_text("a photo", k=10, cutoff=0.0)) == 4
    finally:
        store.close()
    assert "unreadable snapshot" not in caplog.text


# --- 2. the permissions of the files written atomically -------------------------------------------
@pytest.fixture(params=[0o022, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_file_written_atomically_follows_the_umask_as_any_new_file_does(tmp_path, umask):
    """mkstemp made every one 0600: another user who may search the index could not read the
    saved searches, the saved photos, or the manifest."""
    atomic_write_text(tmp_path / "new.json", "{}")
    assert _mode(tmp_path / "new.json") == 0o666 & ~umask, oct(_mode(tmp_path / "new.json"))
    (tmp_path / "plain.txt").write_text("")
    assert _mode(tmp_path / "new.json") == _mode(tmp_path / "plain.txt")


def test_a_file_written_atomically_keeps_the_mode_of_the_one_it_replaces(tmp_path, umask):
    target = tmp_path / "kept.json"
    target.write_text("{}")
    target.chmod(0o640)  # chosen by its owner: kept, whatever the umask
    atomic_write_text(target, '{"a": 1}')
    assert _mode(target) == 0o640 and target.read_text() == '{"a": 1}'


def test_the_saved_searches_and_the_manifest_are_as_readable_as_the_index_itself(tmp_path, library, umask):
    folder = tmp_path / "index"
    _index(folder, library, tmp_path / "cache")
    SavedSearches(folder).save(SavedSearch("dogs", "a dog"))
    records = _mode(folder / DB_NAME)
    assert records == 0o666 & ~umask
    for name in (FILE_NAME, MANIFEST_NAME):
        assert _mode(folder / name) == records, f"{name}: {oct(_mode(folder / name))}, records: {oct(records)}"


# --- 3. a name the terminal's encoding lacks ------------------------------------------------------
def _latin1_stdout(monkeypatch) -> io.BytesIO:
    written = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(written, encoding="latin-1", errors="strict"))
    return written


def test_a_character_a_latin1_terminal_lacks_is_escaped_and_a_name_in_bytes_is_written_as_its_bytes(monkeypatch):
    written = _latin1_stdout(monkeypatch)
    flags.paths_as_bytes()
    print("café ☕ plage")
    print("\u2615 " + os.fsdecode(b"photo-\xff.jpg"))  # a name's undecodable byte, as Python holds it
    sys.stdout.flush()
    assert written.getvalue() == b"caf\xe9 \\u2615 plage\n" + b"\\u2615 photo-\xff.jpg\n"


@pytest.mark.parametrize("as_json", [False, True])
def test_listing_a_saved_search_whose_name_a_latin1_terminal_lacks_ends_well(tmp_path, library, monkeypatch, as_json):
    """``python -m clipsearch saved`` under a Latin-1 locale: a UnicodeEncodeError traceback."""
    folder = tmp_path / "index"
    _index(folder, library, tmp_path / "cache")
    SavedSearches(folder).save(SavedSearch("café ☕ plage", "a beach"))
    written = _latin1_stdout(monkeypatch)
    code = clipsearch_main(["saved", "--index", str(folder)] + (["--json"] if as_json else []))
    sys.stdout.flush()
    assert code == 0, written.getvalue()
    assert b"caf" in written.getvalue() and b"2615" in written.getvalue()


# --- 4. the index folder: a blank variable, a relative --index ------------------------------------
@pytest.mark.parametrize("variable, default, platform", [
    (INDEX_ENV, default_index_dir, lambda: Path(platformdirs.user_data_dir("clipsearch", appauthor=False)) / "index"),
    (CACHE_ENV, default_cache_dir, lambda: Path(platformdirs.user_cache_dir("clipsearch", appauthor=False))),
])
@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_a_blank_variable_is_no_folder_name_and_the_default_folder_is_used(monkeypatch, variable, default, platform, blank):
    """``CLIPSEARCH_INDEX=" "`` built an index in a folder named " " (``--index " "`` is refused)."""
    monkeypatch.setenv(variable, blank)
    assert default() == platform()
    settings = Settings()
    assert (settings.index_dir if variable == INDEX_ENV else settings.cache_dir) == platform()


def test_the_platform_default_index_folder_is_there_without_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(INDEX_ENV, str(tmp_path / "elsewhere"))
    assert default_index_dir() == tmp_path / "elsewhere"
    assert default_index_dir(read_env=False) == Path(platformdirs.user_data_dir("clipsearch", appauthor=False)) / "index"


def test_a_relative_index_folder_is_made_absolute_without_its_dot_dots(tmp_path, monkeypatch):
    """``--index ../idx2`` was printed as ``/.../myproj/../idx2``."""
    (tmp_path / "myproj").mkdir()
    monkeypatch.chdir(tmp_path / "myproj")
    settings = flags.settings_from(argparse.Namespace(index=flags.path("../idx2")))
    assert settings.index_dir == tmp_path / "idx2", settings.index_dir
    assert flags.settings_from(argparse.Namespace(index=flags.path("./a/./b/"))).index_dir == tmp_path / "myproj" / "a" / "b"


def test_the_package_docstrings_example_reads_a_tilde_as_home(tmp_path, monkeypatch):
    """``Settings(index_dir="~/photos-index")`` and ``index_folder("~/Pictures")``, as the package's own
    example writes them, made a folder named "~" in the working folder and indexed nothing there."""
    from clipsearch import SearchEngine, Settings
    from clipsearch.stores import open_store
    from testsupport.fakes import FakeEncoder
    from testsupport.imagefactory import photo, save

    home, elsewhere = tmp_path / "home", tmp_path / "cwd"
    save(photo(64, 48, seed=1), home / "Pictures" / "a.jpg")
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    settings = Settings(index_dir="~/photos-index", cache_dir="~/cache")
    assert (settings.index_dir, settings.cache_dir) == (str(home / "photos-index"), str(home / "cache"))
    encoder = FakeEncoder()
    engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
    try:
        report = engine.index_folder("~/Pictures")
    finally:
        engine.close()
    assert report.added == 1 and report.folders == [str(home / "Pictures")]
    assert not (elsewhere / "~").exists()
