"""The indexer's output for the video pass (``--videos``): a progress bar on a terminal, a summary."""

from __future__ import annotations

import os
import sys
import time

from clipsearch import VideoProgress, VideoReport, clock

from .report import LOG_EVERY_SECONDS, SHOW_PATHS


class VideoProgressPrinter:
    """tqdm on a terminal (videos read, the one being read); a log line every 15 s when not."""

    def __init__(self, enabled: bool, tty: bool) -> None:
        self.enabled = enabled
        self.tty = tty
        self._bar = None
        self._last = 0.0

    def update(self, p: VideoProgress) -> None:
        if not self.enabled or p.to_read == 0:
            return
        if self.tty:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=p.to_read, unit="video", desc="reading videos", file=sys.stderr,
                                 dynamic_ncols=True)
            self._bar.n = p.read + p.skipped
            self._bar.set_postfix(moments=p.moments, skipped=p.skipped, video=os.path.basename(p.current)[-24:],
                                  refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last >= LOG_EVERY_SECONDS:
            self._last = time.monotonic()
            print(f"reading videos: {p.read + p.skipped}/{p.to_read} videos, {p.moments} moments, "
                  f"{clock(p.seconds)} of video at {p.rate:.1f}x its speed", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def format_video_report(report: VideoReport) -> str:
    """The summary lines of a video pass."""
    lines = [f"  videos: {report.videos} found; read {report.read} ({clock(report.seconds)} of video, "
             f"{report.moments} moments) in {report.elapsed:.1f} s; {report.reused} moved or copied kept "
             f"their moments; {report.unchanged} unchanged; removed {report.removed}"
             + (f"; {report.left} left for the next run" if report.left else "")]
    for folder, count in report.kept.items():
        lines.append(f"  videos: {folder} is gone or empty now (a disk not mounted?): its {count} videos are kept")
    if report.still_unreadable:
        lines.append(f"  videos: {report.still_unreadable} unreadable skipped again without reading: unchanged since reported")
    if report.skipped:
        lines.append(f"  videos: skipped {report.skipped_count}:")
        for reason, paths in sorted(report.skipped.items()):
            lines.append(f"    {reason}: {len(paths)}")
            lines += [f"      {path}" for path in paths[:SHOW_PATHS]]
            if len(paths) > SHOW_PATHS:
                lines.append(f"      ... and {len(paths) - SHOW_PATHS} more (--json lists all)")
    return "\n".join(lines)
