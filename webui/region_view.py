"""Search with a part of the dropped photo: drag a box over it in the drop zone.

The box is drawn in the browser (``REGION_JS``, installed once at page load): on release, its
corners, as fractions of the picture shown (``clipsearch.region``), go into a hidden textbox, and a
hidden button runs the search again with them. A click without a drag goes back to the whole photo;
a new photo, or none, forgets the box. Every search while the photo stays (Enter, new filters) uses
the part. The picture's own pixels are cut on the server (``Handlers.query``), from the original
upload, in its full resolution where it needs it.
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
from typing import Any

import gradio as gr

# The box on the page; the drop zone is its frame (app.CSS has the rest of the page's rules).
CSS = """
#query-image { position: relative; }
#query-image img { cursor: crosshair; touch-action: none; }
#region-box { position: absolute; display: none; pointer-events: none; z-index: 5;
  border: 2px solid var(--color-accent); box-shadow: 0 0 0 9999px rgba(0, 0, 0, 0.35); }
"""
HINT = "Drag a box on the dropped photo to search with that part of it; a click goes back to all of it."
# The hidden textbox's value from the browser's box ("" for none).
REGION_NOW = "() => (window.clipsearchRegion && window.clipsearchRegion.text) || ''"
FORGET = "() => { if (window.clipsearchRegion) window.clipsearchRegion.forget(); return ''; }"
REGION_JS = """() => {
  if (window.clipsearchRegion) return;
  const MIN_DRAG = 8;  // px on the screen: less is a click, back to the whole photo
  const state = window.clipsearchRegion = {text: "", box: null};
  const zone = () => document.getElementById("query-image");
  const photo = () => { const z = zone(); return z ? z.querySelector("img") : null; };
  const shown = (img) => {  // the picture inside its <img>: object-fit: contain leaves bands beside it
    const r = img.getBoundingClientRect();
    if (!img.naturalWidth || !img.naturalHeight) return r;
    const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
    return {left: r.left + (r.width - width) / 2, top: r.top + (r.height - height) / 2, width, height};
  };
  const frame = () => {
    let el = document.getElementById("region-box");
    const z = zone();
    if (z && (!el || el.parentElement !== z)) {
      if (el) el.remove();
      el = document.createElement("div");
      el.id = "region-box";
      z.appendChild(el);
    }
    return el;
  };
  const draw = (box) => {  // box: [left, top, right, bottom] as fractions of the picture, or null
    const el = frame(), img = photo();
    if (!el) return;
    if (!box || !img) { el.style.display = "none"; return; }
    const p = shown(img), z = zone().getBoundingClientRect();
    Object.assign(el.style, {display: "block", left: `${p.left - z.left + box[0] * p.width}px`,
      top: `${p.top - z.top + box[1] * p.height}px`, width: `${(box[2] - box[0]) * p.width}px`,
      height: `${(box[3] - box[1]) * p.height}px`});
  };
  const corners = (start, event) => {
    const p = start.picture, clamp = (v) => Math.min(1, Math.max(0, v));
    const x = [start.x, event.clientX].map((v) => clamp((v - p.left) / p.width));
    const y = [start.y, event.clientY].map((v) => clamp((v - p.top) / p.height));
    return [Math.min(...x), Math.min(...y), Math.max(...x), Math.max(...y)];
  };
  state.forget = () => { state.box = null; state.text = ""; draw(null); };
  let start = null;
  document.addEventListener("pointerdown", (event) => {
    const img = photo();
    if (!img || event.target !== img || event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation();
    start = {x: event.clientX, y: event.clientY, picture: shown(img)};
  }, true);
  document.addEventListener("pointermove", (event) => { if (start) draw(corners(start, event)); }, true);
  document.addEventListener("pointerup", (event) => {
    if (!start) return;
    const begun = start;
    start = null;
    event.stopPropagation();
    if (Math.max(Math.abs(event.clientX - begun.x), Math.abs(event.clientY - begun.y)) < MIN_DRAG) {
      if (!state.box) return;  // a click on the whole photo: nothing to change
      state.forget();
    } else {
      state.box = corners(begun, event);
      state.text = state.box.map((v) => v.toFixed(4)).join(",");
      draw(state.box);
    }
    const go = document.getElementById("region-go");
    if (go) go.click();
  }, true);
  document.addEventListener("click", (event) => {  // the click that ends a drag opens no file dialog
    if (event.target === photo()) { event.preventDefault(); event.stopPropagation(); }
  }, true);
  document.addEventListener("dragstart", (event) => { if (event.target === photo()) event.preventDefault(); }, true);
  const redraw = () => draw(state.box);
  window.addEventListener("resize", redraw);
  document.addEventListener("load", (event) => { if (event.target === photo()) redraw(); }, true);
  new MutationObserver(redraw).observe(document.body, {childList: true, subtree: true});
}"""


def region_controls() -> tuple[gr.Textbox, gr.Button]:
    """The hidden textbox the box's corners go into, and the hidden button that searches with them."""
    box = gr.Textbox("", visible="hidden", elem_id="region", label="region")
    go = gr.Button("search the part", visible="hidden", elem_id="region-go")
    return box, go


def wire_region(demo: gr.Blocks, image: gr.Image, box: gr.Textbox, go: gr.Button, search_chain: Any) -> None:
    """The box's events: drawn (or clicked away), the search again; a new photo or none, no box.
    ``search_chain(event)`` chains the page's search (with its address and the rest) after ``event``."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    demo.load(None, js=REGION_JS, **private)
    search_chain(go.click(None, None, box, js=REGION_NOW, **private))
    image.clear(None, None, box, js=FORGET, **private)
