"""The page opened at ``/?saved=NAME`` (``SavedView.from_address``), and a saved search chosen in the
list (``SavedView.chosen``), with a fake page.

Where no saved search of that name was kept (forgotten since, or never saved), a toast said so and
the status line stayed empty, and the address kept ``saved=NAME``, so that a reload said it again.
Now the status line says it, and where the saved ones are, and the event hands the name on to the
page's script that drops it from the address (its last output: "" where the search is kept). A search
chosen in the list that another tab (or ``clipsearch saved forget``) forgot meanwhile was the same: a
toast, and ``saved=NAME`` written in the address; it is now said as the address's is, the list shown
again without it, and the name handed on to the script that keeps it out of the address.

A search chosen in the list whose photo was removed from beside the index since it was saved said so only
in a toast: it is said in the status line now, as the other saved searches that cannot be opened are. And a
pick read the file of saved searches twice (once to see whether the search was kept, once to open it): once now.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from clipsearch.saved import SavedSearch, SavedSearches
from webui.handlers import ALL_FOLDERS
from webui.page_outputs import ADDRESS_NAMES, OUTPUT_NAMES
from webui.saved_view import SavedView

STATUS = len(ADDRESS_NAMES) + 2 + OUTPUT_NAMES.index("status")  # after the boxes, the drop zone and its box


class FakePage:
    """What ``SavedView`` asks of ``page.Page``: the searches it runs are recorded, not run."""

    def __init__(self, index_dir) -> None:
        self.handlers = SimpleNamespace(settings=SimpleNamespace(index_dir=index_dir))
        self.searched: list[str] = []

    def search(self, text, *rest):
        self.searched.append(text)
        return tuple(f"searched {text}" if name == "status" else f"{name} of {text}" for name in OUTPUT_NAMES)

    def opened(self, out, asked, at):
        return out

    def show_photo(self, photo, name):
        """The saved search's photo for the drop zone, as ``page.Page.show_photo``: None where it cannot be read."""
        return photo if photo and Path(photo).is_file() else None


@pytest.fixture
def view(tmp_path, monkeypatch):
    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", warned.append)
    (tmp_path / "index").mkdir()
    view = SavedView(FakePage(tmp_path / "index"))
    view.warned = warned
    return view


def opened_at(view: SavedView, name: str) -> tuple:
    return view.from_address(name, 20, 0.0, "relevance", True, SimpleNamespace(query_params={"saved": name}))


def test_a_saved_search_not_kept_is_said_in_the_status_line_and_named_for_the_address(view):
    out = opened_at(view, "Beach holidays")
    assert len(out) == len(ADDRESS_NAMES) + 2 + len(OUTPUT_NAMES) + 1
    said = out[STATUS]
    assert "No saved search called “Beach holidays” is kept" in said, said
    assert "none is saved yet" in said and "**Saved searches**" in said, said
    assert out[-1] == "Beach holidays"  # the address drops saved=, as after any other search
    assert view.page.searched == [] and view.warned == []  # nothing run; said once, not in a toast too
    changed = len(ADDRESS_NAMES) + 2 + OUTPUT_NAMES.index("changed")
    assert out[changed] is False and out[len(ADDRESS_NAMES)] is None  # results kept; the drop zone as it was


def test_the_status_line_says_how_many_are_saved_and_where(view):
    saved = SavedSearches(view.page.handlers.settings.index_dir)
    saved.save(SavedSearch("Red circles", "a red circle"))
    saved.save(SavedSearch("Dogs", "a dog"))
    saved.remove("Dogs")  # forgotten since the address was bookmarked
    said = opened_at(view, "Dogs")[STATUS]
    assert "No saved search called “Dogs” is kept (forgotten since, or never saved)" in said, said
    assert "**Saved searches**, under the filters, lists the 1 search saved" in said, said
    saved.save(SavedSearch("Cats", "a cat"))
    assert "lists the 2 searches saved" in opened_at(view, "*Dogs*")[STATUS]
    assert "called “\\*Dogs\\*”" in opened_at(view, "*Dogs*")[STATUS]  # a name is said as typed, not as markup


def test_a_saved_search_kept_is_opened_as_before_and_leaves_the_address(view):
    SavedSearches(view.page.handlers.settings.index_dir).save(SavedSearch("Red circles", "a red circle", since="2020"))
    out = opened_at(view, "Red circles")
    assert view.page.searched == ["a red circle"]
    assert out[:len(ADDRESS_NAMES) + 2] == ("a red circle", "", "2020-01-01", "", None, "")  # its boxes, no photo
    assert out[STATUS] == "searched a red circle" and out[-1] == ""


def test_a_search_chosen_in_the_list_and_forgotten_meanwhile_is_said_in_the_status_line(view):
    saved = SavedSearches(view.page.handlers.settings.index_dir)
    saved.save(SavedSearch("Red circles", "a red circle"))
    saved.save(SavedSearch("Dogs", "a dog"))  # listed on the page, then forgotten in another tab
    saved.remove("Dogs")
    out = view.chosen("Dogs", 20, 0.0, "relevance", True)
    assert len(out) == len(ADDRESS_NAMES) + 2 + len(OUTPUT_NAMES) + 3
    assert out[-3] is False  # not opened: the page leaves the drop zone and its box as they are (PUT_IF_OPENED)
    assert all(box == gr.skip() for box in out[:len(ADDRESS_NAMES)])  # and the words and filters typed
    said = out[STATUS]
    assert "No saved search called “Dogs” is kept" in said and "lists the 1 search saved" in said, said
    assert view.page.searched == [] and view.warned == []  # nothing run; said once, not in a toast too
    assert out[len(ADDRESS_NAMES) + 2 + OUTPUT_NAMES.index("changed")] is False  # the results shown stay
    listed = out[-2]
    assert listed.choices == [("Red circles", "Red circles")] and listed.value is None  # listed again, without it
    assert out[-1] == "Dogs"  # kept out of the address


def test_a_search_chosen_in_the_list_and_kept_is_opened_and_goes_in_the_address(view):
    SavedSearches(view.page.handlers.settings.index_dir).save(SavedSearch("Red circles", "a red circle"))
    out = view.chosen("Red circles", 20, 0.0, "relevance", True)
    assert view.page.searched == ["a red circle"] and out[STATUS] == "searched a red circle"
    assert out[-2] == gr.skip() and out[-1] == ""  # the list as it is; its name goes in the address
    assert out[-3] is True and out[:len(ADDRESS_NAMES) + 2] == ("a red circle", ALL_FOLDERS, "", "", None, "")


def test_a_saved_search_whose_words_are_refused_leaves_the_boxes_and_the_drop_zone(view):
    """Its words refused ("red - red"), it is not opened: the status line says why, and the words typed,
    the photo dropped and its box stay on the page (a failed step took them away)."""
    SavedSearches(view.page.handlers.settings.index_dir).save(SavedSearch("Refused", "red - red"))
    searched = view.page.search
    view.page.search = lambda *asked: tuple(False if name == "changed" else value
                                            for name, value in zip(OUTPUT_NAMES, searched(*asked)))
    out = view.chosen("Refused", 20, 0.0, "relevance", True)
    assert view.page.searched == ["red - red"] and out[STATUS] == "searched red - red"
    assert out[-3] is False and all(box == gr.skip() for box in out[:len(ADDRESS_NAMES)])
    opened = opened_at(view, "Refused")  # the address's: its twins keep the page's own, as they are
    assert all(box == gr.skip() for box in opened[:len(ADDRESS_NAMES)]) and opened[STATUS] == "searched red - red"


@pytest.fixture
def photo_gone(view, tmp_path):
    """A saved search with a photo, its copy removed from beside the index by hand since."""
    from PIL import Image

    Image.new("RGB", (64, 48), "red").save(tmp_path / "shot.jpg")
    saved = SavedSearches(view.page.handlers.settings.index_dir)
    kept, _ = saved.put(SavedSearch("Photo gone", "a shot"), tmp_path / "shot.jpg")
    Path(kept.photo_path(view.page.handlers.settings.index_dir)).unlink()
    return kept


def test_a_search_chosen_in_the_list_whose_photo_is_gone_says_so_in_the_status_line(view, photo_gone):
    out = view.chosen("Photo gone", 20, 0.0, "relevance", True)
    said = out[STATUS]
    assert said.startswith("⚠️ ") and "The photo of “Photo gone” is missing beside the index" in said, said
    assert view.warned == [] and view.page.searched == []  # said once, in the status line; nothing run
    assert out[-3] is False and all(box == gr.skip() for box in out[:len(ADDRESS_NAMES)])  # the boxes and drop zone stay
    assert out[len(ADDRESS_NAMES) + 2 + OUTPUT_NAMES.index("changed")] is False  # the results shown stay
    assert out[-2] == gr.skip() and out[-1] == ""  # still listed: it is kept
    opened = opened_at(view, "Photo gone")  # the address's says it so too
    assert "missing beside the index" in opened[STATUS] and view.warned == [] and opened[-1] == ""
    assert all(box == gr.skip() for box in opened[:len(ADDRESS_NAMES)])


@pytest.mark.parametrize("name", ["Red circles", "Forgotten", "Photo gone"])
def test_a_pick_reads_the_file_of_saved_searches_once(view, photo_gone, monkeypatch, name):
    SavedSearches(view.page.handlers.settings.index_dir).save(SavedSearch("Red circles", "a red circle"))
    reads: list[str] = []
    real = SavedSearches._read
    monkeypatch.setattr(SavedSearches, "_read", lambda self: reads.append("read") or real(self))
    out = view.chosen(name, 20, 0.0, "relevance", True)
    assert out[-3] is (name == "Red circles") and len(reads) == 1, (name, reads)
    if name == "Forgotten":  # listed again from that one read
        assert out[-2].choices == [("Photo gone", "Photo gone"), ("Red circles", "Red circles")]
    reads.clear()
    opened_at(view, name)
    assert len(reads) == 1, (name, reads)


def test_the_list_says_how_a_search_gets_there_while_none_is_saved(view, tmp_path):
    """An empty list opened an empty menu, and said nothing: its hint says how one is saved, until one is."""
    from webui.saved_view import NONE_SAVED

    empty = view.choices()
    assert (empty.choices, empty.info) == ([], NONE_SAVED)
    SavedSearches(tmp_path / "index").save(SavedSearch("Beach holidays", "a beach"))
    listed = view.choices("Beach holidays")
    assert ([c[0] for c in listed.choices], listed.value, listed.info) == (["Beach holidays"], "Beach holidays", "")
