"""Concurrent calls of a batch function share one call: the cut-off's EM fits under load.

``Coalescer(fn)`` wraps a function that takes a list of items and returns one result per item.
Called from several threads at once, it runs ``fn`` one call at a time: the first caller runs
its own items at once (a lone call waits for nothing), and the callers that arrive meanwhile
queue; when that call ends, the first of them runs everything queued, in one call, and hands
the others their part. The results are ``fn``'s on the concatenated items, so ``fn`` must treat
each item as if it were alone (``mixture.mixture_fits`` does: every fit keeps the step at which it
converged). When a shared call fails, each caller's items run again alone, so one caller's bad
input fails only that caller (as ``batching.BatchingEncoder`` does for the model).

Why: the automatic cut-off fits a small mixture by EM on every query, a few hundred NumPy calls
on arrays of a thousand or so values. NumPy lets go of the interpreter lock inside each of them
and must take it back after; with eight requests doing this at once, a fit cost about four times
its CPU alone (context switches), and the fits were the largest part of a query under load. One
call for all the fits that are waiting does the same work in far fewer calls, from one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Job:
    __slots__ = ("done", "error", "items", "lead", "result")

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items
        self.done = threading.Event()  # set when the result is in, or when this job is to lead
        self.lead = False
        self.result: list[Any] = []
        self.error: BaseException | None = None


class Coalescer:
    """``fn(items) -> results`` (one per item, in order), shared by concurrent callers."""

    def __init__(self, fn: Callable[[list[Any]], Sequence[Any]]) -> None:
        self.fn = fn
        self._lock = threading.Lock()
        self._waiting: list[_Job] = []
        self._busy = False

    def __call__(self, items: Sequence[Any]) -> list[Any]:
        job = _Job(items)
        with self._lock:
            if self._busy:
                self._waiting.append(job)
            else:
                self._busy = job.lead = True
        if not job.lead:
            job.done.wait()  # the running call hands over when it ends
        if job.lead:
            self._run(job)
        if job.error is not None:
            raise job.error
        return job.result

    def _run(self, job: _Job) -> None:
        """Run ``job`` with everything queued behind it, then hand the results and the lead out."""
        with self._lock:
            batch, self._waiting = [job, *self._waiting], []
        try:
            results = self.fn([item for member in batch for item in member.items])
            at = 0
            for member in batch:
                member.result = list(results[at:at + len(member.items)])
                at += len(member.items)
        except BaseException as exc:
            if len(batch) == 1:
                job.error = exc
            else:  # one caller's bad items must not fail the others: run each alone
                for member in batch:
                    _run_alone(self.fn, member)
        with self._lock:
            following = self._waiting.pop(0) if self._waiting else None
            self._busy = following is not None
        for member in batch:
            if member is not job:
                member.done.set()
        if following is not None:
            following.lead = True
            following.done.set()


def _run_alone(fn: Callable[[list[Any]], Sequence[Any]], job: _Job) -> None:
    try:
        job.result = list(fn(list(job.items)))
    except BaseException as exc:
        job.error = exc
