"""The page from the keyboard, and its footer, in a real Chromium (``webui.keyboard``, ``look.CSS``).

- Tab from the Folder list went to the list's open choices (a scroller, which Chromium makes a Tab
  stop), which Gradio closed as the box lost the focus: the focus fell to the page, and the next
  Tab started over from the top. Now Tab goes from the folder box to the From date.
- The tick boxes, the Sort by choices and the sliders showed no focus ring: Tab reached them and
  nothing on the page said where it was.
- The footer ended in a lone "·" (Gradio's divider before the links the page leaves out).
"""

from __future__ import annotations

import pytest

from testsupport.browser import served_library
from testsupport.imagefactory import photo

from .test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
FOLDERS = 30  # more than the Folder list shows at once: its open list scrolls
HAS_FOCUS = "element => element === document.activeElement"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-keyboard")
    for n in range(FOLDERS):
        folder = root / "photos" / f"album-{n:02d}"
        folder.mkdir(parents=True)
        photo(320, 240, seed=n).save(folder / f"shot-{n}.jpg", quality=90)
    with served_library(root) as app:
        yield app


def test_tab_goes_from_the_folder_list_to_the_dates(page):
    folder = page.get_by_role("combobox", name="Folder")
    folder.focus()
    # The case: a list that scrolls. Its choices come with the page's first answer (the folders
    # indexed), which may land after the box opened: wait for them, up to the usual 5 s.
    page.wait_for_function("() => { const list = document.querySelector('#folder [role=listbox]');"
                           " return list !== null && list.scrollHeight > list.clientHeight; }", timeout=5000)
    page.keyboard.press("Tab")
    assert page.get_by_label("From (YYYY-MM-DD)").evaluate(HAS_FOCUS), page.evaluate("document.activeElement.tagName")
    page.keyboard.press("Shift+Tab")
    assert folder.evaluate(HAS_FOCUS)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("control", ["#strong-only input[type=checkbox]", "#sort input[type=radio]:checked",
                                     "#min-score input[type=range]"])
def test_a_control_reached_with_tab_shows_a_focus_ring(app, unopened_page, control, theme):
    page = unopened_page  # opened here, in its theme, once
    page.goto(app["url"] + ("?__theme=dark" if theme == "dark" else ""))
    target = page.locator(control)
    target.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # back to it from the keyboard: :focus-visible
    assert target.evaluate(HAS_FOCUS)
    ring = target.evaluate("input => { const s = getComputedStyle(input); return [s.outlineStyle, s.outlineWidth]; }")
    assert ring[0] != "none" and float(ring[1].removesuffix("px")) >= 2, ring


def test_the_footer_ends_in_no_lone_divider(page):
    shown = page.evaluate("""() => [...document.querySelectorAll("footer > *")]
      .filter((e) => e.getClientRects().length && getComputedStyle(e).display !== "none")
      .map((e) => e.innerText.trim())""")
    assert shown and shown[-1] != "·", shown
