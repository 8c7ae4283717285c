"""Gradio's queue, woken by its work instead of looking for it every millisecond.

While no event waits, Gradio's queue (``gradio.queueing.Queue.start_processing``) looks for one
every millisecond (``sleep_when_free``), and while none runs, its progress loop looks every 10 ms.
Measured on this project's 2-core machine: an idle server spent 5-6% of a core on those looks
alone, and under load their thousand wake-ups a second take turns at the interpreter lock with
the requests. Looking every 5 ms instead cost 1.4% at rest, but would make every event wait up to
5 ms more for its turn.

``install`` gives an app's queue the same loops, which sleep until there is something to do: an
event arrives (``push``), a running one ends and frees a slot (``process_events``), an event
starts (for the progress loop). They also look every ``LOOK_EVERY`` seconds, for a change they
are not told of (a concurrency limit raised while the app runs). Everything else is Gradio's own:
the loops below are Gradio 6.31's, with only their idle sleeps replaced, and ``install`` first
checks that the installed Gradio's loops are the ones they were copied from (``GRADIO_LOOPS``: a
hash of their source). Any other version keeps its own queue.
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
GRADIO_LOOPS = "98b1fe974d06ff34"  # gradio 6.31.0's two Queue loops, which WakingQueue copies


def source_fingerprint(*functions: Any) -> str:
    """A short hash of the functions' source: whether an installed library's code is the code a
    replacement was written against (here, and ``uploads``)."""
    return hashlib.sha256("".join(map(inspect.getsource, functions)).encode()).hexdigest()[:16]


def loop_fingerprint() -> str:
    """The hash of the installed Gradio's queue loops (their source)."""
    return source_fingerprint(queueing.Queue.start_processing, queueing.Queue.start_progress_updates)


class WakingQueue(queueing.Queue):
    """``gradio.queueing.Queue`` whose loop waits for work (``install`` turns an app's queue into one)."""

    _work: asyncio.Event  # set when an event arrives or ends
    _running: asyncio.Event  # set when an event starts
    looks: int  # how many times a loop woke from its idle sleep (for tests)

    async def push(self, *args: Any, **kwargs: Any) -> Any:
        answer = await super().push(*args, **kwargs)
        self._work.set()
        return answer

    async def process_events(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().process_events(*args, **kwargs)
        finally:
            self._work.set()  # a slot is free: an event waiting for it may start

    async def _sleep_until(self, flag: asyncio.Event) -> None:
        """Until ``flag`` is set or ``LOOK_EVERY`` has passed; then clear it, before the caller
        looks again (what happens after that sets it anew)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(flag.wait(), LOOK_EVERY)
        flag.clear()
        self.looks += 1

    async def start_progress_updates(self) -> None:
        # Gradio 6.31's, but while no event runs it waits for one to start, where Gradio's looks
        # every 10 ms (``progress_update_sleep_when_free``); while events run, it sends their
        # progress every 10 ms, as Gradio's does.
        self._running = asyncio.Event()
        while not self.stopped:
            events = [evt for job in self.active_jobs if job is not None for evt in job]

            if len(events) == 0:
                await self._sleep_until(self._running)
                continue

            for event in events:
                if event.progress_pending and event.progress:
                    event.progress_pending = False
                    self.send_message(event, event.progress)

            await asyncio.sleep(self.progress_update_sleep_when_free)

    async def start_processing(self) -> None:
        # Gradio 6.31's loop, word for word but for `await self._sleep_until(self._work)` where it
        # slept, telling the progress loop when an event starts (`_running`), and the `queueing.`
        # before the two helpers it imports.
        self._work = asyncio.Event()  # of this server's event loop (a relaunch runs another)
        try:
            while not self.stopped:
                if len(self) == 0:
                    await self._sleep_until(self._work)
                    continue

                if None not in self.active_jobs:
                    await self._sleep_until(self._work)
                    continue

                # Using mutex to avoid editing a list in use
                async with self.delete_lock:
                    event_batch = self.get_events()

                if event_batch:
                    events, batch, concurrency_id = event_batch
                    self.active_jobs[self.active_jobs.index(None)] = events
                    self._running.set()
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
                    await self._sleep_until(self._work)
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()


def install(demo: Any) -> bool:
    """Make ``demo``'s queue a ``WakingQueue`` (before it starts: before ``demo.launch``). False,
    and the queue left as it is, when the installed Gradio's loops are not the ones copied here."""
    queue = getattr(demo, "_queue", None)
    if type(queue) is WakingQueue:
        return True
    if type(queue) is not queueing.Queue or loop_fingerprint() != GRADIO_LOOPS:
        log.debug("Gradio's queue keeps its own loops (%s, not %s)", loop_fingerprint(), GRADIO_LOOPS)
        return False
    queue._work, queue._running = asyncio.Event(), asyncio.Event()
    queue.looks = 0
    queue.__class__ = WakingQueue
    return True
