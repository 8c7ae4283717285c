"""The page's search events, with what one browser session remembers between them.

``Handlers`` answers one question at a time (and stays what the unit tests and the API call). This
wraps its searches for the page, so that the page stays consistent:
- results that change clear the preview, the details and the gallery's highlighted thumbnail,
  so that the preview and the next Find similar never use a photo that is no longer shown; but
  Find similar's own photo stays in the preview (with the box drawn on it), as what the results are like,
  a new cut-off or order too (``refilter``). (The
  gallery keeps its highlighted position across new values, even when the same update says
  ``selected_index=None``; on its own that update does clear it. So ``unselect`` runs before each
  search and before each re-sort, and, after a re-run for new filters, ``unselect_if``.)
- the last search is remembered (``last``, a ``gr.State``): a change of folder, dates or How many
  runs it again with the new filter or count, and a sort or cut-off change keeps the query and its
  time in the status line;
- an upload that is not a picture says so in the status line (and ``app`` empties the drop zone of it);
- a dropped picture that browsers cannot draw (HEIC, TIFF, camera RAW...) is shown in the drop zone as a JPEG
  stand-in, and a search again with it uses the original it stands in for;
- a box drawn on the dropped photo (``region_view``) searches with that part of it, in every search
  while the photo stays;
- the dropped photo removed, the words typed are searched alone (none, or refused: no results, said).
"""

# No `from __future__ import annotations`: Gradio reads the event functions' hints at run time.
import os
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from .duplicates_view import open_similar, opened_status
from .handlers import PART_HINT, Handlers, NotIndexed, Results, UnreadableUpload, _listed, similar_what
from .markdown import describe_query, md
from .matches import NO_RESULTS, NO_STRONG
from .page_address import PageAddress, rerun_of_address
from .page_outputs import (  # noqa: F401 - the names app, saved_view and the tests import from here
    ADDRESS_NAMES,
    NO_SELECTION,
    OUTPUT_NAMES,
    REFILTER_NAMES,
    cleared,
    nothing_changes,
)
from .paths import web_path
from .results_in_sight import CLICK_FIRST
from .thumbnails import PREVIEW_SIZE
from .videos_view import found_moments

PHOTO_REMOVED = "The photo is removed: type some words or drop a photo to search."
BROWSER_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP", "ICO", "AVIF"})  # what browsers draw
STAND_INS_KEPT = 256  # JPEG stand-ins remembered (name -> the upload), newest kept


class Page(PageAddress):
    """The search events of one page (and of its address, ``PageAddress``); every output list
    matches OUTPUT_NAMES' order."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers
        self.stand_ins: dict[str, str] = {}  # the name of a JPEG shown in the drop zone -> the upload
        self.names: dict[str, str] = {}  # those of them that show a photo of the library or a saved search's: its name
        self.indexed: set[str] = set()  # those of them that show an indexed photo (the address can name it)

    def search(self, text: str | None, image: str | None, k: float, min_score: float, sort: str,
               folder: str | None, date_from: str | None, date_to: str | None, strong_only: bool = False,
               region: str | None = None):
        """Enter, the Search button, a dropped photo, and a box drawn on it (``region``, ``region_view``)."""
        name = None
        if isinstance(image, str) and not isinstance(image, UnreadableUpload):
            shown, image = Path(image).name, self.stand_ins.get(Path(image).name, image)  # the original
            name = self.names.get(shown)
        region = region if image else None  # the box of a photo no longer in the drop zone
        found: dict = {}  # the moments in videos, found with the photos' vectors (videos_view)
        out = self.handlers.search(text, image, k, min_score, sort, folder, date_from, date_to, strong_only,
                                   region, name, then=lambda find: found.update(moments=found_moments(find)))
        return self._after(out, {"kind": "query", "k": k, **found}, describe_query(text, image, bool(region), name),
                           (folder, date_from, date_to))

    def search_upload(self, text: str | None, image: str | None, k: float, min_score: float, sort: str,
                      folder: str | None, date_from: str | None, date_to: str | None, strong_only: bool = False,
                      region: str | None = None):
        """A photo dropped or pasted: ``search``, then the file of the upload where it is not a picture,
        else "": the page empties the drop zone only where it still holds that file
        (``app.EMPTY_IF_UNREADABLE``), not a photo dropped since, before that answer came."""
        out = self.search(text, image, k, min_score, sort, folder, date_from, date_to, strong_only, region)
        return (*out, image.path if isinstance(image, UnreadableUpload) else "")

    def photo_removed(self, text: str | None, image: Any, k: float, min_score: float, sort: str,
                      folder: str | None, date_from: str | None, date_to: str | None, strong_only: bool = False,
                      region: str | None = None):
        """The dropped photo removed (the drop zone's X): the words typed searched alone, as Enter
        does with no photo; with none, or with words (or filters) that search refuses ("red - red",
        a date that is no date), no results, and the status line says why (its results stayed, the
        status line and the address naming a photo that was gone)."""
        if not (text and text.strip()):
            return [], True, [], [], PHOTO_REMOVED, gr.skip(), None, *cleared()
        out = dict(zip(OUTPUT_NAMES, self.search(text, None, k, min_score, sort, folder, date_from, date_to,
                                                 strong_only), strict=True))
        if out["changed"] is not False:
            return tuple(out.values())
        said = f"⚠️ The photo is removed, and the words left cannot be searched: {out['status'].removeprefix('⚠️ ')}"
        return [], True, [], [], said, out["banner"], gr.skip(), *cleared()

    def use_selected(self, selected: str | None):
        """"Search with this photo": the selected result into the drop zone (its preview JPEG, which
        Gradio may serve; searches use the photo itself), with the words typed, for a search such as
        this photo ``- snow``, or a box on a part of it. Nothing selected: a ``gr.Error`` (``use_chosen``)."""
        if not selected:
            raise gr.Error("Click a result first, then search with it.", title="No photo chosen", print_exception=False)
        try:
            jpeg = self.handlers.indexed_picture(selected, PREVIEW_SIZE)
        except NotIndexed:
            raise gr.Error("That photo is not in the index now.", title="Not indexed", print_exception=False) from None
        if jpeg is None:
            raise gr.Error("That photo cannot be read now (gone from disk?).", print_exception=False)
        self._stand_in_for(jpeg, selected, os.path.basename(selected), indexed=True)
        return jpeg

    def use_chosen(self, selected: str | None):
        """Search with this photo: (the photo for the drop zone, the status line, whether one is to go there,
        for ``search_if_used``). The page puts it there (``app.PUT_IF_USED``): the skip said where none goes
        would make Gradio rebuild the drop zone without its checks. What stops it is said in the status line,
        as Find similar says it (a red error toast said it); nothing else changes."""
        try:
            return self.use_selected(selected), gr.skip(), True
        except gr.Error as exc:  # nothing chosen is no trouble: said as Find similar says it, without ⚠️
            return gr.skip(), f"⚠️ {md(exc.message)}" if selected else exc.message, False

    def search_if_used(self, used: bool, *asked: Any):
        """``search`` (``asked``: its arguments) where ``use_chosen`` put a photo in the drop zone; else nothing."""
        if not used:
            return nothing_changes()
        return self.search(*asked)

    def dropped(self, image: Any) -> tuple[str, str] | None:
        """The photo in the drop zone, as a saved search keeps it: (its file, its name); None for none."""
        if not isinstance(image, str) or isinstance(image, UnreadableUpload):
            return None
        shown = Path(image).name
        original = self.stand_ins.get(shown, image)
        return original, self.names.get(shown) or os.path.basename(original)

    def show_photo(self, photo: str, name: str) -> str | None:
        """A saved search's photo (its copy, ``photo``) into the drop zone, as a preview JPEG that
        stands in for it and shows as ``name``; None where it cannot be read."""
        thumbs = self.handlers.thumbs
        jpeg = thumbs.get(photo, PREVIEW_SIZE)
        if jpeg == thumbs.placeholder():
            return None
        self._stand_in_for(jpeg, photo, name)
        return jpeg

    def open_similar(self, shown: list[dict], selected: str | None):
        """"Open similar" (``duplicates_view``), then the photo opened, for ``OPEN_ADDRESS_JS``."""
        gallery, group, status = open_similar(self.handlers, shown, selected)
        return gallery, group, status, web_path(selected) if isinstance(group, list) and selected else ""

    def stand_in(self, image: Any):
        """After a drop: a JPEG of the picture in the drop zone where browsers cannot draw it
        (HEIC from a phone, TIFF); they showed a broken image there. Else the value as it is: not
        ``gr.skip()``, after which Gradio rebuilds the component for the session without the
        checks ``upload_image.upload_image`` adds to it (and which would leave, in the hidden picture
        the answer goes to, ``stand_in_asked``, the last photo's answer)."""
        if not isinstance(image, str) or isinstance(image, UnreadableUpload):
            return None  # none, or not a picture: the drop zone was emptied
        try:
            with Image.open(image) as picture:
                if picture.format in BROWSER_FORMATS:
                    return image
        except Exception:  # noqa: BLE001 - not Pillow's (camera RAW): a JPEG of it where it is read
            pass
        thumbs = self.handlers.thumbs
        jpeg = thumbs.get(image, PREVIEW_SIZE)
        if jpeg == thumbs.placeholder():
            return image
        self._stand_in_for(jpeg, image)
        return jpeg

    def stand_in_asked(self, image: Any, asked: str) -> tuple[Any, str]:
        """``stand_in`` as the upload's last step asks it: what the drop zone is to show for
        ``image``, with ``asked``, the zone's file it was asked for, back to the page, which shows the
        answer only while the zone still holds that file (``app.STAND_IN_IF_SAME``)."""
        return self.stand_in(image), asked

    def _stand_in_for(self, jpeg: str, original: str, name: str | None = None, indexed: bool = False) -> None:
        """``jpeg`` shows ``original`` in the drop zone: a search with it uses the original (``name``:
        the photo's, for the status line, where it is not the dropped file's own; ``indexed``: the
        original is an indexed photo, which the address may name)."""
        self.stand_ins[Path(jpeg).name] = original
        if name:
            self.names[Path(jpeg).name] = name
        if indexed:
            self.indexed.add(Path(jpeg).name)
        while len(self.stand_ins) > STAND_INS_KEPT:
            forgotten = next(iter(self.stand_ins))
            del self.stand_ins[forgotten]
            self.names.pop(forgotten, None)
            self.indexed.discard(forgotten)

    def find_similar(self, selected: str | None, k: float, min_score: float, sort: str, folder: str | None,
                     date_from: str | None, date_to: str | None, strong_only: bool = False, region: str | None = None):
        """The Find similar button, for the selected result, and a box drawn on its preview (``region``)."""
        found: dict = {}  # the moments in videos like it (videos_view)
        out = self.handlers.find_similar(selected, k, min_score, sort, folder, date_from, date_to, strong_only, region,
                                         then=lambda find: found.update(moments=found_moments(find)))
        return self._after(out, {"kind": "similar", "path": selected, "region": region, "k": k, **found},
                           similar_what(selected, region), (folder, date_from, date_to),
                           lambda: self._searched_with(selected, region))

    def _searched_with(self, path: str, region: str | None) -> tuple[Any, Any, Any]:
        """(preview, details, selected) after Find similar: the photo searched with stays in the
        preview (and the box drawn on it, ``region_view``, where its picture is the one it was
        drawn on), so that what the results are like stays in sight; the next Find similar, or
        Search with this photo, is of that photo."""
        try:
            preview = self.handlers.indexed_picture(path, PREVIEW_SIZE)
        except NotIndexed:
            preview = None
        if preview is None:
            return cleared()
        part = "the part boxed" if region else "all"
        return (preview, f"The results are photos like {part} of **{md(os.path.basename(path))}**, shown here."
                + PART_HINT, path)

    def topic(self, name: str, k: float, min_score: float, sort: str, folder: str | None, date_from: str | None,
              date_to: str | None, strong_only: bool = False):
        """A topic's cover clicked (``topics_view``): its photos, the most typical first."""
        engine = self.handlers.engine
        what = f"topic “{name}”" + within(folder, date_from, date_to)  # the cover counts them all
        out = self.handlers._ui_run(lambda where: _listed(engine(), lambda n: engine().topic_photos(
            name, limit=n, where=where), k, True), (min_score, sort, strong_only), folder, date_from, date_to, what)
        return self._after(out, {"kind": "topic", "name": name, "k": k}, what, (folder, date_from, date_to))

    def rerun(self, last: dict | None, text: str | None, image: str | None, k: float, min_score: float,
              sort: str, folder: str | None, date_from: str | None, date_to: str | None, strong_only: bool = False,
              region: str | None = None):
        """The folder, a date or How many (``k``) changed: the last search again, with the new filter
        or count. A filter refused (a date that is no date) is remembered as asked, with the results
        before: the status line speaks of it, and the filters of those results put back run the
        search again, which says so."""
        if not last:
            return nothing_changes()
        if last.get("address") and not (text or "").strip() and not image:  # asked before the address's answer
            text, image, region, (folder, date_from, date_to) = rerun_of_address(last, (folder, date_from, date_to))
        if (tuple(last.get("filters", ())), last.get("k")) == ((folder, date_from, date_to), k):
            return nothing_changes()
        if last["kind"] == "similar":
            out = self.find_similar(last["path"], k, min_score, sort, folder, date_from, date_to, strong_only,
                                    last.get("region"))
        elif last["kind"] == "topic":
            out = self.topic(last["name"], k, min_score, sort, folder, date_from, date_to, strong_only)
        else:
            out = self.search(text, image, k, min_score, sort, folder, date_from, date_to, strong_only, region)
        if out[OUTPUT_NAMES.index("changed")] is False:  # refused: the results before stay
            asked = dict(last, filters=[folder, date_from, date_to], k=k)
            out = tuple(asked if name == "last" else value for name, value in zip(OUTPUT_NAMES, out, strict=True))
        return out

    def refilter(self, results: Results, min_score: float, sort: str, strong_only: bool, last: dict | None,
                 selected: str | None = None):
        """The cut-offs and the sort order, over the last results: the status keeps the query and time.
        A result chosen is let go (it may be hidden now), but not Find similar's own photo (``selected``
        still that photo), which is no result: it stays in the preview, as what the results are like."""
        gallery, shown, status = self.handlers.refilter(results, min_score, sort, strong_only)
        if last and results:
            status += last.get("context", "")
        similar = bool(last and last.get("kind") == "similar" and selected and selected == last.get("path"))
        selection = (gr.skip(), gr.skip(), gr.skip()) if similar else cleared()
        return gallery, True, shown, _videos_said(status, results, last), *selection

    def status_of_choice(self, status: str | None, results: Results, shown: Any, min_score: float, sort: str,
                         strong_only: bool, last: dict | None):
        """A result chosen once a button asked for one (Find similar, Open similar or Search with this photo
        pressed with none chosen: "Click a result first, ..."): the status line of the results shown, put
        back, as a re-filter says it (the query and its time kept), or as Open similar said it for the
        copies it opened (``shown`` then differs from the results the cut-offs leave). Else none changes."""
        if not (status or "").startswith(CLICK_FIRST):
            return gr.skip()
        said = self.refilter(results, min_score, sort, strong_only, last)
        paths = [r["path"] for r in shown] if isinstance(shown, list) else []
        opened = paths and paths != [r["path"] for r in said[2]]
        return opened_status(shown) if opened else said[3]

    def _after(self, out, last: dict, what: str, filters: tuple, selection=cleared):
        """The outputs of a search: ``selection()``, (preview, details, selected) once it has results."""
        gallery, results, shown, status, banner = out
        if not isinstance(results, list):  # a warning: the previous results stay, nothing selected
            return gallery, False, results, shown, status, banner, gr.skip(), *cleared()
        at = status.rfind(f" · {md(what)} · ")  # the status ends with the query and its time
        last = dict(last, filters=list(filters), context=status[at:] if at >= 0 else "")
        return gallery, True, results, shown, _videos_said(status, results, last), banner, last, *selection()


def _videos_said(status: str, results: Results, last: dict | None) -> str:
    """The status line of a search that no photo answers but a video's moment does (a folder of
    videos, say, or words only a video shows): not a bare "No results." or "No strong match"
    above the In videos panel."""
    if not any(m["strong"] for m in (last or {}).get("moments", [])):
        return status
    if not results and status.startswith(NO_RESULTS):
        return "No photo matches; the moments in videos that do are below." + status[len(NO_RESULTS):]
    if status.startswith(NO_STRONG):
        return "No photo is a strong match; the moments in videos that are, below" + status[len(NO_STRONG):]
    return status


def unselect():
    """No thumbnail highlighted: before a search or a re-sort (see the module's notes)."""
    return gr.Gallery(selected_index=None)


def unselect_if(changed: bool):
    """After a re-run for new filters: no thumbnail highlighted if the results changed."""
    return unselect() if changed else gr.skip()


def within(folder: str | None, since: str | None, until: str | None) -> str:
    """What a topic's photos are limited to, said after its name: the folder and dates the page's
    filters hold (a topic's cover counts all of its photos)."""
    limits = [f"{label} {value.strip()}" for label, value in (("in", folder), ("from", since), ("to", until))
              if value and value.strip()]
    return f", its photos {' '.join(limits)}" if limits else ""

