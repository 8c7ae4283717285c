"""The indexer's output for the text pass (``--ocr``): a progress bar on a terminal, a summary."""

from __future__ import annotations

import sys
import time

from clipsearch import TextProgress, TextReport
from clipsearch.reports import counted

from .report import LOG_EVERY_SECONDS, skipped_lines


class PassPrinter:
    """A pass's progress after the photos' (words, videos): tqdm on a terminal, a log line every
    15 s when not. A pass says its bar's ``unit`` and ``desc``, and of a progress ``position(p)``
    (done, of how many, the bar's postfix) and ``line(p)`` (the log line)."""

    unit = desc = ""

    def __init__(self, enabled: bool, tty: bool) -> None:
        self.enabled = enabled
        self.tty = tty
        self._bar = None
        self._last = 0.0

    def position(self, p) -> tuple[int, int, dict]:
        raise NotImplementedError

    def line(self, p) -> str:
        raise NotImplementedError

    def update(self, p) -> None:
        done, total, postfix = self.position(p)
        if not self.enabled or total == 0:
            return
        if self.tty:
            if self._bar is None:
                from tqdm import tqdm

                # The rate counts from here, not from before the first batch (``report.ProgressPrinter``).
                self._bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.desc, file=sys.stderr,
                                 dynamic_ncols=True)
            self._bar.n = done
            self._bar.set_postfix(**postfix, refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last >= LOG_EVERY_SECONDS:
            self._last = time.monotonic()
            print(self.line(p), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TextProgressPrinter(PassPrinter):
    """The words' pass (``--ocr``)."""

    unit, desc = "photo", "reading text"

    def position(self, p: TextProgress) -> tuple[int, int, dict]:
        return p.read + p.skipped, p.to_read, {"with_text": p.with_text, "skipped": p.skipped}

    def line(self, p: TextProgress) -> str:
        left = (p.to_read - p.read - p.skipped) / p.rate if p.rate else 0
        return (f"reading text: {p.read}/{counted(p.to_read, 'photo')}, {p.with_text} with words, "
                f"{p.skipped} skipped, {p.rate:.1f} photos/s, about {left:.0f} s left")


def format_text_report(report: TextReport) -> str:
    """The summary lines of a text pass (or of a dry run: what it would read)."""
    if report.dry_run:
        return (f"  text: would read the words in {counted(report.to_read, 'photo')}"
                + (f" ({report.new} new or changed)" if report.new else "") + f"; {report.already_read} already read")
    if report.read or report.skipped or report.left:
        lines = [f"  text: read {counted(report.read, 'photo')} ({report.with_text} with words) "
                 f"in {report.elapsed:.1f} s, {report.photos_per_second:.1f} photos/s; {report.already_read} already read"
                 + (f"; {report.left} left for the next run" if report.left else "")]
    else:
        lines = [f"  text: nothing to read ({report.already_read} already read)"]
    if report.not_on_disk:
        lines.append(f"  text: {counted(report.not_on_disk, 'photo')} not on disk now (a disk not mounted?): read when they are back")
    return "\n".join(lines + skipped_lines(report.skipped, "  text: skipped"))
