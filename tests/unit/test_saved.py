"""Saved searches: kept beside the index, checked when saved, never lost to a second writer."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from clipsearch import InvalidQuery
from clipsearch.saved import FILE_NAME, SavedSearch, SavedSearches, SavedSearchesError


def test_save_list_replace_and_remove(tmp_path):
    saved = SavedSearches(tmp_path)
    assert saved.all() == []
    beach = saved.save(SavedSearch("  Beach   holidays ", "beach + sea - people", str(tmp_path / "Phone"), "2019", "2023-06"))
    assert beach == SavedSearch("Beach holidays", "beach + sea - people", str(tmp_path / "Phone"), "2019-01-01", "2023-06-30")
    saved.save(SavedSearch("aurora", "northern lights"))
    assert [s.name for s in saved.all()] == ["aurora", "Beach holidays"]  # by name, whatever the case
    assert saved.get("Beach  holidays") == beach and saved.get("nothing") is None
    assert beach.where().folder == str(tmp_path / "Phone") and SavedSearch("a", "b").where() is None
    saved.save(SavedSearch("aurora", "aurora borealis"))  # the same name: replaced
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
