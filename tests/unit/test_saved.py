"""Saved searches: kept beside the index, checked when saved, never lost to a second writer."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from clipsearch import InvalidQuery, SearchFilter, UnreadableImage
from clipsearch.images import MAX_QUERY_BYTES
from clipsearch.saved import (
    FILE_NAME,
    PHOTO_FILE_NAME,
    PHOTOS,
    SavedSearch,
    SavedSearches,
    SavedSearchesError,
)


def test_save_list_replace_and_remove(tmp_path):
    saved = SavedSearches(tmp_path)
    assert saved.all() == []
    beach = saved.save(SavedSearch("  Beach   holidays ", "beach + sea - people", str(tmp_path / "Phone"), "2019", "2023-06"))
    assert beach == SavedSearch("Beach holidays", "beach + sea - people", str(tmp_path / "Phone"), "2019-01-01", "2023-06-30")
    saved.save(SavedSearch("aurora", "northern lights"))
    assert [s.name for s in saved.all()] == ["aurora", "Beach holidays"]  # by name, whatever the case
    assert saved.get("Beach  holidays") == beach and saved.get("nothing") is None
    assert beach.where().folder == str(tmp_path / "Phone") and SavedSearch("a", "b").where() is None
    assert saved.put(SavedSearch("aurora", "aurora borealis")) == (  # the same name: replaced, and said
        SavedSearch("aurora", "aurora borealis"), True)
    assert saved.put(SavedSearch("comet", "a comet")) == (SavedSearch("comet", "a comet"), False)
    assert saved.remove("comet")
    assert SavedSearches(tmp_path).get("aurora").query == "aurora borealis"  # another reader sees it
    assert saved.remove("aurora") and not saved.remove("aurora")
    assert [s.name for s in saved.all()] == ["Beach holidays"]
    assert json.loads((tmp_path / FILE_NAME).read_text())["version"] == 1


@pytest.mark.parametrize("search, error", [
    (SavedSearch("", "a dog"), ValueError),
    (SavedSearch("x" * 81, "a dog"), ValueError),
    (SavedSearch("dogs", "   "), InvalidQuery),
    (SavedSearch("dogs", "2:"), InvalidQuery),
    (SavedSearch("dogs", "a dog", "Pictures"), ValueError),  # a folder is a full path
    (SavedSearch("dogs", "a dog", None, "2023-02-29"), ValueError),
    (SavedSearch("dogs", "a dog", None, "2024", "2023"), ValueError),  # an empty date range
])
def test_a_search_that_could_not_run_is_refused_and_nothing_is_written(tmp_path, search, error):
    saved = SavedSearches(tmp_path)
    with pytest.raises(error):
        saved.save(search)
    assert not (tmp_path / FILE_NAME).exists()


def test_a_file_that_is_not_ours_is_reported_and_left_as_it_is(tmp_path):
    (tmp_path / FILE_NAME).write_text("{ my notes")
    saved = SavedSearches(tmp_path)
    with pytest.raises(SavedSearchesError, match="fix it or move it away"):
        saved.all()
    with pytest.raises(SavedSearchesError):
        saved.save(SavedSearch("dogs", "a dog"))
    assert (tmp_path / FILE_NAME).read_text() == "{ my notes"


def test_a_folder_that_cannot_be_written_says_so_and_keeps_what_was_saved(tmp_path, monkeypatch):
    saved = SavedSearches(tmp_path)
    saved.save(SavedSearch("dogs", "a dog"))
    monkeypatch.setattr("tempfile.mkstemp", lambda **kw: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(SavedSearchesError, match="No space left on device"):
        saved.save(SavedSearch("cats", "a cat"))
    assert [s.name for s in saved.all()] == ["dogs"]


def _save_many(folder: str, prefix: str, ready, go) -> None:
    saved = SavedSearches(folder)
    ready.release()
    go.wait(60)
    for i in range(150):
        saved.save(SavedSearch(f"{prefix} {i}", f"query {i}"))


def test_two_processes_saving_at_once_lose_nothing(tmp_path):
    """A page and a command line saving at once: each change reads and rewrites the file under one lock."""
    context = multiprocessing.get_context("spawn")
    ready, go = context.Semaphore(0), context.Event()
    workers = [context.Process(target=_save_many, args=(str(tmp_path), name, ready, go)) for name in ("page", "cli")]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert ready.acquire(timeout=60)
    go.set()  # both at once
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert len(SavedSearches(tmp_path).all()) == 300


def _photo(path, colour="red", size=(320, 240)):
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
    return path


def test_a_search_with_a_photo_keeps_a_copy_that_outlives_the_file_it_came_from(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    source = _photo(tmp_path / "IMG_0016.jpg")
    saved = SavedSearches(index)
    kept = saved.save(SavedSearch("Rex in snow", "+ snow", region="50%,0%,100%,50%"), source)
    assert kept.photo_name == "IMG_0016.jpg" and kept.region == "0.5,0,1,0.5"  # the region as fractions
    copy = kept.photo_path(index)
    assert os.path.dirname(copy) == str(index / PHOTOS) and open(copy, "rb").read() == source.read_bytes()
    source.unlink()  # the photo it came from is gone: the search is not
    again = SavedSearches(index).get("Rex in snow")
    assert again == kept
    words, picture = again.terms(index)
    assert (words.text, words.weight) == ("snow", 1.0)
    assert picture.image == copy and str(picture.region) == "0.5,0,1,0.5"
    entry = json.loads((index / PHOTO_FILE_NAME).read_text())["searches"][0]  # a file of their own
    assert entry["photo_name"] == "IMG_0016.jpg" and "photo" in entry
    assert json.loads((index / FILE_NAME).read_text())["searches"] == []  # the release before reads it
    assert "photo" not in kept.shown() and kept.shown()["photo_name"] == "IMG_0016.jpg"


def test_a_folder_and_a_photo_named_in_bytes_that_are_not_utf8_are_saved_and_read_back(tmp_path):
    """A Latin-1 folder or photo name (a lone surrogate here) stopped the save ("surrogates not
    allowed"), and left the photo's copy behind with no search using it."""
    index = tmp_path / "index"
    index.mkdir()
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/Fotos d\xe9t\xe9")
    os.mkdir(odd)
    source = _photo(odd + "/caf\udce9.jpg")
    saved = SavedSearches(index)
    kept = saved.save(SavedSearch("caf\u00e9s", "a caf\u00e9", folder=odd), source)
    assert kept.folder == odd and kept.photo_name == "caf\udce9.jpg"
    assert SavedSearches(index).get("caf\u00e9s") == kept  # read back: the same folder, the same name
    text = (index / PHOTO_FILE_NAME).read_bytes().decode("utf-8")  # still UTF-8 text, readable
    assert "caf\u00e9s" in text and "\\udce9" in text
    assert os.listdir(index / PHOTOS) == [os.path.basename(kept.photo)]


def test_a_photo_alone_is_a_search_and_its_copy_goes_with_the_last_search_using_it(tmp_path):
    source = _photo(tmp_path / "cat.png")
    saved = SavedSearches(tmp_path)
    first = saved.save(SavedSearch("Like my cat", ""), source)
    second = saved.save(SavedSearch("My cat, outdoors", "+ garden"), source)
    assert first.photo == second.photo  # one copy for both
    assert [t.image for t in first.terms(tmp_path)] == [first.photo_path(tmp_path)]  # no words: the photo alone
    saved.remove("Like my cat")
    assert os.path.exists(second.photo_path(tmp_path))
    saved.save(SavedSearch("My cat, outdoors", "a garden"))  # replaced without a photo
    assert not os.path.exists(second.photo_path(tmp_path))
    assert os.listdir(tmp_path / PHOTOS) == []


def test_a_search_without_a_photo_is_written_as_the_release_before_reads_it(tmp_path):
    SavedSearches(tmp_path).save(SavedSearch("dogs", "a dog"))
    entry = json.loads((tmp_path / FILE_NAME).read_text())["searches"][0]
    assert set(entry) == {"name", "query", "folder", "since", "until"}
    assert SavedSearch("dogs", "a dog").shown() == {"name": "dogs", "query": "a dog", "folder": None, "since": None,
                                                     "until": None, "photo_name": None, "region": None}


def test_a_wrong_photo_or_region_is_refused_and_nothing_is_written(tmp_path):
    saved = SavedSearches(tmp_path)
    photo = _photo(tmp_path / "small.jpg", size=(100, 80))
    with pytest.raises(InvalidQuery, match="a region is a part of a photo"):
        saved.save(SavedSearch("dogs", "a dog", region="0,0,0.5,0.5"))
    with pytest.raises(InvalidQuery, match="reaches past the picture"):
        saved.save(SavedSearch("dogs", "a dog", region="0,0,200,80"), photo)  # pixels of a 100 x 80 photo
    with pytest.raises(InvalidQuery, match="too small"):
        saved.save(SavedSearch("dogs", "a dog", region="0,0,0.1,0.1"), photo)
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(UnreadableImage):
        saved.save(SavedSearch("dogs", "a dog"), tmp_path / "notes.jpg")
    with pytest.raises(InvalidQuery, match="needs words to search for, or a photo"):
        saved.save(SavedSearch("dogs", " "))
    assert not (tmp_path / FILE_NAME).exists() and not (tmp_path / PHOTOS).exists()


def test_a_hand_edited_photo_path_stays_in_the_photos_folder(tmp_path):
    search = SavedSearch("x", "", photo="../../etc/passwd")
    assert search.photo_path(tmp_path) == str(tmp_path / PHOTOS / "passwd")


def test_a_saved_search_run_with_a_folder_or_dates_replaces_those_and_keeps_the_rest():
    """``search --saved NAME --since 2020-03`` and ``/api/search?saved=NAME&until=...``: each one given
    replaces the search's own, the others stay."""
    kept = SavedSearch("Trips", "a beach", "/photos/trips", "2019-01-01", "2020-12-31").checked()
    assert kept.narrowed() == kept
    assert kept.narrowed(since="2020-03-01").where() == SearchFilter("/photos/trips", "2020-03-01", "2020-12-31")
    assert kept.narrowed(until="2019-06-30").where() == SearchFilter("/photos/trips", "2019-01-01", "2019-06-30")
    assert kept.narrowed(folder="/photos/home").where() == SearchFilter("/photos/home", "2019-01-01", "2020-12-31")


def test_a_photo_over_the_query_limit_is_refused_whether_a_file_or_its_bytes(tmp_path):
    """As `search --image` and the web app's uploads: a picture to search with is at most 50 MB."""
    big = tmp_path / "big.jpg"
    with open(big, "wb") as handle:
        handle.truncate(MAX_QUERY_BYTES + 1)
    saved = SavedSearches(tmp_path / "index")
    for photo in (big, bytes(MAX_QUERY_BYTES + 1)):
        with pytest.raises(UnreadableImage, match="file too large .a picture to search with may be at most 50 MB"):
            saved.save(SavedSearch("big", ""), photo, "big.jpg")
    assert saved.all() == []
