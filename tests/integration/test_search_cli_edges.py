"""``python -m clipsearch search`` at its edges, as a user runs it: a subprocess, the demo model."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from tests.integration.conftest import REPO, run_indexer
from testsupport.imagefactory import photo, save
from testsupport.warm import run_module, start_module

LIMIT = 50 * 1024 * 1024  # README: a picture to search with may be at most 50 MB, as the web app's uploads


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("edges")
    for seed in range(4):
        save(photo(96, 72, seed=seed), root / "photos" / f"p{seed}.jpg")
    done = run_indexer(str(root / "photos"), "--index", str(root / "index"), "--model", "demo")
    assert done.returncode == 0, done.stderr
    return root


def search(*args: str) -> subprocess.Popen:
    """``python -m clipsearch search ARGS`` started as a user starts it (forked from a warm
    interpreter where nothing can differ: ``testsupport.warm``), its output text pipes."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return start_module("clipsearch", "search", *args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)


def feed(fifo: str, data: bytes, chunk: int = 1 << 20, times: int = 1) -> dict:
    """Write ``data`` ``times`` times into the named pipe ``fifo`` on a thread; ``written`` counts the
    bytes the reader took before it closed its end."""
    state = {"written": 0}

    def work() -> None:
        try:
            with open(fifo, "wb") as pipe:
                for _ in range(times):
                    for start in range(0, len(data), chunk):
                        state["written"] += pipe.write(data[start:start + chunk])
        except BrokenPipeError:
            pass

    state["thread"] = threading.Thread(target=work, daemon=True)
    state["thread"].start()
    return state


def test_an_endless_image_is_refused_after_the_upload_limit(small_index, tmp_path):
    """`--image /dev/zero` (or any stream with no end in sight) read about 1 GB before it was
    refused; now at most the limit and a byte are read, and it is a usage error that says why."""
    fifo = str(tmp_path / "endless")
    os.mkfifo(fifo)
    zeros = bytes(1 << 20)
    writer = feed(fifo, zeros, times=200)  # 200 MB, four times the limit
    proc = search("--image", fifo, "--index", str(small_index / "index"))
    out, err = proc.communicate(timeout=300)
    writer["thread"].join(timeout=60)
    assert proc.returncode == 2, err
    assert f"error: argument --image: {fifo}: file too large" in err and "at most 50 MB" in err, err
    assert writer["written"] <= LIMIT + 2 * len(zeros), writer["written"]  # the limit, a chunk and a pipe's buffer


def test_a_picture_from_a_pipe_is_still_searched_with(small_index, tmp_path):
    """`--image <(cat photo.jpg)`: a stream with a picture in it is read as before."""
    picture = save(photo(96, 72, seed=2), tmp_path / "q.jpg").read_bytes()
    fifo = str(tmp_path / "picture")
    os.mkfifo(fifo)
    writer = feed(fifo, picture)
    proc = search("--image", fifo, "--index", str(small_index / "index"), "--min-score", "0")
    out, err = proc.communicate(timeout=300)
    writer["thread"].join(timeout=60)
    assert proc.returncode == 0, err
    assert "p2.jpg" in out.splitlines()[0], out


def saved_add(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return run_module("clipsearch", "saved", "add", *args, cwd=REPO, env=env, timeout=timeout)


def test_saved_add_refuses_a_photo_over_the_limit_as_search_image_does(small_index, tmp_path):
    """`saved add --photo` read a file up to 1 GiB; it reads at most the limit and a byte, and says
    so as `search --image` does (exit 2, nothing saved)."""
    big = tmp_path / "huge.jpg"
    with open(big, "wb") as handle:
        handle.truncate(LIMIT + 1)  # one byte over, no disk used
    big = str(big)
    index = str(small_index / "index")
    done = saved_add("Too big", "--photo", big, "--index", index)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("usage: python -m clipsearch saved add "), done.stderr
    said = f"error: argument --photo: {big}: file too large (a picture to search with may be at most 50 MB)"
    assert said in done.stderr, done.stderr
    proc = search("--image", big, "--index", index)  # `search --image` says the same of the same file
    err = proc.communicate(timeout=300)[1]
    assert proc.returncode == 2 and f"error: argument --image: {big}: file too large (a picture" in err, err
    assert not (small_index / "index" / "saved-searches.json").exists()


def test_a_device_a_folder_and_a_pipe_nothing_writes_to_are_refused_at_once(small_index, tmp_path):
    """`--image /dev/zero` was read to the limit (and `saved add --photo` called it "no such file"
    before that); a named pipe nothing writes to was waited for, 60 s by `search --image`, for ever
    by `saved add --photo`. Each is refused at once, a usage error that says what it is."""
    pipe = str(tmp_path / "nobody.jpg")
    os.mkfifo(pipe)
    index = str(small_index / "index")
    for name, said in (("/dev/zero", "not a file (a device)"), (str(tmp_path), "not a file (a folder)"),
                       (pipe, "empty file (a pipe nothing is writing to)")):
        proc = search("--image", name, "--index", index)
        try:
            err = proc.communicate(timeout=45)[1]  # the model loads first, for a pipe; 60 s was the wait
        finally:
            proc.kill()
        assert proc.returncode == 2 and f"search: error: argument --image: {name}: {said}" in err, err
        done = saved_add("Nothing", "--photo", name, "--index", index, timeout=45)
        assert done.returncode == 2 and f"saved add: error: argument --photo: {name}: {said}" in done.stderr, done.stderr
    assert not (small_index / "index" / "saved-searches.json").exists()


def test_saved_add_reads_an_endless_photo_only_to_the_limit(small_index, tmp_path):
    fifo = str(tmp_path / "endless")
    os.mkfifo(fifo)
    zeros = bytes(1 << 20)
    writer = feed(fifo, zeros, times=200)  # 200 MB, four times the limit
    done = saved_add("Endless", "--photo", fifo, "--index", str(small_index / "index"))
    writer["thread"].join(timeout=60)
    assert done.returncode == 2 and f"argument --photo: {fifo}: file too large" in done.stderr, done.stderr
    assert writer["written"] <= LIMIT + 2 * len(zeros), writer["written"]


def test_a_folder_given_from_home_as_a_tilde_is_that_folder(small_index):
    """`--folder '~/photos'` (quoted, or after an '=', where the shell leaves it) searched a folder
    named '~' in the current one: "No result"; saved add, --index and FOLDER read it as home."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(small_index)}
    index = str(small_index / "index")
    for folder in (["--folder", "~/photos"], ["--folder=~/photos"]):
        done = run_module("clipsearch", "search", "a picture", *folder, "--index", index, "--min-score", "0", cwd=REPO,
                          env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.splitlines()) == 4 and "No result" not in done.stderr, (folder, done.stderr)
