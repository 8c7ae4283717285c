"""``clipsearch.affinity``: the model thread keeps a core of its own; while queries overlap, the
other threads keep off it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from clipsearch import affinity
from clipsearch.affinity import all_cores, confine, reserve_core

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_kept_core(monkeypatch):
    """Each test starts with no core kept, and leaves the process's record as it was."""
    monkeypatch.setattr(affinity, "_KEEPER", [])


class FakeSystem:
    """Threads and their allowed cores, as the system would keep them. The model thread is the
    test's own (``run_on_model_thread`` runs the function at once)."""

    def __init__(self, cpus: set[int], threads: list[int], gone: tuple[int, ...] = (),
                 model_refuses: bool = False) -> None:
        self.cpus, self.gone, self.model_refuses = cpus, gone, model_refuses
        self.model = threading.get_native_id()
        self.cores = {thread: set(cpus) for thread in [*threads, self.model]}
        self.calls_on_model = 0

    def allowed(self, thread: int) -> set[int]:
        return set(self.cpus)

    def pin(self, thread: int, cores: set[int]) -> None:
        if thread in self.gone:
            raise ProcessLookupError(3, "No such process")
        if thread == 0:  # the calling thread: here, always the model thread
            if self.model_refuses:
                raise PermissionError(1, "Operation not permitted")
            thread = self.model
        self.cores[thread] = set(cores)

    def run_on_model_thread(self, fn):
        self.calls_on_model += 1
        return fn()

    def threads(self) -> list[int]:
        return list(self.cores)

    def reserve(self) -> int | None:
        """``reserve_core`` on this system."""
        return reserve_core(self.run_on_model_thread, allowed=self.allowed, pin=self.pin, threads=self.threads)

    def others(self) -> list[set[int]]:
        return [cores for thread, cores in self.cores.items() if thread != self.model]


def test_the_model_thread_gets_one_core_and_the_others_keep_off_it_while_queries_overlap():
    system = FakeSystem({0, 1, 2, 3}, threads=[11, 12, 13])
    assert system.reserve() == 3
    assert system.calls_on_model == 1
    assert system.cores[system.model] == {3}
    assert system.others() == [{0, 1, 2, 3}] * 3  # one query at a time: every core
    confine(lambda: True)
    assert system.cores[system.model] == {3} and system.others() == [{0, 1, 2}] * 3
    confine(lambda: False)
    assert system.cores[system.model] == {3} and system.others() == [{0, 1, 2, 3}] * 3


def test_calls_that_arrive_out_of_order_end_on_the_count_now():
    system = FakeSystem({0, 1}, threads=[11])
    system.reserve()
    queries = [1]
    overlapping = lambda: queries[0] > 1  # noqa: E731  (what the batcher hands over)
    queries[0] = 2  # a second query starts...
    queries[0] = 1  # ...and ends before the first one's call arrives
    confine(overlapping)  # the call of the end
    confine(overlapping)  # the call of the start, late: it reads the count now
    assert system.cores[11] == {0, 1}
    queries[0] = 3
    confine(overlapping)
    assert system.cores[11] == {0}


def test_all_cores_while_a_job_runs_then_the_model_core_again():
    system = FakeSystem({0, 1}, threads=[11, 12])
    assert system.reserve() == 1
    confine(lambda: True)
    with all_cores():
        assert all(cores == {0, 1} for cores in system.cores.values())
        system.cores[13] = {0, 1}  # a thread the job started (a decoder)
        confine(lambda: True)  # queries meanwhile move nothing
        with all_cores():  # nested: still every core
            pass
        assert all(cores == {0, 1} for cores in system.cores.values())
    assert system.cores == {11: {0}, 12: {0}, 13: {0}, system.model: {1}}  # still overlapping


def test_without_a_kept_core_nothing_moves():
    confine(lambda: True)
    with all_cores():
        pass
    assert affinity._KEEPER == []


def test_a_thread_that_ends_meanwhile_is_skipped():
    system = FakeSystem({0, 1}, threads=[11, 12, 13], gone=(12,))
    assert system.reserve() == 1
    confine(lambda: True)
    assert system.cores[11] == system.cores[13] == {0} and system.cores[system.model] == {1}


def test_one_core_is_left_shared():
    system = FakeSystem({5}, threads=[11, 12])
    assert system.reserve() is None
    confine(lambda: True)
    assert system.calls_on_model == 0 and all(cores == {5} for cores in system.cores.values())


def test_a_refusal_leaves_every_thread_on_every_core(caplog):
    system = FakeSystem({0, 1, 2}, threads=[11, 12], model_refuses=True)
    assert system.reserve() is None
    confine(lambda: True)
    assert all(cores == {0, 1, 2} for cores in system.cores.values())
    assert "could not keep a core for the model" in caplog.text


def test_a_system_without_thread_affinity_changes_nothing(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    called = []
    assert reserve_core(called.append) is None
    assert called == []


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two cores the process may use")
def test_real_threads_keep_off_the_model_core_while_queries_overlap():
    """In a process of its own (pinning this one would slow the rest of the tests)."""
    script = textwrap.dedent("""
        import os, threading
        from clipsearch.affinity import all_cores, confine, reserve_core
        from clipsearch.batching import ModelThread

        model = ModelThread()
        cpus = os.sched_getaffinity(0)
        core = reserve_core(model.call)
        on_model = lambda: model.call(lambda: os.sched_getaffinity(0))
        print(core == max(cpus), on_model() == {core}, os.sched_getaffinity(0) == cpus)
        confine(lambda: True)
        seen = {}
        later = threading.Thread(target=lambda: seen.update(later=os.sched_getaffinity(0)))
        later.start(); later.join()
        print(on_model() == {core}, os.sched_getaffinity(0) == cpus - {core}, seen["later"] == cpus - {core})
        with all_cores():
            print(on_model() == cpus, os.sched_getaffinity(0) == cpus)
        print(on_model() == {core}, os.sched_getaffinity(0) == cpus - {core})
        confine(lambda: False)
        print(on_model() == {core}, os.sched_getaffinity(0) == cpus)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"] * 12
