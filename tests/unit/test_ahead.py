"""Work a few items ahead of its reader on a thread of its own (``clipsearch.ahead``)."""

from __future__ import annotations

import threading
import time

import pytest

from clipsearch.ahead import Watch, run_ahead


class Stalled(Exception):
    pass


def counted(n: int, made: list[int], watch: Watch, pause: float = 0.0, closed: list | None = None):
    try:
        for i in range(n):
            watch.tick()
            if pause:
                time.sleep(pause)
            made.append(i)
            yield i
    finally:
        if closed is not None:
            closed.append(True)


def worker_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def settles(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_every_item_comes_in_order_and_the_work_runs_at_most_ahead_items_before_its_reader():
    watch, made, leads = Watch(), [], []
    got = []
    for item in run_ahead(counted(40, made, watch), watch, 5.0, Stalled, ahead=3, name="t-order"):
        time.sleep(0.005)  # a slow reader: the work waits for it
        leads.append(len(made) - len(got))
        got.append(item)
    assert got == list(range(40))
    assert max(leads) <= 3 + 2  # the queue's 3, the one handed over, the one being put
    assert max(leads) >= 2  # and it did run ahead


def test_an_error_of_the_work_reaches_the_reader_after_the_items_before_it():
    def broken():
        yield 1
        yield 2
        raise ValueError("damaged at 3")

    got = []
    with pytest.raises(ValueError, match="damaged at 3"):
        for item in run_ahead(broken(), Watch(), 5.0, Stalled, ahead=4, name="t-error"):
            got.append(item)
    assert got == [1, 2]


def test_a_stall_is_raised_and_the_work_stops_when_it_moves_again():
    release, closed = threading.Event(), []
    watch = Watch()

    def hangs():
        try:
            yield 0
            release.wait(5)  # a share that stopped answering
            watch.tick()
            yield 1
        finally:
            closed.append(True)

    got = []
    with pytest.raises(Stalled):
        for item in run_ahead(hangs(), watch, 0.1, Stalled, ahead=2, name="t-stall"):
            got.append(item)
    assert got == [0]
    release.set()
    assert settles(lambda: not worker_threads("t-stall")) and closed == [True]


def test_slow_work_that_keeps_ticking_is_not_a_stall():
    watch = Watch()

    def slow():
        for i in range(3):
            for _ in range(30):  # 0.6 s an item, a tick every 0.02 s: never 0.4 s without one
                time.sleep(0.02)  # (0.1 s against 0.01 flaked on a busy machine: a thread not run for 0.1 s)
                watch.tick()
            yield i

    assert list(run_ahead(slow(), watch, 0.4, Stalled, ahead=1, name="t-slow")) == [0, 1, 2]


def test_a_reader_that_stops_early_stops_the_work_and_closes_it():
    watch, made, closed = Watch(), [], []
    items = run_ahead(counted(10_000, made, watch, closed=closed), watch, 5.0, Stalled, ahead=2, name="t-early")
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert watch.abandoned
    assert settles(lambda: not worker_threads("t-early")) and closed == [True]
    assert len(made) < 10  # it stopped where it was, not at the end
