"""BatchingEncoder's side thread: texts that arrive while the model runs pictures on one core
run beside it, on a thread of their own; texts alone, and pictures, still go through the model."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from clipsearch.batching import IMAGE, TEXT, BatchingEncoder, ModelThread
from testsupport.fakes import FakeEncoder

from .test_batching import picture


class SideEncoder(FakeEncoder):
    """Records which thread ran each model call, and whether it was told to keep to one core;
    picture calls can be held at a gate. ``embed_texts_beside`` is the side thread's way in."""

    def __init__(self, ready: bool = True) -> None:
        super().__init__(dim=16)
        self.calls: list[tuple[str, str, bool]] = []  # (kind, thread, busy)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.ready = ready
        self.busy = False
        self._model = threading.Lock()

    def share_cores(self, busy: bool) -> None:
        self.busy = busy

    def side_ready(self) -> bool:
        return self.ready

    def embed_texts(self, texts):
        with self._model:
            self.calls.append(("text", threading.current_thread().name, self.busy))
            return super().embed_texts(texts)

    def embed_texts_beside(self, texts):
        self.calls.append(("beside", threading.current_thread().name, self.busy))
        return super().embed_texts(texts)

    def embed_prepared(self, batch):
        with self._model:
            self.calls.append(("picture", threading.current_thread().name, self.busy))
            self.entered.set()
            self.gate.wait(10)
            return super().embed_prepared(batch)


def batcher(inner: SideEncoder) -> BatchingEncoder:
    return BatchingEncoder(inner, model_thread=ModelThread("the-model"), side_thread=ModelThread("the-side"))


def hold_picture(inner: SideEncoder, encoder: BatchingEncoder, shared: bool) -> tuple[threading.Thread, threading.Event]:
    """A picture call held inside the model; ``shared``: another query is in progress when it
    starts, so it keeps to one core. Returns its thread and the event that ends the other query."""
    inner.gate.clear()
    inner.entered.clear()
    other_started, other_done = threading.Event(), threading.Event()

    def other_query():
        with encoder.query():
            other_started.set()
            other_done.wait(10)

    if shared:
        threading.Thread(target=other_query, daemon=True).start()
        assert other_started.wait(5)

    def one_picture():
        with encoder.query():
            encoder.embed_images([picture(1)])

    holder = threading.Thread(target=one_picture)
    holder.start()
    assert inner.entered.wait(5)
    return holder, other_done


def test_texts_that_arrive_while_a_shared_picture_call_runs_go_beside_it():
    inner = SideEncoder()
    encoder = batcher(inner)
    holder, other_done = hold_picture(inner, encoder, shared=True)
    texts = [f"query {i}" for i in range(6)]
    with ThreadPoolExecutor(6) as pool:  # answered while the picture is still held in the model
        results = list(pool.map(lambda t: encoder.embed_texts([t]), texts))
    assert holder.is_alive()
    inner.gate.set()
    other_done.set()
    holder.join(5)
    expected = FakeEncoder(dim=16).embed_texts(texts)
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got[0], want, atol=1e-5)
    assert inner.calls[0] == ("picture", "the-model", True)
    assert {call[:2] for call in inner.calls[1:]} == {("beside", "the-side")}
    assert not encoder._busy and not encoder._side_busy and not encoder._picture_on_one_core


def test_a_lone_picture_call_on_every_core_keeps_texts_waiting_for_the_model():
    """A picture call that began alone runs on every core: a text beside it would start a second
    pool of torch threads, so it waits and runs on the model's thread."""
    inner = SideEncoder()
    encoder = batcher(inner)
    holder, other_done = hold_picture(inner, encoder, shared=False)
    waiter = threading.Thread(target=encoder.embed_texts, args=(["a text"],))
    waiter.start()
    deadline = time.monotonic() + 5
    while not encoder._pending[TEXT]:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.05)
    assert [call[0] for call in inner.calls] == ["picture"]  # the text has not run yet
    inner.gate.set()
    holder.join(5)
    waiter.join(5)
    other_done.set()
    assert inner.calls[0] == ("picture", "the-model", False)
    assert inner.calls[1][:2] == ("text", "the-model")


def test_texts_wait_for_the_model_when_torch_is_not_on_one_thread_yet():
    inner = SideEncoder(ready=False)  # e.g. the model's call has not switched to one core yet
    encoder = batcher(inner)
    holder, other_done = hold_picture(inner, encoder, shared=True)
    waiter = threading.Thread(target=encoder.embed_texts, args=(["a text"],))
    waiter.start()
    time.sleep(0.05)
    assert [call[0] for call in inner.calls] == ["picture"]
    inner.gate.set()
    holder.join(5)
    waiter.join(5)
    other_done.set()
    assert [call[:2] for call in inner.calls] == [("picture", "the-model"), ("text", "the-model")]


def test_texts_alone_and_pictures_never_use_the_side_thread():
    inner = SideEncoder()
    encoder = batcher(inner)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: encoder.embed_texts([f"text {i}"]), range(40)))
        list(pool.map(lambda i: encoder.embed_images([picture(i)]), range(8)))
    assert {call[1] for call in inner.calls} == {"the-model"}
    assert "beside" not in {call[0] for call in inner.calls}


def test_while_the_side_thread_runs_the_model_keeps_to_one_core():
    """A model call that starts while a text runs beside is told to keep to one core, even alone."""
    inner = SideEncoder()
    encoder = batcher(inner)
    encoder._side_busy = True  # as while a text runs beside
    encoder.embed_images([picture(2)])
    encoder._side_busy = False
    encoder.embed_images([picture(3)])
    assert [call[2] for call in inner.calls] == [True, False]


def test_an_encoder_without_a_way_beside_gets_no_side_thread():
    encoder = BatchingEncoder(FakeEncoder(), side_thread=ModelThread("unused"))
    assert encoder.side_thread is None
    assert encoder.embed_texts(["a dog"]).shape == (1, 32)


def test_many_threads_mixing_texts_and_pictures_each_get_their_own_answer():
    inner = SideEncoder()
    encoder = batcher(inner)
    reference = FakeEncoder(dim=16)
    pictures = [picture(i) for i in range(4)]
    picture_rows = reference.embed_prepared([reference.prepare(p) for p in pictures])

    def one(i: int) -> bool:
        with encoder.query():
            if i % 3 == 0:
                got = encoder.embed_images([pictures[i % 4]])
                return bool(np.allclose(got[0], picture_rows[i % 4], atol=1e-5))
            got = encoder.embed_texts([f"text {i}"])
            return bool(np.allclose(got[0], reference.embed_texts([f"text {i}"])[0], atol=1e-5))

    with ThreadPoolExecutor(12) as pool:
        assert all(pool.map(one, range(300)))
    assert not encoder._busy and not encoder._side_busy and not any(encoder._pending.values())
    assert encoder.stats.calls  # and they were counted
    assert IMAGE in encoder.stats.as_dict()
