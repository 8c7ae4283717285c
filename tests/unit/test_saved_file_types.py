"""A saved-searches file that is valid JSON but holds a field of the wrong type (a number for a
name, null for a query) is not what ``clipsearch.saved`` writes: it is refused as a file that is no
JSON is, naming the search and the field, and left as it is; the command line and REST say so
instead of failing deep inside (``casefold`` of a number, ``strip`` of None)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from clipsearch.saved import FILE_NAME, PHOTO_FILE_NAME, SavedSearch, SavedSearches, SavedSearchesError

BEACH = {"name": "Beach", "query": "a red circle"}


@pytest.mark.parametrize("entry, said", [
    ({"name": 2024, "query": "red"}, "search 2's 'name' is 2024, not text"),
    ({"name": "Red", "query": None}, "search 2 ('Red')'s 'query' is null, not text"),
    ({"name": "Red", "query": 5}, "search 2 ('Red')'s 'query' is 5, not text"),
    ({"name": "Red", "query": "red", "folder": 5}, "search 2 ('Red')'s 'folder' is 5, not text or null"),
    ({"name": "Red", "query": "red", "since": ["2019"]}, "search 2 ('Red')'s 'since' is [\"2019\"], not text or null"),
    ({"query": "red"}, "search 2's 'name' is missing, not text"),
    ({"name": "  ", "query": "red"}, "search 2 ('  ') has an empty name"),
    ({"name": "Red", "query": "red", "colour": "red"}, "search 2 ('Red') has a field 'colour'"),
    ("Red", 'search 2 is "Red", not an object'),
])
def test_a_field_of_the_wrong_type_is_refused_naming_it_and_the_file_is_left_as_it_is(tmp_path, entry, said):
    text = json.dumps({"version": 1, "searches": [BEACH, entry]})
    (tmp_path / FILE_NAME).write_text(text)
    saved = SavedSearches(tmp_path)
    for read in (saved.all, lambda: saved.get("Beach"), lambda: saved.save(SavedSearch("Dogs", "a dog")),
                 lambda: saved.remove("Beach")):
        with pytest.raises(SavedSearchesError) as refused:
            read()
        assert said in str(refused.value) and "fix it or move it away; it is left as it is" in str(refused.value)
    assert (tmp_path / FILE_NAME).read_text() == text


def test_the_photo_searches_file_is_checked_alike(tmp_path):
    (tmp_path / PHOTO_FILE_NAME).write_text(json.dumps({"version": 1, "searches": [
        {"name": "Rex", "query": "", "photo": 7}]}))
    with pytest.raises(SavedSearchesError, match="search 1 .'Rex'.'s 'photo' is 7, not text or null"):
        SavedSearches(tmp_path).all()


def test_what_the_module_writes_reads_back(tmp_path):
    saved = SavedSearches(tmp_path)
    kept = saved.save(SavedSearch("Beach", "beach + sea", str(tmp_path), "2019", None))
    assert saved.all() == [kept]


def test_the_command_line_and_rest_say_the_file_is_wrong(tmp_path, capsys):
    from cli.search import main
    from webui.api_errors import ApiError
    from webui.saved_api import saved_list

    (tmp_path / FILE_NAME).write_text(json.dumps({"version": 1, "searches": [BEACH, {"name": 2024, "query": "red"}]}))
    code = main(["saved", "--index", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and "search 2's 'name' is 2024, not text" in err and "Traceback" not in err
    with pytest.raises(ApiError) as refused:
        saved_list(SimpleNamespace(settings=SimpleNamespace(index_dir=tmp_path)))
    assert refused.value.status == 500 and "search 2's 'name' is 2024, not text" in refused.value.body()["error"]
