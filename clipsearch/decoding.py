"""Decoding helpers of the indexing pipeline: a pool of abandonable threads, header facts."""

from __future__ import annotations

import io
import queue
import threading
from concurrent.futures import Future

from PIL import Image

from .errors import UnreadableImage
from .images import _date_taken


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


def header_facts(data: bytes, path: str) -> tuple[int, int, str | None]:
    """Width, height (upright) and date taken, from the header alone (no pixel decoding)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            exif = img.getexif()
            if exif.get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width
            return width, height, _date_taken(exif)
    except Exception as exc:
        raise UnreadableImage(path, "decode error", str(exc)) from None
