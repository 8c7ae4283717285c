"""Indexing: scan folders, work out what changed, embed only that, commit in batches.

Decoding runs in a thread pool (Pillow releases the GIL while it decodes) that stays a window
ahead of the model, which runs in the calling thread; JPEGs are decoded at reduced scale. Every
batch is committed to the store as it completes, so an interrupted run loses at most the batch in
flight and the next run resumes where it stopped. Files whose content the index already has (a
rename, a move, a copy) reuse the stored vector instead of being embedded again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
from PIL import Image

from .encoders.base import Encoder
from .errors import UnreadableImage
from .images import FileStat, fingerprint_bytes, load_image, read_file_bytes, scan_images
from .stores.base import ImageRecord, WriteBatch, check_stamp

log = logging.getLogger(__name__)

SAVE_EVERY_SECONDS = 600.0  # snapshot the graph this often during long runs


@dataclass
class IndexProgress:
    """Where a run is; handed to the progress callback after every batch."""

    found: int = 0
    to_process: int = 0
    processed: int = 0
    embedded: int = 0
    skipped: int = 0
    elapsed: float = 0.0

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
    embedded: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    elapsed: float = 0.0
    dry_run: bool = False
    interrupted: bool = False

    @property
    def skipped_count(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.elapsed if self.elapsed > 0 else 0.0

    def skip(self, path: str, reason: str) -> None:
        log.warning("skipping %s: %s", path, reason)
        self.skipped.setdefault(reason, []).append(path)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped_count"] = self.skipped_count
        out["images_per_second"] = round(self.images_per_second, 2)
        out["elapsed"] = round(self.elapsed, 3)
        return out


@dataclass
class _Item:
    """A new or changed file after its worker ran: hashed, and decoded unless it can reuse."""

    stat: FileStat
    fingerprint: str = ""
    width: int = 0
    height: int = 0
    date_taken: str | None = None
    prepared: Any = None  # model input; None when the vector is reused
    error: UnreadableImage | None = None
    vector: np.ndarray | None = None  # already embedded elsewhere (a FileEmbedder)

    def record(self) -> ImageRecord:
        return ImageRecord(self.stat.path, self.stat.size, self.stat.mtime_ns, self.fingerprint,
                           self.width, self.height, self.date_taken)


class FileEmbedder(Protocol):
    """Hashes, decodes and embeds files elsewhere (e.g. on a Ray cluster) for an ``Indexer``.

    Gets the new or changed files and the fingerprints the store already has; yields, in any
    order, one ``inspect_file`` result per file with ``vector`` set, except for files whose
    fingerprint is reusable (the indexer reuses the stored vector) or that failed (``error``).
    """

    def embed_files(self, files: list[FileStat], reusable: set[str]) -> Iterator[_Item]: ...


class Indexer:
    """One indexing run of some folders into a store with an encoder.

    With an ``embedder``, files are hashed, decoded and embedded by it instead of the local
    decode threads and model; scanning, diffing, renames, reuse and commits stay here.
    """

    def __init__(
        self,
        encoder: Encoder,
        store,
        *,
        batch_size: int | None = None,
        workers: int | None = None,
        file_timeout: float = 60.0,
        max_pixels: int | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        embedder: FileEmbedder | None = None,
    ) -> None:
        self.encoder = encoder
        self.embedder = embedder
        self.store = store
        self._batch_size = batch_size  # None: the encoder's choice (asked only when needed)
        self.workers = workers or min(4, os.cpu_count() or 2)
        self.file_timeout = file_timeout
        self.max_pixels = max_pixels
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)

    @property
    def batch_size(self) -> int:
        return self._batch_size or self.encoder.batch_size

    def run(self, folders: Iterable[str], *, dry_run: bool = False) -> IndexReport:
        started = time.monotonic()
        folders = [os.path.abspath(os.fspath(f)) for f in folders]
        report = IndexReport(folders=folders, dry_run=dry_run)
        scan = scan_images(folders, exclude=[getattr(self.store, "folder", "")])
        for path, reason in scan.errors:
            report.skip(path, reason)
        report.found = len(scan.files)
        known = _known_under(self.store.file_states(), folders)
        on_disk = {f.path for f in scan.files}
        todo = []
        for stat in scan.files:
            state = known.get(stat.path)
            if state and state[0] == stat.size and state[1] == stat.mtime_ns:
                report.unchanged += 1
            else:
                todo.append(stat)
        vanished = {p: known[p][2] for p in known if p not in on_disk}
        if dry_run:
            report.added = sum(1 for s in todo if s.path not in known)
            report.updated = len(todo) - report.added
            report.removed = len(vanished)
            report.elapsed = time.monotonic() - started
            return report
        if todo:  # the model loads now, if it has not: make sure it is the index's model
            check_stamp(self.store.stamp, self.encoder.stamp, getattr(self.store, "folder", "the index"))
        progress = IndexProgress(found=report.found, to_process=len(todo))
        self._process(todo, known, vanished, report, progress, started)
        if not report.interrupted:
            gone = [p for p in vanished if p not in self._renamed_from]
            if gone:
                self.store.write(WriteBatch(delete=gone))
            report.removed = len(gone)
        previous = self.store.info().get("folders", [])
        self.store.set_folders(list(previous) + folders)
        self.store.save()
        report.elapsed = time.monotonic() - started
        return report

    # --- the pipeline ------------------------------------------------------------------------
    def _process(self, todo, known, vanished, report, progress, started) -> None:
        self._renamed_from: set[str] = set()
        if not todo:
            return
        store_fps = {state[2] for state in self.store.file_states().values()}
        vanished_by_fp: dict[str, list[str]] = {}
        for path, fp in vanished.items():
            vanished_by_fp.setdefault(fp, []).append(path)
        run_vectors: dict[str, np.ndarray] = {}  # fingerprint -> vector embedded in this run
        batch, embeds = WriteBatch(), []  # embeds: items waiting for the model
        self._twins: list[_Item] = []  # same content as an item in ``embeds``: reuse its vector
        last_save = time.monotonic()

        def flush() -> None:
            nonlocal batch, embeds
            if embeds:
                vectors = self.encoder.embed_prepared([item.prepared for item in embeds])
                for item, vector in zip(embeds, vectors):
                    run_vectors.setdefault(item.fingerprint, vector)
                    batch.put.append((item.record(), vector))
                    item.prepared = None
                report.embedded += len(embeds)
                progress.embedded += len(embeds)
            for twin in self._twins:
                batch.put.append((twin.record(), run_vectors[twin.fingerprint]))
            self._twins = []
            if len(batch):
                self.store.write(batch)
            batch, embeds = WriteBatch(), []

        if self.embedder is not None:
            items = self.embedder.embed_files(todo, store_fps)
            try:
                for item in items:
                    self._classify(item, known, vanished_by_fp, run_vectors, batch, embeds, report)
                    progress.processed += 1
                    if len(embeds) >= self.batch_size or len(batch) >= 4 * self.batch_size:
                        flush()
                        progress.embedded = report.embedded
                        last_save = self._tick(progress, report, started, last_save)
                        if progress.processed < progress.to_process and self.should_stop():
                            report.interrupted = True
                            break
            finally:
                getattr(items, "close", lambda: None)()  # stop the remote work on an early exit
            flush()
            progress.embedded = report.embedded
            self._tick(progress, report, started, last_save)
            return
        pool = self._pool = DecodePool(self.workers)
        try:
            window: deque[tuple[FileStat, Future]] = deque()
            pending = iter(todo)
            limit = self.workers * 4 + self.batch_size
            while True:
                for stat in pending:  # keep the decoders a window ahead of the model
                    window.append((stat, pool.submit(self._inspect, stat, store_fps)))
                    if len(window) >= limit:
                        break
                if not window:
                    break
                self._take(window.popleft(), known, vanished_by_fp, run_vectors, batch, embeds, report)
                progress.processed += 1
                if len(embeds) >= self.batch_size or len(batch) >= 4 * self.batch_size:
                    flush()
                    last_save = self._tick(progress, report, started, last_save)
                    if window and self.should_stop():
                        report.interrupted = True
                        break
            flush()
            self._tick(progress, report, started, last_save)
        finally:
            pool.shutdown()

    def _tick(self, progress, report, started, last_save) -> float:
        progress.skipped = report.skipped_count
        progress.elapsed = time.monotonic() - started
        if self.progress:
            self.progress(progress)
        if time.monotonic() - last_save > SAVE_EVERY_SECONDS:
            self.store.save()
            return time.monotonic()
        return last_save

    def _inspect(self, stat: FileStat, reusable: set[str]) -> _Item:
        """Worker: hash the file; decode and preprocess it unless its vector can be reused."""
        return inspect_file(stat, reusable, self.encoder, self.max_pixels)

    def _take(self, entry, known, vanished_by_fp, run_vectors, batch, embeds, report) -> None:
        stat, future = entry
        try:
            item = future.result(timeout=self.file_timeout)
        except FutureTimeout:
            report.skip(stat.path, "timed out")
            self._pool.grow()  # that thread may never come back
            return
        self._classify(item, known, vanished_by_fp, run_vectors, batch, embeds, report)

    def _classify(self, item, known, vanished_by_fp, run_vectors, batch, embeds, report) -> None:
        """Decide what an inspected file is: touched, moved, reusable, embedded, or to embed."""
        stat = item.stat
        if item.error is not None:
            report.skip(stat.path, item.error.reason)
            return
        fp, old = item.fingerprint, known.get(stat.path)
        if old and old[2] == fp:  # touched, same content
            batch.update.append(item.record())
            report.updated += 1
            return
        sources = vanished_by_fp.get(fp)
        if sources and not old:  # a file that vanished elsewhere reappears here: a move
            source = sources.pop()
            self._renamed_from.add(source)
            batch.rename.append((source, item.record()))
            report.moved += 1
            return
        counter = "updated" if old else "added"
        vector = run_vectors.get(fp)
        if vector is None and item.vector is not None:  # embedded by the FileEmbedder
            run_vectors[fp] = item.vector
            batch.put.append((item.record(), item.vector))
            report.embedded += 1
            setattr(report, counter, getattr(report, counter) + 1)
            return
        if vector is None and item.prepared is None:
            vector = self.store.vectors_by_fingerprint([fp]).get(fp)
            if vector is None:  # the reusable copy went away meanwhile: decode after all
                item = self._inspect(stat, set())
                if item.error is not None:
                    report.skip(stat.path, item.error.reason)
                    return
        if vector is not None:
            batch.put.append((item.record(), vector))
            report.reused += 1
        elif any(e.fingerprint == fp for e in embeds):  # same content twice in one batch
            item.prepared = None
            self._twins.append(item)
            report.reused += 1
        else:
            embeds.append(item)
        setattr(report, counter, getattr(report, counter) + 1)


def inspect_file(stat: FileStat, reusable: set[str], encoder: Encoder, max_pixels: int | None) -> _Item:
    """Hash a file; decode and preprocess it unless its fingerprint is in ``reusable``.

    Runs in the local decode threads, and in the tasks of a distributed ``FileEmbedder``.
    """
    item = _Item(stat)
    try:
        data = read_file_bytes(stat.path)
        with contextlib.suppress(OSError):  # rewritten since the scan: record what was read
            now = os.stat(stat.path)
            if (now.st_size, now.st_mtime_ns) != (stat.size, stat.mtime_ns) and now.st_size == len(data):
                item.stat = FileStat(stat.path, now.st_size, now.st_mtime_ns)
        item.fingerprint = fingerprint_bytes(data)
        if item.fingerprint in reusable:
            item.width, item.height, item.date_taken = _header_facts(data, stat.path)
            return item
        kwargs = {"max_pixels": max_pixels} if max_pixels else {}
        loaded = load_image(data, path=stat.path, min_size=encoder.input_size,
                            fingerprint=item.fingerprint, **kwargs)
        item.width, item.height, item.date_taken = loaded.width, loaded.height, loaded.date_taken
        item.prepared = encoder.prepare(loaded.image)
    except UnreadableImage as exc:
        item.error = exc
    except Exception as exc:  # a decoder bug must not stop the run
        item.error = UnreadableImage(stat.path, "decode error", f"{type(exc).__name__}: {exc}")
    return item


class DecodePool:
    """A pool of daemon threads: a decoder stuck on a hostile file can be abandoned.

    (concurrent.futures joins its threads at exit, so one hung decode would hang the process.)
    """

    def __init__(self, workers: int) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = []
        for _ in range(workers):
            self.grow()

    def grow(self) -> None:
        """Add a thread (to replace one that is stuck)."""
        thread = threading.Thread(target=self._work, name="decode", daemon=True)
        thread.start()
        self._threads.append(thread)

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        self._tasks.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the waiting thread
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Let idle threads end; stuck ones are daemons and die with the process."""
        for _ in self._threads:
            self._tasks.put(None)


def _header_facts(data: bytes, path: str) -> tuple[int, int, str | None]:
    """Width, height (upright) and date taken, from the header alone (no pixel decoding)."""
    import io

    from .images import _date_taken

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            exif = img.getexif()
            if exif.get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
            return width, height, _date_taken(exif)
    except Exception as exc:
        raise UnreadableImage(path, "decode error", str(exc)) from None


def _known_under(states: dict[str, tuple[int, int, str]], folders: list[str]) -> dict:
    prefixes = tuple(os.path.join(f, "") for f in folders)
    return {p: s for p, s in states.items() if p.startswith(prefixes) or p in folders}


def skipped_summary(report: IndexReport) -> Counter:
    """Skipped files counted by reason."""
    return Counter({reason: len(paths) for reason, paths in report.skipped.items()})
