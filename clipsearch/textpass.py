"""The text pass: read the words in indexed photos that have not been read yet.

It runs after embedding, over what the vector store holds, so CLIP search works before it ends.
Each worker thread decodes a picture (JPEGs at reduced scale) and reads it with its own
single-threaded OCR engine; the calling thread commits, in order. Every batch of pages is one transaction in the text store, so
an interrupted or killed pass loses at most the batch in flight and the next one resumes. A file
whose content was read before (a move, a copy, an unchanged file) is never read again.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image

from .decoding import DecodePool
from .errors import UnreadableImage
from .images import fingerprint_bytes, load_image, read_file_bytes
from .ocr import TextReader
from .stores.base import ImageRecord
from .textindex import PageResult, TextIndex

log = logging.getLogger(__name__)

DECODE_SIDE = 1024  # JPEGs decode at the smallest scale that keeps both sides at least this
BATCH_SIZE = 16
LASTING_REASONS = UnreadableImage.LASTING  # recorded, so the file is not read again until it changes


@dataclass
class TextProgress:
    """Where a text pass is; handed to the progress callback after every batch."""

    to_read: int = 0
    read: int = 0
    with_text: int = 0
    skipped: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class TextReport:
    """What one text pass did (``files``: indexed files it covers)."""

    files: int = 0
    to_read: int = 0
    read: int = 0
    with_text: int = 0
    already_read: int = 0
    pruned: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    left: int = 0  # still to read (an interrupted pass)
    not_on_disk: int = 0  # still to read, their files not there now (a folder kept while it is missing)
    elapsed: float = 0.0
    interrupted: bool = False
    dry_run: bool = False  # nothing read: ``to_read`` would be (``new`` of them photos the run adds or changes)
    new: int = 0

    @property
    def skipped_count(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    @property
    def photos_per_second(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def skip(self, path: str, reason: str) -> None:
        log.warning("skipping %s (text): %s", path, reason)
        self.skipped.setdefault(reason, []).append(path)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped_count"] = self.skipped_count
        out["photos_per_second"] = round(self.photos_per_second, 2)
        out["elapsed"] = round(self.elapsed, 3)
        return out


def decode_for_reading(path: str, fingerprint: str, max_pixels: int | None = None) -> Image.Image:
    """The upright picture at ``path``, if its content is still ``fingerprint``."""
    data = read_file_bytes(path)
    if fingerprint_bytes(data) != fingerprint:
        raise UnreadableImage(path, "changed since indexed")
    kwargs = {"max_pixels": max_pixels} if max_pixels else {}
    return load_image(data, path=path, min_size=DECODE_SIDE, fingerprint=fingerprint, **kwargs).image


class _OcrFailed(Exception):
    """The OCR engine failed on one picture (carried out of the worker thread)."""


def _decode_and_read(reader: TextReader, path: str, fingerprint: str, max_pixels: int | None):
    image = decode_for_reading(path, fingerprint, max_pixels)
    try:
        return reader.read(image)
    except Exception as exc:  # noqa: BLE001 - one picture the OCR engine chokes on
        raise _OcrFailed(f"{type(exc).__name__}: {exc}") from exc


class TextPass:
    """One text pass over an index's records into its text store."""

    def __init__(self, text_index: TextIndex, reader: TextReader, *, batch_size: int | None = None,
                 workers: int | None = None, file_timeout: float = 60.0, max_pixels: int | None = None,
                 progress: Callable[[TextProgress], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.text_index = text_index
        self.reader = reader
        self.batch_size = batch_size or BATCH_SIZE
        self.workers = max(1, workers or reader.threads)  # each decodes, then reads, one picture
        self.file_timeout = file_timeout
        self.max_pixels = max_pixels
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)

    def run(self, records: Iterable[ImageRecord]) -> TextReport:
        """Mirror ``records`` (every file the index holds), read what is new, forget what left."""
        started = time.monotonic()
        report = TextReport()
        records = list(records)
        report.files = len(records)
        self.text_index.sync_files(records)
        if self.text_index.reader_stamp is None:
            self.text_index.set_reader_stamp(self.reader.stamp)
        pending = self.text_index.pending()
        report.already_read = len({r.fingerprint for r in records}) - len(pending)
        todo = [(fingerprint, path) for fingerprint, path in pending if os.path.exists(path)]
        report.not_on_disk = len(pending) - len(todo)  # a disk not mounted: read when it is back
        report.to_read = len(todo)
        progress = TextProgress(to_read=len(todo))
        if todo:
            self._read_all(todo, report, progress, started)
        if not report.interrupted:
            report.pruned = self.text_index.prune()
        report.left = report.to_read - progress.read - report.skipped_count
        report.elapsed = time.monotonic() - started
        return report

    def _read_all(self, todo: list[tuple[str, str]], report: TextReport, progress: TextProgress,
                  started: float) -> None:
        pool = DecodePool(self.workers)
        window: deque[tuple[str, str, Future]] = deque()
        pending = iter(todo)
        batch: list[PageResult] = []
        try:
            while True:
                for fingerprint, path in pending:  # keep the decoders a window ahead
                    window.append((fingerprint, path,
                                   pool.submit(_decode_and_read, self.reader, path, fingerprint,
                                               self.max_pixels)))
                    if len(window) >= 2 * self.workers + 2:
                        break
                if not window:
                    break
                result = self._read_one(*window.popleft(), report, pool)
                if result is not None:
                    batch.append(result)
                    progress.read += result.page is not None
                    progress.with_text += bool(result.page is not None and result.page.text.strip())
                if len(batch) >= self.batch_size:
                    self._commit(batch, report, progress, started)
                    batch = []
                    if window and self.should_stop():
                        report.interrupted = True
                        break
            self._commit(batch, report, progress, started)
        finally:  # an early stop or an error: what was queued is dropped, what runs is waited for (a while)
            pool.stop([future for _, _, future in window])

    def _read_one(self, fingerprint: str, path: str, future: Future, report: TextReport,
                  pool: DecodePool) -> PageResult | None:
        """Read one file; a ``PageResult`` to store, or None for a failure worth retrying later."""
        try:
            return PageResult(fingerprint, future.result(timeout=self.file_timeout))
        except FutureTimeout:
            pool.grow()  # that thread may never come back
            return self._failed(fingerprint, path, "timed out", report)
        except UnreadableImage as exc:
            return self._failed(fingerprint, path, exc.reason, report)
        except _OcrFailed as exc:
            return self._failed(fingerprint, path, "ocr error", report, detail=str(exc))
        except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop the pass
            return self._failed(fingerprint, path, "decode error", report, detail=f"{type(exc).__name__}: {exc}")

    def _failed(self, fingerprint: str, path: str, reason: str, report: TextReport,
                detail: str = "") -> PageResult | None:
        if detail:
            log.debug("%s: %s", path, detail)
        report.skip(path, reason)
        return PageResult(fingerprint, reason=reason) if reason in LASTING_REASONS else None

    def _commit(self, batch: list[PageResult], report: TextReport, progress: TextProgress,
                started: float) -> None:
        if batch:
            self.text_index.put(batch)
        report.read = progress.read
        report.with_text = progress.with_text
        progress.elapsed = time.monotonic() - started
        if self.progress and (batch or progress.skipped != report.skipped_count):
            progress.skipped = report.skipped_count
            self.progress(progress)
        progress.skipped = report.skipped_count
