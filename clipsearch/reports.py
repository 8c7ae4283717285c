"""What an indexing run reports: progress while it runs, a report when it ends."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("clipsearch.pipeline")  # skipped files are the pipeline's news
# A run warns of each file it skips as it goes, the first ``LIVE_SKIPS`` of them; then once that the
# rest are in its summary (by reason), and of each only with ``-v`` (a folder of cloud placeholders
# or of a format not installed would print a warning a file, thousands of lines).
LIVE_SKIPS = 20


@dataclass
class IndexProgress:
    """Where a run is; handed to the progress callback after every batch."""

    found: int = 0
    to_process: int = 0
    processed: int = 0
    embedded: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    scanning: bool = False  # still looking for files: ``found`` so far, nothing to process yet

    @property
    def rate(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class IndexReport:
    """What one indexing run did."""

    folders: list[str] = field(default_factory=list)
    found: int = 0
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    reused: int = 0  # vectors copied from identical content instead of embedded
    metadata_kept: int = 0  # of those updated, changed in their metadata alone: vector kept
    content_kept: int = 0  # of those updated, the same content (touched, or put back by a copy): vector and words kept
    embedded: int = 0  # a dry run's: would embed (those added or updated whose vector is not kept or reused)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    still_unreadable: int = 0  # skipped in an earlier run of this process and unchanged: not read again
    # Of those skipped (now, or again without reading), the files the index held before they broke
    # (a sync cut short, a disk fault: a lasting reason, which ``info`` names them by, not the OS's
    # refusal): their records, the picture last read, are kept, searched as they were until the
    # file reads again; its content's vector then is there if it is the same.
    kept_unreadable: int = 0
    kept: dict[str, int] = field(default_factory=dict)  # folder gone, empty or refused -> its photos, kept
    other_files: dict[str, int] = field(default_factory=dict)  # the commonest files that are no picture (".cr2": 120)
    elapsed: float = 0.0
    dry_run: bool = False
    interrupted: bool = False
    another_run: str | None = None  # a dry run beside a run that updates the index ("process 42 on nas, since ...")

    @property
    def skipped_count(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.elapsed if self.elapsed > 0 and not self.dry_run else 0.0

    def skip(self, path: str, reason: str) -> None:
        told = self.skipped_count
        if told < LIVE_SKIPS:
            log.warning("skipping %s: %s", path, reason)
        else:
            if told == LIVE_SKIPS:
                log.warning("skipping more files: the summary counts them by reason (-v names each here)")
            log.info("skipping %s: %s", path, reason)
        self.skipped.setdefault(reason, []).append(path)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped_count"] = self.skipped_count
        out["images_per_second"] = round(self.images_per_second, 2)
        out["elapsed"] = round(self.elapsed, 3)
        if self.another_run is None:  # said only where there is one
            del out["another_run"]
        return out


def counted(n: int, thing: str, plural: str | None = None, grouped: bool = False) -> str:
    """``n`` things, in words that fit the number: "1 video", "3 videos", "0 videos"; ``plural``
    where adding an "s" is wrong ("1 match", "2 matches"); ``grouped``: "12,000" for 12000.
    Every summary that prints a count says it so."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {thing if n == 1 else plural or thing + 's'}"


def metadata_kept_words(report: IndexReport) -> str:
    """How a run's summary says the photos whose metadata alone changed (the indexer's and the web
    app's re-index): "metadata changed, kept 12 vectors: their pictures did not change", "would
    keep" in a dry run; "" where there is none."""
    if not report.metadata_kept:
        return ""
    one = report.metadata_kept == 1
    return (f"metadata changed, {'would keep' if report.dry_run else 'kept'} {counted(report.metadata_kept, 'vector')}: "
            f"{'its picture' if one else 'their pictures'} did not change")


def kept_unreadable_words(report: IndexReport) -> str:
    """How a run's summary says the indexed photos whose files no longer read (the indexer's and
    the web app's re-index): their records stay, as last read, until the files read again; ""
    where there is none."""
    n = report.kept_unreadable
    if not n:
        return ""
    one, keeps = n == 1, "would keep" if report.dry_run else "keeps"
    return (f"{counted(n, 'unreadable file')} {'was' if one else 'were'} indexed before {'it' if one else 'they'} "
            f"stopped reading: the index {keeps} {'its earlier picture' if one else 'their earlier pictures'}, which searches "
            f"still find, until the {'file reads' if one else 'files read'} again "
            f"(deleted, {'it leaves' if one else 'they leave'} the index)")


def unreadable_kept_words(n: int) -> str:
    """How ``info`` says the ``n`` indexed photos whose files broke since (``clipsearch info``, the
    web app's Index panel): "2 indexed photos whose files no longer read ..."."""
    one = n == 1
    return (f"{counted(n, 'indexed photo', grouped=True)} whose {'file no longer reads' if one else 'files no longer read'}"
            f" (a sync or a copy cut short?): kept as last read, and found by searches, until "
            f"{'it reads' if one else 'they read'} again")


def another_run_words(who: str) -> str:
    """How a dry run says that another run updates the index meanwhile (``IndexReport.another_run``)."""
    return f"another run is updating the index now ({who}): these figures may change by the time it ends"


def skipped_summary(report: IndexReport) -> Counter:
    """Skipped files counted by reason."""
    return Counter({reason: len(paths) for reason, paths in report.skipped.items()})


def indexed_when(info: dict[str, Any]) -> str:
    """An index's "Last indexed", for people: when its photos last changed, and when a run (a
    nightly cron job, say) last found nothing to change, if that was later."""
    last, checked = info.get("last_indexed"), info.get("last_checked")
    when = _minute(last) if last else "never"
    if checked and (not last or checked - last > 60):
        when += f" (checked {_minute(checked)}: {'no change since' if last else 'no photos found'})"
    return when


def _minute(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
