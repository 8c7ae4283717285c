"""The "Sort by" choices from the keyboard, in a real Chromium: one tab stop, the arrows moving the choice
(the WAI-ARIA radio group pattern, ``webui.keyboard``).

Gradio 6 named each radio button on its own, so each choice was a tab stop of its own and the arrows
did nothing. Now Tab reaches the choice made, Tab again leaves the group, and the arrows choose the
other order, which the page then shows (its change event asks the server to sort the results).
"""

from __future__ import annotations

from testsupport.browser import shots_app
from webui.handlers import SORT_DATE, SORT_RELEVANCE

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status

pytestmark = BROWSER_MARKS
FOCUSED = "() => { const at = document.activeElement; return [at.type || at.tagName, at.value, at.checked]; }"


app = shots_app("browser-sort-keys", 3)


def asking(order: str):
    """The page's request to the server that carries ``order`` (the results sorted anew)."""
    return lambda request: "queue/join" in request.url and order in (request.post_data or "")


def test_sort_by_is_one_tab_stop_and_the_arrows_move_the_choice(page):
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    box.fill("a shot")
    box.press("Enter")
    expect_status(page, "“a shot”")
    page.locator("#min-score input[type=range]").focus()  # the control before the choices
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == ["radio", SORT_RELEVANCE, True]  # the choice made
    page.keyboard.press("Tab")  # past the group: the folder list, not the other choice
    assert page.evaluate("() => document.activeElement.closest('#folder') !== null"), page.evaluate(FOCUSED)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == ["radio", SORT_RELEVANCE, True]
    with page.expect_request(asking(SORT_DATE), timeout=TIMEOUT):  # the page sorts by date
        page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED) == ["radio", SORT_DATE, True]
    expect(page.locator("#sort input[type=radio]").first).not_to_be_checked()
    page.keyboard.press("Tab")  # one stop still, at the new choice, though Gradio named the buttons anew
    assert page.evaluate("() => document.activeElement.closest('#folder') !== null"), page.evaluate(FOCUSED)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == ["radio", SORT_DATE, True]
    with page.expect_request(asking(SORT_RELEVANCE), timeout=TIMEOUT):
        page.keyboard.press("ArrowLeft")
    assert page.evaluate(FOCUSED) == ["radio", SORT_RELEVANCE, True]
    expect(page.locator("#sort input[type=radio]").nth(1)).not_to_be_checked()
