"""A script's calls one after the other through gradio_client, each answered (``webui/held_close.py``).

The served app here sends each ``close_stream`` ``HELD_S`` late (``testsupport.browser.holding``),
as a busy machine now and then did: the script's next call is joined before its client has read the
close of the stream its last answer came on. gradio_client then registers the call on that stream
and fails it when the close is read (``CancelledError``); the server's hold of the close, which
lets the next call go on in the same stream, leaves nothing to fail.
"""

from __future__ import annotations

import time
from concurrent.futures import CancelledError

import pytest

from testsupport.browser import holding, served_shots

CALLS = 6


def counting_streams(open_streams: list[int]):
    """A ``wrap_server`` around ``holding``'s: ``open_streams[0]`` is how many event streams are open."""
    late = holding("/queue/data", b'"msg":"close_stream"')

    def wrap(server):
        held = late(server)

        async def counted(scope, receive, send):
            if scope["type"] != "http" or not scope["path"].endswith("/queue/data"):
                return await held(scope, receive, send)
            open_streams[0] += 1
            try:
                return await held(scope, receive, send)
            finally:
                open_streams[0] -= 1

        return counted

    return wrap


@pytest.fixture(params=["held", "not held"])
def served(request, tmp_path):
    open_streams = [0]
    hold = {"held": {}, "not held": {"hold_close": 0}}[request.param]
    with served_shots(tmp_path, 4, wrap_server=counting_streams(open_streams), **hold) as app:
        app["open streams"] = open_streams
        app["held"] = request.param == "held"
        yield app


def test_calls_one_after_the_other_are_each_answered_and_the_stream_closes_after(served):
    from gradio_client import Client

    client = Client(served["url"], verbose=False, download_files=False)
    answered, failed = [], []
    for n in range(CALLS):
        try:
            answered.append(client.predict(f"photo {n}", 3, 0.0, api_name="/search_text"))
        except CancelledError:
            failed.append(n)
    if served["held"]:
        assert failed == [] and len(answered) == CALLS
        assert all(len(hits) == 3 for hits in answered)
    else:  # the client's race, certain here: what the hold mends
        assert failed, "without the hold, a call after an answer should meet the close of its stream"
    deadline = time.monotonic() + 30
    while served["open streams"][0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served["open streams"][0] == 0, "a stream stayed open with no event left"
