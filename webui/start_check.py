"""Gradio's check that the server it started answers, made patient with a busy machine.

``Blocks.launch`` asks its own server for its page (``gradio.networking.url_ok``: a HEAD request
with a 3 s time-out, given up at the first time-out) and, without an answer, stops with "When
localhost is not accessible, a shareable link must be created": on a machine busy indexing, or a
small NAS, the page can take longer than 3 s to build the first time, and the app would not start,
blaming a proxy. ``install`` has a check that timed out asked again, for up to ``PATIENCE`` seconds,
before it gives up; one refused at once (nothing listening, a proxy in the way) fails as fast as
before, and a server that answers costs nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .wrapped_once import wrap_once

log = logging.getLogger(__name__)

PATIENCE = 60.0  # seconds: a first page built on a machine that is busy with something else
TIMED_OUT = 3.0  # seconds: Gradio's check waits this long for an answer before it says no


def patient(check: Callable[[str], bool], patience: float = PATIENCE,
            clock: Callable[[], float] = time.monotonic) -> Callable[[str], bool]:
    """``check`` asked again while it says no after waiting ``TIMED_OUT`` seconds, until
    ``patience`` seconds have passed; a quick no stands."""

    def url_ok(url: str) -> bool:
        deadline = clock() + patience
        while True:
            asked = clock()
            if check(url):
                return True
            now = clock()
            if now - asked < TIMED_OUT or now >= deadline:
                return False
            log.info("the server at %s does not answer yet (a busy machine?): asking again", url)

    return url_ok


def install() -> bool:
    """Make Gradio's start-up check patient (once); False where Gradio has no such check."""
    return wrap_once("gradio.networking", "url_ok", patient, "patient")
