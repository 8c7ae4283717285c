"""How ``python -m indexer`` stops on a signal: Ctrl-C, SIGTERM (``kill``, a service manager) and
SIGHUP (the terminal it runs in closed) finish the batch in flight, commit it and stop; before the
run began, while the model loads, they end the command in one line (``Stopped``)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

from cli import flags


class Stopped(BaseException):  # not an Exception: no library's ``except Exception`` takes it
    """SIGTERM or SIGHUP before the run began."""


def _stopping_signals() -> list[int]:
    """SIGTERM, and SIGHUP (a terminal that hung up: an SSH session ended) unless ignored
    (``nohup``) or handled by whoever calls ``main``: a run stops on them as on Ctrl-C."""
    hangup = getattr(signal, "SIGHUP", None)  # none on Windows
    if hangup is None:
        return [signal.SIGTERM]
    now = signal.getsignal(hangup)
    return [signal.SIGTERM] + ([hangup] if now == signal.SIG_DFL or getattr(now, "stops_run", False) else [])


def stop_early() -> None:
    """SIGTERM (or SIGHUP) before the run began (while the model loads) ends the command as a
    stopped run does, in one line and exit 1 (Ctrl-C there is ``flags.ends_quietly``'s
    "interrupted", 130); a second SIGTERM quits at once, a second SIGHUP changes nothing
    (``stop_on_signals``). ``stop_on_signals`` takes over when the run begins."""
    terminals = flags.terminals()

    def handler(signum, frame):
        flags.hung_up_to_null(terminals)
        for stopping in _stopping_signals():
            signal.signal(stopping, _again)
        raise Stopped

    handler.stops_run = True
    if threading.current_thread() is threading.main_thread():
        for stopping in _stopping_signals():
            signal.signal(stopping, handler)


def _again(signum, frame):
    """A signal after the one that stopped the run: SIGTERM quits at once; SIGHUP is the same
    hang-up told twice, by the terminal and by the shell that ran the command (an interactive
    shell passes its own SIGHUP on to its jobs as it exits), and changes nothing."""
    if signum != getattr(signal, "SIGHUP", None):
        os._exit(128 + signum)


_again.stops_run = True


class StopFlag(threading.Event):
    """Set by a stopping signal (``stop_on_signals``). ``idle`` while no pass runs (``--watch``
    between passes): the stop is at once, not after a batch, and the signal's line says so."""

    idle = False


def stopped_before_later_passes(engine, stop: threading.Event) -> bool:
    """Whether a stop asked during the photos' pass (its last save, say) ends the run before the
    words' (--ocr) and the videos' (--videos) passes where the index runs either: they wait for the
    next run, which is then interrupted (the words' loaded its OCR model and read a batch first)."""
    return stop.is_set() and any(getattr(getattr(engine, side, None), "enabled", False) for side in ("text", "videos"))


def stop_on_signals() -> StopFlag:
    """SIGINT, SIGTERM and SIGHUP (``_stopping_signals``) finish the batch in flight, commit it and
    stop; a second Ctrl-C or SIGTERM exits now, with the shell's code of the signal that ended it
    (130 Ctrl-C, 143 SIGTERM), a second SIGHUP changes nothing (``_again``). A terminal that hung
    up is the null device from then on: the summary and the lines after it would fail there (EIO)."""
    stop = StopFlag()
    terminals = flags.terminals()

    def handler(signum, frame):
        flags.hung_up_to_null(terminals)
        if stop.is_set():
            return _again(signum, frame)
        stop.set()
        told = "hung up: " if signum == getattr(signal, "SIGHUP", None) else ""  # `kill -HUP`: a terminal still there
        after = "" if stop.idle else f" after the current batch{'' if told else ' (again to quit at once)'}"
        with contextlib.suppress(OSError, ValueError):  # its reader gone (`2>&1 | tee log` hung up too): the stop goes on
            print(f"\n{told}stopping{after}", file=sys.stderr)

    handler.stops_run = True
    if threading.current_thread() is threading.main_thread():
        for stopping in [signal.SIGINT] + _stopping_signals():
            signal.signal(stopping, handler)
    return stop
