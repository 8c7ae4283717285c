"""The Gradio page: layout and event wiring only; the work is in ``handlers``.

    blocks = build_app(engine, settings)
    blocks.launch(**launch_options(settings))

Only the thumbnail cache folder is served as files (``gr.set_static_paths``); the photo folders and
the index are blocked outright, so no file route can reach an original photo or the index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from clipsearch import SearchEngine, Settings
from clipsearch.query import MAX_QUERY_CHARS

from . import call_defaults, event_stream, tools
from .address_js import HISTORY_JS, INDEXED_IN_ADDRESS, OPEN_ADDRESS_JS, SIMILAR_ADDRESS_JS, SORTED_ADDRESS_JS
from .duplicates_view import CSS as DUPLICATES_CSS
from .duplicates_view import build_duplicates_view
from .file_types import install as install_file_types
from .handlers import (
    ALL_FOLDERS,
    DEFAULT_K,
    MAX_K,
    SORT_DATE,
    SORT_RELEVANCE,
    Handlers,
)
from .keyboard import CSS as KEYBOARD_CSS
from .keyboard import install as install_keyboard
from .look import CSS, GALLERY_COLUMNS, theme
from .markdown import no_index_message
from .model_threads import batched, batched_opener, model_thread  # noqa: F401 - app.model_thread: __main__ and tests
from .page import ADDRESS_NAMES, NO_SELECTION, OUTPUT_NAMES, REFILTER_NAMES, Page, unselect, unselect_if
from .page_address import from_the_address
from .paths import safe_outputs
from .query_box import CSS as QUERY_BOX_CSS
from .query_box import QUERY_HELP
from .query_box import install as install_query_box
from .reachable import CSS as REACHABLE_CSS
from .reachable import install as install_reachable
from .region_view import CSS as REGION_CSS
from .region_view import FORGET, PRIVATE, on_box, region_controls, show
from .region_view import install as install_regions
from .results_in_sight import install as install_results_in_sight
from .saved_view import SavedView, saved_panel, wire_saved
from .screen_reader import install as install_screen_reader
from .status_in_sight import CSS as STATUS_CSS
from .status_in_sight import install as install_status_in_sight
from .textui import text_reading, video_reading
from .topics_view import CSS as TOPICS_CSS
from .topics_view import TopicsView, topics_panel, wire_topics
from .touch import CSS as TOUCH_CSS
from .turns import ASKED_BY_HAND, take_turn
from .upload_image import upload_image
from .videos_view import VideosView, videos_panel, wire_videos

log = logging.getLogger(__name__)

MAX_UPLOAD = "50mb"
ENCODER = "encoder"  # the concurrency group of every event that runs the model
# Events that may run the model at once. The model runs one call at a time, and queries that wait
# for it share the next call (clipsearch.batching), so more slots mean bigger batches, not more
# model calls; the slots also overlap thumbnails and network I/O.
ENCODER_LIMIT = 8
# A result's click (its selection: preview, details, the path chosen) and the buttons that read the
# path chosen run in one queue, one at a time, in the order the page asked: on a busy server the
# selection could still be on its way when "Search with this photo" (or Open similar, Find similar)
# was pressed, which then said "Click a result first" or took the photo clicked before. One queue
# for every page: a selection makes a preview, a few milliseconds once made.
SELECTION = {"concurrency_id": "selection", "concurrency_limit": 1}
# After an upload: an unreadable one leaves the drop zone empty. In the browser: an update of the
# image from Python would replace, for the session, the component that ``upload_image`` wrapped.
# Only the file the search found unreadable (``Page.search_upload``) goes: told by the status line,
# an answer that came after another photo was dropped emptied the zone of that photo.
EMPTY_IF_UNREADABLE = "(image, unreadable) => (image && unreadable && image.path === unreadable) ? null : image"
# Find similar, or a topic opened: its photos replace the results, and the query's boxes are emptied
# (they claimed a query the results are not, and Enter ran it) as the click lands, in the browser:
# emptied when the results came, they took words typed since. Find similar with no result chosen
# (nothing in the preview) is only said, and leaves them. What they held is kept (``BACK_IF_REFUSED``).
EMPTIED = """(text, image, region) => {
  if (__CHOSEN__ && !document.querySelector('#preview img')) return [text, image, region];
  if (window.clipsearchRegion) window.clipsearchRegion.forget('query-image');
  if (text || image || region) window.clipsearchEmptied = {text, image, region};
  return ['', null, ''];
}"""
# Find similar or a topic refused (a photo no longer indexed, a date that is no date: the address's step,
# ``Page.similar_address``, says "" for it): the words, the photo dropped and its box the click emptied are
# put back, where nothing was typed or dropped since; they were lost from the page. Put back by the page's
# script: the drop zone written from Python (a skip) is rebuilt for the session without its checks.
BACK_IF_REFUSED = """(asked, text, image, region) => {
  const emptied = window.clipsearchEmptied;
  window.clipsearchEmptied = null;
  if (asked || !emptied || text || image || region) return [text, image, region];
  return [emptied.text, emptied.image, emptied.region];
}"""
# The upload's last step (``page.stand_in``) gives the drop zone the picture to show (a JPEG stand-in,
# or the upload itself). Its answer goes to a hidden picture of its own, with the file it was asked
# for, and is put in the drop zone only where the zone still holds that file. Put there as it came,
# an answer that came after a Remove, or after another photo was dropped (a busy machine, a slow
# phone), put the old photo, or none, over the new one (a stale stand-in, or the zone emptied), and
# the next search (a box drawn, Enter) used that instead of the photo shown a moment before.
STAND_IN_ASKED = "(image, asked) => [image, image ? image.path : '']"
# The upload's last step: it may draw the drop zone anew, so it counts itself done (``clipsearchDropsSettled``:
# a test draws a box on a dropped photo only after it, where the new drawing could lose the box).
STAND_IN_IF_SAME = """(shown, asked, image) => {
  window.clipsearchDropsSettled = (window.clipsearchDropsSettled || 0) + 1;
  return (image && image.path === asked) ? shown : image;
}"""
# A narrow screen stacks the preview under the gallery, out of sight: a tap on a result brings it up.
PREVIEW_INTO_VIEW = """() => {
  const preview = document.getElementById("preview");
  const results = document.getElementById("results");
  if (preview && results && preview.getBoundingClientRect().top >= results.getBoundingClientRect().bottom)
    preview.scrollIntoView({behavior: "smooth", block: "start"});
}"""
# Search with this photo: the photo chosen (from a hidden twin) into the drop zone, its box forgotten; where
# none went (nothing chosen, or no longer indexed) the photo dropped and its box stay, and so do the zone's
# checks, which a skip of the drop zone from Python lost (Gradio rebuilt it for the session without them).
PUT_IF_USED = "(used, photo, image, region) => used ? [photo, (" + FORGET + ")()] : [image, region]"
def launch_options(settings: Settings, engine: SearchEngine | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: upload limit, blocked folders, look, and the script that
    keeps the page's events from being lost between Gradio's event streams (``event_stream``)."""
    thumbs = (Path(settings.cache_dir) / "thumbs").resolve()
    folders = [settings.index_dir]
    if engine is not None:
        folders += engine.folders()
    resolved = [Path(folder).resolve() for folder in folders]
    # Never block the thumbnail cache itself, wherever the user put it.
    blocked = [str(f) for f in resolved if not (f == thumbs or f in thumbs.parents)]
    css = (CSS + DUPLICATES_CSS + REGION_CSS + TOPICS_CSS + TOUCH_CSS + REACHABLE_CSS + QUERY_BOX_CSS + KEYBOARD_CSS
           + STATUS_CSS)
    return {"max_file_size": MAX_UPLOAD, "blocked_paths": blocked, "css": css,
            "theme": theme(), "footer_links": ["api"], "head": event_stream.HEAD}


def build_app(engine: SearchEngine | None, settings: Settings,
               model_overrides: dict[str, Any] | None = None,
               open_engine: Callable[[], SearchEngine] | None = None, originals: bool = False) -> gr.Blocks:
    """The app over ``engine`` (None until an index exists; the page then says how to build one).

    ``model_overrides`` (device, threads) are used if the model has to be loaded later, when an
    index appears (``open_engine`` replaces that step in tests). ``originals``: indexed photos are
    handed out whole too (``--originals``). The returned Blocks carries its ``Handlers`` as
    ``demo.handlers``.
    """
    handlers = Handlers(batched(engine), settings, model_overrides, open_engine)
    handlers.originals = originals
    handlers.open_engine = batched_opener(handlers.open_engine)
    handlers.thumbs.root.mkdir(parents=True, exist_ok=True)
    gr.set_static_paths([handlers.thumbs.root])
    encoder_bound = {"concurrency_id": ENCODER, "concurrency_limit": ENCODER_LIMIT}

    # delete_cache: uploaded query pictures are the user's photos too; keep them an hour at most.
    with gr.Blocks(title="clipsearch", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## clipsearch · search your photos by meaning")
        banner = gr.Markdown(no_index_message(settings), visible=engine is None, elem_classes="no-index")
        with gr.Row(equal_height=True):
            with gr.Column(scale=4):
                text = gr.Textbox(label="Search", placeholder="a dog on a beach", lines=1, max_lines=1,  # a query's
                                  autofocus=True, elem_id="query", max_length=MAX_QUERY_CHARS)  # most, said: query_box
                gr.Markdown(QUERY_HELP, elem_id="query-help")
                with gr.Row():
                    search_btn = gr.Button("Search", variant="primary", scale=0, min_width=120)
                    status = gr.Markdown("", elem_id="status")
            image = upload_image(label="Search by photo", sources=["upload", "clipboard"], height=200,
                                 scale=1, min_width=200, elem_id="query-image")
        with gr.Row():
            k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="How many", scale=1)
            strong_only = gr.Checkbox(True, label="Strong matches only", scale=1, elem_id="strong-only",
                                      info="the automatic cut-off, decided per search; untick for all")
            min_score = gr.Slider(0.0, 1.0, value=0.0, step=0.01, scale=1, elem_id="min-score",
                                  label="Score cut-off", info="hide results scoring less; 0 shows all")
            sort = gr.Radio([SORT_RELEVANCE, SORT_DATE], value=SORT_RELEVANCE, label="Sort by", scale=1,
                            elem_id="sort")  # one tab stop, the arrows moving the choice: keyboard
        with gr.Row():
            folder = gr.Dropdown([("All folders", ALL_FOLDERS)], value=ALL_FOLDERS, label="Folder",
                                 allow_custom_value=True, scale=2, elem_id="folder")
            date_from = gr.Textbox(label="From (YYYY-MM-DD)", placeholder="any date", scale=1)
            date_to = gr.Textbox(label="To (YYYY-MM-DD)", placeholder="any date", scale=1)
        saved = saved_panel()
        topics = topics_panel()
        with gr.Row():
            gallery = gr.Gallery(label="Results", columns=GALLERY_COLUMNS, height=640, object_fit="cover",
                                 allow_preview=False, buttons=[], scale=3, elem_id="results")
            with gr.Column(scale=1, min_width=300):
                preview = gr.Image(label="Preview", type="filepath", interactive=False, height=380,
                                   elem_id="preview", buttons=["fullscreen"])
                details = gr.Markdown(NO_SELECTION, elem_id="details")
                similar_btn = gr.Button("Find similar", elem_id="find-similar")
                open_btn = gr.Button("Open similar", elem_id="open-similar", size="sm")
                use_btn = gr.Button("Search with this photo", elem_id="use-photo", size="sm")
        moments = videos_panel()
        with gr.Accordion("Index", open=engine is None, elem_id="index-panel"):
            info = gr.Markdown("", elem_id="index-info")
            with gr.Row():
                reindex_btn = gr.Button("Re-index now", size="md", scale=0, min_width=180, elem_id="reindex")
                stop_btn = gr.Button("Stop", size="md", scale=0, min_width=100)
                check_btn = gr.Button("Check again", size="md", scale=0, min_width=160)
            ocr = gr.Checkbox(False, label="Read the words in photos (OCR), so a search finds them",
                              elem_id="ocr-toggle")
            videos = gr.Checkbox(False, label="Search inside videos too: a frame every 2 s, each new scene a moment",
                                 elem_id="videos-toggle")
            job_status = gr.Markdown("", elem_id="job-status")
        build_duplicates_view(handlers)
        timer = gr.Timer(1.0, active=False)

        results, shown, selected, last = gr.State([]), gr.State([]), gr.State(None), gr.State(None)
        changed = gr.State(False)  # whether an event changed the results (see page.unselect_if)
        filters = [k, min_score, sort, folder, date_from, date_to, strong_only]
        named = {"gallery": gallery, "changed": changed, "results": results, "shown": shown, "status": status,
                 "banner": banner, "last": last, "preview": preview, "details": details, "selected": selected,
                 "text": text, "folder": folder, "date_from": date_from, "date_to": date_to}
        outputs = [named[name] for name in OUTPUT_NAMES]
        page = Page(handlers)
        searching = {**encoder_bound, "show_progress_on": [gallery]}  # not over the drop zone and preview

        # "multiple": a search asked while one is on its way runs after it (``turns``), where Gradio's
        # "once" dropped it (the words typed, or the photo dropped, next to the results of the one before)
        first_unselect = {"fn": unselect, "outputs": gallery, "api_visibility": "private", "show_progress": "hidden",
                          "trigger_mode": "multiple"}
        region, region_go = region_controls("query-image")
        held = gr.Image(type="filepath", visible="hidden", interactive=False, label="stand-in", elem_id="stand-in")
        asked = gr.Textbox("", visible="hidden", elem_id="stand-in-asked", label="stand-in asked for")
        similar_region, similar_go = region_controls("preview")
        searched = {"fn": page.search, "inputs": [text, image, *filters, region], "outputs": outputs,
                    "api_visibility": "private", **searching}  # each in its turn, in the order asked (``turns``)
        address = [named[name] for name in ADDRESS_NAMES]
        query_address = gr.Textbox("", visible="hidden", elem_id="query-address", label="address")
        in_address = [{"fn": page.query_address, "inputs": [text, image, *address[1:], region, changed],
                       "outputs": query_address, **PRIVATE}, {"fn": None, "inputs": query_address, "js": SIMILAR_ADDRESS_JS, **PRIVATE}]
        take_turn(gr.on([text.submit, search_btn.click], **first_unselect), searched).then(
            **in_address[0]).then(**in_address[1])
        install_regions(demo)
        install_file_types(demo)
        install_screen_reader(demo)
        install_results_in_sight(demo)
        install_status_in_sight(demo)
        install_reachable(demo)
        install_query_box(demo)
        install_keyboard(demo)
        demo.load(None, js=HISTORY_JS, **PRIVATE)  # Back and Forward: the search before, the one after
        on_box("query-image", region, region_go, lambda event: take_turn(event.then(**first_unselect), searched).then(
            **in_address[0]).then(**in_address[1]))
        # The photo removed (the drop zone's X): its box forgotten, and the words searched alone, in
        # their turn (none: no results); the address no longer names the photo (``Page.photo_removed``).
        take_turn(image.clear(None, None, region, js=FORGET, **PRIVATE).then(**first_unselect),
                  {**searched, "fn": page.photo_removed}).then(**in_address[0]).then(**in_address[1])
        moments_shown = wire_videos(moments, VideosView(handlers), results, [last, min_score, strong_only])
        wire_saved(demo, saved, SavedView(page), named, image, region, [k, min_score, sort, strong_only], outputs,
                   searching)
        unreadable = gr.Textbox("", visible="hidden", elem_id="unreadable-upload", label="unreadable upload")
        take_turn(image.upload(None, None, region, js=FORGET, **PRIVATE).then(**first_unselect),
                  {**searched, "fn": page.search_upload, "outputs": [*outputs, unreadable]}).then(
            None, [image, unreadable], image, js=EMPTY_IF_UNREADABLE, api_visibility="private").then(**in_address[0]).then(
            **in_address[1]).then(
            page.stand_in_asked, [image, asked], [held, asked], js=STAND_IN_ASKED, api_visibility="private",
            show_progress="hidden").then(None, [held, asked, image], image, js=STAND_IN_IF_SAME, **PRIVATE)
        # Another folder, dates or How many: the last search again (a date box on Enter or when left).
        similar_address = gr.Textbox("", visible="hidden", elem_id="similar-address", label="address")
        similar_in_address = [{"fn": page.similar_address, "inputs": [last, changed], "outputs": similar_address, **PRIVATE},
                              {"fn": None, "inputs": similar_address, "js": SIMILAR_ADDRESS_JS, **PRIVATE}]
        query_boxes = [text, image, region]
        back_if_refused = [{"fn": None, "inputs": [similar_address, *query_boxes], "outputs": query_boxes,
                            "js": BACK_IF_REFUSED, **PRIVATE}, {"fn": None, "inputs": region, "js": show("query-image"), **PRIVATE}]
        rerun = {"fn": page.rerun, "inputs": [last, text, image, *filters, region], "outputs": outputs,
                 "trigger_mode": "always_last", "api_visibility": "private", **searching}
        # A re-run the user asked marks the page (``turns.ASKED_BY_HAND``) here, not in its turn: "change" says so for
        # a folder the page wrote too (the address's). Wired first: the page runs one trigger's events in turn, and
        # the re-run's script waits there for the search before it (the address's, say) to answer. Only with words
        # or a photo to search: a filter changed with neither runs nothing of its own, and the address's answer then
        # fills the boxes as for words only typed.
        gr.on([k.input, folder.input, date_from.submit, date_from.blur, date_to.submit, date_to.blur], None,
              [text, image], js=f"(words, photo) => {{ if ((words || '').trim() || photo) {ASKED_BY_HAND} = true; }}",
              **PRIVATE)
        # One address written, one step of the history: the re-run's kind says which (``last``: a topic's or Find
        # similar's, ``similar_address``; words or a photo, ``query_address``).
        take_turn([k.change, folder.change, date_from.submit, date_from.blur, date_to.submit, date_to.blur], rerun,
                  by_hand=False).then(
            unselect_if, changed, gallery, api_visibility="private", show_progress="hidden").then(
            **{**in_address[0], "inputs": [*in_address[0]["inputs"], last]}).then(**in_address[1]).then(
            **similar_in_address[0]).then(**similar_in_address[1])
        wire_topics(topics, TopicsView(page), filters, outputs, searching, [
            {"fn": unselect_if, "inputs": changed, "outputs": gallery, **PRIVATE}, *similar_in_address, *back_if_refused])
        topics["covers"].select(None, query_boxes, query_boxes, js=EMPTIED.replace("__CHOSEN__", "false"), **PRIVATE)
        for asked in (similar_btn, similar_go):
            asked.click(None, query_boxes, query_boxes, js=EMPTIED.replace("__CHOSEN__", "true"), **PRIVATE)
        # The page opened at an address with a search in it: that search, in its turn, as the others (``turns``)
        # (its words, filters and photo put in their boxes only where none were put since the page opened,
        # and none once the user asked a search of their own: ``turns.ASKED_BY_HAND``)
        twins, unless_typed = from_the_address(address, [image, region])
        take_turn([demo.load], {"fn": page.from_address, "inputs": [k, min_score, sort, strong_only],
                                "outputs": twins[:len(address)] + outputs, "api_visibility": "private", **searching},
                  by_hand=False).then(**unless_typed[0])
        indexed = gr.Textbox("", visible="hidden", elem_id="indexed-address", label="indexed")  # /?q=...&indexed=PATH
        demo.load(None, sort, [indexed, sort], js=INDEXED_IN_ADDRESS, **PRIVATE)  # and ?sort=date's order
        take_turn([indexed.change], {"fn": page.from_indexed, "inputs": [indexed, k, min_score, sort, strong_only],
                                     "outputs": [*twins, *outputs], "api_visibility": "private", **searching},
                  by_hand=False).then(
            **unless_typed[0]).then(**unless_typed[1]).then(None, region, js=show("query-image"), **PRIVATE)
        # The cut-off, the order or Strong matches only changed: the results shown, filtered again, in their turn
        # (``turns``): asked just before a search, it answered after it and put the older results back over it.
        take_turn(gr.on([min_score.input, sort.input, strong_only.change], **{**first_unselect, "trigger_mode": "always_last"}), {
            "fn": page.refilter, "inputs": [results, min_score, sort, strong_only, last, selected],
            "outputs": [named[name] for name in REFILTER_NAMES], "show_progress": "hidden", **PRIVATE},
            by_hand=False).then(**moments_shown).then(None, sort, js=SORTED_ADDRESS_JS, **PRIVATE)
        # A click's selection, and what reads it, in one queue in the order asked (``SELECTION``)
        gallery.select(handlers.select, [shown], [preview, details, selected], api_visibility="private",
                       **SELECTION).then(None, js=PREVIEW_INTO_VIEW, **PRIVATE).then(  # "Click a result first" gone:
            page.status_of_choice, [status, results, shown, min_score, sort, strong_only, last], status, **PRIVATE)
        finding = {"fn": page.find_similar, "outputs": outputs, "api_visibility": "private", **searching}
        take_turn(similar_btn.click(**first_unselect, **SELECTION), {**finding, "inputs": [selected, *filters]}).then(
            **similar_in_address[0]).then(**similar_in_address[1]).then(**back_if_refused[0]).then(**back_if_refused[1])
        on_box("preview", similar_region, similar_go, lambda event: take_turn(event.then(**first_unselect), {
            **finding, "inputs": [selected, *filters, similar_region]}).then(**similar_in_address[0]).then(
            **similar_in_address[1]).then(**back_if_refused[0]).then(**back_if_refused[1]))
        used_photo = gr.Checkbox(False, visible="hidden", elem_id="photo-used", label="photo used")
        chosen_photo = gr.Image(type="filepath", visible="hidden", interactive=False, label="photo chosen")
        used = use_btn.click(page.use_chosen, selected, [chosen_photo, status, used_photo], api_visibility="private",
                             show_progress="hidden", **SELECTION).then(
            None, [used_photo, chosen_photo, image, region], [image, region], js=PUT_IF_USED, **PRIVATE).then(
            **first_unselect)
        take_turn(used, {**searched, "fn": page.search_if_used, "inputs": [used_photo, *searched["inputs"]]}).then(
            **in_address[0]).then(**in_address[1])
        opened = gr.Textbox("", visible="hidden", elem_id="opened-address", label="address")
        open_btn.click(page.open_similar, [shown, selected], [gallery, shown, status, opened], api_visibility="private",
                       **SELECTION).then(None, opened, js=OPEN_ADDRESS_JS, **PRIVATE)

        panel_outputs = [info, banner, folder]
        demo.load(handlers.index_panel, None, panel_outputs, api_visibility="private")
        check_btn.click(handlers.index_panel, None, panel_outputs, api_visibility="private")
        reindex_btn.click(handlers.start_reindex, None, [job_status, timer], api_visibility="private")
        stop_btn.click(handlers.stop_reindex, None, job_status, api_visibility="private")
        for switch, reading in ((ocr, text_reading(handlers)), (videos, video_reading(handlers))):
            demo.load(reading.state, None, switch, api_visibility="private")
            switch.input(reading.toggle, [switch], [job_status, timer], api_visibility="private")
        timer.tick(handlers.poll_reindex, None, [job_status, info, folder, timer],
                   api_visibility="private", show_progress="hidden")

        tools.register(handlers, encoder_bound, upload_image)

    safe_outputs(demo)  # a file name that is not UTF-8 must not fail an answer (webui/paths.py)
    call_defaults.install(demo)  # a call leaving out trailing values, as the first release's API.md showed
    demo.handlers = handlers
    return demo


build_demo = build_app  # the name of earlier releases (tests and benchmarks use it)
