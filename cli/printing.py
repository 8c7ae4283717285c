"""What ``clipsearch search`` prints: its hits and the videos' moments, as text for people or
one JSON array for scripts, and on stderr what was left out and why.

The hits come marked ``strong`` by the automatic cut-off whatever ``--min-score`` is, as REST's
answer marks them; ``--min-score`` only decides which are listed (``listed``), so a script
reading ``--min-score 0 --json`` still learns which of all ``k`` are matches.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from clipsearch import clock, sort_date

from . import flags
from .terminal import said, shown


def print_hits(hits: list, as_json: bool, cut: str | float | None = "auto", filtered: bool = False, why: str | None = None,
               fold: Callable[[list], list] | None = None, newest_first: bool = False, moments: list = ()) -> None:
    """JSON: every hit, marked ``strong`` or not, as the automatic cut-off marks it whatever ``cut``
    is (a flat cut-off lists only those it keeps, ``listed``). Text: the hits ``cut`` lists (the
    strong ones by default), and on stderr how many weaker ones ``--min-score 0`` would add, or why
    there are none (``why``).
    With ``fold`` (``SearchEngine.fold``), near-duplicates fold under the result they copy: text
    leaves them out and says how many, JSON marks them ``near_duplicate_of``. ``newest_first``:
    in date order (``sort_date``), once the cut-off and the folding have had the best-first list.
    ``moments`` (``SearchEngine.moments``): the videos with a matching moment, after the photos
    (JSON: objects with ``"at"``, the moment's second, and ``"video": true``)."""
    auto = cut == "auto"
    shown_hits = hits if as_json and auto else listed(hits, cut)
    folded = {id(copy): head for head, copies in (fold(shown_hits) if fold else []) for copy in copies}
    videos = list(moments) if as_json and auto else listed(moments, cut)
    if newest_first:
        shown_hits, videos = sorted(shown_hits, key=sort_date, reverse=True), sorted(videos, key=sort_date, reverse=True)
    if as_json:
        print(flags.json_text([{**h.to_dict(), **({"near_duplicate_of": folded[id(h)].path} if id(h) in folded else {})}
                               for h in shown_hits] + [{**m.to_dict(), "video": True} for m in videos]))
        return
    if not hits:
        why = said(why) if why else "no indexed photo is in that folder and date range" if filtered else "the index holds no photo"
        print(f"No photo result: {why}; the videos' moments follow" if moments else f"No result: {why}",
              file=sys.stderr)
    _print_photos(hits, shown_hits, folded, auto, cut, newest_first)
    _print_moments(videos, len(moments), newest_first)


def listed(found: list, cut: str | float | None) -> list:
    """The hits (or the videos' moments) ``--min-score`` lists: "auto" the strong ones; a number
    those that score it or more, and those whose words match whatever their score (a photo's
    ``text``, a moment's ``words``), as REST's ``min_score`` keeps them; 0 (or None) all ``k``."""
    if cut == "auto":
        return [one for one in found if one.strong]
    if not cut:
        return list(found)
    return [one for one in found if one.score >= cut or getattr(one, "text", None) or getattr(one, "words", None)]


def _print_photos(hits: list, listed: list, folded: dict, auto: bool, cut, newest_first: bool) -> None:
    for hit in listed:
        if id(hit) not in folded:
            when = f"{sort_date(hit)[:10]}\t" if newest_first else ""  # the order's key beside the score
            print(f"{flags.score_text(hit.score)}\t{when}{shown(hit.path)}" + (f"\t{shown(hit.text)}" if hit.text else ""))
    if len(listed) < len(hits):
        if auto:
            kept = f"{len(listed)} strong match{'es' * (len(listed) != 1)}" if listed else "No strong match"
        else:  # a flat cut-off: say so, or a number above every score prints nothing at all
            scored = sum(h.score >= cut for h in listed)  # the others are listed for their words
            words = len(listed) - scored
            kept = (f"{scored} scored {cut:g} or more" + (f" and {words} matched by {'its' if words == 1 else 'their'}"
                                                          " words" if words else "") if listed else
                    f"No result scored {cut:g} or more (the best scored {max(h.score for h in hits):.3f})")
        print(f"{kept}; {len(hits) - len(listed)} weaker hidden (--min-score 0 shows all)", file=sys.stderr)
    away = sum(not os.path.exists(h.path) for h in listed if id(h) not in folded)
    if away:  # a disk not mounted keeps its photos in the index: say so before a script opens them
        print(f"{away} of these {'is' if away == 1 else 'are'} not on disk now (a disk not mounted?)", file=sys.stderr)
    if folded:
        what = "1 near-duplicate folded under the result it copies" if len(folded) == 1 else \
            f"{len(folded)} near-duplicates folded under the results they copy"
        print(f"{what} (--no-fold lists them)", file=sys.stderr)


def _print_moments(videos: list, found: int, newest_first: bool) -> None:
    """The videos' matching moments: score, file, ``at 1:23`` (and its other matching moments)."""
    for moment in videos:
        when = f"{sort_date(moment)[:10]}\t" if newest_first else ""
        also = f" (also {', '.join(map(clock, moment.also))})" if moment.also else ""
        print(f"{flags.score_text(moment.score)}\t{when}{shown(moment.path)}\tat {clock(moment.at)}{also}"
              + (f"\t{shown(moment.words)}" if moment.words else ""))
    if found > len(videos):
        print(f"In videos: {len(videos) or 'no'} strong match{'es' * (len(videos) != 1)}; {found - len(videos)} "
              "weaker hidden (--min-score 0 shows all)", file=sys.stderr)

