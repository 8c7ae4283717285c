"""The web app's event handlers: plain methods from widget values to widget values.

``Handlers`` holds the search engine (or none yet), the thumbnail cache and the re-index job.
Every method can be called from a test without a browser or a server. Library errors are
translated here, and only here, into what a page shows: a status line, a ``gr.Warning``, or a
``gr.Error`` for the API and for uploads that are not pictures.
"""

# No `from __future__ import annotations`: gr.api reads the API methods' return hints at run time.
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from clipsearch import (
    ClipSearchError,
    IndexNotFound,
    InvalidQuery,
    QueryTerm,
    SearchEngine,
    SearchFilter,
    Settings,
    UnreadableImage,
    parse_query,
    sort_date,
)
from clipsearch.bounded_decode import read_if_bounded
from clipsearch.query import check_terms
from clipsearch.region import Region, parse_region, query_picture

from .api_answers import photos_found, photos_like
from .api_refusals import refused
from .duplicates_view import caption, filled, similar_markdown, unfold
from .filters import MAX_K, api_filter, clamp_k, parse_filter, uncovered  # noqa: F401 - the names other modules import from here
from .markdown import describe_query, details_markdown, info_markdown, md, no_index_message
from .matches import (
    both_orders,
    in_view,
    status_line,
    strong_results,
    strong_status,
)
from .paths import local_path
from .refusals import NOT_A_PICTURE, NoIndexYet, NotAPicture, NotIndexed, NotInIndex, UnreadableUpload  # noqa: F401 - as above
from .reindex import ReindexJob
from .textui import clicked, keeps
from .thumbnails import PREVIEW_SIZE, ThumbnailCache

log = logging.getLogger(__name__)

DEFAULT_K = 40
MAX_FOLDER_CHOICES = 500
ALL_FOLDERS = ""
SORT_RELEVANCE = "relevance"
SORT_DATE = "date (newest first)"

Results = list[dict[str, Any]]
GalleryItems = list[tuple[str, str]]
PART_HINT = "\n\n*Drag a box on the preview to find photos like that part of it.*"


class Handlers:
    """Everything the page's events call, bound to one engine and its settings."""

    def __init__(self, engine: SearchEngine | None, settings: Settings,
                 model_overrides: dict[str, Any] | None = None,
                 open_engine: Callable[[], SearchEngine] | None = None) -> None:
        self.settings = settings
        overrides = model_overrides or {}
        # How to open the index once it appears (tests inject one with a fake encoder).
        self.open_engine = open_engine or (lambda: SearchEngine.for_reading(settings, **overrides))
        self.thumbs = ThumbnailCache(settings.cache_dir, settings.max_pixels, timeout=settings.file_timeout)
        self.job = ReindexJob(settings)
        self._engine = engine
        self._engine_lock = threading.Lock()
        self._folders_cache: tuple[tuple, list[str]] | None = None
        self.originals = False  # python -m webui --originals: indexed photos are handed out whole
        self.duplicates_view = None  # the page's Duplicates panel, where built: GET /api/duplicates reuses its pass

    # --- the engine ----------------------------------------------------------------------------
    def engine(self) -> SearchEngine:
        """The engine, up to date with the index on disk; loads it when an index has appeared, and
        anew, with that index's own model as at the start, where one of another model replaced it
        (``index_watch``: every search said "built with another model" until a restart)."""
        engine = self._engine
        changed = engine is not None and engine.reload_if_changed()
        with self._engine_lock:  # one load for every request that saw it replaced
            if self._engine is None or self._engine.replaced_by_another_model():
                try:
                    self._engine = self.open_engine()
                except IndexNotFound:
                    raise NoIndexYet(no_index_message(self.settings)) from None
                log.info("found an index in %s; model loaded", self.settings.index_dir)
            engine = self._engine
        # When the index changed, drop thumbnails of photos that left it (now and then, not per batch).
        self.thumbs.prune_when_due(lambda: [*engine.records(), *engine.video_records()], changed)
        return engine

    def _is_indexed(self, engine: SearchEngine, path: str) -> bool:
        return engine.record(path) is not None

    def indexed_picture(self, path: str, size: int, region: Region | None = None) -> str | None:
        """A JPEG of the indexed photo at ``path`` (or its ``region``), at most ``size`` px, in the
        thumbnail cache (the one folder Gradio may serve); None where the photo cannot be read now.
        ``NotIndexed`` for a path the index does not hold: no other file is ever opened."""
        record = self.engine().record(path) if path else None
        if record is None:
            raise NotIndexed(path)
        thumbs = self.thumbs
        picture = (thumbs.get_part(record.path, region, size) if region is not None else
                   thumbs.get(record.path, size, (record.mtime_ns, record.size)))  # kept if not on disk
        return None if picture == thumbs.placeholder() else picture

    # --- searching -------------------------------------------------------------------------------
    def query(self, text: str | None, image: str | None, k: int, where: SearchFilter | None = None,
              fold: bool = True, region: str | None = None, then: Callable | None = None,
              ranked: bool | None = False) -> Results:
        """Run the combined query (``terms``); ``fold``: near-duplicates under the first of them (the
        page), or a flat list (the API); ``then(find)`` after it, on its thread, where ``find()``
        finds the moments of the same search in videos, with the vectors it embedded (the page's).
        ``ranked``: a composite query's plain ranking, for a flat cut-off to filter (``engine.search``);
        None: both orders (the page's slider may move later: ``matches.both_orders``)."""
        terms = self.terms(text, image, region)
        engine = self.engine()
        results = _listed(engine, lambda n: engine.search(terms, k=n, where=where, ranked=bool(ranked)), k, fold)
        if ranked is None and len(terms) > 1:
            results = both_orders(results, _listed(engine, lambda n: engine.search(terms, k=n, where=where,
                                                                                   ranked=True), k, fold))
        if then is not None:
            then(lambda: engine.moments(terms, k=clamp_k(k), where=where))
        return results

    def terms(self, text: str | None, image: str | None, region: str | None = None) -> list[QueryTerm]:
        """A query's terms: the words, and the uploaded image (or its ``region``) as one more term."""
        terms, part = parse_query(text or ""), parse_region(region)
        if image:
            check_terms([*terms, QueryTerm(1.0, image=image)])  # the picture is one term: past the limit, not decoded
            terms.append(QueryTerm(1.0, image=self._load_upload(image, part)))
        elif part is not None:
            raise InvalidQuery("a region is a part of a picture: give the picture too")
        if not terms:
            raise InvalidQuery("type some words or drop a photo to search")
        return terms

    def similar_to(self, path: str, k: int, where: SearchFilter | None = None, fold: bool = True,
                   region: str | None = None, then: Callable | None = None) -> Results:
        """Indexed photos like the indexed photo at ``path`` (or its ``region``); any other path is
        refused; ``then`` as ``query``'s."""
        engine = self.engine()
        path = local_path(path or "")  # as the web showed it (paths.py)
        if not path or not self._is_indexed(engine, path):
            raise NotInIndex()
        path, part = os.path.abspath(path), parse_region(region)
        results = _listed(engine, lambda n: engine.similar(path, k=n, where=where, region=part), k, fold)
        if then is not None:
            then(lambda: engine.similar_moments(path, k=clamp_k(k), where=where, region=part))
        return results

    def _load_upload(self, path: str, region: Region | None = None):
        size = self._engine.encoder.input_size if self._engine is not None else None  # JPEG draft decode
        try:
            if isinstance(path, UnreadableUpload):
                raise UnreadableImage("the uploaded file", path.reason)
            source = read_if_bounded(path) if self._written_here(path) else path  # decoded here, no thread
            return query_picture(source, region, size, path="the uploaded file", max_pixels=self.settings.max_pixels,
                                 timeout=self.settings.file_timeout)
        except UnreadableImage as exc:
            log.warning("refused an uploaded query file: %s", exc.reason)  # one line, no traceback
            raise NotAPicture(f"The uploaded file {NOT_A_PICTURE} ({exc.reason}).") from None

    def _written_here(self, path: str) -> bool:
        """Whether a query picture is a file this server wrote on its own disk (an upload, or a
        thumbnail of an indexed photo), never a library's file on a disk that may hang."""
        folders = (get_upload_folder(), str(self.thumbs.root))
        return any(os.path.abspath(path).startswith(os.path.join(os.path.abspath(f), "")) for f in folders)

    # --- UI events -------------------------------------------------------------------------------
    def search(self, text: str | None, image: str | None, k: float, min_score: float, sort: str,
               folder: str | None, date_from: str | None, date_to: str | None, strong_only: bool = False,
               region: str | None = None, name: str | None = None, then: Callable | None = None):
        """The search box / drop zone (``region``: a part of its photo; ``name``: the photo's, for the
        status line, where it is one of the library's; ``then``: ``query``'s): returns (gallery,
        results, shown, status, banner)."""
        return self._ui_run(lambda where: self.query(text, image, k, where, region=region, then=then, ranked=None),
                            (min_score, sort, strong_only), folder, date_from, date_to,
                            describe_query(text, image, bool(region), name))

    def find_similar(self, selected: str | None, k: float, min_score: float, sort: str, folder: str | None,
                     date_from: str | None, date_to: str | None, strong_only: bool = False, region: str | None = None,
                     then: Callable | None = None):
        """The "find similar" button, for the selected result (``region``: a box drawn on its preview):
        same outputs as ``search``."""
        if not selected:  # said once, in the status line (no toast besides)
            return gr.skip(), gr.skip(), gr.skip(), "Click a result first, then find photos like it.", gr.skip()
        return self._ui_run(lambda where: self.similar_to(selected, k, where, region=region, then=then),
                            (min_score, sort, strong_only), folder, date_from, date_to, similar_what(selected, region))

    def _ui_run(self, run, view, folder, date_from, date_to, what: str):
        started = time.perf_counter()
        try:
            results = run(where := parse_filter(folder, date_from, date_to))
        except NoIndexYet as exc:
            return [], [], [], "No index to search yet.", gr.update(value=str(exc), visible=True)
        except (NotAPicture, NotInIndex) as exc:  # on the page: the status line says it (no error badge, no toast)
            return gr.skip(), gr.skip(), gr.skip(), f"⚠️ {md(exc.message)}", gr.update(visible=False)
        except gr.Error:  # a ValueError too: let it through as it is
            raise
        except (InvalidQuery, ValueError) as exc:  # said once, in the status line (no toast besides)
            return gr.skip(), gr.skip(), gr.skip(), f"⚠️ {md(str(exc))}", gr.update(visible=False)
        except IndexNotFound as exc:  # deleted while the app runs (clipsearch.index_watch): no result stays
            return [], [], [], f"⚠️ {md(str(exc))}.", gr.update(visible=False)
        except ClipSearchError as exc:
            raise refused(exc) from None
        elapsed = time.perf_counter() - started
        gallery, shown, status = self.render(results, *view)
        if outside := uncovered(self.engine, results, where):
            status = f"No results: {md(outside)}."  # a folder typed by hand, not one of the choices
        return gallery, results, shown, f"{status} · {md(what)} · {elapsed * 1000:.0f} ms", gr.update(visible=False)

    def render(self, results: Results, min_score: float, sort: str,
               strong_only: bool = False) -> tuple[GalleryItems, Results, str]:
        """Apply the cut-offs (``strong_only``: the automatic one) and the sort order."""
        cut = float(min_score or 0.0)
        results = in_view(results or [], cut)  # a composite query's: its plain ranking under a flat cut-off
        if strong_only and results:
            strong = strong_results(results)  # the weaker ones the flat cut-off hides stay hidden unticked too
            weaker = sum(keeps(r, cut) for r in results if not r.get("strong", True))
            return strong_status(self.render(strong, min_score, sort), len(strong), weaker)
        shown = [r for r in results if keeps(r, cut)]
        if sort == SORT_DATE:
            shown.sort(key=lambda r: r["sort_date"], reverse=True)
        try:
            thumbs = self.thumbs.get_many([r["path"] for r in shown], known=[_known(r) for r in shown])
        except OSError as exc:  # not even the placeholder could be saved (a disk full from the start)
            return [], shown, f"{status_line(results, shown, cut)} · ⚠️ no thumbnails: {md(str(exc))}"
        gallery = [(t, caption(r)) for t, r in zip(thumbs, shown, strict=True)]
        trouble = f" · ⚠️ {md(self.thumbs.write_error)}" if self.thumbs.write_error else ""  # a full disk, say
        return gallery, shown, status_line(results, shown, cut) + trouble

    def refilter(self, results: Results, min_score: float, sort: str, strong_only: bool = False):
        """The cut-offs and sort order, applied to the last results without searching again."""
        gallery, shown, status = self.render(results, min_score, sort, strong_only)
        return gallery, shown, status

    def select(self, shown: Results, evt: gr.SelectData):
        """A click on a result: (preview image, details markdown, selected path)."""
        index = evt.index if isinstance(evt.index, int) else (evt.index or [0])[0]
        result = clicked(shown or [], index, getattr(evt, "value", None))
        if result is None:
            return None, "", None
        preview = self.thumbs.get(result["path"], PREVIEW_SIZE, _known(result))
        details = details_markdown(result, download=self.originals)
        return preview, details + similar_markdown(result) + PART_HINT, result["path"]

    # --- the index panel -------------------------------------------------------------------------
    def index_panel(self):
        """(info markdown, no-index banner, folder choices): on page load and "Check again"."""
        nothing = gr.update(choices=[("All folders", ALL_FOLDERS)])
        try:
            engine = self.engine()
            choices = [("All folders", ALL_FOLDERS)] + [(f, f) for f in self.folder_choices(engine)]
            info = info_markdown(engine.info())
        except NoIndexYet as exc:
            return "No index yet.", gr.update(value=str(exc), visible=True), nothing
        except IndexNotFound as exc:  # deleted while the app runs (clipsearch.index_watch)
            return "No index now.", gr.update(value=f"⚠️ {md(str(exc))}.", visible=True), nothing
        except ClipSearchError as exc:
            return f"The index cannot be opened: {md(str(exc))}", gr.update(visible=False), gr.update()
        return info, gr.update(visible=False), gr.update(choices=choices)

    def folder_choices(self, engine: SearchEngine) -> list[str]:
        """The indexed folders and the folders below them that hold photos (at most 500)."""
        info = engine.info()  # an index built again in its place may be at the same generation
        generation = (info.get("generation", 0), info.get("last_indexed"), info.get("last_checked"))
        if self._folders_cache and self._folders_cache[0] == generation:
            return self._folders_cache[1]
        roots = engine.folders()
        found = set(roots)
        for record in engine.records():
            folder = os.path.dirname(record.path)
            while folder not in found and any(folder.startswith(os.path.join(r, "")) for r in roots):
                found.add(folder)
                folder = os.path.dirname(folder)
            if len(found) >= MAX_FOLDER_CHOICES:
                break
        choices = sorted(found)
        self._folders_cache = (generation, choices)
        return choices

    def start_reindex(self):
        """The re-index button: (job status markdown, timer)."""
        try:
            engine = self.engine()
        except NoIndexYet:
            gr.Warning("There is no index to update yet: build one with the indexer first.")
            return "No index yet.", gr.Timer(active=False)
        folders = engine.folders()
        if not folders:
            gr.Warning("The index records no folders to re-index.")
            return "The index records no folders.", gr.Timer(active=False)
        if not self.job.start(engine, folders):
            gr.Info("A re-index is already running.")
        return self.job.status.describe() or "Re-indexing...", gr.Timer(active=True)

    def stop_reindex(self) -> str:
        """The stop button: the job stops after the batch in flight."""
        if not self.job.status.running:
            return "No re-index is running."
        self.job.stop()
        return "Stopping after the current batch..."

    def poll_reindex(self):
        """The timer tick while a re-index runs: (status, index info, folder choices, timer)."""
        status = self.job.status
        if status.running:
            return status.describe(), gr.skip(), gr.skip(), gr.Timer(active=True)
        if status.error:
            gr.Warning(status.error)
        info, _, folders = self.index_panel()
        return status.describe(), info, folders, gr.Timer(active=False)

    # --- API endpoints ---------------------------------------------------------------------------
    def api_search_text(self, text: str, k: int = 20, min_score: float = 0.0, folder: str = "",
                        since: str = "", until: str = "") -> list[dict]:
        """Photos matching a text query, best first, as JSON records (min_score: see api_cut), in
        ``folder`` and the dates given (``api_filter``); ``api_answers.photos_found`` also says why none."""
        return photos_found(self, text if isinstance(text, str) else str(text or ""), None, k, min_score,
                            folder, since, until)[0]

    def api_search_image(self, image: str | None, k: float = 20, min_score: float = 0.0, folder: str = "",
                         since: str = "", until: str = "", region: str = "") -> list[dict]:
        """Photos that look like an uploaded picture (or its ``region``), best first, as JSON records
        (as ``api_search_text``)."""
        return photos_found(self, None, image, k, min_score, folder, since, until, region, by_image=True)[0]

    def api_similar(self, path: str, k: int = 20, folder: str = "", since: str = "", until: str = "",
                    region: str = "") -> list[dict]:
        """Indexed photos like the indexed photo at ``path`` (other paths are refused), or like its
        ``region``, in ``folder`` and the dates given."""
        return photos_like(self, path, k, folder, since, until, region)[0]

    def _api(self, run) -> Results:
        try:
            results = run()
        except (NoIndexYet, ClipSearchError, ValueError) as exc:  # a gr.Error (a ValueError) goes as it is
            raise refused(exc, self.settings.index_dir) from None
        return [api_record(r) for r in unfold(results)]  # the API lists every result, as it always did

    def close(self) -> None:
        self.job.stop()
        self.thumbs.close()


# --- helpers ---------------------------------------------------------------------------------------
def similar_what(path: str | None, region: str | None = None) -> str:
    """What the status line says a Find similar searched for."""
    return f"photos like {'a part of ' if region else ''}{os.path.basename(path or '')}"


def _listed(engine: SearchEngine, find: Callable[[int], list], k: float, fold: bool) -> Results:
    """The hits ``find(n)`` gives for ``k`` as result dicts: the API's flat list (every result; no
    vector or pixels read to fold one), or the page's ``k``, near-duplicates folded under (``filled``)."""
    return filled(engine, find, clamp_k(k), _result_dict) if fold else [_result_dict(h) for h in find(clamp_k(k))]


def _result_dict(hit) -> dict[str, Any]:
    out = hit.to_dict()
    out["name"] = os.path.basename(hit.path)
    out["sort_date"] = sort_date(hit)
    return out


def _known(result: dict[str, Any]) -> tuple[int, int]:
    """What the index recorded of a result's file (its thumbnails' key, when it is not on disk)."""
    return result["mtime_ns"], result["size"]


def api_record(result: dict[str, Any]) -> dict[str, Any]:
    """A result as the API returns it: the photo's path is under "file", not "path".

    gradio_client takes every dict with a string "path" for a file to download, and would try
    (and, rightly, fail) to fetch the original photo.
    """
    out = {"file": result["path"]}
    out.update((key, value) for key, value in result.items() if key not in ("path", "sort_date"))
    return out


