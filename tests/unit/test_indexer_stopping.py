"""indexer/stopping.py: which signals stop a run, and a stop where the output's reader is gone."""

from __future__ import annotations

import io
import signal
import sys

import pytest

from indexer import stopping


@pytest.fixture
def kept_handlers():
    """The process's handlers as they were, put back after the test."""
    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in kept.items():
        signal.signal(signum, handler)


class GoneReader(io.StringIO):
    """stderr piped to a reader that left (``2>&1 | tee log``, the tee ended by the same hang-up)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_stop_whose_stderr_reader_left_still_stops_after_the_batch(kept_handlers, monkeypatch):
    """The handler's "stopping after the current batch" raised BrokenPipeError in the middle of the
    run, which ended it there, the batch in flight lost."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    stop = stopping.stop_on_signals()
    monkeypatch.setattr(sys, "stderr", GoneReader())
    for signum in (signal.SIGHUP, signal.SIGTERM):
        stop.clear()
        signal.getsignal(signum)(signum, None)
        assert stop.is_set(), signum


def test_sighup_stops_a_run_unless_it_was_ignored_where_the_run_began(kept_handlers):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts it
    stopping.stop_on_signals()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    stopping.stop_on_signals()
    assert getattr(signal.getsignal(signal.SIGHUP), "stops_run", False)
    assert signal.getsignal(signal.SIGINT) is signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGHUP)


def test_a_second_sighup_changes_nothing_where_a_second_sigterm_quits_at_once(kept_handlers, monkeypatch):
    """An interactive shell passes its own SIGHUP on to its jobs as it exits: a run gets two."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    stop = stopping.stop_on_signals()
    exits: list[int] = []
    monkeypatch.setattr(stopping.os, "_exit", exits.append)
    handler = signal.getsignal(signal.SIGHUP)
    handler(signal.SIGHUP, None)
    handler(signal.SIGHUP, None)
    assert stop.is_set() and exits == []
    handler(signal.SIGTERM, None)
    assert exits == [128 + signal.SIGTERM]
