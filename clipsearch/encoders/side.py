"""A second thread for texts, beside the model's own (``batching.BatchingEncoder``'s side lane).

Under load the model's thread runs each call on one core, and a picture takes 30-70 ms there,
while the texts that arrive meanwhile wait for it. With a side thread, they run on another core
instead (``OpenClipEncoder.embed_texts_beside``), but only while the model's call keeps to one
core (``side_ready``): texts alone still go through the model's thread, in shared calls.
"""

from __future__ import annotations

import os
from typing import Any

from ..batching import ModelThread


def side_lane(encoder: Any, model_thread: ModelThread) -> ModelThread | None:
    """A thread for ``encoder.embed_texts_beside``, or None where the encoder has none or does
    not run on a CPU of two cores or more. ``model_thread`` runs the model's other calls.

    torch's thread count is process-wide for its own loops, but each thread keeps its own for
    OpenMP and oneDNN: the side thread sets its own to one, then the model's thread sets the
    process's back. (A second thread that ran torch on two threads would add a second pool of
    OpenMP threads, and every call of either would take about twice as long.)
    """
    if not callable(getattr(encoder, "embed_texts_beside", None)) or (os.cpu_count() or 1) < 2:
        return None
    if getattr(encoder, "device", None) != "cpu":
        return None
    import torch

    threads, side = model_thread.call(torch.get_num_threads), ModelThread("clipsearch-texts")
    side.call(torch.set_num_threads, 1)
    model_thread.call(torch.set_num_threads, threads)
    return side
