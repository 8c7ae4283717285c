"""The process's threads for the model (``app.build_app`` puts the engine's encoder behind them;
``python -m webui`` loads and warms the model on ``model_thread``).

torch's CPU thread pool belongs to the thread that calls it, and a second caller halves its speed:
so one thread makes every model call, and concurrent queries share its calls
(``clipsearch.batching``); texts that arrive while it runs pictures on one core run beside it on
a side thread (``clipsearch.encoders.side``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from clipsearch import SearchEngine, affinity
from clipsearch.batching import ModelThread, batching
from clipsearch.encoders.side import side_lane

_MODEL_THREAD: list[ModelThread] = []
_SIDE_THREAD: list[ModelThread | None] = []
_MODEL_THREAD_LOCK = threading.Lock()


def model_thread() -> ModelThread:
    """The process's one thread for the model: loading it, warming it up, and every call
    (``clipsearch.batching``: torch runs twice as fast when one thread makes all its calls)."""
    with _MODEL_THREAD_LOCK:
        if not _MODEL_THREAD:
            _MODEL_THREAD.append(ModelThread())
        return _MODEL_THREAD[0]


def side_thread(encoder: Any) -> ModelThread | None:
    """The process's one side thread for texts (``clipsearch.encoders.side``), made for the first
    encoder that can use one; None where it cannot."""
    model = model_thread()
    with _MODEL_THREAD_LOCK:
        if not _SIDE_THREAD or _SIDE_THREAD[0] is None:
            _SIDE_THREAD[:] = [side_lane(encoder, model)]
        return _SIDE_THREAD[0]


def batched(engine: SearchEngine | None) -> SearchEngine | None:
    """``engine`` with its encoder behind a batcher: concurrent queries share model calls, made
    on the model thread, and texts that arrive while it runs pictures on one core on the side
    thread."""
    if engine is not None:
        engine.encoder = batching(engine.encoder, model_thread=model_thread(), on_overlap=affinity.confine,
                                  side_thread=side_thread(engine.encoder))
    return engine


def batched_opener(open_engine: Callable[[], SearchEngine]) -> Callable[[], SearchEngine]:
    return lambda: batched(model_thread().call(open_engine))  # loaded where it will run
