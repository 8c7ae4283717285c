"""`clipsearch search ... | head -1`, and Ctrl-C while the model loads: the commands end in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import cli.search
import indexer.cli
import webui.__main__ as webui_main
from cli import flags

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from cli import flags

@flags.ends_quietly
def main(argv=None):
    sys.stdin.readline()  # wait until the reader has gone
    for i in range(10_000):
        print(f"0.300\\t/photos/{i:05d}.jpg")
    return 0

sys.exit(main())
"""


def test_a_closed_pipe_ends_the_command_with_141_and_no_traceback():
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # `head` has read its line and gone
    child.stdin.write(b"go\n")
    child.stdin.close()
    assert child.wait(60) == 141
    assert child.stderr.read() == b""  # no BrokenPipeError, not even at exit


def test_ctrl_c_before_the_command_handles_it_is_one_line_and_130():
    loading = CHILD.replace('sys.stdin.readline()  # wait until the reader has gone',
                            'print("loading", flush=True); import time; time.sleep(60)  # the model loads')
    child = subprocess.Popen([sys.executable, "-c", loading], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline() == b"loading\n"
    child.send_signal(signal.SIGINT)
    assert child.wait(60) == 130
    assert child.stderr.read() == b"interrupted\n"


CLOSED = """
import sys
from cli import flags

@flags.ends_quietly
def main(argv=None):
    print("the summary")  # nothing to print to: said to no one
    with open(sys.argv[1], "w") as index:  # a file the command writes
        index.write(str(index.fileno()))
    return 0

sys.exit(main())
"""


def test_a_command_run_with_stdout_or_stderr_closed_runs_with_nothing_to_print_to(tmp_path):
    """``python -m indexer >&-`` (cron) ended in a traceback at its last flush, exit 1: it runs now,
    and no file it opens takes the closed stream's descriptor (where a library's output would go)."""
    for closed in ([1], [2], [1, 2]):
        written = tmp_path / f"index-{len(closed)}-{closed[0]}"
        # Closed as cron's shell closes them, by sh before it runs the command: a preexec_fn closing
        # them in a fork of this process ran gRPC's fork handlers there (a test before may have
        # loaded it: Milvus), whose poller aborted on the closed descriptor now and then (exit -6).
        shut = " ".join(f"{fd}>&-" for fd in closed)
        child = subprocess.run(["sh", "-c", f'exec "$0" "$@" {shut}', sys.executable, "-c", CLOSED, str(written)],
                               cwd=REPO, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
        assert child.returncode == 0, child.stderr
        assert child.stderr == b""
        assert int(written.read_text()) > 2


def test_a_command_whose_stdout_or_stderr_is_a_file_open_for_reading_runs_with_nothing_to_print_to(tmp_path):
    """pyenv's shim run with ``2>&-`` leaves its own script on descriptor 2, open for reading:
    `clipsearch search` printed its results, then its first line to stderr failed (EBADF), exit 1."""
    held = tmp_path / "held.txt"
    held.write_text("a file of whoever started the command\n")
    speaking = CLOSED.replace('print("the summary")', 'print("the summary"); print("a note", file=sys.stderr)')
    for fd in (1, 2):
        written = tmp_path / f"index-{fd}"
        child = subprocess.run(["sh", "-c", f'exec "$0" "$@" {fd}<"{held}"', sys.executable, "-c", speaking,
                                str(written)], cwd=REPO, capture_output=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
        assert child.returncode == 0, child.stderr
        assert (child.stderr if fd == 1 else child.stdout) == (b"a note\n" if fd == 1 else b"the summary\n")
        assert held.read_text() == "a file of whoever started the command\n" and int(written.read_text()) > 2


def test_the_commands_that_print_results_are_wrapped():
    for main in (cli.search.main, indexer.cli.main, webui_main.main):
        assert main.__wrapped__ is not None and main.__name__ == "main"
    assert flags.ends_quietly(lambda argv=None: 3)() == 3


def test_a_stream_that_cannot_be_reconfigured_is_left_as_it_is(monkeypatch):
    """A stream made on a seekable file whose descriptor became a pipe since (a forked worker's, the
    tests' warm processes) raised ESPIPE as its errors were changed: every command ended there."""
    class Swapped:
        errors, encoding = "backslashreplace", "utf-8"

        def reconfigure(self, **_):
            raise OSError(29, "Illegal seek")

    monkeypatch.setattr(sys, "stderr", Swapped())
    flags.paths_as_bytes()  # no OSError
    assert sys.stderr.errors == "backslashreplace"
