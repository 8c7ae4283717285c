"""What a screen reader says of the page: installed once at page load (``install``), as
``region_view``'s script is.

- The status line (``#status``) is a live region (``role="status"``): a search, Find similar or a
  topic ends, and the reader says how many results and of what, without the user leaving the
  search box to look for them.
"""

import gradio as gr

SCREEN_READER_JS = """() => {
  if (window.clipsearchSpoken) return;
  window.clipsearchSpoken = true;
  const status = () => {
    const line = document.getElementById("status");
    if (line && line.getAttribute("role") !== "status") {
      line.setAttribute("role", "status");
      line.setAttribute("aria-live", "polite");
    }
  };
  let pending = false;
  const later = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; status(); });
  };
  status();
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true});
}"""


def install(demo: gr.Blocks) -> None:
    """The page's script for screen readers, once the page has loaded."""
    demo.load(None, js=SCREEN_READER_JS, api_visibility="private", show_progress="hidden")
