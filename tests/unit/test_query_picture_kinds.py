"""A picture to search with that is no file: a named pipe nothing writes to was waited for (60 s
for ``search --image``, for ever for ``saved add --photo`` and ``search --server``), and a folder or
a device (``/dev/zero``, a terminal) was opened and read. A pipe nothing is writing to is refused
at once, a folder and a device before they are opened (exit 2, like any picture that cannot be
used); a pipe with a writer (``--image <(cat photo.jpg)``) is read as before. Each call runs on a
thread with a time guard, so that a pipe waited for fails the test instead of hanging it."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from types import SimpleNamespace

import pytest

import cli.search
from clipsearch import UnreadableImage
from clipsearch.region import read_query_picture
from testsupport.imagefactory import photo, save

GUARD_S = 20  # far more than any of these takes; a pipe waited for takes 60 s or for ever


def release(pipe: str) -> None:
    """A writer comes and goes: a reader waiting in ``open`` for one gets on (and reads nothing)."""
    with contextlib.suppress(OSError):
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))


def within(run, pipe: str | None = None):
    """``run()``'s result (or its exception, ``SystemExit`` too), failing the test where it has not
    ended in ``GUARD_S`` seconds (the pipe then released, so that no thread is left waiting)."""
    ended: dict = {}

    def work() -> None:
        try:
            ended["value"] = run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            ended["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(GUARD_S)
    if thread.is_alive():
        if pipe:
            release(pipe)
        thread.join(GUARD_S)
        pytest.fail(f"still waiting for the pipe after {GUARD_S} s")
    if "error" in ended:
        raise ended["error"]
    return ended.get("value")


@pytest.fixture
def pipe(tmp_path) -> str:
    os.mkfifo(tmp_path / "query.jpg")
    return str(tmp_path / "query.jpg")


NOBODY = "empty file (a pipe nothing is writing to)"


def test_a_pipe_nothing_writes_to_is_refused_at_once_by_the_reader(pipe):
    with pytest.raises(UnreadableImage) as refused:
        within(lambda: read_query_picture(pipe), pipe)
    assert str(refused.value) == f"{pipe}: {NOBODY}"


def ended_with(capsys, run, pipe: str | None = None) -> tuple[int, str]:
    """A command's exit code (a usage error's too) and the last line it wrote to stderr."""
    try:
        code = within(run, pipe)
    except SystemExit as end:
        code = end.code
    return code, capsys.readouterr().err.splitlines()[-1]


def test_search_saved_add_and_search_server_refuse_a_pipe_nothing_writes_to(engine, library, pipe, tmp_path,
                                                                            monkeypatch, capsys):
    engine.index_folder(library)
    monkeypatch.setattr(cli.search, "SearchEngine", SimpleNamespace(for_reading=lambda settings, **_: engine))
    index = str(engine.settings.index_dir)
    for argv in (["search", "--image", pipe], ["search", "--image", pipe, "--region", "0,0,0.5,0.5"]):
        code, said = ended_with(capsys, lambda argv=argv: cli.search.main([*argv, "--index", index]), pipe)
        assert (code, said) == (2, f"python -m clipsearch search: error: argument --image: {pipe}: {NOBODY}")
    code, said = ended_with(capsys, lambda: cli.search.main(["search", "--image", pipe,
                                                             "--server", "http://127.0.0.1:9/"]), pipe)
    assert (code, said) == (2, f"python -m clipsearch search: error: argument --image: {pipe}: {NOBODY}")
    code, said = ended_with(capsys, lambda: cli.search.main(["saved", "add", "Piped", "--photo", pipe,
                                                             "--index", index]), pipe)
    assert (code, said) == (2, f"python -m clipsearch saved add: error: argument --photo: {pipe}: {NOBODY}")
    assert cli.search.main(["saved", "--json", "--index", index]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_a_pipe_with_a_writer_is_read_to_its_end(pipe, tmp_path):
    """``--image <(cat photo.jpg)``: the writer there before the picture is read, or its bytes
    written after the reader has looked (a slow ``curl``): read whole either way."""
    picture = save(photo(96, 72, seed=2), tmp_path / "q.jpg").read_bytes()

    def write(stream, pause: float) -> None:
        with stream:
            time.sleep(pause)
            for start in range(0, len(picture), 1000):
                stream.write(picture[start:start + 1000])
                stream.flush()

    for pause in (0, 0.3):
        holder = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader that never reads: the writer opens at once
        writer = threading.Thread(target=write, args=(open(pipe, "wb"), pause), daemon=True)  # noqa: SIM115
        writer.start()
        try:
            assert within(lambda: read_query_picture(pipe), pipe) == picture
        finally:
            os.close(holder)
        writer.join(GUARD_S)


def test_a_folder_or_a_device_is_refused_before_it_is_opened(tmp_path, capsys):
    for name, kind in ((str(tmp_path), "a folder"), (os.devnull, "a device"), ("/dev/zero", "a device")):
        with pytest.raises(UnreadableImage) as refused:
            read_query_picture(name)
        assert str(refused.value) == f"{name}: not a file ({kind})"
    # before the index and the model are opened: no index there, and still this usage error (not exit 1)
    code, said = ended_with(capsys, lambda: cli.search.main(["search", "--image", "/dev/zero",
                                                             "--index", str(tmp_path / "no-index")]))
    assert (code, said) == (2, "python -m clipsearch search: error: argument --image: /dev/zero: not a file (a device)")
