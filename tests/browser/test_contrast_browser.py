"""The page's hint text and its buttons' text are readable, in a real Chromium: WCAG AA's 4.5:1 against
what is under it.

The hint under the sliders and the tick box ("hide results scoring less; 0 shows all"), a slider's
ends, the drop zone's "- or -" and the placeholders that hint a box's use ("any date") were
drawn in a grey of 1.9:1 on white (the placeholders 3.1:1 in the dark theme); the Search button's white
on orange was 2.8:1 (3.6:1 in the dark theme). The ratio is worked out here from the colours the
browser computed, each blended over the backgrounds under it.
"""

from __future__ import annotations

import pytest

from testsupport.browser import open_page, shots_app

from .test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
AA = 4.5  # WCAG 2 AA, text under 18 pt (all of these)
# The hint text of the page: the info lines under the sliders and the tick box, the sliders' ends,
# the drop zone's "or", the search box's help; and (``PLACEHOLDERS``) the boxes' placeholders.
HINTS = ".info-text, [data-testid=min-value], [data-testid=max-value], #query-image .or, #query-help p"
PLACEHOLDERS = "input[placeholder]:placeholder-shown, textarea[placeholder]:placeholder-shown"
# Every button (its own background is under its text); the panels opened first, so that theirs show.
BUTTONS = "button"
PANELS = ("Saved searches", "Topics: what your photos show", "Index", "Duplicates")
# The button under the pointer, once its background is the theme's for that (past the transition to it).
HOVERED = """(button) => {
  const probe = button.parentElement.appendChild(document.createElement("div"));
  probe.style.background = "var(--button-primary-background-fill-hover)";
  const hover = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return button.matches(":hover") && getComputedStyle(button).backgroundColor === hover;
}"""
CONTRASTS = """([hints, placeholders]) => {
  const rgba = (text) => {
    const [r, g, b, a] = text.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (element) => {  // the backgrounds under it, blended from the first opaque one up
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const luminance = (colour) => {
    const [r, g, b] = colour.slice(0, 3).map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (element, text) => {
    const style = getComputedStyle(element, text === undefined ? "::placeholder" : null);
    const under = background(element), colour = rgba(style.color);
    const [high, low] = [luminance(over([...colour.slice(0, 3), colour[3] * Number(style.opacity)], under)),
                         luminance(under)].sort((a, b) => b - a);
    return [text === undefined ? `placeholder “${element.placeholder}”` : text, (high + 0.05) / (low + 0.05)];
  };
  const shown = (element) => element.getClientRects().length > 0;
  return [...[...document.querySelectorAll(hints)].filter(shown).map((e) => ratio(e, e.innerText.trim().slice(0, 40))),
          ...(placeholders ? [...document.querySelectorAll(placeholders)].filter(shown).map((e) => ratio(e)) : [])];
}"""


app = shots_app("browser-contrast", 2)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_hint_text_reaches_aa_contrast(app, monkeypatch, theme):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"] + f"?__theme={theme}") as page:
        page.locator("#saved-panel").get_by_text("Saved searches", exact=True).click()  # its name box's placeholder
        page.locator("#saved-name input").wait_for()
        assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
        measured = page.evaluate(CONTRASTS, [HINTS, PLACEHOLDERS])
    named = " ".join(text for text, _ in measured)
    for hint in ("hide results scoring less", "the automatic cut-off", "placeholder “any date”",
                 "placeholder “a dog on a beach”", "placeholder “Beach holidays”", "Combine terms"):
        assert hint in named, (hint, measured)  # each kind of hint was measured
    low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < AA]
    assert low == [], low


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_button_text_reaches_aa_contrast(app, monkeypatch, theme):
    """The Search button, Gradio's primary one, put white text on orange at 2.8:1 (3.6:1 in the dark
    theme, and under the pointer in the light one). Every button's text, the panels' too, reaches
    4.5:1 now, and the primary buttons' under the pointer as well."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"] + f"?__theme={theme}") as page:
        for panel in PANELS:
            page.get_by_text(panel, exact=True).click()
        for button in ("#find-duplicates", "#reindex", "#save-search"):
            page.locator(button).wait_for()
        assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
        measured = [(text, ratio) for text, ratio in page.evaluate(CONTRASTS, [BUTTONS, ""]) if text]
        primary = page.locator("button.primary")
        assert primary.count() >= 1
        for n in range(primary.count()):
            primary.nth(n).hover()
            page.wait_for_function(HOVERED, arg=primary.nth(n).element_handle())
            measured += [(f"{text} (under the pointer)", ratio)
                         for text, ratio in page.evaluate(CONTRASTS, ["button.primary:hover", ""])]
    named = [text for text, _ in measured]
    for button in ("Search", "Search (under the pointer)", "Save", "Find similar", "Re-index now",
                   "Find duplicates", "Use via API"):
        assert button in named, (button, measured)  # each kind of button was measured
    low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < AA]
    assert low == [], low
