"""Search with a part of a photo: drag a box over the dropped photo, or over a result's preview.

The box is drawn in the browser (``REGION_JS``, installed once at page load): on release, its
corners, as fractions of the picture shown (``clipsearch.region``), go into a hidden textbox, and a
hidden button runs the search with them: the dropped photo's search again, or Find similar for
the result in the preview. A click without a drag goes back to the whole photo; another picture
there, or none, forgets the box. Every search while the dropped photo stays (Enter, new filters)
uses its part. The pixels are cut on the server (``Handlers.query``, ``SearchEngine.similar``),
from the original upload or the indexed file, in full resolution where the part needs it.
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import json
from typing import Any

import gradio as gr

from clipsearch import InvalidQuery
from clipsearch.region import parse_region

# The boxes on the page; each picture's block is its frame (look.CSS has the rest of the page's rules).
CSS = """
#query-image, #preview { position: relative; }
#query-image img, #preview img { cursor: crosshair; touch-action: pan-y; }
#query-image img:focus-visible, #preview img:focus-visible { outline: 3px solid var(--color-accent); outline-offset: -3px; }
.region-box { position: absolute; display: none; pointer-events: none; z-index: 5;
  border: 2px solid var(--color-accent); box-shadow: 0 0 0 9999px rgba(0, 0, 0, 0.35); }
"""
# Where a box can be drawn: the picture's block, and the hidden button that searches with the box.
ZONES = {"query-image": "region-go", "preview": "similar-region-go"}


def now(zone: str) -> str:
    """The JS of an event whose output is the hidden textbox: the box drawn in ``zone`` ("" for none)."""
    return f"() => (window.clipsearchRegion && window.clipsearchRegion.text({zone!r})) || ''"


def forget(zone: str) -> str:
    """The JS of an event that drops ``zone``'s box (and empties its hidden textbox, its output)."""
    return f"() => {{ if (window.clipsearchRegion) window.clipsearchRegion.forget({zone!r}); return ''; }}"


def show(zone: str) -> str:
    """The JS of an event whose input is a region as fractions: that box drawn in ``zone`` ("": none)."""
    return f"(text) => {{ if (window.clipsearchRegion) window.clipsearchRegion.show({zone!r}, text); }}"


FORGET = forget("query-image")
REGION_JS = """() => {
  if (window.clipsearchRegion) return;
  const ZONES = __ZONES__;
  const MIN_DRAG = 8;  // px on the screen: less is a click, back to the whole photo
  const HINT = "Drag a box on the photo, or press Enter and move it with the arrows (Shift to resize), to " +
    "search with that part; Enter searches, Escape goes back to all of it";
  const zones = Object.fromEntries(Object.keys(ZONES).map((id) => [id, {id, go: ZONES[id], text: "", box: null}]));
  const block = (zone) => document.getElementById(zone.id);
  const photo = (zone) => { const b = block(zone); return b ? b.querySelector("img") : null; };
  const zoneOf = (target) => Object.values(zones).find((zone) => target && target === photo(zone));
  const shown = (img) => {  // the picture inside its <img>: object-fit: contain leaves bands beside it
    const r = img.getBoundingClientRect();
    if (!img.naturalWidth || !img.naturalHeight) return r;
    let scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    if (["scale-down", "none"].includes(getComputedStyle(img).objectFit)) scale = Math.min(scale, 1);  // a small one: its size
    const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
    return {left: r.left + (r.width - width) / 2, top: r.top + (r.height - height) / 2, width, height};
  };
  const frame = (zone) => {
    const b = block(zone);
    let el = b ? b.querySelector(":scope > .region-box") : null;
    if (b && !el) {
      el = document.createElement("div");
      el.className = "region-box";
      b.appendChild(el);
    }
    return el;
  };
  const draw = (zone, box) => {  // box: [left, top, right, bottom] as fractions of the picture, or null
    const el = frame(zone), img = photo(zone);
    if (!el) return;
    if (!box || !img) { el.style.display = "none"; return; }
    const p = shown(img), b = block(zone).getBoundingClientRect();
    Object.assign(el.style, {display: "block", left: `${p.left - b.left + box[0] * p.width}px`,
      top: `${p.top - b.top + box[1] * p.height}px`, width: `${(box[2] - box[0]) * p.width}px`,
      height: `${(box[3] - box[1]) * p.height}px`});
  };
  const corners = (start, event) => {
    const p = start.picture, clamp = (v) => Math.min(1, Math.max(0, v));
    const x = [start.x, event.clientX].map((v) => clamp((v - p.left) / p.width));
    const y = [start.y, event.clientY].map((v) => clamp((v - p.top) / p.height));
    return [Math.min(...x), Math.min(...y), Math.max(...x), Math.max(...y)];
  };
  const forget = (zone) => { zone.box = null; zone.keys = null; zone.text = ""; zone.src = null; draw(zone, null); };
  const go = (zone) => { const button = document.getElementById(zone.go); if (button) button.click(); };
  const commit = (zone, box) => {  // a box chosen: searched with
    Object.assign(zone, {box, keys: null, text: box.map((v) => v.toFixed(4)).join(","), src: photo(zone) && photo(zone).src});
    draw(zone, box);
    go(zone);
  };
  window.clipsearchRegion = {
    text: (id) => zones[id].text,
    forget: (id) => forget(zones[id]),
    show: (id, text) => {  // a box the server chose (a saved search's part of its photo)
      const zone = zones[id], box = String(text || "").split(",").map(Number);
      if (box.length !== 4 || !box.every((v) => v >= 0 && v <= 1)) { forget(zone); return; }
      const img = photo(zone);
      Object.assign(zone, {box, keys: null, text: String(text), src: img && img.src});
      draw(zone, box);
    },
  };
  let start = null;
  document.addEventListener("pointerdown", (event) => {
    const zone = zoneOf(event.target);
    if (!zone || event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation();
    start = {zone, x: event.clientX, y: event.clientY, picture: shown(event.target)};
  }, true);
  document.addEventListener("pointermove", (event) => { if (start) draw(start.zone, corners(start, event)); }, true);
  document.addEventListener("pointerup", (event) => {
    if (!start) return;
    const begun = start, zone = start.zone;
    start = null;
    event.stopPropagation();
    if (Math.max(Math.abs(event.clientX - begun.x), Math.abs(event.clientY - begun.y)) >= MIN_DRAG) {
      commit(zone, corners(begun, event));
    } else if (zone.box) {  // a click: back to the whole photo
      forget(zone);
      go(zone);
    } else {
      draw(zone, zone.keys);  // a click on the whole photo: nothing to change
    }
  }, true);
  // From the keyboard (the picture takes the focus): Enter (or Space) puts a box on its middle,
  // arrows move it, Shift+arrows move its right and bottom edges, Enter searches with it, Escape
  // drops the box not yet searched with, or else goes back to the whole photo.
  const STEP = 0.05, MOVES = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};
  const keyed = (zone, event) => {
    if (event.key === "Enter" || event.key === " ") {
      if (zone.keys) commit(zone, zone.keys);
      else {
        zone.src = zone.box ? zone.src : photo(zone) && photo(zone).src;
        draw(zone, zone.keys = zone.box ? zone.box.slice() : [0.25, 0.25, 0.75, 0.75]);
      }
    } else if (event.key === "Escape" && (zone.keys || zone.box)) {
      if (zone.keys) { zone.keys = null; draw(zone, zone.box); } else { forget(zone); go(zone); }
    } else if (zone.keys && MOVES[event.key]) {
      const [dx, dy] = MOVES[event.key].map((v) => v * STEP);
      let [left, top, right, bottom] = zone.keys;
      if (event.shiftKey) {
        right = Math.min(1, Math.max(left + STEP, right + dx));
        bottom = Math.min(1, Math.max(top + STEP, bottom + dy));
      } else {
        const x = Math.min(1 - right, Math.max(-left, dx)), y = Math.min(1 - bottom, Math.max(-top, dy));
        [left, top, right, bottom] = [left + x, top + y, right + x, bottom + y];
      }
      draw(zone, zone.keys = [left, top, right, bottom]);
    } else {
      return false;
    }
    return true;
  };
  document.addEventListener("keydown", (event) => {
    const zone = zoneOf(event.target);
    if (zone && !event.altKey && !event.ctrlKey && !event.metaKey && keyed(zone, event)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  document.addEventListener("pointercancel", () => {  // a finger that scrolled the page: no box
    if (start) { draw(start.zone, start.zone.box); start = null; }
  }, true);
  document.addEventListener("click", (event) => {  // the click that ends a drag opens no file dialog
    if (zoneOf(event.target)) { event.preventDefault(); event.stopPropagation(); }
  }, true);
  document.addEventListener("dragstart", (event) => { if (zoneOf(event.target)) event.preventDefault(); }, true);
  const redraw = () => Object.values(zones).forEach((zone) => {
    const img = photo(zone);
    if (img && img.tabIndex !== 0) {  // the picture takes the focus, for the keys above
      img.tabIndex = 0;
      img.setAttribute("aria-label", HINT);
    }
    const wrap = img && img.parentElement && img.parentElement.closest("button");  // Gradio's, around it:
    if (wrap && block(zone).contains(wrap) && wrap.tabIndex !== -1) wrap.tabIndex = -1;  // no second stop
    if ((zone.box || zone.keys) && (!img || img.src !== zone.src)) forget(zone);  // another picture there, or none
    else draw(zone, zone.keys || zone.box);
  });
  window.addEventListener("resize", redraw);
  document.addEventListener("load", (event) => { if (zoneOf(event.target)) redraw(); }, true);
  new MutationObserver(redraw).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                       attributeFilter: ["src"]});
}""".replace("__ZONES__", json.dumps(ZONES))


PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}


def readable(region: str | None, picture: str | None = None) -> str:
    """``region`` where it reads as one (``clipsearch.region.parse_region``) and lies within the
    ``picture`` file (``Region.check``: not past it, not too small), as fractions of it, the box the
    page draws; else "": one typed by hand into the address is said once, by the search it is
    refused for, then forgotten; kept in the drop zone's hidden box, it was refused again by every
    search until the photo was removed, with no box in sight (the page draws fractions only)."""
    try:
        part = parse_region(region)
        if part is not None and picture is not None:
            return str(part.fitted(picture))
    except InvalidQuery:
        return ""
    return (region or "").strip()


def region_controls(zone: str) -> tuple[gr.Textbox, gr.Button]:
    """The hidden textbox a box drawn in ``zone`` goes into, and the hidden button that searches with it."""
    box = gr.Textbox("", visible="hidden", elem_id=f"{ZONES[zone]}-box", label="region")
    go = gr.Button("search the part", visible="hidden", elem_id=ZONES[zone])
    return box, go


def install(demo: gr.Blocks) -> None:
    """The boxes' script, once the page has loaded."""
    demo.load(None, js=REGION_JS, **PRIVATE)


def on_box(zone: str, box: gr.Textbox, go: gr.Button, search_chain: Any) -> None:
    """A box drawn (or clicked away) in ``zone``: its corners into ``box``, then ``search_chain(event)``,
    which chains the search after that event."""
    search_chain(go.click(None, None, box, js=now(zone), **PRIVATE))
