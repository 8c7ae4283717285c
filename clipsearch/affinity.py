"""A core of its own for the model thread (Linux): while queries overlap, the others keep off it.

Under concurrent load the model runs each shared call on one core (``batching``, ``share_cores``)
while the request threads (HTTP, the index search, the cut-off) run beside it. Left to the
scheduler, those threads land on the model's core too and take turns with it there: in one process
on 2 cores, with 8 threads searching, the model thread was busy 93% of the time but got only 78% of
a core, and every query waits for it. So the model thread keeps one core, and while queries overlap
(``confine``, called by ``BatchingEncoder.query``) every other thread of the process keeps to the
others: the web app then answered more requests per second (2 cores, 8 clients, text queries:
REST 1-9%, call API 8-16%; README, **Under load**). A lone query leaves them free: its request's
own work then runs wherever a core is free, and torch's worker thread beside the model thread on
the other core (kept off the model's core all the time, a lone REST query took 19 ms; now 14-15).

Threads started later inherit their starter's cores, and the next change of state moves them all.
A re-index from the web app (``all_cores``) lets every thread, the model's too, use every core while
it runs: its decoding threads need them more than the model needs a core to itself.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


def _threads() -> list[int]:
    """The ids of this process's threads (Linux)."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return []


class CoreKeeper:
    """Keeps one core for the model thread, the others off it while queries overlap, and lets every
    thread have every core for a while (``all_cores``)."""

    def __init__(self, run_on_model_thread: Callable[[Callable[[], Any]], Any], *,
                 allowed: Callable[[int], Iterable[int]] | None = None,
                 pin: Callable[[int, set[int]], None] | None = None,
                 threads: Callable[[], list[int]] = _threads) -> None:
        self.run_on_model_thread = run_on_model_thread
        self.allowed = allowed or getattr(os, "sched_getaffinity", None)
        self.pin = pin or getattr(os, "sched_setaffinity", None)
        self.threads = threads
        self.core: int | None = None
        self.cpus: set[int] = set()  # the cores the process may use
        self.model_thread_id: int | None = None
        self.confined = False  # the other threads off the model's core
        self._busy: Callable[[], bool] = lambda: False  # whether queries overlap, as last told
        self._lock = threading.Lock()
        self._sharing = 0

    def reserve(self) -> int | None:
        """The model thread on one core; returns the core, or None where nothing changed (not
        Linux, or fewer than two cores allowed). The other threads keep every core until told that
        queries overlap (``confine``)."""
        if self.allowed is None or self.pin is None:
            return None
        cpus = self.cpus = self.cpus or set(self.allowed(0))
        if len(cpus) < 2:
            return None
        core = max(cpus)

        def pin_here() -> int:
            self.pin(0, {core})  # 0: the calling thread, on Linux
            return threading.get_native_id()

        try:
            self.model_thread_id = self.run_on_model_thread(pin_here)
        except OSError as exc:
            log.warning("could not keep a core for the model (%s): the threads share every core", exc)
            self.core = None
            return None
        self.core, self.confined = core, False
        self._apply()
        return core

    def confine(self, busy: Callable[[], bool]) -> None:
        """Keep the other threads off the model's core while ``busy()`` (queries overlap), and let
        them have every core when it is not. ``busy`` is read under this keeper's lock, so calls
        that race each other end in the state of the last count, whatever their order."""
        with self._lock:
            self._busy = busy
            if self._sharing == 0:
                self._apply()

    def _apply(self) -> None:
        if self.core is None:
            return
        want = bool(self._busy())
        if want != self.confined:
            self._pin_all(self.cpus - {self.core} if want else self.cpus, skip=self.model_thread_id)
            self.confined = want

    @contextmanager
    def all_cores(self) -> Iterator[None]:
        """While inside, every thread, the model's too, may run on every core (a re-index: its
        decoding threads and the model's bulk calls want them all; with the model's core kept
        apart the app indexed 37% slower)."""
        with self._lock:
            self._sharing += 1
            if self._sharing == 1 and self.core is not None:
                self._pin_all(self.cpus)
                self.confined = False
        try:
            yield
        finally:
            with self._lock:
                self._sharing -= 1
                if self._sharing == 0 and self.core is not None:
                    self.reserve()

    def _pin_all(self, cores: set[int], skip: int | None = None) -> None:
        for thread in self.threads():
            if thread == skip:
                continue
            try:
                self.pin(thread, cores)
            except OSError:  # a thread that has just ended, or one the system will not move
                continue


_KEEPER: list[CoreKeeper] = []  # the process's, once a core is kept


def reserve_core(run_on_model_thread: Callable[[Callable[[], Any]], Any], **system: Any) -> int | None:
    """Keep one core for the model thread (``run_on_model_thread(fn)`` runs ``fn`` there and returns
    its result: ``ModelThread.call``); while queries overlap (``confine``), every other thread of
    this process keeps off it. Returns the core, or None where nothing changed. ``system``: the
    affinity functions (tests)."""
    keeper = CoreKeeper(run_on_model_thread, **system)
    core = keeper.reserve()
    if core is not None:
        _KEEPER[:] = [keeper]
    return core


def confine(busy: Callable[[], bool]) -> None:
    """The process's ``CoreKeeper.confine``; nothing where no core is kept (the batcher's hook)."""
    if _KEEPER:
        _KEEPER[0].confine(busy)


@contextmanager
def all_cores() -> Iterator[None]:
    """Every thread on every core while inside, then the model's core kept again (if one was)."""
    if not _KEEPER:
        yield
        return
    with _KEEPER[0].all_cores():
        yield
