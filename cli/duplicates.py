"""``clipsearch duplicates``: groups of indexed photos that are the same shot, best copy first.

An edge: it builds the engine, draws progress bars on a terminal, and prints. It never changes, moves or deletes a file.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from clipsearch import SearchEngine, Settings
from clipsearch.reports import counted

from . import flags
from .terminal import shown


def add_parser(sub: Any) -> None:
    """The ``duplicates`` subcommand of ``python -m clipsearch``."""
    parser = flags.subcommand(
        sub, "duplicates", help="groups of photos that are the same shot, best copy first",
        description="List groups of indexed photos that are the same shot (resized, re-encoded, "
        "lightly cropped or brightened, rotated), the best copy (on disk now, then most pixels, then "
        "oldest, then kept without loss) first. "
        "Nothing is deleted or moved.")
    parser.add_argument("--bursts", action="store_true",
                        help="a looser level that also groups burst frames (several shots of one moment)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON array of groups: {"kind", "paths" (best first), "photos"}')


def run(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """A pass over the whole index; groups go to stdout, bars and the summary to stderr."""
    engine = SearchEngine.for_reading(settings)
    bars: dict[str, Any] = {}
    try:
        report = engine.duplicates(bursts=args.bursts, progress=lambda p: _draw(bars, p))
    finally:
        engine.close()
        for bar in bars.values():
            bar.close()
    if args.json:
        print(flags.json_text([g.to_dict() for g in report.groups]))
        return 0
    for group in report.groups:
        print(f"{group.kind} · {counted(len(group.records), 'photo')} · best copy first")
        for photo in group.to_dict()["photos"]:
            when = (photo["date_taken"] or photo["modified"]).replace("T", " ")
            missing = "" if photo["exists"] else "\t(missing: not on disk now)"
            print(f"  {shown(photo['path'])}\t{photo['width']}x{photo['height']}\t{human_size(photo['size'])}\t{when}{missing}")
    grouped = sum(len(g.records) for g in report.groups)
    count = len(report.groups)
    print(f"{counted(count, 'group')} ({counted(grouped, 'photo')}) among {counted(report.photos, 'indexed photo')}; "
          "no file was changed.", file=sys.stderr)
    return 0


def _draw(bars: dict[str, Any], progress: Any) -> None:
    if not sys.stderr.isatty():
        return
    from tqdm import tqdm

    label = {"neighbours": "comparing photos", "pixels": "checking pixels"}.get(progress.phase, progress.phase)
    bar = bars.get(progress.phase)
    if bar is None:
        bar = bars[progress.phase] = tqdm(total=progress.total, desc=label, unit="photo", file=sys.stderr,
                                          leave=False)
    bar.update(progress.done - bar.n)


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
