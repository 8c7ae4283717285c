"""The answer to a tap brought into sight where it came out of sight: installed once at page load
(``install``), as ``region_view``'s script is.

On a phone the page is one column: the status line at the top, the results under the drop zone,
the filters and the panels, a screen and a half below the search box, and the preview under them.
A search run from the top (Enter, a dropped photo, a date typed) showed its progress and its
results out of sight, and Find similar, run from under the results, changed them out of sight
above: the page seemed to do nothing. So when the results' progress shows (a search, Find
similar, a topic or a saved search opened) and less than a row of them is on the screen, the
page scrolls to them. Re-filtering the results (the cut-off, the score slider, the sort) shows no
progress, and never moves the page under a finger on a slider; where a row of the results is in
sight (a wide screen), nothing moves. In a laptop's window (1024x768, 1366x657 inside a browser)
the results began at the screen's foot, a sliver of their first row in sight: there the
page scrolls down just far enough to show ``RESULTS_SHOWN`` pixels of them while the status line
stays in sight at the top; where both cannot show (a phone), the results' top goes to the screen's
top. The page jumps there at once: a smooth scroll went on while the results came, and what was
read of them in that time (where a caption was) was wrong.

In the same way, what the status line says instead of results (a date that is no date, Find
similar with no result chosen, the index gone: ``SAID_INSTEAD``) is brought into sight when the
status line is out of it.
"""

import json

import gradio as gr

from .region_view import PRIVATE

# The status line's beginnings that say why no results came: a warning, and "Click a result
# first, ..." (Find similar and Open similar with none chosen).
CLICK_FIRST = "Click a result first"  # gone once one is chosen: ``Page.status_of_choice``
SAID_INSTEAD = ("⚠️", CLICK_FIRST)
# How much of the results a search brings into sight, in CSS pixels: the gallery's label and a row of
# thumbnails with their captions (a row is 130-190 px from a 1024 to a 1400 px window).
RESULTS_SHOWN = 240
# Gradio's progress over a component is its first child, ``.wrap``, with ``hide`` while idle.
IN_SIGHT_JS = """() => {
  if (window.clipsearchInSight) return;
  window.clipsearchInSight = true;
  const SAID_INSTEAD = __SAID_INSTEAD__, RESULTS_SHOWN = __RESULTS_SHOWN__, MARGIN = 8;
  const outOfSight = (el) => {
    const r = el.getBoundingClientRect();
    return r.bottom <= 0 || r.top >= window.innerHeight;
  };
  const bring = (el, block) => { if (el && outOfSight(el)) el.scrollIntoView({behavior: "instant", block}); };
  const bringResults = (results) => {
    const r = results.getBoundingClientRect(), want = Math.min(r.height, RESULTS_SHOWN);
    if (Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0) >= want) return;
    const status = document.getElementById("status");
    const down = r.top + want - window.innerHeight;  // the least scroll that shows that much of them
    const room = status ? status.getBoundingClientRect().top - MARGIN : -1;  // the status line kept in sight
    if (r.top > 0 && down <= room) window.scrollBy({top: down, behavior: "instant"});
    else results.scrollIntoView({behavior: "instant", block: "start"});
  };
  let said = "";
  new MutationObserver((changes) => {
    for (const change of changes) {
      const progress = change.target, results = progress.parentElement;
      if (change.type !== "attributes" || !results || results.id !== "results" || !progress.classList.contains("wrap")) continue;
      if (!progress.classList.contains("hide") && (change.oldValue || "").split(/\\s+/).includes("hide")) bringResults(results);
    }
    const status = document.getElementById("status");
    const text = status ? status.textContent.trim() : "";
    if (text === said) return;
    said = text;
    if (SAID_INSTEAD.some((start) => text.startsWith(start))) bring(status, "center");
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: ["class"], attributeOldValue: true});
}""".replace("__SAID_INSTEAD__", json.dumps(SAID_INSTEAD, ensure_ascii=False)).replace(
    "__RESULTS_SHOWN__", str(RESULTS_SHOWN))


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=IN_SIGHT_JS, **PRIVATE)
