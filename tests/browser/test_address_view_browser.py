"""What the page shows, kept in its address, in a real Chromium: a reload, or a link sent, shows it again.

The order chosen under Sort by was kept nowhere: a reload showed the results by relevance again
(``address_js.SORTED_ADDRESS_JS`` writes ``sort=date``, ``page_address.sort_asked`` reads it).

So is what the status line says of them: a button pressed with no result chosen says "Click a result
first", and that stayed once one was chosen, though it no longer applied (``Page.status_of_choice``).

And a saved search forgotten while it was shown (``?saved=NAME``) left a bare address beside its results,
so a reload showed an empty page: the address now says the search's own terms (``saved_view.forgotten_address``).
"""

from __future__ import annotations

import re

import pytest

from clipsearch.demo import make_sample_library
from testsupport.browser import served_library
from webui.handlers import SORT_DATE, SORT_RELEVANCE

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status, search_for

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a sample library whose photos say when they were taken (2016-2024)."""
    root = tmp_path_factory.mktemp("browser-address-view")
    make_sample_library(root / "photos", n=80, seed=0)
    with served_library(root) as app:
        yield app


@pytest.fixture
def page(unopened_page):
    """A fresh page at no address yet: each test opens the address it needs itself (``page.goto``), once."""
    return unopened_page


def shown(page) -> list[tuple[str, str]]:
    """(name, date) of each result in gallery order, from the captions ("0.612 · img_0042.png · 2019-07-04")."""
    page.locator("#results img").first.wait_for()
    captions = page.locator("#results .caption-label").all_inner_texts()
    return [(parts[1], parts[2] if len(parts) > 2 else "") for parts in (c.split(" · ") for c in captions)]


def choose_order(page, order: str) -> None:
    page.locator("#sort").get_by_text(order, exact=True).click()


def test_the_order_chosen_is_kept_in_the_address_and_read_back_on_load(app, page):
    from playwright.sync_api import expect

    page.goto(app["url"])
    search_for(page, "a red circle")
    by_relevance = shown(page)
    choose_order(page, SORT_DATE)
    expect(page).to_have_url(app["url"] + "?q=a+red+circle&sort=date", timeout=TIMEOUT)
    page.wait_for_function("(first) => !document.querySelector('#results .caption-label')?.innerText.includes(first)",
                           arg=by_relevance[0][0], timeout=TIMEOUT)
    by_date = shown(page)
    dates = [date for _, date in by_date]
    assert len(by_date) > 2 and dates == sorted(dates, reverse=True) and by_date != by_relevance

    page.reload()  # the same page again: the same order, chosen in Sort by
    expect_status(page, "“a red circle”")
    expect(page.locator("#sort input[type=radio]").nth(1)).to_be_checked()
    assert page.locator("#sort input[type=radio]").nth(1).get_attribute("value") == SORT_DATE
    assert shown(page) == by_date

    search_for(page, "a red circle")  # a search of the page's own keeps the order, and the address says so
    expect(page).to_have_url(app["url"] + "?q=a+red+circle&sort=date", timeout=TIMEOUT)
    assert shown(page) == by_date
    choose_order(page, SORT_RELEVANCE)  # the default: none in the address
    expect(page).to_have_url(app["url"] + "?q=a+red+circle", timeout=TIMEOUT)
    page.goto(app["url"] + "?q=a+red+circle")
    expect_status(page, "“a red circle”")
    assert shown(page) == by_relevance
    expect(page.locator("#sort input[type=radio]").first).to_be_checked()


@pytest.mark.parametrize("button", ["#find-similar", "#use-photo", "#open-similar"])
def test_click_a_result_first_goes_once_a_result_is_chosen(app, page, button):
    from playwright.sync_api import expect

    page.goto(app["url"])
    search_for(page, "a blue star")
    said = page.locator("#status").inner_text()
    assert said and "Click a result first" not in said
    page.locator(button).click()
    expect_status(page, "Click a result first")
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#details")).to_contain_text("Path:")
    expect(page.locator("#status")).to_have_text(said, timeout=TIMEOUT)  # the results' own, as after the search


def test_a_saved_search_forgotten_leaves_its_terms_in_the_address(app, page):
    from playwright.sync_api import expect

    from clipsearch.saved import FILE_NAME, SavedSearch, SavedSearches

    index = app["root"] / "index"
    SavedSearches(index).save(SavedSearch("Green squares", "a green square", since="2019"))
    SavedSearches(index).save(SavedSearch("Red circles", "a red circle"))
    try:
        page.goto(app["url"] + "?saved=Green+squares")
        expect_status(page, "“a green square”")
        before = shown(page)
        page.locator("#saved-panel").get_by_text("Saved searches").click()
        expect(page.locator("#saved-choice input")).to_have_value("Green squares")
        page.locator("#saved-panel").get_by_role("button", name="Forget it").click()
        expect(page.get_by_text("Forgot “Green squares”")).to_be_visible(timeout=TIMEOUT)
        expect(page).to_have_url(app["url"] + "?q=a+green+square&since=2019-01-01", timeout=TIMEOUT)
        assert shown(page) == before
        page.reload()  # the same results again, not an empty page
        expect_status(page, "“a green square”")
        assert shown(page) == before
        expect(page.get_by_label("From (YYYY-MM-DD)")).to_have_value("2019-01-01")  # filled a step after the answer

        page.goto(app["url"] + "?q=a+blue+star")  # a search of its own shown: forgetting one leaves its address
        expect_status(page, "“a blue star”")
        page.locator("#saved-panel").get_by_text("Saved searches").click()
        page.locator("#saved-choice input").click()
        page.get_by_role("option", name="Red circles").click()
        expect_status(page, "“a red circle”")
        expect(page).to_have_url(app["url"] + "?saved=Red+circles", timeout=TIMEOUT)
        page.locator("#query textarea, #query input").first.fill("a blue star")
        page.locator("#query textarea, #query input").first.press("Enter")
        expect(page).to_have_url(app["url"] + "?q=a+blue+star", timeout=TIMEOUT)
        page.locator("#saved-panel").get_by_role("button", name="Forget it").click()
        expect(page.get_by_text("Forgot “Red circles”")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator("#saved-choice input")).to_have_value("")  # the list's answer, the address's step after it
        expect(page).to_have_url(app["url"] + "?q=a+blue+star")
    finally:
        (index / FILE_NAME).unlink(missing_ok=True)


def test_back_and_forward_go_through_the_searches_asked(app, page):
    """Each search wrote over the one before in the address (replaced): Back, after a few searches,
    left the app for whatever the browser showed before it. Each search asked is a step of the
    history now; the order chosen, and the search the page opened at, are not steps of their own."""
    from playwright.sync_api import expect

    steps = "() => window.history.length"
    page.goto(app["url"] + "?q=a+red+circle")  # a link: the page opens at a search
    expect_status(page, "“a red circle”")
    opened = page.evaluate(steps)
    search_for(page, "a blue square")
    expect(page).to_have_url(app["url"] + "?q=a+blue+square", timeout=TIMEOUT)
    choose_order(page, SORT_DATE)  # the same search, in another order: no step
    expect(page).to_have_url(app["url"] + "?q=a+blue+square&sort=date", timeout=TIMEOUT)
    first = shown(page)[0][0]
    page.locator("#results .thumbnail-item").first.click()
    page.locator("#find-similar").click()
    expect_status(page, f"photos like {first}")
    expect(page).to_have_url(re.compile(r"similar="), timeout=TIMEOUT)
    assert page.evaluate(steps) == opened + 2

    page.go_back()  # the search before, loaded from its address as a link is
    expect(page).to_have_url(app["url"] + "?q=a+blue+square&sort=date", timeout=TIMEOUT)
    expect_status(page, "“a blue square”")
    expect(page.locator("#query textarea, #query input").first).to_have_value("a blue square")
    page.go_back()
    expect(page).to_have_url(app["url"] + "?q=a+red+circle", timeout=TIMEOUT)
    expect_status(page, "“a red circle”")
    page.go_forward()
    expect_status(page, "“a blue square”")
    assert page.evaluate(steps) == opened + 2  # going back and forth made no step of its own
