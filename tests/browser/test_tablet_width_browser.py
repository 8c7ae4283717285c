"""The sliders' hints in a window as wide as a tablet held upright (768 to 1000 px), in a real
Chromium (``app.CSS``).

There the four controls share a row, and each slider's number box kept its place beside the label:
the label and its hint had 40 px, and "hide results scoring less; 0 shows all" ran a word a line,
six lines down the panel. The label now keeps 7em at least, and the box goes under it.
"""

from __future__ import annotations

import pytest

from testsupport.browser import shots_app

from .test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
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
