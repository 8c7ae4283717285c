"""A photo dropped by the user stays in the drop zone, with the box drawn on it, when a saved search
opened from the list cannot be opened, in a real Chromium.

A saved search whose photo is missing beside the index, one whose words the search refuses, and one
forgotten elsewhere since the list was shown: each emptied the drop zone, and the user's photo was
lost from the page (its box too). Each says why in the status line (the photo missing was said only
in a toast). Python wrote None there on purpose: a skip of the drop zone made
Gradio rebuild it for the session without the checks that refuse a file that is no picture. Now the
photo and its box stay, the next search still uses them, and the checks still refuse such a file.
"""

from __future__ import annotations

import os

import pytest

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT, drag_over, drop_photo, expect_status, halves

pytestmark = BROWSER_MARKS


app = shots_app("browser-kept-photo", 3)


@pytest.fixture
def page(unopened_page):
    """A fresh page at no address yet: each test opens the app itself (``page.goto``), once."""
    return unopened_page


def pick(page, name: str) -> None:
    page.locator("#saved-choice input").click()
    page.locator("ul[role=listbox] li").filter(has_text=name).click()


def words_and_a_part_dropped(app, page, tmp_path):
    """The page opened, "a cross" typed, a photo dropped and a box drawn on it, searched: the search
    box, and the drop zone's picture (its ``src``)."""
    page.goto(app["url"])
    box = page.locator("#query textarea, #query input").first
    box.fill("a cross")
    drop_photo(page, halves(tmp_path / "halves.jpg"))
    drag_over(page, (0.1, 0.2, 0.45, 0.8))
    expect_status(page, "“a cross” + a part of the dropped photo ·")
    return box, page.locator("#query-image img").get_attribute("src")


def still_refuses_no_picture(page, tmp_path) -> None:
    """The drop zone's checks stay: a file that is no picture is refused in the status line, not
    with an error badge, and the zone emptied of it."""
    from playwright.sync_api import expect

    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    page.locator("#query-image input[type=file]").set_input_files(str(fake))
    expect_status(page, "not a picture")
    expect(page.locator("#query-image")).to_contain_text("Drop Image Here", timeout=TIMEOUT)


def still_dropped(page, src: str) -> None:
    """The same photo in the drop zone, its box drawn on it; a search asked again uses both."""
    from playwright.sync_api import expect

    expect(page.locator("#query-image img")).to_have_attribute("src", src, timeout=TIMEOUT)
    expect(page.locator("#query-image .region-box")).to_be_visible(timeout=TIMEOUT)
    page.locator("#query textarea, #query input").first.press("Enter")
    expect_status(page, "“a cross” + a part of the dropped photo ·")


@pytest.fixture(scope="module")
def kept(app):
    """Three saved searches that cannot be opened (each named for why), listed on a page opened after."""
    from clipsearch.saved import SavedSearch, SavedSearches

    index = app["root"] / "index"
    saved = SavedSearches(index)
    photo_gone, _ = saved.put(SavedSearch("Photo gone", "a shot"), app["root"] / "photos" / "shot-0.jpg")
    os.unlink(photo_gone.photo_path(index))  # its copy removed by hand
    saved.save(SavedSearch("Refused", "red - red"))  # words the search refuses
    saved.save(SavedSearch("Soon forgotten", "a picture"))
    return saved


@pytest.mark.parametrize("name, said", [("Photo gone", "missing beside the index"), ("Refused", "cancel out"),
                                        ("Soon forgotten", "No saved search called “Soon forgotten” is kept")])
def test_a_saved_search_that_cannot_open_leaves_the_dropped_photo_and_its_box(app, page, kept, tmp_path, name, said):
    page.goto(app["url"])
    page.locator("#saved-panel").get_by_text("Saved searches", exact=True).click()  # listed
    page.locator("#query textarea, #query input").first.fill("a cross")
    drop_photo(page, halves(tmp_path / "halves.jpg"))
    expect_status(page, "“a cross” + the dropped photo ·")
    drag_over(page, (0.1, 0.2, 0.45, 0.8))
    expect_status(page, "“a cross” + a part of the dropped photo ·")
    src = page.locator("#query-image img").get_attribute("src")
    if name == "Soon forgotten":
        assert kept.remove(name)  # as another tab, or `clipsearch saved forget`, does
    pick(page, name)
    expect_status(page, said)  # in the status line, each of them (the photo gone was said only in a toast)
    assert page.get_by_test_id("toast-body").count() == 0  # and once
    still_dropped(page, src)

    still_refuses_no_picture(page, tmp_path)


def test_find_similar_refused_puts_back_the_words_the_dropped_photo_and_its_box(app, page, tmp_path, monkeypatch):
    """Find similar empties the query's boxes as the click lands; refused (the photo chosen no longer
    indexed), it left them empty: the words typed, the photo dropped and its box were lost. They are
    put back (by the page's script: the drop zone keeps its checks)."""
    from playwright.sync_api import expect

    box, src = words_and_a_part_dropped(app, page, tmp_path)
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#details")).to_contain_text("Path:", timeout=TIMEOUT)
    with monkeypatch.context() as patched:
        patched.setattr(app["engine"], "record", lambda path: None)  # removed from the index since
        page.locator("#find-similar").click()
        expect_status(page, "⚠️ That photo is not in the index")
    expect(box).to_have_value("a cross", timeout=TIMEOUT)
    still_dropped(page, src)

    still_refuses_no_picture(page, tmp_path)


def test_a_topic_refused_puts_back_the_words_the_dropped_photo_and_its_box(app, page, tmp_path, monkeypatch):
    """A topic opened empties the query's boxes as the click lands; refused (gone since its cover
    was shown), it left them empty. They are put back, as after Find similar refused."""
    from playwright.sync_api import expect

    from clipsearch import InvalidQuery

    box, src = words_and_a_part_dropped(app, page, tmp_path)
    page.locator("#topics-panel").get_by_text("Topics: what your photos show").click()
    page.locator("#topics img").first.wait_for()

    def gone(name, **_):
        raise InvalidQuery(f"no topic is called {name!r}")

    with monkeypatch.context() as patched:
        patched.setattr(app["engine"], "topic_photos", gone)  # the index changed since the covers were made
        page.locator("#topics .thumbnail-item").first.click()
        expect_status(page, "no topic is called")
    expect(box).to_have_value("a cross", timeout=TIMEOUT)
    still_dropped(page, src)


def test_search_with_this_photo_refused_leaves_the_dropped_photo_and_the_checks(app, page, tmp_path):
    """"Search with this photo" with no result chosen said so, and skipped the drop zone from Python:
    Gradio then rebuilt it for the session without its checks, and a file that is no picture dropped
    next failed with an "Error" badge instead of being refused in the status line."""
    from playwright.sync_api import expect

    _, src = words_and_a_part_dropped(app, page, tmp_path)
    page.locator("#use-photo").click()
    expect(page.locator("#status")).to_have_text("Click a result first, then search with it.", timeout=TIMEOUT)
    still_dropped(page, src)

    still_refuses_no_picture(page, tmp_path)
