"""Decoding in the indexing pipeline: each new or changed file hashed, and decoded for the model
unless it can reuse a vector, in a pool of abandonable threads a window ahead of the model."""

from __future__ import annotations

import io
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from . import camera_raw
from .encoders.base import Encoder
from .errors import UnreadableImage
from .exif import exif_date, upright_size
from .images import FileStat, fingerprint_bytes, load_image, read_file_bytes
from .picture_fingerprint import picture_fingerprint
from .stores.base import ImageRecord

STOP_WAIT = 30.0  # s an early stop waits for the files being decoded or read (one stuck is abandoned)


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

    def shutdown(self, wait: float = 0.0) -> None:
        """Let idle threads end; stuck ones are daemons and die with the process. With ``wait``,
        give the busy ones up to that many seconds to finish their task: a process that ends
        while a thread is inside native code (an OCR engine's session) can abort instead of
        exiting with its own code."""
        for _ in self._threads:
            self._tasks.put(None)
        deadline = time.monotonic() + wait
        for thread in self._threads:
            if (left := deadline - time.monotonic()) <= 0:
                break
            thread.join(left)

    def stop(self, pending: Iterable[Future], wait: float = STOP_WAIT) -> None:
        """An early end (a stop, Ctrl-C, an error such as a full disk): the ``pending`` tasks not
        begun are dropped, and those running get up to ``wait`` seconds to finish. A process that
        exits while a decoder is inside torch or an OCR engine aborts ("terminate called without
        an active exception", exit 134) instead of ending with its own code and message."""
        for future in pending:
            future.cancel()
        self.shutdown(wait=wait)


def header_facts(data: bytes, path: str) -> tuple[int, int, str | None]:
    """Width, height (upright) and date taken, from the header alone (no pixel decoding)."""
    if camera_raw.is_raw(data, path):
        try:
            return camera_raw.header(data, path)
        except UnreadableImage as exc:
            if exc.reason != "not an image":
                raise  # else not RAW after all (``images.load_image`` reads it so too)
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
            width, height = upright_size(img, exif.get(0x0112, 1))
            return width, height, exif_date(exif)
    except Exception as exc:
        raise UnreadableImage(path, "decode error", str(exc)) from None


@dataclass
class InspectedFile:
    """A new or changed file after its worker ran: hashed, and decoded unless it can reuse."""

    stat: FileStat
    fingerprint: str = ""
    width: int = 0
    height: int = 0
    date_taken: str | None = None
    prepared: Any = None  # model input; None when the vector is reused
    error: UnreadableImage | None = None
    vector: np.ndarray | None = None  # already embedded elsewhere (a FileEmbedder)
    picture: str | None = None  # the picture's fingerprint, blind to metadata (a JPEG's or PNG's; else None)

    def record(self) -> ImageRecord:
        return ImageRecord(self.stat.path, self.stat.size, self.stat.mtime_ns, self.fingerprint,
                           self.width, self.height, self.date_taken)


class LocalDecoder:
    """The default ``FileEmbedder``: decode threads a window ahead; the model runs at commit.

    Without ``decode``, the threads only hash: a file that cannot reuse a vector comes back
    undecoded, and the pipeline, which then loads the model, decodes it and calls ``start_decoding``.
    """

    def __init__(self, encoder: Encoder, workers: int, window: int, file_timeout: float,
                 max_pixels: int | None, decode: bool = True) -> None:
        self.encoder = encoder
        self.workers = workers
        self.window = window
        self.file_timeout = file_timeout
        self.max_pixels = max_pixels
        self.decode = decode
        self._pool: DecodePool | None = None

    def start_decoding(self, workers: int, window: int) -> None:
        """Decode from the next file on, with ``workers`` threads (at least) a ``window`` ahead."""
        if self._pool is not None:
            for _ in range(workers - self.workers):
                self._pool.grow()
        self.decode, self.window, self.workers = True, window, max(workers, self.workers)

    def embed_files(self, files: list[FileStat], reusable: set[str]) -> Iterator[InspectedFile]:
        self._pool = pool = DecodePool(self.workers)
        try:
            window: deque[tuple[FileStat, Future]] = deque()
            pending = iter(files)
            while True:
                for stat in pending:  # keep the decoders a window ahead of the model
                    encoder = self.encoder if self.decode else None
                    window.append((stat, pool.submit(inspect_file, stat, reusable, encoder, self.max_pixels)))
                    if len(window) >= self.window:
                        break
                if not window:
                    return
                stat, future = window.popleft()
                try:
                    yield future.result(timeout=self.file_timeout)
                except FutureTimeout:
                    pool.grow()  # that thread may never come back
                    yield InspectedFile(stat, error=UnreadableImage(stat.path, "timed out"))
        finally:  # closed early (a stop, an error: a full disk): what runs is waited for, a while
            pool.stop([future for _, future in window], wait=STOP_WAIT if window else 0.0)


def inspect_file(stat: FileStat, reusable: set[str], encoder: Encoder | None, max_pixels: int | None) -> InspectedFile:
    """Hash a file; decode and preprocess it unless its fingerprint, or its picture's (a file
    whose metadata alone changed), is in ``reusable`` (or there is no ``encoder`` yet: then only
    its header is read).

    Runs in the local decode threads, and in the tasks of a distributed ``FileEmbedder``.
    """
    item = InspectedFile(stat)
    try:
        before = _stat_or_none(stat.path)
        data = read_file_bytes(stat.path)
        item.stat = _stat_read(stat, before, _stat_or_none(stat.path), len(data))
        item.fingerprint = fingerprint_bytes(data)
        item.picture = picture_fingerprint(data, stat.path)
        if item.fingerprint in reusable or encoder is None or (item.picture and item.picture in reusable):
            item.width, item.height, item.date_taken = header_facts(data, stat.path)
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


def _stat_or_none(path: str) -> FileStat | None:
    try:
        return FileStat.of(path, os.stat(path))
    except OSError:
        return None


def _stat_read(scanned: FileStat, before: FileStat | None, after: FileStat | None, length: int) -> FileStat:
    """The stat to record with the bytes just read: the file's own where it stood still across the
    read (one rewritten since the scan is then recorded as read, not read again next run), else the
    scan's. A file replaced during or just after the read is then seen as changed by the next run,
    which reads it again: recorded with the new file's stat, the old content's vector was kept for
    good, every later run finding it unchanged."""
    if before is not None and before == after and after.size == length:
        return after
    return scanned
