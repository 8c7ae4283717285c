"""What a screen reader says of the page, and how the keyboard walks its galleries: installed
once at page load (``install``), as ``region_view``'s script is.

- The status line (``#status``) is a live region (``role="status"``): a search, Find similar or a
  topic ends, and the reader says how many results and of what, without the user leaving the
  search box to look for them.
- Each thumbnail of the results, of the In videos panel and of the Topics panel is named by its
  caption (``0.597 · img_0029.png · 2016-03-10, result 1 of 5``): Gradio names each one
  "Thumbnail 1 of 5" and nothing else, so a reader could not tell one result from another, nor
  which to open with Enter.
- Each of those galleries is one tab stop (a roving ``tabindex``): the arrows move among its
  thumbnails (Up and Down by a row; Home, End), Enter opens one, and Tab goes on past the gallery.
  Every thumbnail was a tab stop of its own: a result's Find similar lay behind every other result.
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
    rove(id, Array.from(items));
  });
  // One tab stop a gallery: the thumbnail last focused (the first of new results), the others -1.
  const current = {};
  const rove = (id, items, index) => {
    if (index !== undefined) current[id] = {first: items[0], index};
    else if (!current[id] || current[id].first !== items[0] || current[id].index >= items.length)
      current[id] = {first: items[0], index: 0};
    items.forEach((item, i) => {
      const stop = i === current[id].index ? 0 : -1;
      if (item.tabIndex !== stop) item.tabIndex = stop;
    });
  };
  const galleryOf = (target) => {
    const item = target && target.closest ? target.closest(".thumbnail-item") : null;
    const id = item && Object.keys(GALLERIES).find((name) => item.closest(`#${name}`));
    return id ? {id, item, items: Array.from(document.querySelectorAll(`#${id} .thumbnail-item`))} : null;
  };
  document.addEventListener("focusin", (event) => {
    const at = galleryOf(event.target);
    if (at) rove(at.id, at.items, at.items.indexOf(at.item));
  });
  document.addEventListener("keydown", (event) => {
    const at = galleryOf(event.target);
    if (!at || event.altKey || event.ctrlKey || event.metaKey) return;
    const top = (item) => item.getBoundingClientRect().top, index = at.items.indexOf(at.item);
    const columns = Math.max(1, at.items.filter((item) => Math.abs(top(item) - top(at.items[0])) < 2).length);
    const to = {ArrowRight: index + 1, ArrowLeft: index - 1, ArrowDown: index + columns, ArrowUp: index - columns,
                Home: 0, End: at.items.length - 1}[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const next = at.items[Math.min(at.items.length - 1, Math.max(0, to))];
    rove(at.id, at.items, at.items.indexOf(next));
    next.focus();
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
