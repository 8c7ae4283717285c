"""The results brought into sight when a search starts where they cannot be seen: installed once at
page load (``install``), as ``region_view``'s script is.

On a phone the page is one column: the results sit under the drop zone, the filters and the
panels, a screen and a half below the search box, and the preview under them. A search run from
the top (Enter, a dropped photo, a date typed) showed its progress and its results out of sight,
and Find similar, run from under the results, changed them out of sight above: the page seemed to
do nothing. So when the results' progress shows (a search, Find similar, a topic or a saved
search opened) and no part of them is on the screen, the page scrolls to them. Re-filtering the
results (the cut-off, the score slider, the sort) shows no progress, and never moves the page
under a finger on a slider; where any part of the results is in sight (a wide screen), nothing moves.
"""

import gradio as gr

from .region_view import PRIVATE

# Gradio's progress over a component is its first child, ``.wrap``, with ``hide`` while idle.
RESULTS_IN_SIGHT_JS = """() => {
  if (window.clipsearchResultsInSight) return;
  window.clipsearchResultsInSight = true;
  const outOfSight = (el) => {
    const r = el.getBoundingClientRect();
    return r.bottom <= 0 || r.top >= window.innerHeight;
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      const progress = change.target, results = progress.parentElement;
      if (!results || results.id !== "results" || !progress.classList.contains("wrap")) continue;
      const started = !progress.classList.contains("hide") && (change.oldValue || "").split(/\\s+/).includes("hide");
      if (started && outOfSight(results)) {
        results.scrollIntoView({behavior: "smooth", block: "start"});
        return;
      }
    }
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["class"], attributeOldValue: true});
}"""


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=RESULTS_IN_SIGHT_JS, **PRIVATE)
