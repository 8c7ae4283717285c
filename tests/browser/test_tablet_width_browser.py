"""The sliders' hints in a window as wide as a tablet held upright (768 to 1000 px), in a real
Chromium (``look.CSS``); and a search's results in a laptop's window (``results_in_sight``).

There the four controls share a row, and each slider's number box kept its place beside the label:
the label and its hint had 40 px, and "hide results scoring less; 0 shows all" ran a word a line,
six lines down the panel. The label now keeps 7em at least, and the box goes under it.
"""

from __future__ import annotations

import pytest

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, expect_status

pytestmark = BROWSER_MARKS
SHOWN = """() => { const r = document.getElementById("results").getBoundingClientRect();
  return Math.min(r.bottom, innerHeight) - Math.max(r.top, 0); }"""
HINT_LINES = """() => [...document.querySelectorAll("#min-score .info-text")].map((hint) =>
  Math.round(hint.getBoundingClientRect().height / parseFloat(getComputedStyle(hint).lineHeight)))"""


app = shots_app("browser-tablet-width", 3)


@pytest.mark.parametrize("width", [768, 900])
def test_the_score_cut_offs_hint_reads_as_a_line_not_a_word_a_line(page, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.wait_for_function("() => document.querySelector('#min-score .info-text')?.getBoundingClientRect().width > 0")
    lines = page.evaluate(HINT_LINES)
    assert lines and max(lines) <= 3, lines
    label, box = (page.locator(f"#min-score {part}").bounding_box() for part in ("label", ".tab-like-container"))
    assert label["width"] >= 90, label  # 7em of its text, where it had 40 px
    block = page.locator("#min-score").bounding_box()
    assert box["x"] + box["width"] <= block["x"] + block["width"] + 1, (box, block)  # the number box still inside


@pytest.mark.parametrize("window", [(1024, 768), (1366, 657)])
def test_in_a_laptops_window_a_search_shows_a_row_of_its_results_and_its_status_line(page, window):
    """In a 1024x768 window the results began at the screen's foot, a sliver of their first row in
    sight, and at 1366x657 (a laptop's screen less the browser's bars) none: the page seemed to do
    nothing. A search now scrolls just far enough for a row of them, the status line still in sight."""
    from playwright.sync_api import expect

    width, height = window
    page.set_viewport_size({"width": width, "height": height})
    box = page.locator("#query textarea, #query input").first
    box.fill("a photo")
    box.press("Enter")
    expect_status(page, "“a photo”")
    page.wait_for_function(f"() => ({SHOWN})() >= 239", timeout=5000)  # the label and a row of thumbnails
    expect(page.locator("#status")).to_be_in_viewport(ratio=1)
    assert page.evaluate("window.scrollY") > 0


def test_in_a_tall_window_a_search_leaves_the_page_where_it_is(page):
    """Where a row of the results is in sight already, nothing moves; scrolled down through them,
    past the status line, a copy of it stands at the top of the screen (``status_in_sight``)."""
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    box.fill("a photo")
    box.press("Enter")
    expect_status(page, "“a photo”")
    page.wait_for_timeout(500)  # a scroll would have happened with the search's progress
    assert page.evaluate(SHOWN) >= 240 and page.evaluate("window.scrollY") == 0
    said = page.locator("#status-said")
    expect(said).to_be_hidden()  # the status line itself is in sight
    page.evaluate("document.getElementById('results').scrollIntoView()")
    expect(said).to_be_visible()
    expect(said).to_contain_text("“a photo”")
