"""The thumbnail cache and the photo folders: ``$CLIPSEARCH_CACHE`` set to a photo folder (or one
inside a covered one) dropped its photos from the index; a run not given the web app's variable
indexed its thumbnails as photos. And the commands the messages suggest, which left out
``--index`` and did not quote a name with spaces."""

from __future__ import annotations

import argparse
import shlex

import pytest

from cli import flags
from cli.search import format_info
from cli.search import main as search_main
from clipsearch import IndexNotFound, IndexReport, SearchEngine, Settings
from clipsearch.images import scan_images
from clipsearch.stores import open_store
from indexer.cli import _print_report
from indexer.report import format_report
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save
from webui.thumbnails import ThumbnailCache

SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"  # the Cache Directory Tagging spec's 43 bytes


@pytest.fixture
def library(tmp_path):
    """Six photos: three in ``2018/``, three in ``2019/``."""
    root = tmp_path / "photos"
    for i in range(6):
        save(photo(160, 120, seed=i), root / ("2018" if i < 3 else "2019") / f"p{i}.jpg", quality=90)
    return root


def is_tagged_cache(folder) -> bool:
    return (folder / "CACHEDIR.TAG").is_file() and (folder / "CACHEDIR.TAG").read_bytes().startswith(SIGNATURE)


def _engine(index, cache) -> SearchEngine:
    encoder = FakeEncoder()
    return SearchEngine(encoder, open_store(index, encoder.stamp, create=True),
                        settings=Settings(index_dir=index, cache_dir=cache))


@pytest.mark.parametrize("cache", ["2019", "."], ids=["a folder inside", "the folder named"])
def test_a_cache_variable_that_names_a_photo_folder_drops_none_of_its_photos(library, tmp_path, cache):
    """``CLIPSEARCH_CACHE=photos/2019`` for a run over ``photos``: "removed 3" without a word, and
    the next run without it embedded them again; set to ``photos`` itself, every photo was said to
    be unreadable "(a network disk gone stale?)". Only the web app's ``thumbs`` folder is its own."""
    first = _engine(tmp_path / "index", tmp_path / "cache")
    assert first.index_folder(library).added == 6
    first.close()
    engine = _engine(tmp_path / "index", library / cache)
    try:
        run = engine.index_folder(engine.folders())
        assert (run.removed, run.kept, run.unchanged) == (0, {}, 6), run
        photos = sorted(map(str, library.rglob("*.jpg")))
        ThumbnailCache(library / cache).get_many(photos)  # the web app's thumbnails
        assert (library / cache / "thumbs" / "256").is_dir()
        again = engine.index_folder(engine.folders())
        assert (again.added, again.removed, again.unchanged) == (0, 0, 6), again
    finally:
        engine.close()


def test_thumbnails_in_a_photo_folder_are_no_photos_to_a_run_not_given_the_cache_variable(library, tmp_path):
    """The web app with ``CLIPSEARCH_CACHE=photos/thumbcache``, cron's run without it: "added 7"
    (the thumbnails and the placeholder), searched and listed as duplicates, then "removed 7" by a
    run given the variable, night after night. The web app tags its folder (CACHEDIR.TAG)."""
    cache, photos = library / "thumbcache", sorted(map(str, library.rglob("*.jpg")))
    ThumbnailCache(cache).get_many(photos)
    assert is_tagged_cache(cache / "thumbs") and len(SIGNATURE) == 43
    assert len(list((cache / "thumbs").rglob("*.jpg"))) == 7  # six thumbnails, the placeholder
    engine = _engine(tmp_path / "index", tmp_path / "elsewhere")  # cron: no variable
    try:
        run = engine.index_folder(library)
        assert run.added == 6 and not any("thumbcache" in r.path for r in engine.store.records()), run
    finally:
        engine.close()
    assert [f.path for f in scan_images([cache / "thumbs"]).files]  # named itself: indexed on purpose


def test_a_thumbnail_cache_made_before_the_tag_or_deleted_meanwhile_is_tagged(tmp_path):
    """A cache an earlier release wrote (no tag) is tagged when the web app starts; one deleted
    while it runs, when it writes a thumbnail there again."""
    old = tmp_path / "cache" / "thumbs" / "256"
    old.mkdir(parents=True)
    thumbs = ThumbnailCache(tmp_path / "cache")
    assert is_tagged_cache(tmp_path / "cache" / "thumbs")
    (tmp_path / "cache" / "thumbs" / "CACHEDIR.TAG").unlink()
    (tmp_path / "cache" / "thumbs" / "unreadable.jpg").unlink()
    save(photo(64, 48, seed=1), tmp_path / "p.jpg")
    thumbs.get(str(tmp_path / "p.jpg"), 128)  # a new size's folder
    assert is_tagged_cache(tmp_path / "cache" / "thumbs")


def test_only_a_valid_tag_keeps_a_folder_out_of_the_scan(tmp_path):
    """The spec's tag starts with its 43 bytes; a file of that name that does not is no tag."""
    for name, text in (("tagged", SIGNATURE + b"\n# a cache\n"), ("not-tagged", b"Signature: something else\n")):
        save(photo(64, 48, seed=2), tmp_path / "lib" / name / "p.jpg")
        (tmp_path / "lib" / name / "CACHEDIR.TAG").write_bytes(text)
    found = [f.path for f in scan_images([tmp_path / "lib"]).files]
    assert found == [str(tmp_path / "lib" / "not-tagged" / "p.jpg")]


def _pasted(text: str) -> list[str]:
    """The words of the command between backquotes in ``text``, as a shell reads them."""
    return shlex.split(text.split("`")[1])


def test_the_summary_suggests_a_remove_that_pastes_as_it_is(tmp_path, capsys):
    """"`python -m indexer --remove /x/Family Photos` forgets them": pasted, "folder not found:
    Photos", and without --index it acted on the default index."""
    gone, index = str(tmp_path / "Family Photos"), tmp_path / "my idx"
    report = IndexReport(folders=[gone], kept={gone: 3})
    for given in (index, tmp_path / "my idx" / ".." / "my idx"):  # `--index "my idx"`, however spelled
        _print_report(report, argparse.Namespace(json=False, quiet=False, index=given))
        line = next(line for line in capsys.readouterr().out.splitlines() if "forgets them" in line)
        assert _pasted(line) == ["python", "-m", "indexer", "--remove", gone, "--index", str(index)], line
    for given in (None, tmp_path / "index"):  # the index a command without --index opens ($CLIPSEARCH_INDEX)
        _print_report(report, argparse.Namespace(json=False, quiet=False, index=given))
        assert f"`python -m indexer --remove '{gone}'` forgets them" in capsys.readouterr().out
    assert "--index" not in format_report(report)  # its callers before: as they were


@pytest.fixture
def index(tmp_path):
    """An index with a space in its name, not the one a command without --index opens."""
    open_store(tmp_path / "my idx", FakeEncoder().stamp, create=True).close()
    return tmp_path / "my idx"


def test_info_suggests_a_remove_of_a_disk_not_mounted_that_pastes_as_it_is(tmp_path, index):
    nas = str(tmp_path / "Photos" / "nas disk")
    said = format_info({"location": str(index), "folders": [str(tmp_path / "Photos")], "not_mounted": {nas: 4}})
    line = next(line for line in said.splitlines() if "Not mounted" in line)
    assert _pasted(line) == ["python", "-m", "indexer", "--remove", nas, "--index", str(index)], line


def test_saved_add_of_a_folder_not_covered_suggests_a_run_that_pastes_as_it_is(tmp_path, index, capsys):
    other = tmp_path / "Other Album"
    other.mkdir()
    assert search_main(["saved", "add", "Away", "a red circle", "--folder", str(other), "--index", str(index)]) == 0
    warning = capsys.readouterr().err
    assert _pasted(warning) == ["python", "-m", "indexer", str(other), "--index", str(index)], warning


def test_no_index_suggests_a_run_that_pastes_as_it_is(index):
    missing = flags.explain(IndexNotFound(f"no index in {index / 'nope'}", location=index / "nope"))
    assert _pasted(missing) == ["python", "-m", "indexer", "FOLDER", "--index", str(index / "nope")], missing
