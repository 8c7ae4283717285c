"""Gradio's queue woken by its events (webui/waking_queue.py), on a real Gradio server."""

from __future__ import annotations

import threading
import time

import gradio as gr
import httpx
import pytest
from gradio import queueing

from testsupport.net import free_port
from webui import waking_queue


def slow_echo(text: str) -> str:
    time.sleep(0.2)
    return text.upper()


def counting(steps: str, progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's way to ask for progress)
    for _ in progress.tqdm(range(int(steps)), desc="counting"):
        time.sleep(0.1)
    return "counted"


@pytest.fixture
def served(monkeypatch):
    """An app of two events (``echo`` one at a time; ``count`` reports its progress) with a
    ``WakingQueue`` that never looks on its own within the test: only being woken moves it."""
    monkeypatch.setattr(waking_queue, "LOOK_EVERY", 3600.0)
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(slow_echo, box, box, api_name="echo", concurrency_limit=1)
        box.change(counting, box, box, api_name="count")
    demo.queue()
    assert waking_queue.install(demo), f"Gradio's queue loops changed ({waking_queue.loop_fingerprint()})"
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def call(url: str, text: str) -> str:
    """One event through Gradio's call API (plain HTTP): join, then read its result."""
    with httpx.Client(base_url=url, timeout=30) as http:
        event = http.post("gradio_api/call/echo", json={"data": [text]}).json()["event_id"]
        stream = http.get(f"gradio_api/call/echo/{event}").text
    assert "event: complete" in stream, stream
    return stream.rsplit("data:", 1)[1].strip()


def test_events_that_wait_for_a_slot_start_when_it_frees(served):
    demo, url = served
    assert type(demo._queue) is waking_queue.WakingQueue
    answers: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, call(url, f"word {i}")))
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # One at a time: three of the four waited for a slot, and only a wake (push, an event's end)
    # could start them; the loop's own look is an hour away.
    assert answers == {i: f'["WORD {i}"]' for i in range(4)}


def test_an_idle_queue_does_not_look_for_work(served):
    demo, url = served
    call(url, "warm")
    before = demo._queue.looks
    time.sleep(0.5)
    assert demo._queue.looks - before <= 1  # Gradio's own loop looks every millisecond: ~500 times
    assert call(url, "after a rest") == '["AFTER A REST"]'  # and an event after the rest still runs


def test_another_gradio_loop_keeps_its_own_queue(monkeypatch):
    monkeypatch.setattr(waking_queue, "GRADIO_LOOPS", "0" * 16)
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    assert not waking_queue.install(demo)
    assert type(demo._queue) is queueing.Queue


def test_a_running_event_still_reports_its_progress(served):
    from gradio_client import Client

    demo, url = served
    client = Client(url, verbose=False, ssl_verify=False)
    try:
        job = client.submit("8", api_name="/count")
        seen = []
        while not job.done():
            status = job.status()
            if status.progress_data:
                seen.append(status.progress_data[0].index)
            time.sleep(0.02)
        assert job.result() == "counted"
    finally:
        client.close()
    # Sent by the progress loop, which slept until the event started (its own look is an hour away).
    assert seen and max(seen) > 0
