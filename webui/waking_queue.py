"""Gradio's queue, woken by its work instead of looking for it every millisecond.

While no event waits, Gradio's queue (``gradio.queueing.Queue.start_processing``) looks for one
every millisecond (``sleep_when_free``). Measured on this project's 2-core machine: an idle server
spent 6.1% of a core on those looks alone, and under load their thousand wake-ups a second take
turns at the interpreter lock with the requests. Looking every 5 ms instead cost 1.4% at rest, but
would make every event wait up to 5 ms more for its turn.

``install`` gives an app's queue the same loop, which sleeps until there is something to do: an
event arrives (``push``), or a running one ends and frees a slot (``process_events``). It also
looks every ``LOOK_EVERY`` seconds, for a change it is not told of (a concurrency limit raised
while the app runs). Everything else is Gradio's own: the loop below is Gradio 6's, with only its
three sleeps replaced, and ``install`` first checks that the installed Gradio's loop is the one it
was copied from (``GRADIO_LOOP``: a hash of its source). Any other version keeps its own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import time
from typing import Any

from gradio import queueing

log = logging.getLogger(__name__)

LOOK_EVERY = 0.05  # seconds: the longest the loop sleeps without being woken
GRADIO_LOOP = "d65be5a5cbed97d7"  # Queue.start_processing of gradio 6.31.0, which WakingQueue copies


def loop_fingerprint() -> str:
    """The hash of the installed Gradio's queue loop (its source)."""
    return hashlib.sha256(inspect.getsource(queueing.Queue.start_processing).encode()).hexdigest()[:16]


class WakingQueue(queueing.Queue):
    """``gradio.queueing.Queue`` whose loop waits for work (``install`` turns an app's queue into one)."""

    _work: asyncio.Event
    looks: int  # how many times the loop woke to look (for tests)

    async def push(self, *args: Any, **kwargs: Any) -> Any:
        answer = await super().push(*args, **kwargs)
        self._work.set()
        return answer

    async def process_events(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().process_events(*args, **kwargs)
        finally:
            self._work.set()  # a slot is free: an event waiting for it may start

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._work.wait(), LOOK_EVERY)
        self._work.clear()  # before the loop looks again: whatever comes later sets it anew
        self.looks += 1

    async def start_processing(self) -> None:
        # Gradio 6.31's loop, word for word but for `await self._wait_for_work()` where it slept
        # (and the `queueing.` before the two helpers it imports).
        try:
            while not self.stopped:
                if len(self) == 0:
                    await self._wait_for_work()
                    continue

                if None not in self.active_jobs:
                    await self._wait_for_work()
                    continue

                # Using mutex to avoid editing a list in use
                async with self.delete_lock:
                    event_batch = self.get_events()

                if event_batch:
                    events, batch, concurrency_id = event_batch
                    self.active_jobs[self.active_jobs.index(None)] = events
                    event_queue = self.event_queue_per_concurrency_id[concurrency_id]
                    event_queue.current_concurrency += 1
                    start_time = time.time()
                    fn = events[0].fn
                    event_queue.start_times_per_fn[fn].add(start_time)
                    for event in events:
                        if (a := self.event_analytics.get(event._id)) is not None:
                            a["status"] = "processing"
                    process_event_task = queueing.run_coro_in_background(
                        self.process_events, events, batch, start_time, fn
                    )
                    queueing.set_task_name(
                        process_event_task,
                        events[0].session_hash,
                        fn._id,
                        events[0]._id,
                        batch,
                    )

                    self._asyncio_tasks.add(process_event_task)
                    process_event_task.add_done_callback(self._asyncio_tasks.discard)
                    if self.live_updates:
                        self.broadcast_estimations(concurrency_id)
                else:
                    await self._wait_for_work()
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()


def install(demo: Any) -> bool:
    """Make ``demo``'s queue a ``WakingQueue`` (before it starts: before ``demo.launch``). False,
    and the queue left as it is, when the installed Gradio's loop is not the one copied here."""
    queue = getattr(demo, "_queue", None)
    if type(queue) is WakingQueue:
        return True
    if type(queue) is not queueing.Queue or loop_fingerprint() != GRADIO_LOOP:
        log.debug("Gradio's queue keeps its own loop (gradio's loop is %s, not %s)", loop_fingerprint(), GRADIO_LOOP)
        return False
    queue._work = asyncio.Event()
    queue.looks = 0
    queue.__class__ = WakingQueue
    return True
