"""Find similar's photo stays in the preview when its results are filtered or sorted again, in a real
Chromium (``Page.refilter``).

After Find similar the preview shows the photo searched with, as what the results are like. Unticking
"Strong matches only" (or another order, or a score cut-off) emptied the preview: the same search's
results, and nothing on the page said any more what they were like. A result chosen, on the other
hand, is still let go by a re-filter, which may hide it.
"""

from __future__ import annotations

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status, result_names, set_strong_only

pytestmark = BROWSER_MARKS


app = shots_app("browser-similar-refilter", 6)


def test_find_similars_photo_stays_in_the_preview_when_the_results_are_filtered_again(page):
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    box.fill("a shot")
    box.press("Enter")
    expect_status(page, "“a shot”")
    first = result_names(page)[0]
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#details")).to_contain_text(first)
    page.locator("#find-similar").click()
    expect_status(page, f"photos like {first}")
    preview, details = page.locator("#preview img"), page.locator("#details")
    expect(details).to_contain_text(f"photos like all of {first}")
    for strong in (False, True):  # set_strong_only waits till the results are filtered again
        set_strong_only(page, strong)
        expect_status(page, f"photos like {first}")
        expect(details).to_contain_text(f"photos like all of {first}")
        expect(preview).to_be_visible()
    shown = result_names(page)[0]  # a result chosen instead: a re-filter lets it go, as before
    page.locator("#results .thumbnail-item").first.click()
    expect(details).to_contain_text(shown)
    set_strong_only(page, False)
    expect(details).not_to_contain_text(shown, timeout=TIMEOUT)
    expect(preview).to_have_count(0)
