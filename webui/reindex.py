"""Re-indexing from the web app: one background thread, progress the page can poll.

The job calls the searching engine's own ``index_folder``: the model already loaded embeds, in
small batches so a search never waits long for it. The engine takes the index lock and writes
through a store of its own, so searches keep running on theirs and pick up each committed batch
with ``reload_if_changed``; a cron indexer that holds the lock is reported (``IndexLocked``) and
never disturbed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from clipsearch import (
    ClipSearchError,
    IndexLocked,
    IndexProgress,
    IndexReport,
    SearchEngine,
    Settings,
    TextProgress,
    TextReport,
    VideoProgress,
    VideoReport,
    clock,
)
from clipsearch.affinity import all_cores
from clipsearch.reports import counted, kept_unreadable_words, metadata_kept_words
from clipsearch.videowords import words_line

from .markdown import md

log = logging.getLogger(__name__)

# Searches wait for the model call in flight. With 12 MP photos on 2 cores, searches during a
# re-index took 1193 ms p50 at the throughput-sized batch of 32 and 179 ms at 8, for 6% less
# indexing speed (benchmarks/bench_reindex_search.py). A Settings.batch_size that is set wins.
INTERACTIVE_BATCH = 8
# Decode threads beside searches: at most 4, as on a CPU, even where the model runs on a GPU and the
# command-line indexer decodes on every core. A Settings.workers that is set wins.
INTERACTIVE_WORKERS = 4
# Reading words in photos (--ocr) takes a core per reader: one leaves the other to searches.
INTERACTIVE_TEXT_READERS = 1
SHOW_SKIPPED = 5  # paths of each reason a finished run lists on the page; the log has every one


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of the job for display: what it is doing and how far it got."""

    running: bool = False
    started: float | None = None
    progress: IndexProgress | None = None
    report: IndexReport | None = None
    error: str | None = None
    text_progress: TextProgress | None = None  # the words-in-photos pass, after embedding
    text_report: TextReport | None = None
    video_progress: VideoProgress | None = None  # the videos' pass, after the words
    video_report: VideoReport | None = None

    def describe(self) -> str:
        """One markdown line for the index panel."""
        if self.running and self.video_progress is not None:
            v = self.video_progress
            return (f"Reading videos: {v.read + v.skipped} of {v.to_read} ({counted(v.moments, 'moment')}, {v.skipped} skipped, "
                    f"{clock(v.seconds)} of video at {v.rate:.1f}x its speed"
                    + (f"; words read in {counted(v.words, 'moment')}" if v.words else "") + ")")
        if self.running and self.text_progress is not None:
            t = self.text_progress
            return (f"Reading the words in photos: {t.read + t.skipped} of {t.to_read} "
                    f"({t.with_text} with words, {t.skipped} skipped, {t.rate:.1f}/s)")
        if self.running:
            p = self.progress
            if p is None or p.to_process == 0:
                found = f" {counted(p.found, 'image file', grouped=True)} found" if p is not None and p.found else ""
                return f"Re-indexing: scanning folders...{found}"
            return (f"Re-indexing: {p.processed} of {counted(p.to_process, 'changed file')} "
                    f"({p.embedded} embedded, {p.skipped} skipped, {p.rate:.1f}/s)")
        if self.error:
            return f"Re-index failed: {self.error}"
        if self.report is not None:
            r = self.report
            state = "stopped" if r.interrupted else "done"
            return (f"Re-index {state} in {r.elapsed:.1f} s: {r.added} added, {r.updated} updated, "
                    f"{r.moved} moved, {r.removed} removed, {r.skipped_count + r.still_unreadable} skipped, "
                    f"{r.unchanged} unchanged" + _metadata_summary(r) + _kept_summary(r) + _text_summary(self.text_report)
                    + _video_summary(self.video_report) + _skipped_lists(r, self.text_report, self.video_report))
        return ""


def _skipped_lists(report: IndexReport, text: TextReport | None, videos: VideoReport | None) -> str:
    """Which files a finished run skipped, and why: each pass's, by reason, the first
    ``SHOW_SKIPPED`` paths of each (as the indexer's summary lists them)."""
    out = _skipped_list("Skipped", report.skipped)
    if report.still_unreadable:
        out += (f"\n\n{report.still_unreadable} unreadable skipped again without reading: unchanged since a "
                "run listed them (this page's or the indexer's)")
    if report.kept_unreadable:
        out += f"\n\n{kept_unreadable_words(report)}"
    out += _skipped_list("Words not read", text.skipped if text is not None else {})
    return out + _skipped_list("Videos skipped", videos.skipped if videos is not None else {})


def _skipped_list(head: str, skipped: dict[str, list[str]]) -> str:
    lines = []
    for reason, paths in sorted(skipped.items()):
        more = f", and {len(paths) - SHOW_SKIPPED} more (the server's log lists them)" if len(
            paths) > SHOW_SKIPPED else ""
        lines.append(f"- {md(reason)} ({len(paths)}): {', '.join(md(p) for p in paths[:SHOW_SKIPPED])}{more}")
    return f"\n\n{head}, by reason:\n" + "\n".join(lines) if lines else ""


def _metadata_summary(report: IndexReport) -> str:
    """The photos whose metadata alone changed, as the indexer's summary says them."""
    return f"; {metadata_kept_words(report)}" if report.metadata_kept else ""


def _kept_summary(report) -> str:
    if not report.kept:
        return ""
    return (f"; {counted(sum(report.kept.values()), 'photo')} kept of {', '.join(report.kept)}, missing, empty or "
            "unreadable now (a disk not mounted, or its permissions?)")


def _text_summary(report: TextReport | None) -> str:
    if report is None:
        return ""
    state = "; reading words stopped" if report.interrupted else "; words read"
    return f"{state} in {counted(report.read, 'photo')} ({report.with_text} with words, {report.skipped_count} skipped)"


def _video_summary(report: VideoReport | None) -> str:
    if report is None or not (report.read or report.reused or report.removed or report.skipped):
        return ""
    state = "; reading videos stopped" if report.interrupted else "; videos read"
    return (f"{state}: {report.read} ({counted(report.moments, 'moment')}; {report.reused} moved kept theirs, "
            f"{report.removed} removed, {report.skipped_count} skipped{words_line(report.words)})")


class ReindexJob:
    """Runs ``index_folder`` in a thread, one run at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._status = JobStatus()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    def start(self, engine: SearchEngine, folders: list[str]) -> bool:
        """Start re-indexing ``folders`` with ``engine``'s encoder; False if a run is going on."""
        with self._lock:
            if self._status.running:
                return False
            self._stop.clear()
            self._status = JobStatus(running=True, started=time.time())
            self._thread = threading.Thread(target=self._run, args=(engine, list(folders)),
                                            name="reindex", daemon=True)
            self._thread.start()
        return True

    def stop(self) -> None:
        """Ask a running job to stop after the batch in flight (it keeps what it committed)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running job (for tests); True when no job is running afterwards."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.status.running

    def _set(self, **changes) -> None:
        with self._lock:
            current = self._status
            self._status = JobStatus(**{**current.__dict__, **changes})

    def _progress(self, progress: IndexProgress) -> None:
        # The indexer mutates one IndexProgress object: keep a copy for readers on other threads.
        self._set(progress=IndexProgress(**progress.__dict__))

    def _text_progress(self, progress: TextProgress) -> None:
        self._set(text_progress=TextProgress(**progress.__dict__))

    def _video_progress(self, progress: VideoProgress) -> None:
        self._set(video_progress=VideoProgress(**progress.__dict__))

    def _run(self, engine: SearchEngine, folders: list[str]) -> None:
        report = error = text = videos = None
        # Every core while it runs: its decoding threads need them more than the model needs
        # one of its own (clipsearch.affinity; kept apart, the app indexed 37% slower).
        with all_cores():
            try:
                batch = self.settings.batch_size or min(INTERACTIVE_BATCH, engine.batch_size)
                workers = self.settings.workers or min(INTERACTIVE_WORKERS, os.cpu_count() or 2)
                report = engine.index_folder(folders, batch_size=batch, workers=workers, progress=self._progress,
                                             should_stop=self._stop.is_set)
                engine.reload_if_changed()  # CLIP search sees the new photos before their words are read
                if not report.interrupted:
                    text = engine.read_texts(progress=self._text_progress, should_stop=self._stop.is_set,
                                             workers=INTERACTIVE_TEXT_READERS)
                if not (report.interrupted or (text and text.interrupted)):  # when the index reads videos
                    videos = engine.read_videos(progress=self._video_progress, should_stop=self._stop.is_set)
            except IndexLocked as exc:
                error = str(exc)
            except ClipSearchError as exc:
                error = str(exc)
                log.warning("re-index failed: %s", exc)
            except Exception as exc:  # the page must learn that the thread died
                error = f"{type(exc).__name__}: {exc}"
                log.exception("re-index crashed")
        self._set(running=False, report=report, error=error, text_report=text, text_progress=None,
                  video_report=videos, video_progress=None)
