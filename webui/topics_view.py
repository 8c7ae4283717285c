"""The page's Topics panel: what the library holds, at a glance (``clipsearch.topics``).

Opened, it shows one cover a topic (its most typical photo), captioned with its name and size,
largest first; a click on a cover shows that topic's photos in the results, the most typical
first, in the folder and dates chosen (``Page.topic``; the address becomes ``/?topic=NAME``), and
the words and the photo of the search before leave their boxes as the cover is clicked (``app.EMPTIED``).
The topics are worked out when the panel first opens and kept until the index changes; a click
on a cover after a re-index shows the topic asked for where it still exists, then the covers anew.
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
from typing import Any

import gradio as gr

from clipsearch import ClipSearchError
from clipsearch.reports import counted

from .handlers import NoIndexYet
from .markdown import md
from .page import Page
from .thumbnails import THUMB_SIZE
from .turns import take_turn

EMPTY = "No topic yet: the index holds no photo."
NO_INDEX = "No index yet: build one as the note at the top of the page says, then open this panel again."
COLUMNS = 6
# The covers as tall as their rows (Gradio's gallery keeps 450 px whatever it holds), to three rows,
# then a scrollbar. Six columns where the panel is wide, as many of at least 110 px as fit where it
# is not, and a name wraps (to three lines): on a phone six of Gradio's 100 px ran past the panel's
# edge, out of sight, and each name was cut to one line, "a black tri…" (as look.CSS does the results,
# its space above and below a border).
CSS = f"""
#topics .grid-wrap {{ min-height: 0; height: auto; max-height: 640px; overflow-y: auto; }}
#topics .grid-container {{ grid-template-columns: repeat(auto-fill, minmax(max(110px,
  calc((100% - {COLUMNS - 1} * var(--spacing-lg)) / {COLUMNS} - 1px)), 1fr)) !important; }}
#topics .caption-label {{ max-width: calc(100% - 8px); white-space: normal; overflow-wrap: anywhere;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; line-clamp: 3; overflow: hidden;
  padding-top: 0; padding-bottom: 0; border-top: 4px solid transparent; border-bottom: 4px solid transparent; }}
"""


class TopicsView:
    """The Topics panel's events of one page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def covers(self):
        """(the covers: a thumbnail and "name · size" each, what they show: ``shown``, a note)."""
        handlers = self.page.handlers
        try:
            topics = handlers.engine().topics()
        except NoIndexYet:  # its message is the page's banner, markdown of its own: said there, not here
            return [], [], NO_INDEX
        except ClipSearchError as exc:
            return [], [], md(str(exc))
        if not topics:
            return [], [], EMPTY
        items = [(handlers.thumbs.get(t.paths[0], THUMB_SIZE), f"{t.name} · {t.size}") for t in topics]
        photos = sum(t.size for t in topics)
        note = (f"{counted(len(topics), 'topic')} of {counted(photos, 'photo', grouped=True)}, largest first, each named by the common subject "
                "that fits it best (a guess: the photos tell). Click one to see its photos.")
        return items, shown(topics), note

    def open(self, covers: list, k: float, min_score: float, sort: str, folder: str, date_from: str, date_to: str,
             strong_only: bool, picked: gr.SelectData):
        """A cover clicked: that topic's photos in the results (OUTPUT_NAMES)."""
        name = covers[picked.index][0]
        return self.page.topic(name, k, min_score, sort, folder, date_from, date_to, strong_only)

    def refresh(self, covers: list):
        """After a cover is clicked: the covers made again where the index changed since they were
        (a re-index here or by a script: a topic gone, grown, another cover), else left as they are."""
        try:
            topics = self.page.handlers.engine().topics()
        except (NoIndexYet, ClipSearchError):
            return gr.skip(), gr.skip(), gr.skip()
        if shown(topics) == [list(cover) for cover in covers or []]:
            return gr.skip(), gr.skip(), gr.skip()
        return self.covers()


def shown(topics: list) -> list[list]:
    """What the covers show of each topic: its name, size and cover photo (a state, compared after a click)."""
    return [[t.name, t.size, t.paths[0]] for t in topics]


def topics_panel() -> dict[str, Any]:
    """The panel's components, made where it shows (wired by ``wire_topics``)."""
    with gr.Accordion("Topics: what your photos show", open=False, elem_id="topics-panel") as panel:
        note = gr.Markdown("", elem_id="topics-note")
        covers = gr.Gallery(label="Topics", columns=COLUMNS, object_fit="cover", allow_preview=False, buttons=[],
                            elem_id="topics")
    return {"panel": panel, "note": note, "covers": covers, "shown": gr.State([])}


def wire_topics(panel: dict[str, Any], view: TopicsView, filters: list, outputs: list, searching: dict,
                after: list[dict]) -> None:
    """The panel's events: ``filters`` (k, min_score, sort, folder, date_from, date_to, strong_only),
    ``after``: the events chained after a topic opens (the address)."""
    private = {"api_visibility": "private"}
    made = [panel["covers"], panel["shown"], panel["note"]]
    panel["panel"].expand(view.covers, None, made, **private, show_progress_on=[panel["covers"]])
    event = take_turn([panel["covers"].select], {"fn": view.open, "inputs": [panel["shown"], *filters],
                                                 "outputs": outputs, **private, **searching})  # in the order asked, as searches
    for step in after:
        event = event.then(**step)
    event.then(view.refresh, panel["shown"], made, **private, show_progress="hidden")
