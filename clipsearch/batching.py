"""Concurrent queries share model calls: an ``Encoder`` wrapper that batches what arrives together.

A text query costs about as much alone as eight do in one batch of the text tower, so when several
people search at once, one call answers them all. ``BatchingEncoder`` wraps any encoder:

- A lone call runs at once (nothing waits for company). Calls that arrive while the model is busy
  wait, and the next model call takes all of them of one kind: texts with texts, images with
  images. Each caller gets its own rows back, or its own exception.
- No thread of its own: the first waiting caller runs the next batch (for everyone in it), so
  nothing is left running when the callers are gone.
- Bulk work (``embed_prepared``: the indexer's batches) goes in small chunks, and queries waiting
  for the model go first: a search during a re-index waits for one chunk, not a whole batch.
- With a side thread (``encoders.side``), texts that arrive while the model runs pictures on one
  core run there, beside it, instead of waiting for it (``embed_texts_beside``, ``side_ready``).
- A model call shared by several callers, or with more waiting, or while other queries are busy
  with their search (``query``), runs on one core when the encoder can (``share_cores``): the
  other cores serve the callers meanwhile, and one thread costs less CPU per query than several
  that wait for each other (on 2 cores, a lone call on both took 27 ms while other queries ran,
  against 5 ms on an idle machine and 9 ms on one core). A lone query gets all cores.

The wrapped encoder must already serialize its own model calls (or be safe to call from several
threads); this class only decides what goes into each call.

``ModelThread``: with one, every model call runs on that one thread. Torch's CPU thread pool
(OpenMP) is per calling thread: once two threads have run the model, the pools' threads outnumber
the cores and stop waiting for work actively, and every call of either takes about twice as long
(ViT-B-32's text tower on 2 cores: 11 ms from one thread, 23 ms once a second thread has called
it). A server whose requests arrive on many threads loads the model on a ``ModelThread`` and hands
it to the batcher.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from .encoders.base import Encoder

TEXT, IMAGE, BULK = "text", "image", "bulk"
PRIORITY = (TEXT, IMAGE, BULK)  # queries before the indexer's chunks
MAX_BATCH = {TEXT: 64, IMAGE: 16, BULK: 4}
BULK_CHUNK = 4  # images per bulk model call: what a query may have to wait for during a re-index


@dataclass
class _Request:
    kind: str
    items: list[Any]
    seq: int
    done: bool = False
    result: np.ndarray | None = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    """How many model calls of each kind ran with how many callers in them."""

    calls: Counter = field(default_factory=Counter)  # (kind, callers in the call) -> model calls

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (kind, callers), n in sorted(self.calls.items()):
            out.setdefault(kind, {})[str(callers)] = n
        return out

    def summary(self, kind: str) -> str:
        """``"1:40 2:12 3:5"``: callers per model call, and how many such calls."""
        return " ".join(f"{size}:{n}" for (k, size), n in sorted(self.calls.items()) if k == kind) or "-"


class ModelThread:
    """One daemon thread that runs what it is given, one call at a time (the model's calls)."""

    def __init__(self, name: str = "clipsearch-model") -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` run on the model thread (at once when already on it)."""
        if threading.current_thread() is self._thread:
            return function(*args)
        future: Future = Future()
        self._calls.put((function, args, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            function, args, future = self._calls.get()
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # the caller gets it, whatever it is
                future.set_exception(exc)


class BatchingEncoder:
    """An ``Encoder`` whose concurrent ``embed_texts`` / ``embed_images`` calls share model calls."""

    def __init__(self, encoder: Encoder, *, bulk_chunk: int = BULK_CHUNK,
                 max_batch: dict[str, int] | None = None, model_thread: ModelThread | None = None,
                 on_overlap: Callable[[Callable[[], bool]], None] | None = None,
                 side_thread: ModelThread | None = None) -> None:
        self.inner = encoder
        self.model_thread = model_thread
        beside = all(callable(getattr(encoder, name, None)) for name in ("embed_texts_beside", "side_ready"))
        self.side_thread = side_thread if beside else None
        # Told when queries start or stop overlapping (``affinity.confine``), with a function that
        # says whether they do now: calls that race each other still end on the last count.
        self.on_overlap = on_overlap
        self.bulk_chunk = max(1, bulk_chunk)
        self.max_batch = {**MAX_BATCH, BULK: self.bulk_chunk, **(max_batch or {})}
        self.stats = BatchStats()
        self._cond = threading.Condition()
        self._pending: dict[str, deque[_Request]] = {kind: deque() for kind in PRIORITY}
        self._busy = False  # the model's thread has a caller running batches on it
        self._side_busy = False  # the side thread has one
        self._picture_on_one_core = False  # the model's thread runs pictures, on one core
        self._seq = itertools.count()
        self._queries = 0  # queries in progress (``query``), in the model or not

    # --- the Encoder protocol: properties and preparation pass through -------------------------
    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def input_size(self) -> int:
        return self.inner.input_size

    @property
    def stamp(self) -> dict[str, Any]:
        return self.inner.stamp

    @property
    def batch_size(self) -> int:
        return self.inner.batch_size

    def __getattr__(self, name: str) -> Any:  # device, precision, spec... of the wrapped encoder
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def prepare(self, image: Image.Image) -> Any:
        return self.inner.prepare(image)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Embed texts, in one model call with whatever other texts are waiting."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self._submit(TEXT, list(texts))

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """Embed images (prepared in the calling thread, so decoding runs in parallel)."""
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return self._submit(IMAGE, [self.inner.prepare(img) for img in images])

    def embed_prepared(self, batch: list[Any]) -> np.ndarray:
        """Bulk embedding for the indexer: small chunks, each yielding to waiting queries."""
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        parts = [self._submit(BULK, batch[i : i + self.bulk_chunk])
                 for i in range(0, len(batch), self.bulk_chunk)]
        return np.concatenate(parts)

    @contextmanager
    def query(self) -> Iterator[None]:
        """Mark one query in progress for all of its run (embedding, search, cut-off): a model call
        made while others are in progress keeps to one core, since they use the others. When a
        second query starts, or the last but one ends, ``on_overlap`` is told."""
        with self._cond:
            self._queries += 1
            crossed = self._queries == 2
        if crossed:
            self._overlap_changed()
        try:
            yield
        finally:
            with self._cond:
                self._queries -= 1
                crossed = self._queries == 1
            if crossed:
                self._overlap_changed()

    def overlapping(self) -> bool:
        """Whether more than one query is in progress now."""
        return self._queries > 1

    def _overlap_changed(self) -> None:
        if self.on_overlap is not None:
            self.on_overlap(self.overlapping)

    # --- scheduling ----------------------------------------------------------------------------
    def _submit(self, kind: str, items: list[Any]) -> np.ndarray:
        request = _Request(kind, items, next(self._seq))
        with self._cond:
            self._pending[kind].append(request)
            side = None
            while not request.done:
                if not self._busy:  # the model is free: this caller runs batches until its own is done
                    self._busy, side = True, False
                    break
                if kind == TEXT and self._side_open():  # beside a picture call, on another core
                    self._side_busy, side = True, True
                    break
                self._cond.wait()
        if side is not None:
            self._drive(request, side)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _side_open(self) -> bool:
        """Whether a text may run on the side thread now (under the condition's lock)."""
        return (self.side_thread is not None and not self._side_busy and self._picture_on_one_core
                and self.inner.side_ready())

    def _drive(self, request: _Request, side: bool) -> None:
        """Run batches on the lane this caller holds until its own request is done; when the other
        lane took it, hand this one back and wait."""
        held = True
        try:
            while not request.done and self._run_next(side):
                pass
            with self._cond:
                self._release(side)
                held = False
                while not request.done:
                    self._cond.wait()
        finally:
            if held:
                with self._cond:
                    self._release(side)

    def _release(self, side: bool) -> None:
        if side:
            self._side_busy = False
        else:
            self._busy = False
        self._cond.notify_all()

    def _take(self, only: str | None = None) -> tuple[str, list[_Request]]:
        """The next batch (under the condition's lock): queries first, oldest kind first, or of
        kind ``only``."""
        waiting = [(queue[0].seq, PRIORITY.index(kind), kind)
                   for kind, queue in self._pending.items() if queue and kind != BULK]
        kind = only or (min(waiting)[2] if waiting else BULK)
        queue, limit = self._pending[kind], self.max_batch[kind]
        batch = [queue.popleft()]
        count = len(batch[0].items)
        while queue and count + len(queue[0].items) <= limit:
            count += len(queue[0].items)
            batch.append(queue.popleft())
        return kind, batch

    def _run_next(self, side: bool = False) -> bool:
        """Run the next batch this lane may take (the side thread: texts only); False if none."""
        share_cores = getattr(self.inner, "share_cores", None)
        with self._cond:
            if not (self._pending[TEXT] if side else any(self._pending.values())):
                return False
            kind, batch = self._take(TEXT if side else None)
            busy = len(batch) > 1 or any(self._pending.values()) or self._queries > 1 or self._side_busy
            if not side:  # the side thread may take texts while this call keeps to one core
                self._picture_on_one_core = kind != TEXT and busy and share_cores is not None
                if self._picture_on_one_core:
                    self._cond.notify_all()  # texts waiting for the model may go beside it
        self.stats.calls[(kind, len(batch))] += 1
        if share_cores is not None and not side:  # an encoder that can run on fewer cores when many wait
            share_cores(busy)
        call = self._model_call(kind, side)
        try:
            _split(batch, call(list(itertools.chain.from_iterable(r.items for r in batch))))
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:  # one caller's bad input must not fail the others: run each alone
                for request in batch:
                    try:
                        request.result = call(request.items)
                    except BaseException as own:
                        request.error = own
        finally:
            if share_cores is not None and not side:
                share_cores(False)
        with self._cond:
            for request in batch:
                request.done = True
            if not side:
                self._picture_on_one_core = False
            self._cond.notify_all()
        return True

    def _model_call(self, kind: str, side: bool = False) -> Callable[[list[Any]], np.ndarray]:
        if side:
            call, thread = self.inner.embed_texts_beside, self.side_thread
        else:
            call = self.inner.embed_texts if kind == TEXT else self.inner.embed_prepared
            thread = self.model_thread
        if thread is None:
            return call
        return lambda items: thread.call(call, items)


def _split(batch: list[_Request], vectors: np.ndarray) -> None:
    total = sum(len(request.items) for request in batch)
    if len(vectors) != total:
        raise RuntimeError(f"the encoder returned {len(vectors)} vectors for {total} inputs")
    start = 0
    for request in batch:
        request.result = vectors[start : start + len(request.items)]
        start += len(request.items)


def batching(encoder: Encoder, **options: Any) -> Encoder:
    """``encoder`` wrapped in a ``BatchingEncoder`` (itself when it already is one)."""
    return encoder if isinstance(encoder, BatchingEncoder) else BatchingEncoder(encoder, **options)
