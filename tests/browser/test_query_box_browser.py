"""The search box holds at most a query's length (``clipsearch.query.MAX_QUERY_CHARS``), in a real
Chromium: a caption of 3,000 characters pasted in was kept whole, and the search then refused it
in the status line. The box now stops at the limit (its ``maxlength``), so a paste leaves its
first 2,000 characters there, typing past them adds nothing, and those are searched."""

from __future__ import annotations

import pytest

from clipsearch.query import MAX_QUERY_CHARS
from testsupport.browser import served_shots

from .test_browser import BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS
PASTED = ("a dog on a beach at sunset, " * 120)[:3000]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with served_shots(tmp_path_factory.mktemp("browser-query-box"), 3) as app:
        yield app


@pytest.fixture
def page(app, monkeypatch):
    """The page, allowed the clipboard: the paste is the browser's own, from the clipboard."""
    from testsupport.browser import open_page

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"], permissions=["clipboard-read", "clipboard-write"]) as page:
        yield page


def test_a_paste_past_the_limit_leaves_the_limit_in_the_box_and_that_is_searched(page):
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    page.evaluate("text => navigator.clipboard.writeText(text)", PASTED)
    box.click()
    page.keyboard.press("ControlOrMeta+V")
    expect(box).not_to_have_value("")
    held = box.input_value()
    assert held == PASTED[:MAX_QUERY_CHARS], f"the box holds {len(held):,} characters"
    page.keyboard.type(" and more")  # typing past it adds nothing
    assert box.input_value() == held
    box.press("Enter")
    status = page.locator("#status")
    expect(status).to_contain_text("result", timeout=TIMEOUT)
    assert "characters long" not in status.inner_text() and "⚠️" not in status.inner_text()
