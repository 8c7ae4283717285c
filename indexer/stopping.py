"""How ``python -m indexer`` stops on a signal: Ctrl-C, SIGTERM (``kill``, a service manager) and
SIGHUP (the terminal it runs in closed) finish the batch in flight, commit it and stop; before the
run began, while the model loads, they end the command in one line (``Stopped``)."""

from __future__ import annotations

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
    "interrupted", 130); a second one quits at once. ``stop_on_signals`` takes over when the run
    begins."""
    terminals = flags.terminals()

    def handler(signum, frame):
        flags.hung_up_to_null(terminals)
        for stopping in _stopping_signals():
            signal.signal(stopping, _quit_now)
        raise Stopped

    handler.stops_run = True
    if threading.current_thread() is threading.main_thread():
        for stopping in _stopping_signals():
            signal.signal(stopping, handler)


def _quit_now(signum, frame):
    os._exit(128 + signum)


_quit_now.stops_run = True


def stop_on_signals() -> threading.Event:
    """SIGINT, SIGTERM and SIGHUP (``_stopping_signals``) finish the batch in flight, commit it and
    stop; a second one exits now, with the shell's code of the signal that ended it (130 Ctrl-C,
    143 SIGTERM, 129 SIGHUP). A terminal that hung up is the null device from then on: the
    summary and the lines after it would fail there (EIO)."""
    stop = threading.Event()
    terminals = flags.terminals()

    def handler(signum, frame):
        flags.hung_up_to_null(terminals)
        if stop.is_set():
            os._exit(128 + signum)
        stop.set()
        print("\nstopping after the current batch (again to quit at once)", file=sys.stderr)

    handler.stops_run = True
    if threading.current_thread() is threading.main_thread():
        for stopping in [signal.SIGINT] + _stopping_signals():
            signal.signal(stopping, handler)
    return stop
