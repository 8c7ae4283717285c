"""The page's videos: the moments a search finds in them, under the photo results (``--videos``).

After each search of words or a photo, and after Find similar, the "In videos" panel shows one
frame a video that has a matching moment (``SearchEngine.moments`` and ``similar_moments``, asked
in the search's own event: ``found_moments``), captioned with the moment's time and the video's
name ("1:23 · beach.mp4": the time first, so a long name cut short by the caption's lines never takes
it away), best first, with the same cut-off, folder and dates as the photos. A
click shows the frame larger and the video's other matching moments. The panel stays hidden where
the index holds no video, and after a topic (a group of photos).
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import gradio as gr

from clipsearch import clock

from .handlers import Handlers
from .markdown import md, words_markdown
from .paths import web_path
from .textui import keeps
from .thumbnails import PREVIEW_SIZE, THUMB_SIZE

log = logging.getLogger(__name__)

NO_MOMENT = "Click a moment to see it larger."
HIDDEN = (gr.update(visible=False), [], [], None, NO_MOMENT)


class VideosView:
    """The "In videos" panel's events of one page."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers

    def show(self, last: dict | None, min_score: float, strong_only: bool):
        """After a search: (the panel, its frames, the moments they show, the preview, the details):
        the moments the search found (``last["moments"]``, ``found_moments``), under the same cut-offs."""
        found = (last or {}).get("moments")
        if not found:
            return HIDDEN
        shown = [m for m in found if (m["strong"] or not strong_only) and keeps(m, float(min_score or 0.0))]
        if not shown:
            return HIDDEN
        thumbs = self.handlers.thumbs
        items = [(thumbs.get_moment(m["path"], m["at"], THUMB_SIZE), f"{clock(m['at'])} · {os.path.basename(m['path'])}")
                 for m in shown]
        weaker = sum(not m["strong"] and keeps(m, float(min_score or 0.0)) for m in found) if strong_only else 0
        label = (f"In videos · {len(shown)} with a matching moment"
                 + (f" ({weaker} weaker hidden: untick Strong matches only)" if weaker else ""))
        return gr.update(visible=True, label=label), items, shown, None, NO_MOMENT

    def select(self, moments: list, picked: gr.SelectData):
        """A frame clicked: (its frame larger, what it is)."""
        index = picked.index if isinstance(picked.index, int) else (picked.index or [0])[0]
        if not moments or not 0 <= index < len(moments):
            return None, NO_MOMENT
        moment = moments[index]
        frame = self.handlers.thumbs.get_moment(moment["path"], moment["at"], PREVIEW_SIZE)
        return frame, moment_markdown(moment, play=self.handlers.originals)


def found_moments(find: Callable[[], list]) -> list[dict]:
    """The moments of a page's search or Find similar, as the panel keeps them: ``find()`` is
    ``Handlers.query``'s or ``similar_to``'s, run on the search's own thread (``SearchEngine.moments``
    reuses the vectors the photos' search embedded); none where the index holds no video, and none,
    said in the log, where they cannot be had: the videos must never fail the page's search."""
    try:
        return [m.to_dict() for m in find()]
    except Exception as exc:  # noqa: BLE001
        log.warning("could not search the videos' moments: %s: %s", type(exc).__name__, exc)
        return []


def moment_markdown(moment: dict, play: bool = False) -> str:
    """A moment's details: the video, when in it, its other matching moments, its length and date;
    with ``play`` (``--originals``), a link that plays the video from that moment, and from each of
    the others (``GET /api/photo``, relative: it holds behind a proxy)."""
    playable = play and os.path.isfile(moment["path"])
    address = f"api/photo?file={quote(web_path(moment['path']), safe='')}"

    def at(t: float) -> str:
        return f"[{clock(t)}]({address}#t={t:.1f})" if playable else clock(t)

    lines = [f"**{md(os.path.basename(moment['path']))}** at **{clock(moment['at'])}** "
             f"of {clock(moment['duration'])} · score {moment['score']:.3f}"]
    if moment.get("words"):
        lines.append(f"**Says:** {words_markdown(moment['words'])}")
    if moment["also"]:
        lines.append("Also matching at " + ", ".join(at(t) for t in moment["also"]))
    if moment.get("date_taken"):
        lines.append(f"Recorded {md(moment['date_taken'].replace('T', ' '))}")
    lines.append(f"**Path:** {md(moment['path'])}")
    if playable:
        lines.append(f"[Play from {clock(moment['at'])}]({address}#t={moment['at']:.1f})")
    return "\n\n".join(lines)


def videos_panel() -> dict[str, Any]:
    """The panel's components, made where it shows (wired by ``wire_videos``)."""
    with gr.Accordion("In videos", open=True, visible=False, elem_id="videos-panel") as panel:
        with gr.Row():
            frames = gr.Gallery(label="Moments", columns=5, height=300, object_fit="cover", allow_preview=False,
                                buttons=[], scale=3, elem_id="moments")
            with gr.Column(scale=1, min_width=300):
                preview = gr.Image(label="Moment", type="filepath", interactive=False, height=240,
                                   elem_id="moment-preview", buttons=["fullscreen"])
                details = gr.Markdown(NO_MOMENT, elem_id="moment-details")
    return {"panel": panel, "frames": frames, "moments": gr.State([]), "preview": preview, "details": details}


def wire_videos(panel: dict[str, Any], view: VideosView, results: gr.State, inputs: list) -> dict[str, Any]:
    """Whenever the results change, the moments of the same search (``inputs``: last, min_score,
    strong_only); a frame clicked, larger. Returns
    the event that shows the moments, for the cut-offs' events to chain (``.then(**shown)``): a
    second event on the same trigger left the results' own clicks unanswered."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    shown = {"fn": view.show, "inputs": inputs, "outputs": [panel["panel"], panel["frames"], panel["moments"],
                                                           panel["preview"], panel["details"]], **private}
    results.change(**shown)
    panel["frames"].select(view.select, panel["moments"], [panel["preview"], panel["details"]], **private)
    return shown
