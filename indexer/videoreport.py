"""The indexer's output for the video pass (``--videos``): a progress bar on a terminal, a summary."""

from __future__ import annotations

import os

from cli.terminal import said, shown
from clipsearch import VideoProgress, VideoReport, clock
from clipsearch.reports import counted
from clipsearch.videowords import words_line

from .report import how_absent, skipped_lines
from .textreport import PassPrinter


class VideoProgressPrinter(PassPrinter):
    """The videos' pass (``--videos``): videos read, the moments found, the one being read."""

    unit, desc = "video", "reading videos"

    def position(self, p: VideoProgress) -> tuple[int, int, dict]:
        return p.read + p.skipped, p.to_read, {"moments": p.moments, "skipped": p.skipped,
                                               **({"words read": p.words} if p.words else {}),
                                               "video": said(os.path.basename(p.current)[-24:])}  # on the bar

    def line(self, p: VideoProgress) -> str:
        return (f"reading videos: {p.read + p.skipped}/{counted(p.to_read, 'video')}, {counted(p.moments, 'moment')}, "
                f"{clock(p.seconds)} of video at {p.rate:.1f}x its speed"
                + (f"; words read in {counted(p.words, 'moment')}" if p.words else ""))


def format_video_report(report: VideoReport) -> str:
    """The summary lines of a video pass (or of a dry run: what it would do)."""
    if report.dry_run:
        words = report.words
        lines = [f"  videos: {report.videos} found; would read {report.left} (new or changed), "
                 + (f"{report.reused} moved or copied would keep their moments, " if report.reused else "")
                 + f"remove {report.removed}; {report.unchanged} unchanged"
                 + (f"; would read the words in {counted(words.moments, 'moment')} of "
                    f"{counted(words.videos, 'video')} already read" if words and words.moments else "")]
        lines += [f"  videos: {shown(folder)} is {how_absent(folder)}: its {counted(count, 'video')} would be kept"
                  for folder, count in report.kept.items()]
        return "\n".join(lines + _kept_unreadable(report) + skipped_lines(report.skipped, "  videos: would skip"))
    lines = [f"  videos: {report.videos} found; read {report.read} ({clock(report.seconds)} of video, "
             f"{counted(report.moments, 'moment')}) in {report.elapsed:.1f} s; {report.reused} moved or copied kept "
             f"their moments; {report.unchanged} unchanged; removed {report.removed}"
             + (f"; {report.left} left for the next run" if report.left else "") + words_line(report.words)]
    for folder, count in report.kept.items():
        lines.append(f"  videos: {shown(folder)} is {how_absent(folder)}: its {counted(count, 'video')} "
                     f"{'is' if count == 1 else 'are'} kept")
    if report.still_unreadable:
        lines.append(f"  videos: {report.still_unreadable} unreadable skipped again without reading: unchanged since reported")
    return "\n".join(lines + _kept_unreadable(report) + skipped_lines(report.skipped, "  videos: skipped"))


def _kept_unreadable(report: VideoReport) -> list[str]:
    """The videos read before their files stopped reading (a copy cut short): their moments stay,
    as a photo's record does, until the file reads again or is deleted."""
    n = report.kept_unreadable
    if not n:
        return []
    one, keeps = n == 1, "would keep" if report.dry_run else "keeps"
    return [f"  videos: {counted(n, 'unreadable video')} {'was' if one else 'were'} read before "
            f"{'it' if one else 'they'} stopped reading: the index {keeps} {'its' if one else 'their'} moments, "
            f"which searches still find, until the {'file reads' if one else 'files read'} again "
            f"(deleted, {'it leaves' if one else 'they leave'} the index)"]
