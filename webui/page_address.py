"""The page's search in its address bar: read back when the page is opened there, and each search's
fields handed to the scripts that write it (``address_js``), so that a search can be reloaded,
bookmarked and shared. ``PageAddress`` is a part of ``page.Page``, whose searches it runs.
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import json
import os
from pathlib import Path
from typing import Any

import gradio as gr

from .address_js import SORT_BY_DATE, UNLESS_DROPPED, UNLESS_TYPED
from .duplicates_view import open_similar
from .handlers import SORT_DATE
from .markdown import md
from .page_outputs import ADDRESS_NAMES, OUTPUT_NAMES, nothing_changes
from .paths import local_path, web_path
from .refusals import NoIndexYet, NotIndexed
from .region_view import PRIVATE, readable
from .thumbnails import PREVIEW_SIZE


def from_the_address(address: list, photo: list | None = None) -> tuple[list, list[dict]]:
    """What a search of the address (the page opened there) writes instead of the page's ``address``
    boxes (ADDRESS_NAMES) and, with ``photo``, the drop zone and its box: hidden twins of them, in
    that order; and the steps to chain after it (``.then``) that put each asked value in the page's
    own only where nothing was typed there, or no photo put, since the page opened, and none once
    the user asked a search of their own (``address_js.UNLESS_TYPED``, ``UNLESS_DROPPED``): the
    searches asked meanwhile run after it (``turns``), with the boxes as they were asked."""
    twins = [gr.Textbox("", visible="hidden", label=f"address's {name}") for name in ADDRESS_NAMES]
    steps = [{"fn": None, "inputs": [*twins, *address], "outputs": address, "js": UNLESS_TYPED, **PRIVATE}]
    if photo:
        zone = [gr.Image(type="filepath", visible="hidden", interactive=False, label="address's photo"),
                gr.Textbox("", visible="hidden", label="address's box")]
        twins += zone
        steps.append({"fn": None, "inputs": [*zone, *photo], "outputs": photo, "js": UNLESS_DROPPED, **PRIVATE})
    return twins, steps


def _remembering_the_address(out: tuple, at: int) -> tuple:
    """``out`` (``opened``'s) with its search of words and/or a photo remembered in ``last``: its words,
    photo, box and filters (``address``), which its boxes on the page may not show yet."""
    place = at + OUTPUT_NAMES.index("last")
    last = out[place]
    if not isinstance(last, dict) or last.get("kind") != "query":  # refused, nothing run, Find similar, a topic
        return out
    text, folder, since, until, image, region = (*out[:at], None, None)[:6]
    address = {"text": text, "image": image, "region": region or None, "filters": [folder, since, until]}
    return (*out[:place], dict(last, address=address), *out[place + 1:])


def rerun_of_address(last: dict, filters: tuple) -> tuple:
    """The search a re-run for new ``filters`` (the folder, a date) runs where the page's boxes held no
    words and no photo as it was asked, and the last search is the address's (the page opened there):
    asked before that search answered, whose words, photo and filters then went in their boxes
    (``from_the_address``), beside the filters typed. That search, with each filter typed (not empty)
    over the address's; it was a search of nothing (a warning beside the address's results, the
    filter typed not applied). Returns (text, image, region, (folder, since, until))."""
    asked = last["address"]
    return (asked["text"], asked["image"], asked["region"],
            tuple(typed or theirs for typed, theirs in zip(filters, asked["filters"], strict=True)))


def sort_asked(asked: dict, sort: str) -> str:
    """The order a search of the address sorts in: date where it says ``sort=date`` (``SORTED_ADDRESS_JS``
    wrote it), else the page's Sort by (relevance, unless chosen meanwhile). The page's own choice is
    set from the address on load too (``INDEXED_IN_ADDRESS``), maybe after this search was asked."""
    return SORT_DATE if (asked.get("sort") or "").strip() == SORT_BY_DATE else sort


class PageAddress:
    """``Page``'s events that read the address (the page opened there) or write it (after a search)."""

    def from_address(self, k: float, min_score: float, sort: str, strong_only: bool, request: gr.Request):
        """The page opened at an address with a search in it (``/?q=a+dog&folder=...&since=...&until=...``,
        as the address bar shows after each search: ``query_address``): that search, its words and
        filters for their boxes (where none were typed, nor a search asked, since the page opened:
        ``from_the_address``).
        Without ``q``, nothing changes. With ``photo`` (words searched with a
        photo, which no address holds), the words and filters in their boxes, nothing run, and the
        status line asks for the photo: the words alone are another query. With ``indexed`` (a photo
        of the index, which an address can name), nothing here: ``from_indexed`` runs that search.
        With ``open`` (Open similar), the copies folded under that result opened too (``opened``)."""
        asked = dict(request.query_params) if request is not None else {}
        return self.opened(self._from_address(asked, k, min_score, sort_asked(asked, sort), strong_only), asked,
                           len(ADDRESS_NAMES))

    def _from_address(self, asked: dict, k: float, min_score: float, sort: str, strong_only: bool):
        text, similar, topic, photo = ((asked.get(name) or "").strip() for name in ("q", "similar", "topic", "photo"))
        folder, since, until = (asked.get(name) or "" for name in ("folder", "since", "until"))
        if (asked.get("indexed") or "").strip() and not (similar or topic):
            return tuple(gr.skip() for _ in ADDRESS_NAMES + OUTPUT_NAMES)
        if photo and not (similar or topic):
            words = f" with the words “{md(text)}”" if text else ""
            said = (f"⚠️ This address's search was a photo, {md(photo)}{words}; an address cannot hold a photo: "
                    "drop or paste it again to run that search.")
            return text, folder, since, until, *nothing_changes(said)
        if similar:  # /?similar=PATH&region=...: Find similar, as ``similar_address`` wrote it
            return (gr.skip(), folder, since, until, *self.find_similar(
                similar, k, min_score, sort, folder, since, until, strong_only, asked.get("region") or None))
        if topic:  # /?topic=NAME: a topic's photos
            return (gr.skip(), folder, since, until, *self.topic(topic, k, min_score, sort, folder, since, until,
                                                                 strong_only))
        if not text:
            return tuple(gr.skip() for _ in ADDRESS_NAMES + OUTPUT_NAMES)
        return (text, folder, since, until,
                *self.search(text, None, k, min_score, sort, folder, since, until, strong_only))

    def query_address(self, text: str | None, image: Any, folder: str | None, since: str | None,
                      until: str | None, region: str | None = None, changed: bool = True,
                      last: dict | None = None) -> str:
        """After a search of words, of a photo, or of both: its fields for the address, as JSON for
        ``SIMILAR_ADDRESS_JS``; "" (the address kept) where it was refused (``changed`` False: a date
        that is no date, say), whose filters the results still shown were not searched with. "" too
        after a re-run for new filters (given its ``last``) of Find similar or a topic: ``similar_address``
        writes that one, and this one's words-less address first was a step of the history of its own,
        the bare filter, which Back then showed. A photo of the index put in the drop zone (Search with this photo) is
        named by its path, ``indexed``, with the ``region`` boxed on it: the page opened there puts
        it back and runs the search again (``from_indexed``). A photo dropped or pasted cannot go in
        an address: ``photo`` names it, so that the page opened there runs no other query
        (``from_address``)."""
        if not changed or (last or {}).get("kind") in ("similar", "topic"):
            return ""
        dropped = self.dropped(image)
        if dropped and Path(image).name in self.indexed:
            photo = {"indexed": web_path(dropped[0]), "region": region or ""}
        else:
            photo = {"photo": dropped[1] if dropped else ""}
        return json.dumps({"q": text or "", **photo, "folder": folder or "", "since": since or "",
                           "until": until or ""})

    def from_indexed(self, path: str, k: float, min_score: float, sort: str, strong_only: bool,
                     request: gr.Request):
        """The page opened at ``/?q=...&indexed=PATH&region=...`` (``query_address``): that indexed
        photo back in the drop zone, and the search of the words with it (or with its ``region``)
        run again. A path the index does not hold is never opened: the status line says so, and the
        words and filters go back in their boxes with nothing run (the words alone are another
        query). Outputs: ADDRESS_NAMES, the drop zone, its box (put on the page only where nothing was
        typed, or no photo put, nor a search asked, since it opened: ``from_the_address``), then OUTPUT_NAMES."""
        asked = dict(request.query_params) if request is not None else {}
        text, region = ((asked.get(name) or "").strip() for name in ("q", "region"))
        folder, since, until = (asked.get(name) or "" for name in ("folder", "since", "until"))
        path = local_path((path or "").strip())
        try:
            jpeg = self.handlers.indexed_picture(path, PREVIEW_SIZE)
            trouble = None if jpeg else "cannot be read now (gone from disk?)"
        except NotIndexed:
            jpeg, trouble = None, "is not in the index (deleted or moved since?)"
        except NoIndexYet:
            jpeg, trouble = None, "cannot be searched: there is no index yet"
        if trouble:
            said = f"⚠️ This address's photo, {md(path)}, {trouble}: nothing was searched."
            return text, folder, since, until, None, "", *nothing_changes(said)  # the drop zone's None: see ``stand_in``
        self._stand_in_for(jpeg, path, os.path.basename(path), indexed=True)
        return self.opened((text, folder, since, until, jpeg, readable(region, path), *self.search(
            text, jpeg, k, min_score, sort_asked(asked, sort), folder, since, until, strong_only, region or None)), asked,
            len(ADDRESS_NAMES) + 2)

    def opened(self, out: tuple, asked: dict, at: int) -> tuple:
        """A search from the address (its OUTPUT_NAMES from ``at`` on in ``out``, its boxes' values
        before: ADDRESS_NAMES, then the drop zone and its box where ``at`` counts them), with Open
        similar done after it where the address says ``open=PATH`` and PATH is shown with copies folded
        under it. What it searched is remembered with it (``last``'s ``address``: ``rerun_of_address``)."""
        out = _remembering_the_address(out, at)
        path, named = local_path((asked.get("open") or "").strip()), dict(zip(OUTPUT_NAMES, out[at:], strict=True))
        if not path or not isinstance(named["shown"], list) or not any(
                r["path"] == path and r.get("similar") for r in named["shown"]):
            return out
        named["gallery"], named["shown"], named["status"] = open_similar(self.handlers, named["shown"], path)
        return (*out[:at], *(named[name] for name in OUTPUT_NAMES))

    def similar_address(self, last: dict | None, changed: bool = True) -> str:
        """After Find similar or a topic opened (or its re-run for new filters): its fields for the
        address, as JSON for ``SIMILAR_ADDRESS_JS`` ("" after a search of words: ``query_address``
        wrote that one; "" after a refused one too, as there)."""
        if not changed or not last or last.get("kind") not in ("similar", "topic"):
            return ""
        folder, since, until = last.get("filters") or ("", "", "")
        asked = {"similar": last["path"], "region": last.get("region") or ""} if last["kind"] == "similar" else \
            {"topic": last["name"]}
        return json.dumps({**asked, "folder": folder or "", "since": since or "", "until": until or ""})
