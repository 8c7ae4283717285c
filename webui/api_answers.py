"""The photos the API answers, and why an answer is empty, said alike on every front.

REST's answer carries a ``note`` where its list is empty: the index holds no photo in that folder
(and what it covers), no indexed photo is in that folder and date range, or ``min_score`` kept none
of the photos found (and how high the best scored). ``outside`` and ``none_kept`` make those notes;
REST (``rest.py``) and the named endpoints and MCP tools (``tools.py``, through the searches here,
which ``Handlers.api_search_text`` and its kin also run) share them.

The named endpoints and the MCP tools are the same functions. The call API's answer stays the bare
list that scripts read (an empty one too: webui/API.md); an MCP tool's empty answer says why beside
it: ``for_caller`` hands the MCP server ``[{"note": NOTE}]``, which it says as two texts, the empty
list ``[]`` and then the note (``install``), so a client that reads the first text reads what it did.
"""

from __future__ import annotations

import functools
from typing import Any

from clipsearch import ClipSearchError, SearchFilter
from clipsearch.saved import SavedSearches

from .api_refusals import Refused, refused
from .behind_proxy import MCP_PREFIX
from .filters import api_filter, clamp_k, uncovered
from .matches import api_cut, checked_min_score

Results = list[dict[str, Any]]
Answer = tuple[Results, str | None]  # the records, and why there are none (None: there are, or no reason)
MCP_USER = "mcp"  # the x-gradio-user of the client Gradio's MCP server calls a tool with (and rest.give_mcp_a_session's)


# --- why an answer is empty (REST's note) ------------------------------------------------------------
def outside(handlers: Any, hits: list, where: Any, videos: list | None = None, of: str = "indexed photo") -> dict:
    """The answer's ``note`` where a folder filter found nothing because the index covers no photo in
    that folder (``filters.uncovered``, as the page's status line says it), else no such key: a script
    or an assistant is told why, not left with an empty list; and where a folder or dates the index
    covers hold no photo (``of``: a topic's), that, as the command line says it (no photo result, where
    ``videos``, the moments kept, hold one). ``handlers``: the app's (``Handlers``), whose engine
    ``uncovered`` asks only where a folder filter found nothing."""
    why = uncovered(handlers.engine, hits, where)
    if not why and not hits and where is not None:
        why = f"no {of} is in that folder and date range"
    if why and videos:
        return {"note": f"No photo results: {why}; the videos' matching moments are in moments"}
    return {"note": f"No results: {why}"} if why else {}


def none_kept(hits: list, results: list, cut: float) -> dict:
    """The answer's ``note`` where ``min_score`` (``cut``) kept none of the photos found (``hits``:
    results, or their records), as the page's status line and the command line say it: how high
    the best scored, and what lists them."""
    if not hits or results or cut == 0:
        return {}
    best = max(hit["score"] if isinstance(hit, dict) else hit.score for hit in hits)
    if cut > 0:
        return {"note": f"No result scores {cut:g} or more (the best scored {best:.3f}): a lower min_score, "
                        "or 0, lists them"}
    return {"note": f"No strong match (the best scored {best:.3f}): min_score=0 lists all k, each marked strong or not"}


def _answer(handlers: Any, hits: Results, where: SearchFilter | None, cut: float, of: str = "indexed photo") -> Answer:
    """The records ``cut`` keeps of ``hits`` (``api_cut``), and the note REST gives an empty answer."""
    results = api_cut(hits, cut)
    if results:
        return results, None
    note = {**outside(handlers, hits, where, of=of), **none_kept(hits, results, cut)}
    return results, note.get("note")


def _filter(handlers: Any, folder: str, since: str, until: str) -> SearchFilter | None:
    """``api_filter``, a wrong folder or date refused as every API call refuses it."""
    try:
        return api_filter(folder, since, until)
    except ValueError as exc:
        raise refused(exc, handlers.settings.index_dir) from None


# --- the searches of the named endpoints and the MCP tools -------------------------------------------
def photos_found(handlers: Any, text: str | None, image: str | None, k: Any, min_score: Any, folder: str = "",
                 since: str = "", until: str = "", region: str = "", by_image: bool = False) -> Answer:
    """``/search_text`` (``text``), ``/search_image`` (``by_image``: its ``image``, or ``region``):
    the records ``min_score`` keeps (a flat one filters the plain ranking), and why there are none."""
    if by_image and not image:
        raise Refused("Send a picture file.")
    cut = checked_min_score(min_score)
    where = _filter(handlers, folder, since, until)
    hits = handlers._api(lambda: handlers.query(text, image, k, where, fold=False, region=region or None,
                                                ranked=cut > 0))
    return _answer(handlers, hits, where, cut)


def photos_like(handlers: Any, path: str, k: Any, folder: str = "", since: str = "", until: str = "",
                region: str = "") -> Answer:
    """``/similar``: indexed photos like the indexed photo at ``path`` (or its ``region``), and why there are none."""
    where = _filter(handlers, folder, since, until)
    hits = handlers._api(lambda: handlers.similar_to(str(path or ""), k, where, fold=False, region=region))
    return _answer(handlers, hits, where, 0.0)


def saved_run(handlers: Any, name: str, k: Any, min_score: Any) -> Answer:
    """``run_saved_search``: the saved search ``name`` run as saved, and why it found none; a
    ``gr.Error`` for a name none is saved under."""
    try:
        kept = SavedSearches(handlers.settings.index_dir).get(str(name or ""))
    except ClipSearchError as exc:
        raise refused(exc, handlers.settings.index_dir) from None
    if kept is None:
        raise Refused(f"No saved search is called {name!r}: saved_searches lists them by name.")
    photo, cut = kept.photo_path(handlers.settings.index_dir), checked_min_score(min_score)
    try:
        where = kept.where()
    except (ClipSearchError, ValueError) as exc:
        raise refused(exc, handlers.settings.index_dir) from None
    hits = handlers._api(lambda: handlers.query(kept.runnable().query, photo, k, where, fold=False,
                                                region=kept.region, ranked=cut > 0))
    return _answer(handlers, hits, where, cut)


def topic_photos(handlers: Any, name: str, k: Any, folder: str = "", since: str = "", until: str = "") -> Answer:
    """``photos_of_topic``: a search's records for the photos of the topic ``name``, and why there are none."""
    from .handlers import _result_dict  # handlers imports this module

    where = _filter(handlers, folder, since, until)
    hits = handlers._api(lambda: [_result_dict(hit) for hit in handlers.engine().topic_photos(
        str(name or ""), limit=clamp_k(k), where=where)])
    return _answer(handlers, hits, where, 0.0, of="photo of that topic")


# --- the note, for an MCP tool's caller ---------------------------------------------------------------
def for_caller(results: Results, note: str | None, request: Any) -> Results:
    """``results`` as the caller gets them: to an MCP tool's, an empty answer with its note as
    ``[{"note": NOTE}]`` (``install``: the MCP server says it as ``[]`` and then the note); to a
    script of the call API, the bare list, as always."""
    return [{"note": note}] if note and not results and _from_mcp(request) else results


def _from_mcp(request: Any) -> bool:
    """Whether a named endpoint runs as an MCP tool: Gradio's MCP server calls a queued one through
    a client of its own that says so (``x-gradio-user``), and runs another in its own request."""
    request = getattr(request, "request", request)  # a gr.Request, or what it wraps
    headers = getattr(request, "headers", None) or {}
    path = str(getattr(getattr(request, "url", None), "path", "") or "")
    return headers.get("x-gradio-user") == MCP_USER or path.startswith(MCP_PREFIX)


def _is_note(output: Any) -> bool:
    return (isinstance(output, list) and len(output) == 1 and isinstance(output[0], dict)
            and set(output[0]) == {"note"} and isinstance(output[0]["note"], str))


def install() -> bool:
    """Have Gradio's MCP server say a tool's ``[{"note": NOTE}]`` as two texts: ``[]``, the list the
    tool found, then NOTE. False where Gradio's MCP server is not there, or has no such step (an
    assistant then reads the note in the list)."""
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:
        return False
    original = getattr(GradioMCPServer, "postprocess_output_data", None)
    if original is None or getattr(original, "_says_notes", False):
        return original is not None

    @functools.wraps(original)
    def postprocess_output_data(self: Any, data: Any, root_url: str) -> list:
        notes = [output[0]["note"] for output in data if _is_note(output)] if isinstance(data, list) else []
        if not notes:
            return original(self, data, root_url)
        content = original(self, [[] if _is_note(output) else output for output in data], root_url)
        return content + [self.types.TextContent(type="text", text=note) for note in notes]

    postprocess_output_data._says_notes = True  # type: ignore[attr-defined]
    GradioMCPServer.postprocess_output_data = postprocess_output_data
    return True
