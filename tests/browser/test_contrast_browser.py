"""The page's hint text is readable, in a real Chromium: WCAG AA's 4.5:1 against what is under it.

The hint under the sliders and the tick box ("hide results scoring less; 0 shows all"), a slider's
ends, the drop zone's "- or -" and the placeholders that hint a box's format ("2019-01-01") were
drawn in a grey of 1.9:1 on white (the placeholders 3.1:1 in the dark theme). The ratio is worked
out here from the colours the browser computed, each blended over the backgrounds under it.
"""

from __future__ import annotations

import pytest

from testsupport.browser import open_page, served_shots

from .test_browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
AA = 4.5  # WCAG 2 AA, text under 18 pt (all of these)
# The hint text of the page: the info lines under the sliders and the tick box, the sliders' ends,
# the drop zone's "or", the search box's help; and (``PLACEHOLDERS``) the boxes' placeholders.
HINTS = ".info-text, [data-testid=min-value], [data-testid=max-value], #query-image .or, #query-help p"
PLACEHOLDERS = "input[placeholder]:placeholder-shown, textarea[placeholder]:placeholder-shown"
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
          ...[...document.querySelectorAll(placeholders)].filter(shown).map((e) => ratio(e))];
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with served_shots(tmp_path_factory.mktemp("browser-contrast"), 2) as app:
        yield app


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_hint_text_reaches_aa_contrast(app, monkeypatch, theme):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"] + f"?__theme={theme}") as page:
        page.locator("#saved-panel").get_by_text("Saved searches", exact=True).click()  # its name box's placeholder
        page.locator("#saved-name input").wait_for()
        assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
        measured = page.evaluate(CONTRASTS, [HINTS, PLACEHOLDERS])
    named = " ".join(text for text, _ in measured)
    for hint in ("hide results scoring less", "the automatic cut-off", "placeholder “2019-01-01”",
                 "placeholder “a dog on a beach”", "placeholder “Beach holidays”", "Combine terms"):
        assert hint in named, (hint, measured)  # each kind of hint was measured
    low = [(text, round(ratio, 2)) for text, ratio in measured if ratio < AA]
    assert low == [], low
