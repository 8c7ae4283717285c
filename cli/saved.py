"""``clipsearch saved``: list, add and remove saved searches; ``clipsearch search --saved NAME`` runs one.

An edge: it parses, calls ``clipsearch.saved`` and prints. Saving needs no model: a search is
checked (its query's syntax, its folder and dates) and stored, not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from typing import Any

from clipsearch import InvalidQuery, SearchEngine, Settings, UnreadableImage, parse_region
from clipsearch.folders import not_covered
from clipsearch.saved import SavedSearch, SavedSearches

from . import flags
from .terminal import command, said, shown


def add_parser(sub: Any, day: Any, last_day: Any) -> None:
    """The ``saved`` subcommand of ``python -m clipsearch`` (``day``, ``last_day``: the date flags' types)."""
    parser = flags.subcommand(
        sub, "saved", help="searches kept by name (smart albums): list, add, remove",
        description="Searches kept by name beside the index, shared with the web app. A saved "
        "search keeps the question (words, or an example photo, or both), not its answer: "
        "`clipsearch search --saved NAME` runs it again, so photos indexed since come up in it.")
    parser.add_argument("--json", action="store_true", help="list them as one JSON array")
    actions = parser.add_subparsers(dest="action")
    add = actions.add_parser("add", help="save a search (or replace the one of that name)")
    add.add_argument("name", help="what to call it")
    add.add_argument("query", nargs="?", default="",
                     help="what to look for, as `search` takes it ('beach + sea - people'); may be empty with --photo")
    add.add_argument("--photo", type=flags.name, metavar="PATH", help="an example photo to search with, beside the words "
                     "('+ snow', '- people'); a copy is kept beside the index, so the search outlives the file")
    add.add_argument("--region", metavar="L,T,R,B", help="search with this part of the --photo: LEFT,TOP,RIGHT,BOTTOM "
                     "as fractions (0.5,0,1,0.5: the top right quarter), percentages or pixels")
    add.add_argument("--folder", type=flags.name, help="only photos under this folder")
    add.add_argument("--since", type=day, help="only photos taken on or after this date (YYYY-MM-DD, YYYY-MM, YYYY)")
    add.add_argument("--until", type=last_day, help="only photos taken on or before this date (to a month's or year's end)")
    remove = actions.add_parser("remove", aliases=["forget"], help="forget a saved search (as the page's Forget it)")
    remove.add_argument("name")
    listed = actions.add_parser("list", help="list them, as `saved` alone does")
    listed.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as one JSON array")
    for action in (add, remove, listed):  # `saved add NAME QUERY --index DIR`, as every other command takes it
        action.set_defaults(usage=action)
        flags.add_index(action, again=True)


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``saved`` (or ``saved list``), ``saved add``, ``saved remove`` (or ``forget``); ``parser``: the
    one whose usage an error prints."""
    saved = SavedSearches(settings.index_dir)
    if args.action == "add":
        folder = args.folder and os.path.abspath(os.path.expanduser(args.folder))
        photo = args.photo and os.path.abspath(os.path.expanduser(args.photo))
        if photo and not os.path.exists(photo):  # a pipe is read, up to the limit, as `search --image` reads it
            return flags.usage_error(parser, f"argument --photo: no such file: {args.photo}")
        outside = folder and not_covered(folder, SearchEngine.index_info(settings).get("folders") or [])
        try:
            search, replaced = saved.put(SavedSearch(args.name, args.query, folder, args.since, args.until,
                                                     region=args.region), photo)
        except UnreadableImage as exc:  # as `search --image` says it: "argument --photo: x.jpg: not an image"
            return flags.usage_error(parser, f"argument --photo: {exc}")
        except (InvalidQuery, ValueError) as exc:
            return flags.usage_error(parser, str(exc))
        print(f"{'replaced' if replaced else 'saved'} {search.name!r}: {said(describe(search))}", file=sys.stderr)
        if outside:  # as `search --folder` says it: saved all the same, the folder may be indexed later
            print(f"warning: {said(outside)}; this search finds nothing until "
                  f"`{said(command('python', '-m', 'indexer', folder, index=settings.index_dir))}` indexes it", file=sys.stderr)
        return 0
    if args.action in ("remove", "forget"):
        if not saved.remove(args.name):
            must_be_an_index(settings)  # a mistyped --index: no index there, not "no saved search"
            print(f"error: {no_such(args.name, (s.name for s in saved.all()))}", file=sys.stderr)
            return 1
        print(f"forgot {args.name!r}", file=sys.stderr)
        return 0
    searches = saved.all()
    if not searches:
        must_be_an_index(settings)
    if args.json:
        print(flags.json_text([s.shown() for s in searches]))
    elif not searches:
        print("No saved search yet: `python -m clipsearch saved add NAME QUERY` saves one.", file=sys.stderr)
    for search in [] if args.json else searches:
        print(f"{shown(search.name)}\t{shown(describe(search))}")
    return 0


def fill_in(settings: Settings, args: argparse.Namespace) -> str | None:
    """``search --saved NAME``: its query and photo, and its folder and dates where the command line
    gives none; an error message when there is no such search or a query is given too;
    ``IndexNotFound`` where ``--index`` holds no index."""
    saved = SavedSearches(settings.index_dir)
    kept = saved.get(args.saved)
    if kept is None:
        must_be_an_index(settings)  # a mistyped --index: no index there (exit 1), not "no saved search"
        return no_such(args.saved, (s.name for s in saved.all()))
    if args.query.strip():
        return "give a query or --saved NAME, not both"
    try:
        kept.runnable()  # one saved before a query's size was limited: named, and what to do
    except InvalidQuery as exc:
        return str(exc)
    kept = kept.narrowed(args.folder, args.since, args.until)
    args.query, args.folder, args.since, args.until = kept.query, kept.folder, kept.since, kept.until
    if kept.photo:
        photo = kept.photo_path(settings.index_dir)
        if not os.path.isfile(photo):
            return f"the photo of the saved search {kept.name!r} is missing ({photo}): save the search again"
        args.image = [*args.image, photo]
        args.regions = {**args.regions, len(args.image) - 1: parse_region(kept.region)}
    return None


def must_be_an_index(settings: Settings) -> None:
    """``IndexNotFound`` (exit 1, "no index in DIR: build one with ...") where the index folder
    holds no index: a mistyped ``--index``, or a cron job without ``$CLIPSEARCH_INDEX``, is not
    "no saved search yet" (exit 0, ``[]``)."""
    SearchEngine.index_info(settings)


def describe(search: SavedSearch) -> str:
    """The query and its filters in one line: ``beach + sea · in /photos/Phone · 2019-01-01 to 2023-06-30``;
    with a photo: ``photo IMG_0016.jpg, a part (0.5,0,1,0.5) · + snow · ...``."""
    photo = [f"photo {search.photo_name}" + (f", a part ({search.region})" if search.region else "")] \
        if search.photo else []
    parts = photo + ([search.query] if search.query else []) + ([f"in {search.folder}"] if search.folder else [])
    if search.since or search.until:
        parts.append(f"{search.since or '…'} to {search.until or '…'}")
    return " · ".join(parts)


def no_such(name: str, names: Iterable[str]) -> str:
    """What ``search --saved NAME`` and ``saved remove NAME`` say of a name not saved, here or on a
    server (``names``: those saved)."""
    names = list(names)
    return f"no saved search is called {name!r}" + (
        f" (saved: {', '.join(repr(n) for n in names)})" if names else " (none is saved yet)")
