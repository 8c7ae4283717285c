"""The page's saved searches (``clipsearch.saved``): a list to run one from, and a name to keep the
search in the boxes under. The same file as ``clipsearch saved`` on the command line.

A saved search keeps the words, the folder and the dates, and the photo in the drop zone with the
box drawn on it (a copy of the photo is kept beside the index), not the answer: opening it runs it
again (photos indexed since come up), with its words and filters put in their boxes, its photo in
the drop zone and its box on the photo. Any trouble (a read-only index folder, a name or a date
that is wrong) is a warning toast; what was saved before stays. The page opened at an address that names
a search not kept (``/?saved=NAME``, forgotten since), or a search chosen in the list that another tab or
``clipsearch saved`` forgot since the list was shown, says so in its status line, and keeps it out of the
address; so does one whose photo was removed from beside the index since, or whose words are refused (the
words typed, the photo dropped and its box stay, ``PUT_IF_OPENED``). A pick reads the file of saved searches
once (``looked_up``). Gradio's toasts render their message as HTML (not markdown): a name, or an error that
quotes one, goes in escaped, shown as typed.
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import html
import json
import os
from typing import Any

import gradio as gr

from clipsearch import ClipSearchError, InvalidQuery
from clipsearch.reports import counted
from clipsearch.saved import SavedSearch, SavedSearches, as_named

from .address_js import CHOSEN_ADDRESS_JS, FORGOTTEN_ADDRESS_JS, GONE_SAVED_ADDRESS_JS
from .handlers import ALL_FOLDERS, parse_filter
from .markdown import md
from .page import ADDRESS_NAMES, OUTPUT_NAMES, Page
from .page_address import from_the_address, sort_asked
from .page_outputs import nothing_changes
from .region_view import show
from .turns import take_turn


def as_typed(text: str) -> str:
    """``text`` for a toast, which Gradio renders as HTML: a name shown as typed, ``<i>`` and all."""
    return html.escape(text, quote=False)


# The saved search the address names (/?saved=NAME), read in the browser on load ("" for none).
SAVED_IN_ADDRESS = "() => new URL(window.location.href).searchParams.get('saved') || ''"
# One choice in the list, one open: Gradio 6's drop-down says "input" twice for a choice made with the
# mouse (once with the keyboard), and the second open, in its turn after the first, wrote the saved
# words over what was typed meanwhile. The second saying of one name at once is refused (a script's
# throw: the server is not asked, and it takes no turn, ``turns.in_turn``).
ONCE_A_CHOICE = """(...values) => {
  const now = Date.now(), before = window.clipsearchSavedChoice;
  window.clipsearchSavedChoice = {name: values[0], at: now};
  if (before && before.name === values[0] && now - before.at < 1000) throw new Error("the same choice, said again");
  return values;
}"""

# A saved search chosen in the list: its photo and box (their hidden twins) into the drop zone where it opened
# (None for a search of words only). One not opened (forgotten, its photo missing, its words refused) leaves the
# photo dropped there and its box: written None from Python, the user's photo was lost, and a skip of the drop
# zone makes Gradio rebuild it for the session without the checks ``upload_image`` adds (a file that is no
# picture then failed with an "Error" badge); a script's answer is the browser's own, and the server's drop zone stays.
PUT_IF_OPENED = "(photo, box, opened, image, region) => opened ? [photo, box] : [image, region]"


# The list said nothing while empty: a newcomer opened an empty menu. Its hint says how one gets there.
NONE_SAVED = "None saved yet: search, then name the search below and press Save."


def listing(names: list[str], value: str | None):
    """The saved searches' list, ``value`` chosen, with ``NONE_SAVED`` under it while it is empty."""
    return gr.Dropdown(choices=names, value=value, info="" if names else NONE_SAVED)


class SavedView:
    """The saved searches' events of one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.saved = SavedSearches(page.handlers.settings.index_dir)

    def choices(self, value: str | None = None):
        """The list, with ``value`` chosen (when the panel opens: the one chosen before)."""
        try:
            names = [s.name for s in self.saved.all()]
        except ClipSearchError as exc:
            gr.Warning(as_typed(str(exc)))
            names = []
        return listing(names, value if value in names else None)

    def save(self, name: str, text: str, folder: str, date_from: str, date_to: str, image: Any = None,
             region: str = "", last: dict | None = None):
        """"Save this search", with the photo in the drop zone and the box on it; after Find similar
        (``last``), that photo and the part of it, which the results show, not words left in the box:
        (the list with it chosen, the name box emptied)."""
        if not (name or "").strip():  # said as a user needs it, not as the length check of clipsearch.saved says it
            gr.Warning("Type a name for the search first, in “Save the search above as”, then press Save.")
            return gr.skip(), gr.skip()
        photo, name_of = self.page.dropped(image) or (None, None)
        if last and last.get("kind") == "similar":
            photo, name_of, region, text = last["path"], os.path.basename(last["path"]), last.get("region"), ""
        if not (text or "").strip() and photo is None:
            gr.Warning("Type words or drop a photo to search with first: a saved search keeps them (and the "
                       "folder and dates).")
            return gr.skip(), gr.skip()
        try:
            where = parse_filter(folder, date_from, date_to)
            kept, replaced = self.saved.put(SavedSearch(name or "", text or "", *(
                (where.folder, where.date_from, where.date_to) if where else (None, None, None)),
                region=(region or None) if photo else None), photo, name_of)
        except (ClipSearchError, ValueError) as exc:
            gr.Warning(f"Not saved: {as_typed(str(exc))}")
            return gr.skip(), gr.skip()
        with_photo = f" (with {'a part of ' if kept.region else ''}{as_typed(kept.photo_name)})" if kept.photo else ""
        said = "Replaced the saved search" if replaced else "Saved"  # one of that name was there: now this one
        gr.Info(f"{said} “{as_typed(kept.name)}”{with_photo}: open it from the list to run it again.")
        return self.choices(kept.name), ""

    def forget(self, name: str | None):
        """"Forget it": the list without the saved search chosen, and its address (``forgotten_address``)."""
        if not name:
            gr.Warning("Choose a saved search to forget first.")
            return gr.skip(), ""
        try:
            kept = self.looked_up(name)[0]
            self.saved.remove(name)
        except ClipSearchError as exc:
            gr.Warning(as_typed(str(exc)))
            return gr.skip(), ""
        gr.Info(f"Forgot “{as_typed(name)}”.")
        return self.choices(), forgotten_address(name, kept)

    def open(self, name: str | None, k: float, min_score: float, sort: str, strong_only: bool):
        """A saved search chosen: its words and filters in their boxes, its photo in the drop zone
        (or none) with its part (the region), and the search run (OUTPUT_NAMES). One that cannot be
        opened (forgotten, its photo missing, its words refused) leaves the boxes as they are, and
        says None and "" for the drop zone and its box: the page writes those to hidden twins, put in
        the drop zone only where the saved search was opened (``chosen``, ``page_address.from_the_address``)."""
        try:
            kept = self.looked_up(name)[0]
            if name and kept is None:
                raise ClipSearchError(f"No saved search is called “{name}” (any more?).")
        except ClipSearchError as exc:
            gr.Warning(as_typed(str(exc)))
            return not_opened(nothing_changes())
        return self.opening(kept, k, min_score, sort, strong_only)[0]

    def looked_up(self, name: str | None) -> tuple[SavedSearch | None, list[SavedSearch]]:
        """The saved search called ``name`` (None for none), and every one kept: the file read once for
        a pick (``SavedSearchesError`` where it cannot be read)."""
        searches = self.saved.all() if name else []
        return next((s for s in searches if s.name == as_named(name)), None) if name else None, searches

    def opening(self, kept: SavedSearch | None, k: float, min_score: float, sort: str,
                strong_only: bool) -> tuple[tuple, bool]:
        """``open``'s outputs for ``kept`` (as ``looked_up`` found it), and whether it was opened (its photo
        and box to put on the page). Its photo gone (removed from beside the index since it was saved) is said
        in the status line, as its words refused are."""
        if kept is None:
            return not_opened(nothing_changes()), False
        try:
            image, region = self._photo_of(kept)
        except ClipSearchError as exc:
            return not_opened(nothing_changes(f"⚠️ {md(str(exc))}")), False
        folder, since, until = kept.folder or ALL_FOLDERS, kept.since or "", kept.until or ""
        try:
            kept.runnable()
        except InvalidQuery as exc:  # saved before a query's size was limited: in its boxes, and said, not searched
            return (kept.query, folder, since, until, None, "", *nothing_changes(f"⚠️ {md(str(exc))}")), False
        searched = self.page.search(kept.query, image, k, min_score, sort, folder, since, until, strong_only, region)
        if searched[OUTPUT_NAMES.index("changed")] is False:  # refused: the status line says why
            return not_opened(searched), False
        return (kept.query, folder, since, until, image, region, *searched), True

    def chosen(self, name: str | None, k: float, min_score: float, sort: str, strong_only: bool):
        """A saved search chosen in the list: ``open``, whether it was opened (the page then puts its photo
        and box, written to hidden twins, in the drop zone: ``PUT_IF_OPENED``), the list as it was, and "".
        Where another tab (or ``clipsearch saved forget``) forgot it since the list was shown, nothing is
        searched: the status line says so (``not_kept``), the list is shown again without it, and NAME,
        which the page keeps out of its address (``CHOSEN_ADDRESS_JS``)."""
        try:
            kept, searches = self.looked_up(name)
        except ClipSearchError as exc:
            gr.Warning(as_typed(str(exc)))
            return (*not_opened(nothing_changes()), False, gr.skip(), "")
        said = not_kept(name, kept, searches)
        if said:
            listed = [s.name for s in searches]
            return (*not_opened(nothing_changes(said)), False, listing(listed, None), name)
        out, opened = self.opening(kept, k, min_score, sort, strong_only)
        return (*out, opened, gr.skip(), "")

    def from_address(self, name: str | None, k: float, min_score: float, sort: str, strong_only: bool,
                     request: gr.Request):
        """The page opened at ``/?saved=NAME``: as ``open``, with Open similar done after it where
        the address says ``open=PATH`` too (``Page.opened``: only a result shown with copies). Its
        boxes, photo and box go on the page only where nothing was typed, or no photo put, since it
        opened, and none once a search was asked since (``page_address.from_the_address``). Last, NAME
        where no saved search of that name is kept ("" where one is): nothing is searched, the status
        line says so (``not_kept``), and the page drops ``saved=`` from its address (``GONE_SAVED_ADDRESS_JS``)."""
        try:
            kept, searches = self.looked_up(name)
        except ClipSearchError as exc:
            gr.Warning(as_typed(str(exc)))
            return (*not_opened(nothing_changes()), "")
        said = not_kept(name, kept, searches)
        if said:
            return (*not_opened(nothing_changes(said)), name)
        asked = dict(request.query_params) if request is not None else {}
        return (*self.page.opened(self.opening(kept, k, min_score, sort_asked(asked, sort), strong_only)[0], asked,
                                  len(ADDRESS_NAMES) + 2), "")  # the boxes, the drop zone and its box, then OUTPUT_NAMES

    def listed_at_load(self, request: gr.Request):
        """The list on page load, with the saved search of the address (``/?saved=NAME``) chosen."""
        return self.choices(request.query_params.get("saved") if request is not None else None)

    def _photo_of(self, kept: SavedSearch | None) -> tuple[str | None, str]:
        """The saved search's photo for the drop zone, and its part as fractions ("" for all of it)."""
        if kept is None or not kept.photo:
            return None, ""
        index_dir = self.page.handlers.settings.index_dir
        image = self.page.show_photo(kept.photo_path(index_dir), kept.photo_name or "the saved photo")
        if image is None:
            raise ClipSearchError(f"The photo of “{kept.name}” is missing beside the index, or cannot be read: "
                                  "save the search again with its photo.")
        return image, kept.drawn_region(index_dir)


def forgotten_address(name: str, kept: SavedSearch | None) -> str:
    """A saved search forgotten: its name, and its own words and filters for the address, as the page writes
    them after a search typed (``Page.query_address``), as JSON for ``FORGOTTEN_ADDRESS_JS``. Where it
    is the search shown (the address says ``saved=NAME``), its results stay on the page, and a reload
    shows them again. Its photo, a copy beside the index, is named as a photo dropped (``photo``),
    which the page opened there asks for; "" where none called ``name`` was kept."""
    if kept is None:
        return ""
    return json.dumps({"saved": name, "q": kept.query or "", "photo": (kept.photo_name or "photo") if kept.photo else "",
                       "folder": kept.folder or "", "since": kept.since or "", "until": kept.until or ""})


def not_kept(name: str | None, kept: SavedSearch | None, searches: list[SavedSearch]) -> str:
    """What the status line says of the address's saved search (or the list's) where none called ``name`` is
    kept (``kept`` None: forgotten since, or never saved), and where to see those that are (``searches``,
    as ``SavedView.looked_up`` read them); "" where it is kept, or no name was given."""
    if not name or kept is not None:
        return ""
    where = (f"nothing was searched. **Saved searches**, under the filters, lists the "
             f"{counted(len(searches), 'search', 'searches')} saved" if searches else
             "nothing was searched, and none is saved yet: **Saved searches**, under the filters, keeps "
             "the search in the boxes")
    return f"⚠️ No saved search called “{md(name)}” is kept (forgotten since, or never saved): {where}."


def not_opened(outputs: tuple) -> tuple:
    """What a saved search not opened writes: the boxes left as they are, None and "" for the drop zone
    and its box (which go to hidden twins, put on the page only for a search opened: a skip of the drop
    zone itself would make Gradio rebuild it without its checks, ``upload_image``), then ``outputs``."""
    return (*(gr.skip() for _ in ADDRESS_NAMES), None, "", *outputs)


def saved_panel() -> dict[str, Any]:
    """The panel's components, made where it shows (wired by ``wire_saved``)."""
    with gr.Accordion("Saved searches", open=False, elem_id="saved-panel") as panel:
        with gr.Row():
            chosen = gr.Dropdown([], value=None, label="Open a saved search", scale=3, elem_id="saved-choice")
            forget = gr.Button("Forget it", size="md", scale=0, min_width=120)
        with gr.Row():
            name = gr.Textbox(label="Save the search above as", placeholder="Beach holidays", scale=3,
                              elem_id="saved-name", max_lines=1)
            save = gr.Button("Save", size="md", scale=0, min_width=120, elem_id="save-search")
    return {"panel": panel, "chosen": chosen, "forget": forget, "name": name, "save": save}


def wire_saved(demo: gr.Blocks, panel: dict[str, Any], view: SavedView, named: dict[str, Any],
               image: Any, region: Any, view_inputs: list, outputs: list, searching: dict) -> None:
    """The panel's events: ``region`` is the drop zone's hidden box (``region_view``), ``view_inputs``
    (k, min_score, sort, strong_only)."""
    private = {"api_visibility": "private"}
    boxes = [named[n] for n in ("text", "folder", "date_from", "date_to")]
    # On load, and when opened: a search saved meanwhile (another tab, `clipsearch saved add`) is listed.
    demo.load(view.listed_at_load, None, panel["chosen"], **private)
    panel["panel"].expand(view.choices, panel["chosen"], panel["chosen"], **private)
    gr.on([panel["save"].click, panel["name"].submit], view.save,
          [panel["name"], *boxes, image, region, named["last"]], [panel["chosen"], panel["name"]], **private)
    forgotten = gr.Textbox("", visible="hidden", elem_id="saved-forgotten", label="forgotten one's address")
    panel["forget"].click(view.forget, panel["chosen"], [panel["chosen"], forgotten], **private).then(
        None, forgotten, js=FORGOTTEN_ADDRESS_JS, **private)
    chosen_gone = gr.Textbox("", visible="hidden", elem_id="saved-chosen-gone", label="saved name chosen, gone")
    # Its photo and box go to hidden twins, put in the drop zone by the page only where it opened (``PUT_IF_OPENED``)
    twins = [gr.Image(type="filepath", visible="hidden", interactive=False, label="saved photo twin"),
             gr.Textbox("", visible="hidden", label="saved box twin")]
    put = gr.Checkbox(False, visible="hidden", label="saved one opened")
    opened = [*boxes, *twins, *outputs, put, panel["chosen"], chosen_gone]
    take_turn([panel["chosen"].input], {"fn": view.chosen, "inputs": [panel["chosen"], *view_inputs], "outputs": opened,
                                        "js": ONCE_A_CHOICE, **private, **searching}).then(  # in the order asked, as searches (``turns``)
        None, [*twins, put, image, region], [image, region], js=PUT_IF_OPENED, **private).then(
        None, [panel["chosen"], chosen_gone], js=CHOSEN_ADDRESS_JS, **private).then(
        None, region, js=show("query-image"), **private)
    # The page opened at /?saved=NAME (&open=PATH): that saved search (its photo and box too). Only then: an event
    # that writes the drop zone on every load would empty it after a photo dropped meanwhile. In its turn, its
    # words, filters and photo put in their boxes only where none were put since the page opened, and none
    # once the user asked a search of their own (as ``?q=``'s, ``turns.ASKED_BY_HAND``).
    asked = gr.Textbox("", visible="hidden", elem_id="saved-address", label="saved")
    demo.load(None, None, asked, js=SAVED_IN_ADDRESS, **private)
    twins, unless_typed = from_the_address(boxes, [image, region])
    gone = gr.Textbox("", visible="hidden", elem_id="saved-gone", label="saved name gone")
    take_turn([asked.change], {"fn": view.from_address, "inputs": [asked, *view_inputs],
                               "outputs": [*twins, *outputs, gone], **private, **searching}, by_hand=False).then(
        **unless_typed[0]).then(**unless_typed[1]).then(None, region, js=show("query-image"), **private).then(
        None, gone, js=GONE_SAVED_ADDRESS_JS, **private)
