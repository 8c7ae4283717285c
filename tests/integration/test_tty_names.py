r"""A photo whose name holds ``ESC[2J`` (which clears a terminal's screen) and a newline, and a broken
file whose name sets the window's title, on disk, indexed and searched with the demo model: on a
terminal (a pty) the commands show those characters as ``\xNN``, where before the terminal ran them
and a result split over two lines; through a pipe the output holds the names' own bytes, as before."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import REPO
from testsupport.imagefactory import photo

pytestmark = pytest.mark.slow

PHOTO = b"a\x1b[2J\nb.jpg"
BROKEN = b"c\x1b]0;owned\x07\nd.jpg"


def command_line(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"}


def on_a_terminal(*args: str, timeout: float = 300) -> bytes:
    """What ``python -m ARGS`` writes to a terminal: stdout and stderr a pty."""
    main, sub = pty.openpty()
    try:
        process = subprocess.Popen(command_line(*args), stdin=subprocess.DEVNULL, stdout=sub, stderr=sub,
                                   cwd=REPO, env=environment())
    finally:
        os.close(sub)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([main], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the command ended, its side of the terminal closed
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
    assert process.wait(timeout=60) == 0, out.decode("utf-8", "replace")
    return out


def through_a_pipe(*args: str) -> bytes:
    done = subprocess.run(command_line(*args), capture_output=True, cwd=REPO, env=environment(), timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return done.stdout + done.stderr


def shown(name: bytes) -> bytes:
    r"""The name as a terminal shows it: its control bytes as ``\xNN``."""
    return b"".join(b"\\x%02x" % c if c < 0x20 or c == 0x7F else bytes([c]) for c in name)


def test_names_with_control_characters_are_shown_on_a_terminal_and_their_own_bytes_in_a_pipe(tmp_path):
    library = tmp_path / "photos"
    library.mkdir()
    with open(os.fsencode(library) + b"/" + PHOTO, "wb") as out:
        photo(320, 240, seed=1).save(out, "JPEG", quality=90)
    with open(os.fsencode(library) + b"/" + BROKEN, "wb") as out:
        out.write(b"not a picture")
    index = ["--index", str(tmp_path / "index")]
    search = ["clipsearch", "search", "a picture", *index, "--min-score", "0", "--no-fold"]

    indexed = on_a_terminal("indexer", str(library), *index, "--model", "demo")
    found = on_a_terminal(*search)
    for out in (indexed, found):
        assert b"\x1b[2J" not in out and b"\x1b]0;" not in out and b"\x07" not in out  # nothing ran
    assert indexed.count(shown(BROKEN)) == 2  # the live warning and the summary, each on its line
    assert shown(PHOTO) in found and b"\r\nb.jpg" not in found  # one result, one line

    # A second index, read through a pipe: the same commands print the names' own bytes.
    index = ["--index", str(tmp_path / "index2")]
    assert os.fsencode(library) + b"/" + BROKEN in through_a_pipe("indexer", str(library), *index, "--model", "demo")
    piped = through_a_pipe("clipsearch", "search", "a picture", *index, "--min-score", "0", "--no-fold")
    assert os.fsencode(library) + b"/" + PHOTO in piped and shown(PHOTO) not in piped
