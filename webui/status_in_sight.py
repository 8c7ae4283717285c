"""What the search said, kept in sight over its results: installed once at page load (``install``),
as ``results_in_sight``'s script is, with its ``CSS``.

The status line ("2 strong matches · 38 weaker results hidden: untick “Strong matches only” to see
them") sits at the top of the page, beside the Search button. On a phone a search scrolls the page
to its results, a screen and a half below (``results_in_sight``), and anyone who scrolls down
through the results on a wide screen leaves it behind too: only the results then showed, and not
that most of them were hidden, nor that a query's term was refused. So while the status line is out
of sight and the results are in it, a copy of it stands at the top of the screen: one line, cut
with "…" where it is longer, over the page (nothing under it moves as it comes and goes, and it
takes no click: ``pointer-events: none``). Screen readers hear the status line itself (a live
region, ``screen_reader``); the copy is hidden from them. A search's results brought to the top of the
screen stop ``SAID_ROOM`` below it, so that the copy covers none of them.
"""

import gradio as gr

from .region_view import PRIVATE

SAID_ROOM = "2.75rem"  # room left above the results for the copy of the status line
CSS = f"""
#status-said {{ position: fixed; top: 0; left: 0; right: 0; z-index: 1000; pointer-events: none;
  padding: 0.5rem 1rem; font-family: var(--font); font-size: 0.875rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  color: var(--body-text-color); background: var(--background-fill-primary);
  border-bottom: 1px solid var(--border-color-primary); box-shadow: var(--shadow-drop); }}
#status-said[hidden] {{ display: none; }}
#results {{ scroll-margin-top: {SAID_ROOM}; }}
"""
STATUS_IN_SIGHT_JS = """() => {
  if (window.clipsearchStatusSaid) return;
  window.clipsearchStatusSaid = true;
  const said = document.createElement("div");
  said.id = "status-said";
  said.setAttribute("aria-hidden", "true");
  said.hidden = true;
  document.body.appendChild(said);
  const inSight = new Map();
  const update = () => {
    const status = document.getElementById("status");  // its words, not Gradio's progress beside them
    const words = status && (status.querySelector("[data-testid=markdown]") || status);
    const text = words ? words.textContent.trim() : "";
    if (said.textContent !== text) said.textContent = text;  // its own change is one more mutation: once
    const hide = !text || inSight.get("status") !== false || !inSight.get("results");
    if (said.hidden !== hide) said.hidden = hide;
  };
  const sight = new IntersectionObserver((entries) => {
    for (const entry of entries) inSight.set(entry.target.id, entry.isIntersecting);
    update();
  });
  let watched = [];
  const watch = () => {  // Gradio may draw the two anew: each one drawn is watched
    const now = [document.getElementById("status"), document.getElementById("results")];
    if (now.some((el) => !el) || now.every((el, i) => el === watched[i])) return;
    watched.forEach((el) => sight.unobserve(el));
    watched = now;
    now.forEach((el) => sight.observe(el));
  };
  new MutationObserver(() => { watch(); update(); }).observe(document.body, {subtree: true, childList: true,
                                                                           characterData: true});
  watch();
  update();
}"""


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=STATUS_IN_SIGHT_JS, **PRIVATE)

