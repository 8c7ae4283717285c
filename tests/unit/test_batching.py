"""BatchingEncoder: concurrent callers share model calls and each gets its own rows back."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from clipsearch.batching import BULK, IMAGE, TEXT, BatchingEncoder, batching
from clipsearch.encoders import Encoder
from testsupport.fakes import FakeEncoder


class GatedEncoder(FakeEncoder):
    """A FakeEncoder whose model calls are recorded, can be held at a gate, and can fail on cue."""

    def __init__(self) -> None:
        super().__init__(dim=16)
        self.calls: list[tuple[str, list]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self._model = threading.Lock()  # like the real encoder: one model call at a time

    def embed_texts(self, texts):
        return self._call("text", list(texts), super().embed_texts)

    def embed_prepared(self, batch):
        return self._call("prepared", list(batch), super().embed_prepared)

    def _call(self, kind, items, run):
        with self._model:
            self.calls.append((kind, items))
            self.entered.set()
            self.gate.wait(10)
            if kind == "text" and any("boom" in t for t in items):
                raise ValueError("boom in " + ", ".join(t for t in items if "boom" in t))
            return run(items)


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8))


def hold_model(inner: GatedEncoder, encoder: BatchingEncoder) -> threading.Thread:
    """Start one text call and keep it inside the model until ``inner.gate`` is set."""
    inner.gate.clear()
    inner.entered.clear()
    first = threading.Thread(target=encoder.embed_texts, args=(["the first query"],))
    first.start()
    assert inner.entered.wait(5)
    return first


def wait_pending(encoder: BatchingEncoder, kind: str, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(encoder._pending[kind]) < n:
        assert time.monotonic() < deadline, "callers never queued"
        time.sleep(0.005)


def test_it_implements_the_encoder_protocol_and_wraps_once():
    encoder = BatchingEncoder(FakeEncoder())
    assert isinstance(encoder, Encoder)
    assert batching(encoder) is encoder
    assert encoder.dim == 32 and encoder.stamp["model"] == "fake" and encoder.name == "fake"


def test_a_lone_query_runs_at_once_in_its_own_call():
    inner = GatedEncoder()
    encoder = BatchingEncoder(inner)
    vectors = encoder.embed_texts(["a dog", "a cat"])
    assert inner.calls == [("text", ["a dog", "a cat"])]
    np.testing.assert_array_equal(vectors, FakeEncoder(dim=16).embed_texts(["a dog", "a cat"]))
    assert encoder.stats.as_dict() == {TEXT: {"1": 1}}


def test_queries_that_arrive_while_the_model_is_busy_share_the_next_call_and_get_their_own_rows():
    inner = GatedEncoder()
    encoder = BatchingEncoder(inner)
    texts = [f"query number {i}" for i in range(8)]
    first = hold_model(inner, encoder)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(encoder.embed_texts, [text]) for text in texts]
        wait_pending(encoder, TEXT, 8)
        inner.gate.set()
        results = [f.result(10) for f in futures]
    first.join(5)
    assert len(inner.calls) == 2
    assert sorted(inner.calls[1][1]) == sorted(texts)  # the eight shared one model call
    expected = FakeEncoder(dim=16).embed_texts(texts)
    for i, vectors in enumerate(results):
        assert vectors.shape == (1, 16)
        np.testing.assert_allclose(vectors[0], expected[i], atol=1e-5)
    assert encoder.stats.calls[(TEXT, 8)] == 1


class CoreSharingEncoder(GatedEncoder):
    """Records, per model call, whether it was told to keep to one core (``share_cores``)."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = False
        self.busy_in_call: list[bool] = []

    def share_cores(self, busy: bool) -> None:
        self.busy = busy

    def _call(self, kind, items, run):
        self.busy_in_call.append(self.busy)
        return super()._call(kind, items, run)


def test_a_shared_model_call_keeps_to_one_core_and_a_lone_one_gets_them_all():
    inner = CoreSharingEncoder()
    encoder = BatchingEncoder(inner)
    encoder.embed_texts(["alone"])
    first = hold_model(inner, encoder)  # a lone call: nobody was waiting when it started
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(encoder.embed_texts, [f"query {i}"]) for i in range(4)]
        wait_pending(encoder, TEXT, 4)
        inner.gate.set()
        [f.result(10) for f in futures]
    first.join(5)
    encoder.embed_texts(["alone again"])
    assert inner.busy_in_call == [False, False, True, False]  # the four waiting ones shared a call
    assert inner.busy is False  # and the encoder is left with all its cores


def test_a_lone_model_call_keeps_to_one_core_while_other_queries_are_in_progress():
    """Another query busy with its search (inside ``query``, not in the model) makes a lone call
    keep to one core; once it is done, a lone call gets all cores again. The query's own
    ``query`` does not count."""
    inner = CoreSharingEncoder()
    encoder = BatchingEncoder(inner)
    with encoder.query():
        encoder.embed_texts(["my own query"])
        other_started, other_may_finish = threading.Event(), threading.Event()

        def other_query():
            with encoder.query():
                other_started.set()
                other_may_finish.wait(10)

        other = threading.Thread(target=other_query)
        other.start()
        other_started.wait(10)
        encoder.embed_texts(["while another searches"])
        other_may_finish.set()
        other.join(10)
        encoder.embed_texts(["alone again"])
    assert inner.busy_in_call == [False, True, False]
    assert encoder._queries == 0 and inner.busy is False


def test_an_encoder_without_share_cores_is_batched_all_the_same():
    encoder = BatchingEncoder(FakeEncoder())
    assert not hasattr(FakeEncoder(), "share_cores")
    assert encoder.embed_texts(["a dog"]).shape == (1, 32)


def test_texts_and_images_go_to_separate_calls():
    inner = GatedEncoder()
    encoder = BatchingEncoder(inner)
    first = hold_model(inner, encoder)
    with ThreadPoolExecutor(4) as pool:
        texts = [pool.submit(encoder.embed_texts, [f"t{i}"]) for i in range(2)]
        images = [pool.submit(encoder.embed_images, [picture(i)]) for i in range(2)]
        wait_pending(encoder, TEXT, 2)
        wait_pending(encoder, IMAGE, 2)
        inner.gate.set()
        text_rows = [f.result(10) for f in texts]
        image_rows = [f.result(10) for f in images]
    first.join(5)
    kinds = [kind for kind, _ in inner.calls[1:]]
    assert sorted(kinds) == ["prepared", "text"]
    reference = FakeEncoder(dim=16)
    for i in range(2):
        np.testing.assert_allclose(text_rows[i][0], reference.embed_texts([f"t{i}"])[0], atol=1e-5)
        np.testing.assert_allclose(image_rows[i][0], reference.embed_images([picture(i)])[0], atol=1e-5)


def test_an_error_reaches_only_the_caller_whose_input_caused_it():
    inner = GatedEncoder()
    encoder = BatchingEncoder(inner)
    first = hold_model(inner, encoder)
    with ThreadPoolExecutor(3) as pool:
        good = [pool.submit(encoder.embed_texts, [f"fine {i}"]) for i in range(2)]
        bad = pool.submit(encoder.embed_texts, ["boom here"])
        wait_pending(encoder, TEXT, 3)
        inner.gate.set()
        with pytest.raises(ValueError, match="boom here"):
            bad.result(10)
        rows = [f.result(10) for f in good]
    first.join(5)
    reference = FakeEncoder(dim=16)
    for i, vectors in enumerate(rows):
        np.testing.assert_allclose(vectors[0], reference.embed_texts([f"fine {i}"])[0], atol=1e-5)


def test_the_overlap_hook_hears_when_a_second_query_starts_and_when_it_is_alone_again():
    """``on_overlap`` (``affinity.confine`` in the web app) is told on each crossing, with a
    function that reads the count when it is called."""
    heard = []
    encoder = BatchingEncoder(FakeEncoder(dim=16), on_overlap=lambda overlapping: heard.append(overlapping()))
    with encoder.query():
        assert heard == []  # one query: nothing to tell
        with encoder.query():
            assert heard == [True]
            with encoder.query():  # a third changes nothing
                pass
            assert heard == [True]
        assert heard == [True, False]
    assert heard == [True, False] and not encoder.overlapping()


def test_bulk_embedding_goes_in_small_chunks_and_waiting_queries_go_first():
    inner = GatedEncoder()
    encoder = BatchingEncoder(inner, bulk_chunk=2)
    prepared = [inner.prepare(picture(i)) for i in range(6)]
    inner.gate.clear()
    inner.entered.clear()
    with ThreadPoolExecutor(2) as pool:
        bulk = pool.submit(encoder.embed_prepared, prepared)
        assert inner.entered.wait(5)  # the first chunk is in the model
        query = pool.submit(encoder.embed_texts, ["a query during the re-index"])
        wait_pending(encoder, TEXT, 1)
        inner.gate.set()
        vectors = bulk.result(10)
        query.result(10)
    assert [len(items) for _, items in inner.calls] == [2, 1, 2, 2]
    assert inner.calls[1] == ("text", ["a query during the re-index"])
    np.testing.assert_allclose(vectors, FakeEncoder(dim=16).embed_prepared(prepared), atol=1e-5)
    assert encoder.stats.calls[(BULK, 1)] == 3


def test_many_threads_hammering_it_each_get_their_own_answer():
    encoder = BatchingEncoder(FakeEncoder(dim=16))
    reference = FakeEncoder(dim=16)

    def one(i: int) -> bool:
        if i % 3 == 0:
            got = encoder.embed_images([picture(i)])
            want = reference.embed_images([picture(i)])
        else:
            got = encoder.embed_texts([f"query {i}", f"second term {i}"])
            want = reference.embed_texts([f"query {i}", f"second term {i}"])
        return bool(np.allclose(got, want, atol=1e-5))

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(one, range(300)))
    assert not encoder._busy and not any(encoder._pending.values())


def test_with_a_model_thread_every_model_call_runs_on_it():
    """Callers on many threads; the wrapped encoder sees one thread only (torch's thread pools
    are per calling thread: two callers make every call about twice as slow)."""
    from clipsearch.batching import ModelThread

    class ThreadRecording(FakeEncoder):
        def __init__(self):
            super().__init__(dim=16)
            self.threads = set()

        def embed_texts(self, texts):
            self.threads.add(threading.current_thread().name)
            if any("boom" in t for t in texts):
                raise ValueError("boom")
            return super().embed_texts(texts)

    worker = ModelThread(name="the-model")
    inner = ThreadRecording()
    encoder = BatchingEncoder(inner, model_thread=worker)
    texts = [f"query {i}" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: encoder.embed_texts([t]), texts))
    expected = FakeEncoder(dim=16).embed_texts(texts)
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got[0], want, atol=1e-5)
    assert inner.threads == {"the-model"}
    with pytest.raises(ValueError, match="boom"):  # the caller gets its own error
        encoder.embed_texts(["boom"])
    assert worker.call(lambda: worker.call(lambda: threading.current_thread().name)) == "the-model"
