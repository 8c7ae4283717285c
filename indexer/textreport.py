"""The indexer's output for the text pass (``--ocr``): a progress bar on a terminal, a summary."""

from __future__ import annotations

import sys
import time

from clipsearch import TextProgress, TextReport

from .report import LOG_EVERY_SECONDS, SHOW_PATHS


class TextProgressPrinter:
    """tqdm on a terminal; a log line every 15 s when not."""

    def __init__(self, enabled: bool, tty: bool) -> None:
        self.enabled = enabled
        self.tty = tty
        self._bar = None
        self._last = 0.0

    def update(self, p: TextProgress) -> None:
        if not self.enabled or p.to_read == 0:
            return
        if self.tty:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=p.to_read, unit="photo", desc="reading text", file=sys.stderr,
                                 dynamic_ncols=True)
            self._bar.n = p.read + p.skipped
            self._bar.set_postfix(with_text=p.with_text, skipped=p.skipped, refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last >= LOG_EVERY_SECONDS:
            self._last = time.monotonic()
            left = (p.to_read - p.read - p.skipped) / p.rate if p.rate else 0
            print(f"reading text: {p.read}/{p.to_read} photos, {p.with_text} with words, "
                  f"{p.skipped} skipped, {p.rate:.1f} photos/s, about {left:.0f} s left",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def format_text_report(report: TextReport) -> str:
    """The summary lines of a text pass."""
    lines = [f"  text: read {report.read} photos ({report.with_text} with words) in {report.elapsed:.1f} s, "
             f"{report.photos_per_second:.1f} photos/s; {report.already_read} already read"
             + (f"; {report.left} left for the next run" if report.left else "")]
    if report.not_on_disk:
        lines.append(f"  text: {report.not_on_disk} photos not on disk now (a disk not mounted?): read when they are back")
    if report.skipped:
        lines.append(f"  text: skipped {report.skipped_count}:")
        for reason, paths in sorted(report.skipped.items()):
            lines.append(f"    {reason}: {len(paths)}")
            lines += [f"      {path}" for path in paths[:SHOW_PATHS]]
            if len(paths) > SHOW_PATHS:
                lines.append(f"      ... and {len(paths) - SHOW_PATHS} more (--json lists all)")
    return "\n".join(lines)
