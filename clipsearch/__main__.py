"""``python -m clipsearch``: search an index from a terminal or a script.

This is an edge, like the indexer and the web app: it parses arguments, builds a SearchEngine
and prints. The library itself never imports argparse.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

from . import ClipSearchError, QueryTerm, SearchEngine, SearchFilter, Settings, parse_query


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m clipsearch",
        description="Search an index of your photos by meaning.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser(
        "search",
        help="find images by text and/or an example image",
        description="Find images by text and/or an example image. Text terms combine with "
        "' + ' and ' - ' and take weights: 'beach + sunset - people', '2:dog + grass'.",
    )
    search.add_argument("query", nargs="?", default="", help="what to look for (may be empty with --image)")
    search.add_argument("--image", action="append", default=[], metavar="PATH",
                        help="an example image (repeatable; prefix a weight as 2:PATH or -1:PATH)")
    search.add_argument("--index", type=Path, help="index folder (default: $CLIPSEARCH_INDEX or the user data folder)")
    search.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    search.add_argument("--folder", help="only images under this folder")
    search.add_argument("--since", help="only images taken on or after this date (YYYY-MM-DD)")
    search.add_argument("--until", help="only images taken on or before this date (YYYY-MM-DD)")
    search.add_argument("--min-score", type=float, default=None, help="hide results scoring below this")
    search.add_argument("--device", help="cpu, cuda or mps (default: best available)")
    search.add_argument("--json", action="store_true", help="print one JSON array, best first")
    info = sub.add_parser("info", help="what an index holds and which model built it")
    info.add_argument("--index", type=Path)
    return parser


def image_terms(values: list[str]) -> list[QueryTerm]:
    terms = []
    for value in values:
        match = re.match(r"^(-?\d+(?:\.\d*)?):(.+)$", value)
        if match and not os.path.exists(value):
            terms.append(QueryTerm(float(match.group(1)), image=match.group(2)))
        else:
            terms.append(QueryTerm(1.0, image=value))
    return terms


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    settings = Settings()
    if args.index:
        settings = replace(settings, index_dir=args.index.expanduser())
    try:
        if args.command == "info":
            from .stores import open_store

            store = open_store(settings.index_dir)
            print(json.dumps(store.info(), indent=2))
            return 0
        if args.k < 1:
            parser.error("-k must be at least 1")
        terms = (parse_query(args.query) if args.query.strip() else []) + image_terms(args.image)
        if not terms:
            parser.error("give a text query, an --image, or both")
        overrides = {"device": args.device} if args.device else {}
        engine = SearchEngine.for_reading(settings, **overrides)
        where = SearchFilter(folder=args.folder and os.path.abspath(args.folder),
                             date_from=args.since, date_to=args.until)
        hits = engine.search(terms, k=args.k, where=where)
        if args.min_score is not None:
            hits = [h for h in hits if h.score >= args.min_score]
    except ClipSearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
    else:
        for hit in hits:
            print(f"{hit.score:.3f}\t{hit.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
