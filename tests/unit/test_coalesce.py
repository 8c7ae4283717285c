"""Coalescer: concurrent callers of a batch function share calls, and each gets its own results."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from clipsearch.coalesce import Coalescer


class Gated:
    """A batch function (each item doubled) whose calls are recorded and can be held at a gate."""

    def __init__(self) -> None:
        self.calls: list[list] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, items):
        self.calls.append(list(items))
        self.entered.set()
        assert self.gate.wait(10)
        if "boom" in items:
            raise ValueError("boom")
        return [2 * item for item in items]


def _when(condition, seconds=10.0):
    stop = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        stop.wait(0.01)
    return False


def _queued_behind_a_held_call(pool, calls):
    """A Coalescer over a Gated function whose first call ([1]) is held at the gate while
    ``calls`` (lists of items) queue behind it, then let go. Returns the function, the Coalescer,
    the first call's future and the queued calls' futures."""
    fn = Gated()
    shared = Coalescer(fn)
    fn.gate.clear()
    first = pool.submit(shared, [1])
    assert fn.entered.wait(10)
    later = [pool.submit(shared, items) for items in calls]
    assert _when(lambda: len(shared._waiting) == len(calls))
    fn.gate.set()
    return fn, shared, first, later


def test_a_lone_call_runs_its_own_items_at_once():
    fn = Gated()
    shared = Coalescer(fn)
    assert shared([1, 2]) == [2, 4]
    assert shared([]) == []
    assert fn.calls == [[1, 2], []]


def test_callers_that_arrive_during_a_call_share_the_next_and_get_their_own_part():
    with ThreadPoolExecutor(6) as pool:
        fn, _, first, later = _queued_behind_a_held_call(pool, [[10 * i, 10 * i + 1] for i in range(1, 6)])
        assert first.result(10) == [2]
        assert [f.result(10) for f in later] == [[20 * i, 20 * i + 2] for i in range(1, 6)]
    assert len(fn.calls) == 2  # the first alone, then the five queued ones in one call
    assert sorted(fn.calls[1]) == sorted(item for i in range(1, 6) for item in (10 * i, 10 * i + 1))


def test_an_error_reaches_only_the_caller_whose_items_failed_and_the_next_call_still_runs():
    with ThreadPoolExecutor(4) as pool:
        fn, shared, first, (bad, good) = _queued_behind_a_held_call(pool, [["boom"], [3]])
        assert first.result(10) == [2]
        with pytest.raises(ValueError, match="boom"):
            bad.result(10)
        assert good.result(10) == [6]  # its shared call failed, so it ran again alone
    assert fn.calls[1:] == [["boom", 3], ["boom"], [3]]
    assert shared([4]) == [8]  # nothing is left busy


def test_a_lone_call_that_fails_raises_its_error():
    shared = Coalescer(Gated())
    with pytest.raises(ValueError, match="boom"):
        shared(["boom"])
    assert shared([5]) == [10]


def test_many_threads_each_get_their_own_results():
    shared = Coalescer(lambda items: [np.sqrt(x) for x in items])
    values = np.arange(1.0, 801.0)

    def one(i):
        return shared([values[i], values[i + 400]])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(400)))
    assert answers == [[np.sqrt(values[i]), np.sqrt(values[i + 400])] for i in range(400)]
