"""The search box holds at most a query's length (``clipsearch.query.MAX_QUERY_CHARS``), in a real
Chromium: a caption of 3,000 characters pasted in was kept whole, and the search then refused it
in the status line. The box now stops at the limit (its ``maxlength``), so a paste leaves its
first 2,000 characters there, typing past them adds nothing, and those are searched.

That cut was silent: the user searched for something other than what they pasted and never learned
it. A note under the box now says so, naming the limit, as the paste lands (and when a key typed did
not go in); it goes once the box holds less. The help under the box names the limits."""

from __future__ import annotations

import pytest

from clipsearch.query import MAX_QUERY_CHARS
from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS
PASTED = ("a dog on a beach at sunset, " * 120)[:3000]


app = shots_app("browser-query-box", 3)


@pytest.fixture
def page(app, monkeypatch):
    """The page, allowed the clipboard: the paste is the browser's own, from the clipboard."""
    from testsupport.browser import open_page

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"], permissions=["clipboard-read", "clipboard-write"]) as page:
        yield page


def paste(page, text: str) -> None:
    """``text`` pasted into the search box from the clipboard, as a user does (Ctrl+V)."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator("#query textarea, #query input").first.click()
    page.keyboard.press("ControlOrMeta+V")


def test_a_paste_past_the_limit_leaves_the_limit_in_the_box_says_so_and_that_is_searched(page):
    from playwright.sync_api import expect

    box, note = page.locator("#query textarea, #query input").first, page.locator("#query-note")
    expect(note).to_be_hidden()
    paste(page, PASTED)
    expect(box).not_to_have_value("")
    held = box.input_value()
    assert held == PASTED[:MAX_QUERY_CHARS], f"the box holds {len(held):,} characters"
    expect(note).to_be_visible()  # said where the user looks, as the paste lands
    expect(note).to_have_text("⚠️ Not all of the paste went in: a query is at most 2,000 characters long (spaces "
                              "included), so the box took what fits and left the rest out. A search looks for "
                              "what the box shows.")
    assert note.get_attribute("role") == "status"  # a screen reader says it too
    page.keyboard.type(" and more")  # typing past it adds nothing, and says so
    assert box.input_value() == held
    expect(note).to_contain_text("The search box is full: a query is at most 2,000 characters long")
    box.press("Enter")
    status = page.locator("#status")
    expect(status).to_contain_text("result", timeout=TIMEOUT)
    assert "characters long" not in status.inner_text() and "⚠️" not in status.inner_text()
    expect(note).to_be_visible()  # the box still holds the cut paste
    page.keyboard.press("Backspace")  # it holds less than the limit now: nothing more to say
    expect(note).to_be_hidden()


def test_a_paste_that_fits_says_nothing(page):
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    box.fill("a dog ")
    paste(page, PASTED[:MAX_QUERY_CHARS - len("a dog ")])  # up to the limit, not past it
    expect(box).to_have_value("a dog " + PASTED[:MAX_QUERY_CHARS - len("a dog ")])
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("result", timeout=TIMEOUT)
    expect(page.locator("#query-note")).to_be_hidden()


def test_the_note_goes_when_the_page_empties_the_box(page):
    """Find similar empties the search box (the results are no longer its words'): the note that spoke
    of the paste goes with them."""
    from playwright.sync_api import expect

    box, note = page.locator("#query textarea, #query input").first, page.locator("#query-note")
    paste(page, PASTED)
    expect(note).to_be_visible()
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("result", timeout=TIMEOUT)
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#details")).to_contain_text("Path:", timeout=TIMEOUT)
    page.locator("#find-similar").click()
    expect(box).to_have_value("", timeout=TIMEOUT)
    expect(page.locator("#status")).to_contain_text("photos like", timeout=TIMEOUT)
    expect(note).to_be_hidden()


def test_the_help_under_the_box_names_the_limits(page):
    from playwright.sync_api import expect

    expect(page.locator("#query-help")).to_contain_text("A query has at most 10 terms and 2,000 characters.")


def test_the_help_pairs_each_rule_with_its_example(page):
    """It read "weight them with 2:: beach + sunset - people, 2:dog + grass": a doubled colon, and the
    weight's example first an example with no weight."""
    from playwright.sync_api import expect

    help_text = page.locator("#query-help")
    expect(help_text).to_contain_text("+ and - (beach + sunset - people)")
    expect(help_text).to_contain_text("with 2: (2:dog + grass)")
    assert "::" not in help_text.inner_text()
