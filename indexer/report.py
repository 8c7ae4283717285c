"""Human output of the indexer: a progress bar on a terminal, plain lines elsewhere, a summary."""

from __future__ import annotations

import os
import sys
import time

from cli.terminal import command, shown
from clipsearch import IndexProgress, IndexReport
from clipsearch.folders import absence, is_there
from clipsearch.reports import another_run_words, counted, kept_unreadable_words, metadata_kept_words

LOG_EVERY_SECONDS = 15.0
SHOW_PATHS = 20


class ProgressPrinter:
    """tqdm on a terminal; a log line every 15 s when not (cron, pipes): no bar garbage."""

    def __init__(self, enabled: bool, tty: bool) -> None:
        self.enabled = enabled
        self.tty = tty
        self._bar = None
        self._last = 0.0
        self._scan_line = False
        self._first: tuple[float, int] | None = None  # (when, how many processed) at the first batch

    def update(self, p: IndexProgress) -> None:
        if not self.enabled:
            return
        if p.scanning:
            self._scanning(p)
            return
        if p.to_process == 0:
            return
        if self.tty:
            if self._bar is None:
                self._end_scan_line()
                from tqdm import tqdm

                # The rate counts from here: what was done before the bar (the first batch) took
                # the scan's and the model's time, not a moment.
                self._bar = tqdm(total=p.to_process, initial=p.processed, unit="img", desc="indexing",
                                 file=sys.stderr, dynamic_ncols=True)
            self._bar.n = p.processed
            self._bar.set_postfix(found=p.found, embedded=p.embedded, skipped=p.skipped, refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last >= LOG_EVERY_SECONDS:
            self._last = now = time.monotonic()
            unchanged = f", {p.found - p.to_process} unchanged" if p.found > p.to_process else ""
            print(f"indexing: {p.processed}/{counted(p.to_process, 'new or changed file')} ({p.found} found{unchanged}), "
                  f"{p.embedded} embedded, {p.skipped} skipped" + self._pace(p, now), file=sys.stderr, flush=True)

    def _pace(self, p: IndexProgress, now: float) -> str:
        """The rate since the first batch, and the time left at it: the first batch's wait (the
        scan, the model loading) says nothing of the rest. Said from the second line on."""
        if self._first is None:
            self._first = (now, p.processed)
            return ""
        seconds, done = now - self._first[0], p.processed - self._first[1]
        if seconds <= 0 or done <= 0:
            return ""
        rate = done / seconds
        return f", {rate:.1f} files/s, about {(p.to_process - p.processed) / rate:.0f} s left"

    def _scanning(self, p: IndexProgress) -> None:
        """While the folders are walked (slow on a network share): a line that counts on a terminal;
        elsewhere a line every 15 s once the scan has taken that long (a quick scan says nothing)."""
        if self.tty:
            print(f"\rscanning: {counted(p.found, 'image file', grouped=True)} found", end="", file=sys.stderr, flush=True)
            self._scan_line = True
        elif p.elapsed >= LOG_EVERY_SECONDS and time.monotonic() - self._last >= LOG_EVERY_SECONDS:
            self._last = time.monotonic()
            print(f"scanning: {counted(p.found, 'image file', grouped=True)} found so far", file=sys.stderr, flush=True)

    def _end_scan_line(self) -> None:
        if self._scan_line:
            print("\r\033[K", end="", file=sys.stderr, flush=True)  # the bar or the summary takes the line
            self._scan_line = False

    def close(self) -> None:
        self._end_scan_line()
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def format_report(report: IndexReport, videos: bool = False, index: str | os.PathLike | None = None) -> str:
    """The end-of-run summary people read, on stdout (``videos``: a video pass follows it, and says its
    own); on a terminal, names ``shown``. ``index``: the index folder the run wrote (``--index``), which
    the commands it suggests name where it is not the one they open without it."""
    lines = [
        f"{'dry run: ' if report.dry_run else ''}{counted(report.found, 'image file')} found in "
        + ", ".join(map(shown, report.folders)),
        (f"  would add {report.added}, update {report.updated}, move {report.moved}, remove {report.removed}; "
         f"{report.unchanged} unchanged" if report.dry_run else
         f"  added {report.added}, updated {report.updated}, moved {report.moved}, "
         f"removed {report.removed}, unchanged {report.unchanged}"),
    ]
    lines += [f"  {kept_words(folder, count, index)}" for folder, count in report.kept.items()]
    if not report.found and not report.skipped and not report.kept:
        lines.append("  no picture files there (JPEG, PNG, WebP, HEIC, AVIF, GIF, TIFF, BMP, camera RAW): " + _other_files(report, videos))
    if report.metadata_kept:
        lines.append(f"  {metadata_kept_words(report)}")
    if report.dry_run and (report.embedded or report.reused):
        lines.append(f"  would embed {report.embedded} ({report.reused} reused from identical files)")
    if report.dry_run and report.another_run:
        lines.append(f"  {another_run_words(report.another_run)}")
    if not report.dry_run and (report.embedded or report.reused):
        rate = f", {report.images_per_second:.1f} images/s" if report.embedded else ""  # copies only: no rate
        lines.append(f"  embedded {report.embedded} ({report.reused} reused from identical files) in "
                     f"{report.elapsed:.1f} s{rate}")
    elif not report.dry_run:
        kept_vectors = report.added or report.updated or report.moved  # copies, touched or moved files
        why = ("moved and touched files keep their vectors" if kept_vectors else
               "nothing new" if report.kept or report.removed else "up to date")
        lines.append(f"  nothing to embed ({why}), "
                     f"{report.elapsed:.1f} s")
    if report.still_unreadable:
        one = report.still_unreadable == 1
        lines.append(f"  {counted(report.still_unreadable, 'unreadable file')} skipped again without "
                     f"reading: unchanged since {'it was' if one else 'they were'} reported")
    kept = [f"  {kept_unreadable_words(report)}"] if report.kept_unreadable else []  # after the paths it speaks of
    return "\n".join(lines + skipped_lines(report.skipped, "  would skip" if report.dry_run else "  skipped") + kept)


def kept_words(folder: str, count: int, index: str | os.PathLike | None = None) -> str:
    """What the summary says of ``count`` indexed photos of ``folder`` kept though the scan did not
    see them: the folder is absent (``how_absent``), or it is there and the OS refused its files one
    by one (EIO from a network disk), where "--remove FOLDER" would forget the photos it still holds.
    The command it suggests pastes as it is (``cli.terminal.command``: ``index`` named where needed)."""
    verb = "is" if count == 1 else "are"
    if absence(folder) == "empty" and is_there(folder):
        return (f"{shown(folder)}: {counted(count, 'indexed photo')} could not be read now (a network disk gone "
                f"stale?): {'it' if count == 1 else 'they'} {verb} kept and tried again on the next run")
    return (f"{shown(folder)} is {how_absent(folder)}: its {counted(count, 'indexed photo')} {verb} kept; "
            f"if it moved or is gone for good, `{shown(command('python', '-m', 'indexer', '--remove', folder, index=index))}` "
            "forgets them")


def how_absent(folder: str) -> str:
    """How a folder whose photos are kept is absent, and the likely why: "missing (a disk not
    mounted?)", or "unreadable (its permissions, ...)" where the OS refuses it (chmod 000, 644)."""
    how = absence(folder)
    return f"{how} ({'its permissions, or a network disk gone stale' if how == 'unreadable' else 'a disk not mounted'}?)"


def skipped_lines(skipped: dict[str, list[str]], head: str) -> list[str]:
    """A run's or a pass's skipped files: ``head`` and their count, then by reason, the first
    ``SHOW_PATHS`` paths of each (``--json`` lists all), ``shown``; nothing when none was skipped."""
    if not skipped:
        return []
    lines = [f"{head} {sum(len(paths) for paths in skipped.values())}:"]
    for reason, paths in sorted(skipped.items()):
        lines.append(f"    {shown(reason)}: {len(paths)}")
        lines += [f"      {shown(path)}" for path in paths[:SHOW_PATHS]]
        if len(paths) > SHOW_PATHS:
            lines.append(f"      ... and {len(paths) - SHOW_PATHS} more (--json lists all)")
    return lines


def _other_files(report: IndexReport, videos: bool = False) -> str:
    """What an empty run found instead (videos, documents...), or the question whether it is the folder."""
    if not report.other_files:
        return "is it the right folder?"
    kinds = ", ".join(f"{count:,} {ext}" for ext, count in report.other_files.items())
    return (f"it holds other files ({kinds}): "
            + ("videos are read after the photos (below)" if videos else "videos only with --videos"))
