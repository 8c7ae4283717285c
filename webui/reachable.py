"""The status line when the server cannot be reached (stopped, or the network down): installed
once at page load (``install``), as ``results_in_sight``'s script is.

A search whose answer never came (the server gone before it, or while it ran) left the status line
as it was, empty or speaking of the search before, under Gradio's "Connection to the server was
lost" toast. Gradio 6 has no event for that, and a ``.then`` cannot say it: once the client marks a
stream ``broken`` it dispatches no event at all, and asks the server every 2 s whether it is back
(``/gradio_api/app_id``, through ``fetch``) until it reloads the page. So this script watches the
page's own requests to the server (``window.fetch``, which Gradio's client calls for each of them):
one that gets no answer at all (not one aborted on purpose) puts ``UNREACHABLE`` at the head of the
status line, over what it said; the next request answered takes it away. It is a node of its own,
beside Gradio's, which Gradio's next answer would not know to remove.
"""

import json

import gradio as gr

from .region_view import PRIVATE

UNREACHABLE = ("⚠️ The server cannot be reached (stopped, or the network is down): no search can run now. Reload "
               "the page once the server is back (it reloads itself when it sees it back).")
CSS = """
#status.clipsearch-unreachable [data-testid="markdown-wrapper"] { display: none; }
#status .clipsearch-unreachable-note { margin: 0; }
"""
REACHABLE_JS = """() => {
  if (window.clipsearchReachable) return;
  window.clipsearchReachable = true;
  const UNREACHABLE = __UNREACHABLE__;
  const ours = (asked) => {
    try {
      return new URL(String(asked && asked.url !== undefined ? asked.url : asked), window.location.href).origin ===
        window.location.origin;
    } catch (error) {
      return false;
    }
  };
  const say = (unreachable) => {
    const line = document.getElementById("status");
    if (!line) return;
    let note = line.querySelector(":scope > .clipsearch-unreachable-note");
    line.classList.toggle("clipsearch-unreachable", unreachable);
    if (!unreachable) { if (note) note.remove(); return; }
    if (!note) {
      note = document.createElement("p");
      note.className = "clipsearch-unreachable-note prose";
      note.textContent = UNREACHABLE;
      line.prepend(note);
    }
  };
  const fetched = window.fetch;
  window.fetch = function (asked) {
    const answer = fetched.apply(window, arguments);
    if (ours(asked)) {
      answer.then(() => say(false), (error) => { if (!error || error.name !== "AbortError") say(true); });
    }
    return answer;
  };
}""".replace("__UNREACHABLE__", json.dumps(UNREACHABLE, ensure_ascii=False))


def install(demo: gr.Blocks) -> None:
    """The script, once the page has loaded."""
    demo.load(None, js=REACHABLE_JS, **PRIVATE)
