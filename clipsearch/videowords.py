"""The words in videos' moments (``--videos`` with ``--ocr``): each moment's frame read by OCR.

After the video pass, where the index reads the words in photos too, every moment whose words are
not read yet (a new video, one read before the words were turned on, or one read by another
reader) has its frame decoded again (a seek: the video pass keeps vectors, not pictures), at a
size the reader reads well, and read by the reader photos use (``ocr.TextReader``). The words go
into ``videos.sqlite`` (``VideoIndex.put_words``), one transaction a video, and are searched as
the photos' words are (``textindex.parse_text_query``: whole words, word beginnings, "phrases").
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from .ahead import Watch, run_ahead
from .errors import UnreadableImage
from .ocr import TextReader
from .reports import counted
from .textindex import alternate_forms
from .videoindex import VideoIndex

log = logging.getLogger(__name__)

WORDS_SIDE = 720  # the shorter side a moment's frame is read at (a 1080p frame: 720 px high)


@dataclass
class WordsReport:
    """What one pass over the moments' words did."""

    videos: int = 0  # whose moments were read
    moments: int = 0  # read
    said: int = 0  # of them, those with words
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths (a lasting one not tried again)
    left: int = 0  # videos still to read (an interrupted pass)
    interrupted: bool = False
    elapsed: float = 0.0


class _Stopped(Exception):
    """A stop asked for while a video's moments were read: it is left for the next pass."""


class WordsPass:
    """One pass over the moments whose words are not read, of one ``VideoIndex``, with one reader."""

    def __init__(self, index: VideoIndex, reader: TextReader, *, timeout: float = 60.0,
                 progress: Callable[[WordsReport], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.index, self.reader, self.timeout, self.progress = index, reader, timeout, progress
        self.should_stop = should_stop or (lambda: False)

    def run(self) -> WordsReport:
        started, report = time.monotonic(), WordsReport()
        pending = self.index.words_pending(self.reader.stamp)
        paths = {record.fingerprint: record.path for record in reversed(self.index.records())}
        for i, (fingerprint, times) in enumerate(pending):
            path = paths.get(fingerprint)
            if path is None:
                continue
            try:
                if self.should_stop():
                    raise _Stopped
                said = self._read(path, times)
            except _Stopped:
                report.interrupted, report.left = True, len(pending) - i
                break
            except UnreadableImage as exc:  # gone or changed since the video pass: its next pass says so
                log.warning("could not read the words in %s: %s", path, exc.reason)
                report.skipped.setdefault(exc.reason, []).append(path)
                if exc.reason in UnreadableImage.LASTING:  # not tried again until its moments change
                    self.index.put_words(fingerprint, self.reader.stamp, [], len(times))
                continue
            self.index.put_words(fingerprint, self.reader.stamp, said, len(times))
            report.videos, report.moments, report.said = report.videos + 1, report.moments + len(times), \
                report.said + len(said)
            if self.progress is not None:
                self.progress(report)
        report.elapsed = time.monotonic() - started
        return report

    def _read(self, path: str, times: list[float]) -> list[tuple[float, str, str]]:
        """(t, text, its alternate forms) of the moments of ``path`` that say something."""
        from .video_frames import frames_at  # PyAV loads with the first pass, not with clipsearch

        watch, said, reading = Watch(), [], deque()
        stalled = partial(UnreadableImage, path, "timed out", f"nothing read for {self.timeout:g} s")
        frames = run_ahead(frames_at(path, times, WORDS_SIDE, watch), watch, self.timeout, stalled, 2,
                           name="video decode")
        # As many frames read at once as the reader has engines (one a core), in the order of the moments.
        with ThreadPoolExecutor(self.reader.threads, thread_name_prefix="moment words") as pool:
            for frame in frames:
                reading.append((frame.t, pool.submit(self.reader.read, frame.image)))
                while len(reading) > self.reader.threads:
                    _take(path, reading.popleft(), said)
                if self.should_stop():
                    raise _Stopped
            while reading:
                _take(path, reading.popleft(), said)
        return said


def _take(path: str, read: tuple[float, Future], said: list[tuple[float, str, str]]) -> None:
    t, page = read
    try:
        text = page.result().text.strip()
    except Exception as exc:  # noqa: BLE001 - the reader failed on this frame: the video is skipped, said why
        raise UnreadableImage(path, "ocr error", f"{type(exc).__name__}: {exc}"[:200]) from None
    if text:
        said.append((t, text, alternate_forms(text)))


def words_line(report: WordsReport | None) -> str:
    """The summary's words (nothing where no pass ran or it read nothing)."""
    if report is None or not (report.moments or report.skipped):
        return ""
    skipped = sum(len(paths) for paths in report.skipped.values())
    return (f"; words read in {counted(report.moments, 'moment')} of {counted(report.videos, 'video')} "
            f"({report.said} {'says' if report.said == 1 else 'say'} something)"
            + (f", {counted(skipped, 'video')} could not be read again for them" if skipped else "")
            + (f", {counted(report.left, 'video')} left for the next run" if report.left else ""))
