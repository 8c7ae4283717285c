""""Search with this photo" with no result chosen, in a real Chromium.

It said "Click a result first, then search with it." in a red "Error" toast, where Find similar
and Open similar say the same calmly in the status line. It now says it there too, and nothing
else changes: the results, the words and the address stay.
"""

from __future__ import annotations

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status, search_every_result

pytestmark = BROWSER_MARKS


app = shots_app("browser-use-photo", 4)


def test_search_with_this_photo_and_none_chosen_says_so_in_the_status_line(page):
    from playwright.sync_api import expect

    search_every_result(page, "a picture")
    expect_status(page, "“a picture” ·")  # its count and time said too
    page.wait_for_function("() => new URL(location.href).searchParams.get('q') === 'a picture'", timeout=TIMEOUT)
    shown = page.locator("#results .caption-label").all_inner_texts()
    page.locator("#use-photo").click()
    expect(page.locator("#status")).to_have_text("Click a result first, then search with it.", timeout=TIMEOUT)
    page.wait_for_timeout(500)  # a toast, or a search, would come with the answer just shown
    assert page.get_by_test_id("toast-body").count() == 0
    assert page.locator("#results .caption-label").all_inner_texts() == shown
    assert page.locator("#query textarea, #query input").first.input_value() == "a picture" and "q=a+picture" in page.url
    page.locator("#results .thumbnail-item").first.click()  # chosen now: it searches with it
    expect(page.locator("#details")).to_contain_text("Path:", timeout=TIMEOUT)
    page.locator("#use-photo").click()
    expect_status(page, "“a picture” + shot-")
