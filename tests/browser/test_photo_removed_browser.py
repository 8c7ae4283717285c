"""The dropped photo removed (the drop zone's X), in a real Chromium.

A photo dropped, a box drawn on it, then the X: the results stayed, the status line still said
"a part of the dropped photo" and the address kept ``?photo=NAME``; only the box was forgotten.
Now, as Enter does with no photo, the words typed are searched alone; with none, or with words
that cannot be searched alone ("red - red": the results stayed, and the address kept ``photo=``),
the results go and the status line says why. The address names no photo either way.
"""

from __future__ import annotations

import pytest
from PIL import Image

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS, TIMEOUT, drag_over, drop_photo, expect_status

pytestmark = BROWSER_MARKS


app = shots_app("browser-photo-removed", 6)


def drop_and_box(page, tmp_path, words: str) -> None:
    """``words`` typed, a photo dropped, then a box drawn on it: each searched."""
    picture = tmp_path / "q.png"
    Image.new("RGB", (256, 256), (30, 90, 200)).save(picture)
    page.locator("#strong-only input").uncheck()  # every result, not only the strong matches
    page.locator("#query textarea, #query input").first.fill(words)
    drop_photo(page, picture)
    expect_status(page, "the dropped photo ·")
    drag_over(page, (0.1, 0.1, 0.6, 0.6))
    expect_status(page, "a part of the dropped photo ·")
    page.wait_for_function("() => new URL(location.href).searchParams.get('photo') === 'q.png'", timeout=TIMEOUT)


@pytest.mark.parametrize("words", ["", "a blue sky", "red - red"])
def test_removing_the_dropped_photo_searches_the_words_alone_or_nothing(page, tmp_path, words):
    from playwright.sync_api import expect

    drop_and_box(page, tmp_path, words)
    page.locator("#query-image button[aria-label='Remove Image']").click()
    status = page.locator("#status")
    if words == "red - red":  # words that cancel out: nothing to search, said
        expect(status).to_contain_text("The photo is removed, and the words left cannot be searched: the query's "
                                       "terms cancel out", timeout=TIMEOUT)
        expect(page.locator("#results img")).to_have_count(0, timeout=TIMEOUT)
    elif words:
        expect(status).to_contain_text(f"“{words}” ·", timeout=TIMEOUT)  # the words alone
        expect(page.locator("#results img").first).to_be_visible(timeout=TIMEOUT)
        page.wait_for_function(f"() => new URL(location.href).searchParams.get('q') === {words!r}",
                               timeout=TIMEOUT)
    else:
        expect(status).to_contain_text("The photo is removed", timeout=TIMEOUT)
        expect(page.locator("#results img")).to_have_count(0, timeout=TIMEOUT)
        page.wait_for_function("() => !new URL(location.href).searchParams.has('q')", timeout=TIMEOUT)
    expect(status).not_to_contain_text("dropped photo")
    page.wait_for_function("() => !new URL(location.href).searchParams.has('photo')", timeout=TIMEOUT)
