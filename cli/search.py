"""``clipsearch search|info|duplicates|saved|topics`` (``python -m clipsearch``): search an index from a terminal or a script.

An edge, like the indexer and the web app: it parses arguments, builds a SearchEngine and
prints. ``clipsearch/__main__.py`` is only the door to it; the library never imports argparse.

Exit codes: 0 done (a search that finds nothing too), 1 failed (no index, a model that cannot
load...), 2 usage error (a flag, a date or a query that cannot be read, such as "2:", in every
sub-command), 130 Ctrl-C, 141 the reader of its output stopped (``| head``).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
from dataclasses import replace

from clipsearch import (
    ClipSearchError,
    InvalidQuery,
    QueryTerm,
    Region,
    SearchEngine,
    SearchFilter,
    Settings,
    UnreadableImage,
    clock,
    iso_day,
    parse_query,
    parse_region,
)
from clipsearch.file_reading import refused_unopened
from clipsearch.folders import not_covered, now_note
from clipsearch.images import MAX_QUERY_BYTES
from clipsearch.query import MAX_QUERY_CHARS, MAX_TERMS, check_terms
from clipsearch.region import over_query_limit
from clipsearch.reports import counted, indexed_when, unreadable_kept_words

from . import duplicates, flags, remote, saved, topics
from .dash_words import take_dash_words, with_dash_words
from .printing import print_hits  # and cli.search.print_hits, as before
from .terminal import ArgumentParser, command, log_to_stderr, said, shown


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m clipsearch",
        description="Search an index of your photos by meaning.",
        epilog="Exit codes: 0 done (a search that finds nothing too), 1 failed (no index, a model that cannot "
        "load...), 2 usage error (a flag, a date or a query that cannot be read, such as '2:'), 130 Ctrl-C.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser(
        "search",
        help="find images by text and/or an example image",
        description="Find images by text and/or an example image. Text terms combine with "
        "' + ' and ' - ' and take weights: 'beach + sunset - people', '2:dog + grass' (at most "
        f"{MAX_TERMS} terms, {MAX_QUERY_CHARS:,} characters), each --image one term more; a word that starts "
        "with '-' is a term to subtract: --image a.jpg -people.",
    )
    search.set_defaults(usage=search)  # errors found after parsing print this usage (flags.usage_of)
    search.add_argument("query", nargs="?", default="", help="what to look for (may be empty with --image)")
    search.add_argument("--saved", metavar="NAME", help="run a saved search (`saved` lists them); "
                        "--folder, --since and --until given here replace its own")
    search.add_argument("--image", action="append", default=[], metavar="PATH",
                        help="an example image (repeatable; prefix a weight as 2:PATH or -1:PATH)")
    search.add_argument("--region", action=RegionOf, dest="regions", default={}, metavar="L,T,R,B",
                        help="search with this part of the --image before it: LEFT,TOP,RIGHT,BOTTOM as fractions "
                        "(0.5,0,1,0.5: the top right quarter), percentages (50%%,0%%,100%%,50%%) or pixels")
    flags.add_index(search)
    search.add_argument("-k", type=flags.positive, default=10, help="how many results (default 10)")
    search.add_argument("--folder", type=flags.name, help="only images under this folder")
    search.add_argument("--since", type=day, help="only images taken on or after this date (YYYY-MM-DD; "
                        "a month, YYYY-MM, or a year, YYYY, from its first day)")
    search.add_argument("--until", type=last_day, help="only images taken on or before this date (YYYY-MM-DD; "
                        "a month or a year to its last day)")
    search.add_argument("--min-score", type=min_score, default="auto", metavar="auto|SCORE",
                        help="which results to show: 'auto' (default) the matches the automatic cut-off "
                        "finds, a number hides results scoring below it, 0 shows all k")
    search.add_argument("--sort", choices=("relevance", "date"), default="relevance",
                        help="best first (default), or the newest first (date taken, else the file's time; "
                        "printed after the score): the cut-off still decides which show")
    search.add_argument("--no-fold", action="store_true",
                        help="list a result's near-duplicates (copies of the same shot) as results of their "
                        "own; by default they fold under it (--json marks them near_duplicate_of)")
    flags.add_device(search)
    search.add_argument("--server", metavar="URL", help="ask a running web app (python -m webui) instead of "
                        "loading the model here: an answer in a fraction of a second, from this computer or "
                        "another (http://USER:PASS@nas:7860/ with --auth); its folders, its saved searches")
    search.add_argument("--json", action="store_true", help="print one JSON array, best first")
    info = flags.subcommand(sub, "info", help="what an index holds and which model built it")
    info.add_argument("--json", action="store_true", help="print it as one JSON object (for scripts)")
    duplicates.add_parser(sub)
    topics.add_parser(sub)
    saved.add_parser(sub, day, last_day)
    return parser


def min_score(text: str) -> str | float:
    """``--min-score``: "auto" or a number."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # nan would hide every result, silently
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, not {text!r}")
    return value


def day(text: str, end: bool = False) -> str | None:
    """``--since``: a day as YYYY-MM-DD, or a month's or a year's first day (a wrong one is a usage
    error, not an empty list)."""
    try:
        return iso_day(text, end=end)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def last_day(text: str) -> str | None:
    """``--until``: a day, or a month's or a year's last day."""
    return day(text, end=True)


SHOW_BROKEN = 10  # indexed photos whose files broke since, named by ``info`` (``--json`` lists all)


def format_info(info: dict) -> str:
    """``clipsearch info`` for people: one fact a line, dates as dates."""
    stamp = info.get("stamp") or {}
    model = shown(stamp.get("model", "?"))
    if stamp.get("pretrained"):
        model += f" ({shown(stamp['pretrained'])})"
    elif stamp.get("weights"):
        model += f" (weights {shown(stamp['weights'])})"
    when = indexed_when(info)
    folders = info.get("folders") or []
    lines = [
        f"Index:         {shown(info.get('location', '?'))}",
        f"Photos:        {info.get('count', 0):,}",
        f"Model:         {model}" + (f", {stamp['dim']}-d vectors" if stamp.get("dim") else ""),
        f"Last indexed:  {when}",
        "Folders:       " + ("\n               ".join(shown(f + now_note(f)) for f in folders) if folders else "(none recorded)"),
    ] + (["Left out:      " + "\n               ".join(map(shown, info["left_out"]))] if info.get("left_out") else [])
    if away := info.get("not_mounted"):  # a disk inside a covered folder, unplugged: its photos stay
        lines.append("Not mounted:   " + "\n               ".join(
            f"{shown(folder)}: its {counted(count, 'indexed photo')} {'is' if count == 1 else 'are'} kept while it is not "
            f"mounted; if it moved or is gone for good, `{shown(command('python', '-m', 'indexer', '--remove', folder, index=where if os.path.isdir(where := info.get('location') or '') else None))}` forgets them"
            for folder, count in away.items()))
    if broken := info.get("unreadable_kept"):  # indexed, then broken (a sync cut short): searched as last read
        lines.append(f"Unreadable:    {unreadable_kept_words(len(broken))}\n" + "\n".join(
            f"               {shown(path)} ({shown(reason)})" for path, reason in list(broken.items())[:SHOW_BROKEN])
            + (f"\n               ... and {len(broken) - SHOW_BROKEN} more (--json lists all)" if len(broken) > SHOW_BROKEN else ""))
    if videos := info.get("videos"):
        said = f", {videos['moments_with_words']:,} with words" if videos.get("moments_with_words") else ""
        lines.append(f"Videos:        {videos['videos']:,} ({clock(videos['seconds'])} of video, {videos['moments']:,} "
                     f"moments{said})" + ("" if videos["enabled"] else "; not read any more (--no-videos)"))
    return "\n".join(lines)


class RegionOf(argparse.Action):
    """``--region`` crops the ``--image`` given before it (``args.regions``: image number -> region)."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        images = len(getattr(namespace, "image", None) or [])
        if not images:
            parser.error("argument --region: give it after the --image it crops")
        try:
            region = parse_region(value)
        except InvalidQuery as exc:
            parser.error(f"argument --region: {exc}")
        regions = dict(namespace.regions or {})
        if images - 1 in regions:
            parser.error("argument --region: one region for each --image (it crops the --image before it)")
        regions[images - 1] = region
        namespace.regions = regions


WEIGHTED = re.compile(r"^-\d+(?:\.\d*)?:")  # -1:PATH, -0.5:PATH: a weight argparse would take for a flag
DASHED = {"--image": WEIGHTED, "--region": re.compile(r"^-[\d.]")}  # and -0.1,0,1,1: a region past the edge


def weighted_images(argv: list[str]) -> list[str]:
    """``argv`` with each ``--image -1:PATH`` joined as ``--image=-1:PATH``, as ``--help`` and the
    README write a negative weight, and ``--region -0.1,0,1,1`` (refused as a region, as elsewhere):
    argparse reads a value that starts with ``-`` as the next flag ("expected one argument"); not after ``--``."""
    joined: list[str] = []
    for word in argv:
        if joined and (dashed := DASHED.get(joined[-1])) and dashed.match(word) and "--" not in joined:
            joined[-1] = f"{joined[-1]}={word}"
        else:
            joined.append(word)
    return joined


def image_terms(values: list[str], regions: dict[int, Region | None] | None = None) -> list[QueryTerm]:
    terms = []
    for number, value in enumerate(values):
        region = (regions or {}).get(number)
        match = re.match(r"^(-?\d+(?:\.\d*)?):(.+)$", value)
        if match and not os.path.exists(value):
            terms.append(QueryTerm(float(match.group(1)), image=match.group(2), region=region))
        else:
            terms.append(QueryTerm(1.0, image=value, region=region))
    return terms


SUBCOMMANDS = {"duplicates": duplicates.run, "saved": saved.run, "topics": topics.run}


@flags.ends_quietly
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    kept, dash_words = take_dash_words(parser, weighted_images(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(kept)
    if dash_words:  # search, saved add: the words that start with "-" are terms to subtract
        args.query = with_dash_words(args.query, dash_words)
    flags.paths_as_bytes()
    log_to_stderr(logging.WARNING)
    settings = flags.settings_from(args)
    parser = flags.usage_of(parser, args)  # from here on, a usage error shows the sub-command's usage
    try:
        if args.command == "info":
            info = SearchEngine.index_info(settings)
            print(flags.json_text(info, indent=2) if args.json else format_info(info))
            return 0
        if args.command in SUBCOMMANDS:  # each one's module parses its flags and prints
            return SUBCOMMANDS[args.command](settings, args, parser)
        if getattr(args, "folder", None):  # "~/Phone" quoted, or after "=": as saved add, --index and FOLDER read it
            args.folder = os.path.expanduser(args.folder)
        if args.server:
            return _remote(parser, args)
        return _local(parser, args, settings)
    except ClipSearchError as exc:
        print(f"error: {said(flags.explain(exc))}", file=sys.stderr)
        return 1


def _local(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings) -> int:
    """``search`` here: the index opened, the model loaded, the hits printed."""
    if args.saved and (wrong := saved.fill_in(settings, args)):
        return flags.usage_error(parser, wrong)
    try:
        terms = query_terms(parser, args)
    except UnreadableImage as exc:  # a folder, a device: before the index and the model are opened
        return flags.usage_error(parser, flags.image_refused(exc))
    try:
        where = SearchFilter(folder=args.folder and os.path.abspath(args.folder),
                             date_from=args.since, date_to=args.until)
    except ValueError as exc:  # --since after --until
        parser.error(str(exc))
    settings = replace(settings, max_query_bytes=MAX_QUERY_BYTES)  # an endless pipe: refused at 50 MB, not 1 GiB
    engine = SearchEngine.for_reading(settings, **flags.model_overrides(args))
    try:
        # marked by the automatic cut-off whatever --min-score, which only picks those listed
        # (print_hits), as REST marks them; a number lists the plain ranking, as --server asks it (ranked=1)
        hits = engine.search(terms, k=args.k, where=where, ranked=args.min_score != "auto")
        moments = engine.moments(terms, k=args.k, where=where)
    except InvalidQuery as exc:  # read, but not to be searched with: "red - red", "1e999:red"
        return flags.usage_error(parser, str(exc))
    except UnreadableImage as exc:  # an --image that is no picture: as --server and `saved add --photo` say it
        return flags.usage_error(parser, flags.image_refused(over_query_limit(exc)))
    if not hits and where.folder and not args.json:
        outside = not_covered(where.folder, engine.folders())
        if outside:
            print(f"No result: {said(outside)}", file=sys.stderr)
            return 0
    print_hits(hits, as_json=args.json, cut=args.min_score, filtered=not where.is_empty(),
               fold=None if args.no_fold else engine.fold, newest_first=args.sort == "date", moments=moments)
    return 0


def query_terms(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[QueryTerm]:
    """The terms of ``search``: its words and its images; a usage error (exit 2) for none, for an
    image that is not there, and for words that cannot be read ("2:"), as ``saved add`` says of them;
    ``UnreadableImage`` for an image that is a folder or a device, which the caller says as it says
    any picture it cannot search with (exit 2, returned)."""
    try:  # more than MAX_TERMS, --image ones too: refused here, before the index and the model are opened
        terms = check_terms((parse_query(args.query) if args.query.strip() else []) + image_terms(args.image, args.regions))
    except InvalidQuery as exc:
        parser.error(str(exc))
    if not terms:
        parser.error("give a text query, an --image, or both")
    missing = [t.image for t in terms if isinstance(t.image, str) and not os.path.exists(t.image)]
    if missing:
        parser.error(f"argument --image: no such file: {missing[0]}")
    for term in terms:  # a folder, a device (/dev/zero, a terminal): refused before the model loads
        if isinstance(term.image, str) and (refused := refused_unopened(term.image)):
            raise refused
    check_regions(parser, terms)
    return terms


def check_regions(parser: argparse.ArgumentParser, terms: list[QueryTerm]) -> None:
    """A usage error (exit 2) for a ``--region`` past its photo or too small to search with, as
    ``saved add`` says of it, before an index or a model is opened (the photo's header is read)."""
    for term in terms:
        if term.region is not None and isinstance(term.image, str):
            try:
                term.region.check(term.image)
            except InvalidQuery as exc:
                parser.error(f"argument --region: {exc}")


def _remote(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``search --server URL``: the same checks and printing, the search done by the server."""
    if not (args.query.strip() or args.image or args.saved):
        parser.error("give a text query, an --image, --saved NAME, or two of them")
    pictures = image_terms(args.image, args.regions)
    if len(pictures) > 1 or any(term.weight != 1.0 for term in pictures):
        parser.error("with --server, give one --image, without a weight (the REST route takes one picture)")
    try:  # past a query's limits, or "2:": said here as a search here says it, and no server asked
        check_terms(parse_query(args.query) + pictures)
    except InvalidQuery as exc:
        parser.error(str(exc))
    if pictures and not os.path.exists(pictures[0].image):
        parser.error(f"argument --image: no such file: {pictures[0].image}")
    if pictures and (refused := refused_unopened(pictures[0].image)):  # as a search here says it
        return flags.usage_error(parser, flags.image_refused(refused))
    check_regions(parser, pictures)
    try:
        hits, fold, moments, why = remote.search(args.server, args, pictures[0].image if pictures else None,
                                                 pictures[0].region if pictures else None)
    except remote.QueryRefused as exc:  # "red - red", an unknown --saved NAME, an --image that is no picture:
        # exit 2 with the server's reason, or with what a search here says
        return flags.usage_error(parser, str(exc))
    print_hits(hits, as_json=args.json, cut=args.min_score, filtered=bool(args.folder or args.since or args.until),
               fold=fold, newest_first=args.sort == "date", moments=moments, why=why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
