"""Crashes: SIGKILL at random moments, a crash while saving, a full disk. Nothing is lost."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from clipsearch.demo import make_sample_library
from clipsearch.errors import StoreWriteError
from clipsearch.stores import ImageRecord, WriteBatch, open_store
from tests.integration.conftest import REPO, run_indexer
from testsupport.warm import start_module

ARGS = ["--model", "demo", "--precision", "fp32", "--batch-size", "8", "-q"]
KILLS = 10


@pytest.fixture(scope="module")
def library(sample_library, tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash") / "photos"
    shutil.copytree(sample_library, folder)
    (folder / "manifest.json").unlink()
    # 600 more pictures: the 300 alone are embedded within ~1.5 s of a run's first commit, so the
    # later, resumed runs often finished before a kill at a random moment could land.
    make_sample_library(folder / "more", n=600, seed=1)
    (folder / "more" / "manifest.json").unlink()
    return folder


@pytest.fixture(scope="module")
def reference(library, tmp_path_factory):
    index = tmp_path_factory.mktemp("ref") / "index"
    result = run_indexer(str(library), "--index", str(index), *ARGS)
    assert result.returncode == 0, result.stderr
    return index


def snapshot(index: Path) -> dict[str, np.ndarray]:
    store = open_store(index)
    try:
        assert store.check() == []
        return {r.path: store.vector(r.path) for r in store.records()}
    finally:
        store.close()


def generation(index: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{index / 'records.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
        finally:
            db.close()
    except (sqlite3.Error, TypeError):
        return -1


def assert_same_index(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for path, vector in want.items():
        assert float(np.dot(got[path], vector)) > 0.9999, path


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(library, reference, tmp_path):
    index = tmp_path / "index"
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed_mid_run = 0
    for _ in range(KILLS):
        start = generation(index)
        proc = start_module("indexer", str(library), "--index", str(index), *ARGS, env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while generation(index) <= start and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # wait for the run to commit its first batch
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait()
        if proc.returncode == 0:
            break  # the run finished before the kill
    assert killed_mid_run >= 3, "the kills must land while indexing"
    # The cron form, no folder named: the killed first run had already recorded the folder it covers.
    final = run_indexer("--index", str(index), *ARGS, "--json")
    assert final.returncode == 0, final.stderr
    assert_same_index(snapshot(index), snapshot(reference))


CRASH_IN_SAVE = textwrap.dedent("""
    import os, signal, sys
    import hnswlib
    from clipsearch.stores import open_store
    index = sys.argv[1]
    store = open_store(index, create=True)
    real_save = hnswlib.Index.save_index
    def dying_save(self, path):
        real_save(self, path)
        with open(path, "r+b") as handle:  # half-written snapshot, then the power goes
            handle.truncate(os.path.getsize(path) // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    hnswlib.Index.save_index = dying_save
    if sys.argv[2] == "compact":
        store.compact()
    else:
        from clipsearch.stores import WriteBatch
        paths = [r.path for r in store.records()][:5]
        store.write(WriteBatch(delete=paths))
        store.save()
""")


@pytest.mark.parametrize("moment", ["save", "compact"])
def test_crash_during_save_or_compaction_leaves_a_usable_index(reference, tmp_path, moment):
    index = tmp_path / "index"
    shutil.copytree(reference, index)
    want = snapshot(index)
    proc = subprocess.run([sys.executable, "-c", CRASH_IN_SAVE, str(index), moment],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    got = snapshot(index)
    if moment == "save":  # the deletes were committed before the crash: they stay done
        removed = sorted(want)[:5]
        for path in removed:
            want.pop(path)
    assert_same_index(got, want)
    store = open_store(index, create=True)  # the next writer cleans up and saves fine
    store.save()
    store.close()
    assert not list(index.glob("*.tmp"))
    assert_same_index(snapshot(index), want)


class FullDisk:
    """A connection stand-in whose inserts fail as on a full disk."""

    def __init__(self, db):
        self._db = db

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("INSERT INTO IMAGES"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __enter__(self):
        return self._db.__enter__()

    def __exit__(self, *exc):
        return self._db.__exit__(*exc)


def test_full_disk_leaves_the_previous_index_intact(reference, tmp_path, monkeypatch):
    index = tmp_path / "index"
    shutil.copytree(reference, index)
    want = snapshot(index)
    store = open_store(index, create=True)
    dim = int(store.stamp["dim"])
    store._records._db = FullDisk(store._records._db)
    victim = sorted(want)[0]
    record = ImageRecord("/new/picture.jpg", 1, 1, "fp-new", 10, 10)
    with pytest.raises(StoreWriteError, match="disk is full"):
        store.write(WriteBatch(put=[(record, np.ones(dim, np.float32) / np.sqrt(dim))], delete=[victim]))
    import hnswlib

    def no_space(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hnswlib.Index, "save_index", no_space)
    with pytest.raises(StoreWriteError, match="No space left"):
        store.compact()
    monkeypatch.undo()
    real_save = hnswlib.Index.save_index

    def cut_off(self, path):  # as hnswlib does on a full disk: no error raised, a file cut short
        real_save(self, path)
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) * 7 // 8)

    snapshots = sorted(index.glob("vectors-*.hnsw"))
    monkeypatch.setattr(hnswlib.Index, "save_index", cut_off)
    with pytest.raises(StoreWriteError, match="No space left"):
        store.compact()
    assert sorted(index.glob("vectors-*.hnsw")) == snapshots  # the cut-off file never replaced the last one
    store._records._db = store._records._db._db
    store.close()
    assert not list(index.glob(".*.tmp"))
    assert_same_index(snapshot(index), want)


FULL_WHILE_DECODING = textwrap.dedent("""
    import sqlite3, sys, time
    import torch
    import clipsearch.decoding
    from clipsearch.stores.records import RecordStore
    from indexer.cli import main

    def full(self, batch, gen, now):
        raise sqlite3.OperationalError("database or disk is full")

    real_inspect = clipsearch.decoding.inspect_file

    def inspect_in_torch(*args):  # a decoder inside torch when the write fails, as a model's preprocessing is
        item = real_inspect(*args)
        a, until = torch.randn(300, 300), time.monotonic() + 0.5
        while time.monotonic() < until:
            a = (a @ a).clamp(-1, 1)
        return item

    RecordStore._apply = full
    clipsearch.decoding.inspect_file = inspect_in_torch
    sys.exit(main(sys.argv[1:]))
""")


def test_a_full_disk_ends_the_indexer_with_its_own_exit_code_and_line(tmp_path):
    """A write that fails on a full disk ends the run with exit 1 and one line; the decode threads
    still inside torch were abandoned, and the process then aborted: SIGABRT, exit 134,
    "terminate called without an active exception" after the line (about 1 run in 7 for real)."""
    library = tmp_path / "photos"
    make_sample_library(library, n=24, seed=3)
    for run in range(2):  # the abort came every run here; twice, should a run's threads be idle by chance
        index = tmp_path / f"index{run}"
        proc = subprocess.run([sys.executable, "-c", FULL_WHILE_DECODING, str(library), "--index", str(index), *ARGS],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("error: could not write the index in ") and "the disk is full" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
