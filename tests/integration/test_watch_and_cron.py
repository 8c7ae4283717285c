"""``python -m indexer A --index I --watch`` idles while a cron run indexes B into I: nothing vanishes."""

from __future__ import annotations

import importlib
import os
import queue
import signal
import subprocess
import threading
import time

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo import make_sample_library
from clipsearch.stores import open_store
from tests.integration.conftest import REPO, run_indexer
from testsupport.warm import start_module

# One torch thread each: two indexers and this test share the machine's cores.
ARGS = ["--model", "demo", "--precision", "fp32", "--batch-size", "4", "--threads", "1"]


def pictures(folder, n: int, seed: int) -> list:
    make_sample_library(folder, n=n, seed=seed)
    (folder / "manifest.json").unlink()
    return sorted(p for p in folder.rglob("*") if p.is_file())


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)  # each look opens the store: do not steal the watcher's CPU


def indexed_and_saved(index, path) -> bool:
    """True once ``path`` is in the index and a snapshot covers the newest batch."""
    try:
        store = open_store(index)
    except Exception:  # noqa: BLE001 - not there yet
        return False
    try:
        return store.get(str(path)) is not None and (index / f"vectors-{store.generation()}.hnsw").exists()
    finally:
        store.close()


def test_a_cron_run_while_a_watcher_idles_loses_nothing(tmp_path):
    a, b, index = tmp_path / "A", tmp_path / "B", tmp_path / "I"
    # The model's libraries load here while the watcher starts: the check at the end needs them.
    importing = threading.Thread(target=importlib.import_module, args=("clipsearch.encoders.openclip",))
    importing.start()
    a_files, b_files = pictures(a, 6, seed=21), pictures(b, 5, seed=22)
    watcher = start_module("indexer", str(a), "--index", str(index), "--watch", *ARGS, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    interrupted = False
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stderr], daemon=True).start()
    try:
        deadline = time.monotonic() + 240
        while "watching" not in lines.get(timeout=max(1.0, deadline - time.monotonic())):
            pass  # the first run is done and saved: the watcher idles now
        cron = run_indexer(str(b), "--index", str(index), *ARGS)
        assert cron.returncode == 0, cron.stderr
        new = pictures(tmp_path / "new", 1, seed=23)[0]
        later = a / "later" / new.name
        later.parent.mkdir()
        os.replace(new, later)  # a new file in A: the watcher commits and saves again
        wait_for(lambda: indexed_and_saved(index, later), 240, "the watcher to index the new file")
        watcher.send_signal(signal.SIGINT)
        interrupted = True
        # A reader opens the index afresh, as the next user does (its model loads while the watcher stops).
        engine = SearchEngine.for_reading(Settings(index_dir=index, model=ModelSpec(name="demo")))
    finally:
        stop(watcher, interrupted)
        importing.join()
    try:
        assert engine.store.count() == len(a_files) + len(b_files) + 1
        assert engine.store.check() == []
        for path in [*b_files, *a_files, later]:  # searching with the photo itself finds it
            assert str(path) in {h.path for h in engine.search_image(path, k=3)}, path
    finally:
        engine.close()


def stop(watcher: subprocess.Popen, interrupted: bool) -> None:
    """Stop the watcher as Ctrl-C does (once: a second one quits at once), or kill it if it hangs."""
    if not interrupted and watcher.poll() is None:
        watcher.send_signal(signal.SIGINT)
    try:
        watcher.wait(60)
    except subprocess.TimeoutExpired:
        watcher.kill()
        watcher.wait()


def test_a_watcher_started_while_its_only_disk_is_unplugged_waits_for_it(tmp_path):
    """README: a folder missing when --watch starts is looked for every 5 s and indexed once back.
    A watcher over one USB disk, started while it was unplugged, ended at once ("nothing to watch",
    exit 0); naming the folder was "folder not found", exit 2. A folder the index never covered stays so."""
    disk, away, index = tmp_path / "usb", tmp_path / "usb-away", tmp_path / "I"
    first = pictures(disk, 3, seed=31)
    assert run_indexer(str(disk), "--index", str(index), *ARGS).returncode == 0
    os.replace(disk, away)  # unplugged
    never = run_indexer(str(tmp_path / "never"), "--index", str(index), "--watch", *ARGS)
    assert never.returncode == 2 and "folder not found" in never.stderr
    watcher = start_module("indexer", str(disk), "--index", str(index), "--watch", *ARGS, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stderr], daemon=True).start()
    try:
        deadline = time.monotonic() + 240
        while "watching" not in lines.get(timeout=max(1.0, deadline - time.monotonic())):
            pass
        assert watcher.poll() is None  # waiting for the disk, its photos kept
        new = pictures(tmp_path / "new", 1, seed=32)[0]
        os.replace(new, away / "new.jpg")
        os.replace(away, disk)  # plugged in, a photo more on it
        wait_for(lambda: indexed_and_saved(index, disk / "new.jpg"), 240, "the watcher to index the disk once back")
    finally:
        stop(watcher, False)
    assert all(indexed_and_saved(index, path) for path in first)


def test_a_watcher_whose_index_folder_is_deleted_says_so_and_ends(tmp_path):
    """`rm -rf` of the index folder while --watch ran: the watcher went on with "added 1", writing
    into the deleted files, while every reader said there was no index; all it did was lost."""
    import shutil

    photos, index = tmp_path / "P", tmp_path / "I"
    pictures(photos, 2, seed=41)
    watcher = start_module("indexer", str(photos), "--index", str(index), "--watch", *ARGS, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in watcher.stderr], daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while "watching" not in lines.get(timeout=max(1.0, deadline - time.monotonic())):
            pass
        shutil.rmtree(index)
        os.replace(pictures(tmp_path / "new", 1, seed=42)[0], photos / "new.jpg")  # a change: a pass
        assert watcher.wait(120) == 1
    finally:
        stop(watcher, False)
    reader.join(10)
    said = "".join(lines.get_nowait() for _ in range(lines.qsize()))
    assert f"error: the index in {index} was deleted or replaced while --watch ran" in said, said
    assert not (index / "records.sqlite").exists()
