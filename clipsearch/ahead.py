"""Work done on a thread of its own a few items ahead of its reader, abandoned when it stalls.

What reading a video needs (``video_frames.SampledVideo``): the frames decode while the reader
embeds the ones before, a decoder that hangs (a file on a share that stopped answering, a codec
that loops) is given up after a while without progress, and a reader that stops early (a time-out,
Ctrl-C, a Stop) stops the work at its next step. Unlike ``images.call_abandonable``'s, the limit is
on a stall, not on the whole: an hour of video may take minutes.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()  # after the last item, in the queue from the working thread
STOP_WAIT = 10.0  # s a reader that leaves early waits for the work to reach its next step


class Abandoned(Exception):
    """Raised in work that its reader stopped waiting for."""


class Watch:
    """Progress the work reports, step by step (``tick``), to the thread waiting for it."""

    ticks, abandoned = 0, False

    def tick(self) -> None:
        """One step made; raises ``Abandoned`` once the reader has gone."""
        if self.abandoned:
            raise Abandoned
        self.ticks += 1


def run_ahead(items: Iterator[T], watch: Watch, stall: float, stalled: Callable[[], BaseException], ahead: int,
              name: str = "ahead") -> Iterator[T]:
    """``items`` made on a daemon thread named ``name``, at most ``ahead`` before the reader; when
    ``stall`` seconds pass with no item and no tick, ``stalled()`` is raised to the reader. An
    exception of the work is raised to the reader in its place. Leaving early stops the work at
    its next tick (or item)."""
    handover = _Handover(watch, ahead)
    worker = threading.Thread(target=handover.work, args=(items,), name=name, daemon=True)
    worker.start()
    seen, wait = 0, STOP_WAIT
    try:
        while True:
            try:
                item = handover.queue.get(timeout=stall)
            except queue.Empty:
                if watch.ticks == seen:
                    wait = 0.0  # stuck: abandoned, not waited for
                    raise stalled() from None
                seen = watch.ticks
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # a stall, Ctrl-C, an error or a reader that stopped early: the work stops at its next step,
        watch.abandoned = True  # and is waited for that long (a process that exits while it is inside
        worker.join(wait)  # a decoder's native code can abort, exit 134, instead of ending as it meant to)


class _Handover:
    """The working thread's side: items into a queue of ``ahead`` places, then the end (or what went wrong)."""

    def __init__(self, watch: Watch, ahead: int) -> None:
        self.watch, self.queue = watch, queue.Queue(max(1, ahead))

    def work(self, items: Iterator) -> None:
        try:
            with contextlib.closing(items) if hasattr(items, "close") else contextlib.nullcontext():
                for item in items:
                    self.hand(item)
            self.hand(_END)
        except Abandoned:
            pass
        except BaseException as exc:  # handed to the reader
            with contextlib.suppress(Abandoned):
                self.hand(exc)

    def hand(self, item: object) -> None:
        while True:  # a reader gone away leaves the queue full
            try:
                return self.queue.put(item, timeout=0.05)
            except queue.Full:
                if self.watch.abandoned:
                    raise Abandoned from None
