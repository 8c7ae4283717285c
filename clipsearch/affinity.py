"""A core of its own for the model thread (Linux): the server's other threads keep off it.

Under concurrent load the model runs each shared call on one core (``batching``, ``share_cores``)
while the request threads (HTTP, the index search, the cut-off) run beside it. Left to the
scheduler, those threads land on the model's core too and take turns with it there: in one process
on 2 cores, with 8 threads searching, the model thread was busy 93% of the time but got only 78% of
a core, and every query waits for it. With the model thread alone on one core and every other
thread of the process on the others, the web app answered 7-17% more requests per second (2 cores,
8 clients, text queries; README, **Under load**).

A lone query still gets every core: torch's worker threads, started when the model warmed up, move
to the other cores with the rest, and the model thread leads them from its own. Threads started
later inherit their starter's cores, so the request threads a server starts afterwards keep off
the model's core as well. A re-index from the web app (``all_cores``) lets every thread use every
core while it runs: its decoding threads need them more than the model needs a core to itself.
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
    """Keeps one core for the model thread, and lets every thread have every core for a while."""

    def __init__(self, run_on_model_thread: Callable[[Callable[[], None]], object], *,
                 allowed: Callable[[int], Iterable[int]] | None = None,
                 pin: Callable[[int, set[int]], None] | None = None,
                 threads: Callable[[], list[int]] = _threads) -> None:
        self.run_on_model_thread = run_on_model_thread
        self.allowed = allowed or getattr(os, "sched_getaffinity", None)
        self.pin = pin or getattr(os, "sched_setaffinity", None)
        self.threads = threads
        self.core: int | None = None
        self.cpus: set[int] = set()  # the cores the process may use
        self._lock = threading.Lock()
        self._sharing = 0

    def reserve(self) -> int | None:
        """The model thread on one core, every other thread of the process on the others; returns
        the core, or None where nothing changed (not Linux, or fewer than two cores allowed)."""
        if self.allowed is None or self.pin is None:
            return None
        cpus = self.cpus = self.cpus or set(self.allowed(0))
        if len(cpus) < 2:
            return None
        core = max(cpus)
        self._pin_all(cpus - {core})
        try:
            self.run_on_model_thread(lambda: self.pin(0, {core}))  # 0: the calling thread, on Linux
        except OSError as exc:
            log.warning("could not keep a core for the model (%s): the threads share every core", exc)
            self._pin_all(cpus)
            self.core = None
            return None
        self.core = core
        return core

    @contextmanager
    def all_cores(self) -> Iterator[None]:
        """While inside, every thread may run on every core (a re-index: its decoding threads and
        the model's bulk calls want them all; kept apart they indexed 37% slower)."""
        with self._lock:
            self._sharing += 1
            if self._sharing == 1 and self.core is not None:
                self._pin_all(self.cpus)
        try:
            yield
        finally:
            with self._lock:
                self._sharing -= 1
                if self._sharing == 0 and self.core is not None:
                    self.reserve()

    def _pin_all(self, cores: set[int]) -> None:
        for thread in self.threads():
            try:
                self.pin(thread, cores)
            except OSError:  # a thread that has just ended, or one the system will not move
                continue


_KEEPER: list[CoreKeeper] = []  # the process's, once a core is kept


def reserve_core(run_on_model_thread: Callable[[Callable[[], None]], object], **system: Any) -> int | None:
    """Keep one core for the model thread (``run_on_model_thread(fn)`` runs ``fn`` there:
    ``ModelThread.call``) and every other thread of this process, and those they start later, off
    it. Returns the core, or None where nothing changed. ``system``: the affinity functions (tests)."""
    keeper = CoreKeeper(run_on_model_thread, **system)
    core = keeper.reserve()
    if core is not None:
        _KEEPER[:] = [keeper]
    return core


@contextmanager
def all_cores() -> Iterator[None]:
    """Every thread on every core while inside, then the model's core kept again (if one was)."""
    if not _KEEPER:
        yield
        return
    with _KEEPER[0].all_cores():
        yield
