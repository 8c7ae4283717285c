"""What a screen reader says of the page: installed once at page load (``install``), as
``region_view``'s script is.

- The status line (``#status``) is a live region (``role="status"``): a search, Find similar or a
  topic ends, and the reader says how many results and of what, without the user leaving the
  search box to look for them.
- Each thumbnail of the results, of the In videos panel and of the Topics panel is named by its
  caption (``0.597 · img_0029.png · 2016-03-10, result 1 of 5``): Gradio names each one
  "Thumbnail 1 of 5" and nothing else, so a reader could not tell one result from another, nor
  which to open with Enter.
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
  const GALLERIES = {results: "result", moments: "moment", topics: "topic"};
  const names = () => Object.entries(GALLERIES).forEach(([id, what]) => {
    const items = document.querySelectorAll(`#${id} .thumbnail-item`);
    items.forEach((item, i) => {
      const caption = item.querySelector(".caption-label");
      const said = caption ? caption.textContent.trim() : "";
      const name = `${said ? said + ", " : ""}${what} ${i + 1} of ${items.length}`;
      if (item.getAttribute("aria-label") !== name) item.setAttribute("aria-label", name);
    });
  });
  let pending = false;
  const later = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; status(); names(); });
  };
  status();
  names();
  // Gradio sets its own name again when a gallery changes: each change names them anew.
  new MutationObserver(later).observe(document.body, {childList: true, subtree: true, characterData: true,
                                                      attributes: true, attributeFilter: ["aria-label"]});
}"""


def install(demo: gr.Blocks) -> None:
    """The page's script for screen readers, once the page has loaded."""
    demo.load(None, js=SCREEN_READER_JS, api_visibility="private", show_progress="hidden")
