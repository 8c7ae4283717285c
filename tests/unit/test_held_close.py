"""``webui.held_close``: a session's close_stream held back, and its stream gone on where the
session asks again meanwhile, over a stand-in for Gradio's stream and queue."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from webui.held_close import HeldClose, install

SESSION = "s1"
STREAM = {"type": "http", "method": "GET", "path": "/gradio_api/queue/data",
          "query_string": f"session_hash={SESSION}".encode()}
CLOSE = b'data: {"msg":"close_stream"}\n\n'


def answer(event: str) -> bytes:
    return b'data: {"msg":"process_completed","event_id":"%s"}\n\n' % event.encode()


class Gradio:
    """Gradio's stream for the stand-in: each request for a stream answers the next round's events
    (each done as its answer goes out, as Gradio's stream does), then closes; any other request,
    or one past the rounds, answers ``{}``. ``asked`` counts the requests; ``queue`` is what
    ``HeldClose`` looks at."""

    def __init__(self, *rounds: list[str]) -> None:
        self.rounds = list(rounds)
        self.asked = 0
        self.queue = SimpleNamespace(stopped=False, pending_event_ids_session={})

    async def __call__(self, scope, receive, send) -> None:
        self.asked += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"].endswith("/queue/data") and self.rounds:
            for event in self.rounds.pop(0):
                self.queue.pending_event_ids_session.get(SESSION, set()).discard(event)
                await send({"type": "http.response.body", "body": answer(event), "more_body": True})
            await send({"type": "http.response.body", "body": CLOSE, "more_body": True})
        else:
            await send({"type": "http.response.body", "body": b"{}", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def served(app: HeldClose, scope: dict, meanwhile=None) -> list[dict]:
    """Every message the server sent for ``scope``; ``meanwhile`` runs beside it (a join)."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def both() -> None:
        await asyncio.gather(app(scope, receive, send), *([meanwhile()] if meanwhile else []))

    asyncio.run(both())
    return sent


def bodies(sent: list[dict]) -> list[bytes]:
    return [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]


def test_a_close_with_no_event_asked_meanwhile_goes_out_after_the_hold_and_ends_the_stream():
    gradio = Gradio(["e1"])
    sent = served(HeldClose(gradio, gradio.queue, hold=0.05), STREAM)
    assert [m["type"] for m in sent].count("http.response.start") == 1
    assert bodies(sent) == [answer("e1"), CLOSE]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert all(m.get("more_body") for m in sent[1:-1])  # one end, the last
    assert gradio.asked == 1


def test_an_event_asked_during_the_hold_goes_on_in_the_same_stream_without_the_close():
    gradio = Gradio(["e1"], ["e2"])

    async def joined() -> None:  # the script's next call, a moment after its answer
        await asyncio.sleep(0.02)
        gradio.queue.pending_event_ids_session[SESSION] = {"e2"}

    sent = served(HeldClose(gradio, gradio.queue, hold=0.2), STREAM, joined)
    assert gradio.asked == 2
    assert [m["type"] for m in sent].count("http.response.start") == 1
    assert bodies(sent) == [answer("e1"), answer("e2"), CLOSE]  # the first close never sent
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_an_event_already_waiting_at_the_close_goes_on():
    gradio = Gradio(["e1"], ["e2"])
    gradio.queue.pending_event_ids_session[SESSION] = {"e2"}
    sent = served(HeldClose(gradio, gradio.queue, hold=0.05), STREAM)
    assert bodies(sent) == [answer("e1"), answer("e2"), CLOSE]


def test_another_sessions_event_does_not_hold_this_one():
    gradio = Gradio(["e1"])
    gradio.queue.pending_event_ids_session["someone else"] = {"e9"}
    sent = served(HeldClose(gradio, gradio.queue, hold=0.05), STREAM)
    assert bodies(sent) == [answer("e1"), CLOSE] and gradio.asked == 1


def test_a_stopping_queue_gets_its_close_at_once():
    gradio = Gradio(["e1"])
    gradio.queue.stopped = True
    gradio.queue.pending_event_ids_session[SESSION] = {"e2"}  # never served: the server closes
    sent = served(HeldClose(gradio, gradio.queue, hold=30.0), STREAM)
    assert bodies(sent) == [answer("e1"), CLOSE] and gradio.asked == 1


def test_other_requests_pass_as_they_are():
    gradio = Gradio()
    for scope in ({**STREAM, "path": "/gradio_api/queue/join", "method": "POST"},
                  {**STREAM, "method": "HEAD"}, {**STREAM, "query_string": b""}):
        sent = served(HeldClose(gradio, gradio.queue, hold=30.0), scope)
        assert bodies(sent) == [b"{}"], scope


def test_install_puts_it_in_front_of_the_server_unless_the_hold_is_zero():
    stack = object()
    demo = SimpleNamespace(app=SimpleNamespace(middleware_stack=stack), _queue=SimpleNamespace())
    assert install(demo, hold=0) is False and demo.app.middleware_stack is stack
    assert install(demo, hold=0.1) is True
    held = demo.app.middleware_stack
    assert isinstance(held, HeldClose) and held.app is stack and held.queue is demo._queue and held.hold == 0.1
