"""No event lost between two of Gradio's event streams (``webui/event_stream.py``), in a real Chromium.

The server here holds each ``close_stream`` back ``HELD_S`` on its way to the page, so that the
event a page asks just after another ended (each next step of a search: the address written, the
drop zone's stand-in) has its ``queue/join`` answered before the close is read, as a busy machine
did now and then. Without the page's script, every such step waited for good: the search answered
but its address never came, and the drop zone's steps never ended (the flake this was found by).
A second server holds each ``queue/join``'s answer back instead, so that events end in the stream
before their joins answer: the script must not wait for those, nor keep a stream open for them.
"""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image

from testsupport.browser import open_page, served_shots

from .test_browser import BROWSER_MARKS, TIMEOUT, drop_photo, expect_status, search_every_result

pytestmark = BROWSER_MARKS

HELD_S = 0.3


def holding(route: str, carrying: bytes = b""):
    """A ``wrap_server`` for ``serve_app``: the server, with each body part of an answer to
    ``route`` that carries ``carrying`` sent ``HELD_S`` late (every other part, and every other
    request, as it was)."""

    def wrap(server):
        async def held(scope, receive, send):
            if scope["type"] != "http" or not scope["path"].endswith(route):
                return await server(scope, receive, send)

            async def late(message):
                if message["type"] == "http.response.body" and carrying in message.get("body", b""):
                    await asyncio.sleep(HELD_S)
                await send(message)

            return await server(scope, receive, late)

        return held

    return wrap


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Each ``close_stream`` held back: the step asked next is joined before the close is read."""
    root = tmp_path_factory.mktemp("browser-event-stream")
    with served_shots(root, 6, wrap_server=holding("/queue/data", b'"msg":"close_stream"')) as served:
        yield served


@pytest.fixture(scope="module")
def late_joins(tmp_path_factory):
    """Each ``queue/join``'s answer held back: an event ends in the stream before its join answers."""
    root = tmp_path_factory.mktemp("browser-event-stream-late-joins")
    with served_shots(root, 6, wrap_server=holding("/queue/join")) as served:
        yield served


def none_kept_when_idle(page) -> None:
    """Once the page is idle, every stream the script asked for again has ended: one kept open would
    hold one of the six connections a browser opens to a server (beside Gradio's heartbeat)."""
    page.wait_for_function("() => window.clipsearchStreamKept.open === 0", timeout=TIMEOUT)


def two_searches(page) -> None:
    """A search, then another: each answers, and each one's last step (the address) comes."""
    for words in ("a red circle", "a blue star"):
        search_every_result(page, words)
        page.wait_for_function("(words) => new URL(location.href).searchParams.get('q') === words", arg=words,
                               timeout=TIMEOUT)


def test_each_step_after_a_search_answers_and_no_stream_asked_for_again_stays_open(page):
    """The stream was asked for again where a step was joined just before the close; then, idle,
    none of those streams is still open."""
    two_searches(page)
    assert page.evaluate("() => window.clipsearchStreamKept.reopened") > 0  # the race met, and mended
    none_kept_when_idle(page)


def test_events_that_end_before_their_join_answers_are_not_waited_for(late_joins):
    """An event that ended in the stream before its join's answer was read is not waited for: each
    close goes to the page (no stream asked for again), and every step still answers."""
    with open_page(late_joins["url"]) as page:
        two_searches(page)
        page.wait_for_timeout(HELD_S * 1000 * 3)
        assert page.evaluate("() => window.clipsearchStreamKept.reopened") == 0
        none_kept_when_idle(page)


def test_a_dropped_photos_steps_all_end(page, tmp_path):
    """The flake's own steps: words typed, then a photo dropped: its search, the address, the drop
    zone's stand-in, each in turn."""
    picture = tmp_path / "q.png"
    Image.new("RGB", (256, 256), (30, 90, 200)).save(picture)
    page.locator("#query textarea, #query input").first.fill("a blue sky")
    drop_photo(page, picture)  # waits for the last step of the drop, or says where it stopped
    expect_status(page, "the dropped photo ·")
    page.wait_for_function("() => new URL(location.href).searchParams.get('photo') === 'q.png'", timeout=TIMEOUT)
