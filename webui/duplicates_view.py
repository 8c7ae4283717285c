"""The Duplicates view, the ``/duplicates`` endpoint, and near-duplicates folded in results.

The view lists groups of photos that are the same shot (or, when asked, frames of one burst),
the best copy first, with thumbnails, sizes and dates, and offers the list as JSON or CSV. It
never deletes or moves a file: what to do with the copies is the user's decision.
"""

# No `from __future__ import annotations`: gr.api reads the API methods' return hints at run time.
import csv
import html
import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from clipsearch import ClipSearchError
from clipsearch.reports import counted

from .api_refusals import refused
from .filters import MAX_K
from .markdown import md
from .paths import file_url, web_safe

log = logging.getLogger(__name__)

MAX_GROUPS_SHOWN = 200  # the page lists this many groups; the exports hold them all
CSV_COLUMNS = ["group", "kind", "rank", "path", "width", "height", "size", "date_taken", "modified", "similarity",
               "exists"]
INTRO = (
    "Photos that are the **same shot**: resized, re-encoded, lightly cropped or brightened, or "
    "rotated copies. The best copy (on disk now, then most pixels, then oldest, then a PNG, TIFF or RAW "
    "file before a JPEG, then largest file) comes first. "
    "Nothing is deleted or moved: download the list and decide yourself."
)
CSS = """
#duplicate-groups .dup-group { margin: 0 0 1rem 0; }
#duplicate-groups .dup-row { display: flex; flex-wrap: wrap; gap: 8px; }
#duplicate-groups figure { margin: 0; width: 168px; font-size: 0.75rem; }
#duplicate-groups figcaption { overflow-wrap: anywhere; }  /* a name with no space ran over the next card */
#duplicate-groups img { width: 160px; height: 120px; object-fit: contain;
  background: var(--background-fill-secondary); }  /* the theme's: a light band was glaring in dark mode */
#duplicate-groups .best { outline: 3px solid var(--color-accent); }
"""
# Before a run (and after one that found none) the status, the downloads' row and the groups are empty,
# yet each kept its place and the column's gap around it: a band as tall as the button under it, on a
# phone and on a desktop alike. Each is left out while empty and no run is on its way (its progress
# shows in the groups' place).
CSS += """
#duplicates-status:has(> [data-testid=status-tracker].hide):has(.md:empty),
#duplicate-groups:has(> [data-testid=status-tracker].hide):not(:has(.dup-group)),
#duplicates-downloads:not(:has(button)) { display: none; }
"""


class DuplicatesView:
    """Handlers of the view and the endpoint, over the app's ``Handlers`` (engine, thumbnails)."""

    def __init__(self, handlers) -> None:
        self.handlers = handlers
        self._last: tuple[tuple[int, bool], list] | None = None
        self._lock = threading.Lock()
        self.exports = Exports()

    def groups(self, bursts: bool, progress=None) -> list[dict]:
        """Every group as JSON-ready dicts; the last pass is reused while the index is unchanged, each
        group's best copy and what is on disk looked at anew (a file deleted or put back since)."""
        engine = self.handlers.engine()
        key = (engine.info().get("generation", 0), bool(bursts))
        with self._lock:
            if not (self._last and self._last[0] == key):
                self._last = (key, engine.duplicates(bursts=bool(bursts), progress=progress).groups)
            found = self._last[1]
        return [group.as_now().to_dict() for group in found]

    # --- the page ----------------------------------------------------------------------------------
    def find(self, bursts: bool, progress=gr.Progress()):
        """The "Find duplicates" button: (status, groups HTML, JSON download, CSV download)."""
        from .handlers import NoIndexYet

        phases = {"neighbours": "Comparing photos", "pixels": "Checking pixels"}

        def report(p) -> None:
            progress((p.done, p.total), desc=phases.get(p.phase, p.phase), unit="photos")

        started = time.perf_counter()
        try:
            found = self.groups(bursts, report)
        except NoIndexYet:
            return "No index yet.", "", gr.update(visible=False), gr.update(visible=False)
        except ClipSearchError as exc:
            raise refused(exc) from None
        elapsed = time.perf_counter() - started
        if not found:
            what = "bursts or duplicates" if bursts else "duplicates"
            return (f"No {what} found ({elapsed:.1f} s).", "", gr.update(visible=False),
                    gr.update(visible=False))
        photos = sum(len(g["paths"]) for g in found)
        status = f"{counted(len(found), 'group')}, {counted(photos, 'photo')} ({elapsed:.1f} s)."
        if len(found) > MAX_GROUPS_SHOWN:
            status += f" The first {MAX_GROUPS_SHOWN} are shown; the downloads hold all."
        json_path, csv_path = write_exports(found, self.exports.fresh())
        return (status, self.groups_html(found[:MAX_GROUPS_SHOWN]),
                gr.update(value=json_path, visible=True), gr.update(value=csv_path, visible=True))

    def groups_html(self, groups: list[dict]) -> str:
        """Cards of each group's photos: thumbnail, name, pixels, file size, date."""
        paths = [p["path"] for g in groups for p in g["photos"]]
        thumbs = dict(zip(paths, self.handlers.thumbs.get_many(paths)))
        parts = []
        for number, group in enumerate(groups, 1):
            kind = "burst" if group["kind"] == "burst" else "same shot"
            cards = []
            for rank, photo in enumerate(group["photos"]):
                when = (photo["date_taken"] or photo["modified"] or "").replace("T", " ")
                label = "best copy · " if rank == 0 else ""
                cards.append(
                    f'<figure class="dup-photo"><img class="{"best" if rank == 0 else ""}" alt="" '
                    f'src="{html.escape(file_url(thumbs[photo["path"]]))}">'
                    f'<figcaption><b>{label}{html.escape(os.path.basename(photo["path"]))}</b><br>'
                    f'{photo["width"]} × {photo["height"]} px · {human_size(photo["size"])}<br>'
                    f'{html.escape(when)}<br><span title="{html.escape(photo["path"])}">'
                    f'{html.escape(os.path.dirname(photo["path"]))}</span>'
                    f'{"" if photo.get("exists", True) else "<br><i>not on disk now</i>"}</figcaption></figure>'
                )
            parts.append(f'<div class="dup-group" data-kind="{group["kind"]}"><h4>Group {number} · {kind} · '
                         f'{counted(len(cards), "photo")}</h4><div class="dup-row">{"".join(cards)}</div></div>')
        return "\n".join(parts)

    # --- the endpoint ------------------------------------------------------------------------------
    def api_duplicates(self, bursts: bool = False, request: gr.Request = None) -> list[dict]:
        """Groups of indexed photos that are the same shot (with ``bursts``, frames of one moment).

        Each group: {"kind", "paths" (best first), "photos": [{"file", "size", "width", "height",
        "date_taken", "modified", "similarity", "exists", "thumbnail"}]}; "thumbnail" is the URL of a
        small JPEG of the photo.
        """
        from .handlers import NoIndexYet

        try:
            return self.listed(bool(bursts), getattr(request, "request", request))
        except (NoIndexYet, ClipSearchError) as exc:
            raise refused(exc, self.handlers.settings.index_dir) from None

    def listed(self, bursts: bool, request: Any) -> list[dict]:
        """Every group as the APIs answer it (``/duplicates``, the MCP tool, ``GET /api/duplicates``):
        each photo's path under "file" (gradio_client downloads every dict with a "path"), with the
        URL of its thumbnail as ``request`` reached the app."""
        from .rest import with_thumbnails  # here: rest imports handlers, which import this module

        return [{**g, "photos": with_thumbnails(g["photos"], request)} for g in self.groups(bursts)]


def build_duplicates_view(handlers) -> DuplicatesView:
    """The Duplicates panel (inside the page's Blocks) and the ``/duplicates`` endpoint."""
    view = DuplicatesView(handlers)
    handlers.duplicates_view = view  # GET /api/duplicates reuses its last pass (webui/rest.py)
    busy = {"concurrency_id": "duplicates", "concurrency_limit": 1}
    with gr.Accordion("Duplicates", open=False, elem_id="duplicates-panel"):
        gr.Markdown(INTRO)
        with gr.Row():
            bursts = gr.Checkbox(False, label="Also group bursts (several frames of one moment)",
                                 elem_id="duplicates-bursts", scale=2)
            find = gr.Button("Find duplicates", variant="secondary", elem_id="find-duplicates", scale=0,
                             min_width=180)
        status = gr.Markdown("", elem_id="duplicates-status")
        with gr.Row(elem_id="duplicates-downloads"):
            json_file = gr.DownloadButton("Download list (JSON)", visible=False, elem_id="duplicates-json",
                                          size="sm", scale=0)
            csv_file = gr.DownloadButton("Download list (CSV)", visible=False, elem_id="duplicates-csv",
                                         size="sm", scale=0)
        groups = gr.HTML("", elem_id="duplicate-groups")
    find.click(view.find, [bursts], [status, groups, json_file, csv_file], api_visibility="private", **busy)
    gr.api(view.api_duplicates, api_name="duplicates", **busy)
    return view


class Exports:
    """Where the view writes its downloads: one folder for the server's life, made at the first
    list, holding the last ``KEEP`` lists (Gradio serves copies of its own, which it deletes as it
    deletes uploads), and deleted with the view or at the process's end. Each list had a temporary
    folder of its own before, never deleted: a server's lists of the user's paths piled up there."""

    KEEP = 2  # the one just made, and the one before, in case Gradio has not copied it yet

    def __init__(self) -> None:
        self.folder: Path | None = None
        self._made = 0
        self._lock = threading.Lock()
        self._remove = None

    def fresh(self) -> Path:
        """An empty folder for the next list; the lists before the last ``KEEP - 1`` are deleted."""
        with self._lock:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="clipsearch-duplicates-"))
                self._remove = weakref.finalize(self, shutil.rmtree, self.folder, True)
            self._made += 1
            for old in self.folder.iterdir():
                if old.name.isdigit() and int(old.name) <= self._made - self.KEEP:
                    shutil.rmtree(old, ignore_errors=True)
            fresh = self.folder / str(self._made)
            fresh.mkdir()
            return fresh

    def close(self) -> None:
        """Delete the folder and every list in it now (it goes at the process's end otherwise)."""
        if self._remove is not None:
            self._remove()


def write_exports(groups: list[dict], folder: str | os.PathLike) -> tuple[str, str]:
    """The groups as a JSON and a CSV file in ``folder`` (Gradio serves them); a name that is not
    UTF-8 shows its odd bytes as \\xNN, as the page and the API do (paths.py)."""
    groups = web_safe(groups)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    json_path = os.path.join(folder, f"duplicates-{stamp}.json")
    with open(json_path, "w", encoding="utf-8") as out:
        json.dump(groups, out, ensure_ascii=False, indent=1)
    csv_path = os.path.join(folder, f"duplicates-{stamp}.csv")
    with open(csv_path, "w", encoding="utf-8", newline="") as out:
        out.write(groups_csv(groups))
    return json_path, csv_path


def groups_csv(groups: list[dict]) -> str:
    """One row per photo: its group number, the group's kind, its rank (0 = best copy)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for number, group in enumerate(groups, 1):
        for rank, photo in enumerate(group["photos"]):
            writer.writerow({**photo, "group": number, "kind": group["kind"], "rank": rank})
    return buffer.getvalue()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


# --- folding near-duplicates inside a result list ---------------------------------------------------
def folded_results(engine, hits, to_dict) -> list[dict[str, Any]]:
    """Results as dicts, near-duplicates folded: each kept result lists the others under "similar"."""
    try:
        folded = engine.fold(hits)
    except ClipSearchError as exc:  # folding is a nicety: never lose the results over it
        log.warning("could not fold near-duplicates: %s", exc)
        folded = [(hit, []) for hit in hits]
    out = []
    for head, under in folded:
        item = to_dict(head)
        item["similar"] = [to_dict(h) for h in under]
        out.append(item)
    return out


def filled(engine, find, k: int, to_dict) -> list[dict[str, Any]]:
    """``k`` results, near-duplicates folded under them, of the hits ``find(n)`` gives (best first):
    "How many" 10 showed 8 where two copies folded away. Copies folded from the first ``k`` hits,
    more are asked until ``k`` are shown or none is left: a search's words and picture are not
    embedded again (``engine.search`` keeps its last terms' vectors; a part of a photo's Find similar
    reads it again), and the cut-off's decision, made on the best ``TOP_CANDIDATES``, is the same."""
    hits = find(k)
    results = folded_results(engine, hits, to_dict)
    asked = k
    while len(results) < k and len(hits) >= asked and asked < MAX_K:
        asked = min(MAX_K, asked + 2 * (k - len(results)))
        hits = find(asked)
        results = folded_results(engine, hits, to_dict)
    return results[:k]


def caption(result: dict[str, Any]) -> str:
    """The gallery's caption (``textui.caption``), whether the photo is on disk now (a disk not
    mounted keeps its photos in the index), and how many near-duplicates are folded under it,
    both after the score: at the end, a long name (a phone's) pushed them past the caption's three lines."""
    from .textui import caption as plain_caption

    score, _, rest = plain_caption(result).partition(" · ")
    similar = result.get("similar") or []
    score += f" (+{len(similar)} similar)" if similar else ""
    gone = "" if os.path.exists(result["path"]) else "not on disk now · "
    return f"{score} · {gone}{rest}"


def similar_markdown(result: dict[str, Any]) -> str:
    """The details panel's list of the near-duplicates folded under a result."""
    similar = result.get("similar") or []
    if not similar:
        return ""
    names = ", ".join(md(s["name"]) for s in similar)
    return f"\n\n**+{len(similar)} similar** (the same shot): {names}. Press **Open similar** to see them."


def open_similar(handlers, shown: list[dict], selected: str | None):
    """The "Open similar" button: the selected result and its folded copies, unfolded."""
    result = next((r for r in shown or [] if r["path"] == selected), None) if selected else None
    if result is None:  # said once, in the status line, as Find similar says it
        return gr.skip(), gr.skip(), "Click a result first, then open the near-duplicates folded under it."
    if not result.get("similar"):
        gr.Info("The selected photo has no near-duplicates folded under it.")
        return gr.skip(), gr.skip(), gr.skip()
    group = [{**result, "similar": []}] + [{**s, "similar": []} for s in result["similar"]]
    thumbs = handlers.thumbs.get_many([r["path"] for r in group])
    gallery = [(t, caption(r)) for t, r in zip(thumbs, group)]
    return gallery, group, opened_status(group)


def opened_status(group: list[dict[str, Any]]) -> str:
    """The status line of a result's near-duplicates opened (``open_similar``: the result first)."""
    return f"{md(group[0]['name'])} and {counted(len(group) - 1, 'near-duplicate')}"


def unfold(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Folded results back to one flat list, in their order, each followed by its folded copies.

    Not re-sorted by score: a query of several terms lists its strong results first (webui/API.md),
    and those need not score highest."""
    flat = []
    for result in results:
        flat.append({k: v for k, v in result.items() if k != "similar"})
        flat += [{k: v for k, v in s.items() if k != "similar"} for s in result.get("similar") or []]
    return flat
