"""The automatic relevance cut-off in the web app: which results show, and what the page says.

The engine marks each result ``strong`` (a match, by the cut-off of ``clipsearch.cutoff``) or
not; the page shows the strong ones by default and keeps the weaker ones one click away.
"""

from __future__ import annotations

import math
from typing import Any

from clipsearch.reports import counted

from .api_refusals import refused
from .textui import keeps

Results = list[dict[str, Any]]
UNTICK = "untick “Strong matches only” to see them"
NO_RESULTS = "No results."  # the status line of a search that found no photo
NO_STRONG = "No strong match"  # ... that found photos, none of them strong


def strong_results(results: Results) -> Results:
    return [r for r in results if r.get("strong", True)]


def strong_status(rendered: tuple[Any, Results, str], strong: int, weaker: int) -> tuple[Any, Results, str]:
    """(gallery, shown, status) of the strong results, with the status saying how many and what is hidden."""
    gallery, shown, status = rendered
    if len(shown) == strong:  # no flat cut-off hid any of them
        status = f"{strong} strong match{'es' * (strong != 1)}" if strong else NO_STRONG
    if weaker:
        status += f" · {weaker} weaker {'result' if weaker == 1 else 'results'} hidden: {UNTICK}"
    return gallery, shown, status


def api_min_score(raw: Any) -> float:
    """An API's ``min_score`` (REST, the named endpoints, MCP) as a number: "auto", as the command
    line says it, is -1 (the strong ones), none or empty 0 (all); a ``ValueError`` for anything else
    that is not a finite number (nan would hide every result, silently). "auto" reaches this from
    REST and the call API only: the MCP tools declare ``min_score`` a number, and MCP's own check
    of a call's arguments refuses "auto" before a tool runs ("'auto' is not of type 'number'"): -1 there."""
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return -1.0
    try:
        cut = float(raw) if raw not in (None, "") else 0.0
    except (TypeError, ValueError):
        cut = math.nan
    if not math.isfinite(cut):
        raise ValueError(f"min_score must be a number or auto, not {raw!r}")
    return cut


def checked_min_score(raw: Any) -> float:
    """``api_min_score`` for the named endpoints and MCP: a ``gr.Error`` for a wrong one."""
    try:
        return api_min_score(raw)
    except ValueError as exc:
        raise refused(exc) from None


def api_cut(results: Results, min_score: Any) -> Results:
    """The HTTP API's ``min_score``: 0 keeps all, above 0 a flat cut-off, below 0 the strong ones.
    A flat one filters the plain ranking: search with ``ranked=`` above 0 (``Handlers.query``)."""
    cut = checked_min_score(min_score)
    if cut < 0:
        return strong_results(results)
    return [r for r in results if keeps(r, cut)]  # a photo whose words match always stays


def status_line(results: Results, shown: Results, cut: float) -> str:
    """What the status line says about a search's results, before the query and its time."""
    if not results:
        return NO_RESULTS
    if not shown:
        return (f"No result scores {cut:.2f} or more (the best scored {results[0]['score']:.3f}): "
                f"lower the cut-off.")
    if len(shown) < len(results):
        return f"{len(shown)} of {len(results)} results score {cut:.2f} or more"
    return counted(len(results), "result")


def both_orders(listed: Results, ranked: Results) -> Results:
    """A composite query's results on the page, where the cut-off slider can move after the search:
    the automatic cut-off's list (strong first, ``k`` in all), then the photos of the plain ranking's
    top ``k`` that it lacks, each marked with its place in that ranking (``rank``; None: not in it)
    and whether the first list holds it (``listed``). ``in_view`` takes the one a cut-off shows."""
    place = {r["path"]: i for i, r in enumerate(ranked)}
    paths = {r["path"] for r in listed}
    return ([{**r, "rank": place.get(r["path"]), "listed": True} for r in listed]
            + [{**r, "rank": place[r["path"]], "listed": False} for r in ranked if r["path"] not in paths])


def in_view(results: Results, cut: float) -> Results:
    """The results a cut-off looks at: a flat one (above 0) the plain ranking's top ``k``, in its order,
    as ``clipsearch search --min-score 0.45`` filters it; else the list as the search gave it (a
    composite query's strong results first). Results of one order (``both_orders`` made none) as they are."""
    if not results or "rank" not in results[0]:
        return results
    if cut > 0:
        return sorted((r for r in results if r["rank"] is not None), key=lambda r: r["rank"])
    return [r for r in results if r["listed"]]
