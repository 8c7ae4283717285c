"""What the web server leaves behind when it stops: the Duplicates panel's downloads
(``duplicates_view.Exports``) and the photos uploaded as queries (``stopping``)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from collections.abc import Iterator

import gradio as gr

from webui.duplicates_view import Exports, write_exports
from webui.stopping import forget_uploads, let_reindex_finish, serve_until_stopped

GROUPS = [{"kind": "duplicates", "paths": ["/photos/a.jpg", "/photos/b.jpg"],
           "photos": [{"path": "/photos/a.jpg", "width": 4, "height": 3, "size": 10, "date_taken": None,
                       "modified": "2024-01-01T00:00:00", "similarity": 1.0}]}]


def test_the_downloads_keep_the_last_two_lists_in_one_folder_deleted_at_close():
    exports = Exports()
    written = [write_exports(GROUPS, exports.fresh()) for _ in range(4)]
    folder = exports.folder
    assert folder is not None and folder.name.startswith("clipsearch-duplicates-")
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == ["3", "4"]  # each list had a temporary folder of its own, never deleted
    assert all(os.path.exists(p) for pair in written[2:] for p in pair)
    assert not any(os.path.exists(p) for pair in written[:2] for p in pair)
    exports.close()
    assert not folder.exists()
    exports.close()  # twice is harmless


def test_the_downloads_folder_goes_with_the_view():
    exports = Exports()
    write_exports(GROUPS, exports.fresh())
    folder = exports.folder
    del exports
    gc.collect()
    assert not folder.exists()


def test_no_list_no_folder():
    exports = Exports()
    assert exports.folder is None
    exports.close()


class FakeBlocks:
    """What ``serve_until_stopped`` reads of Gradio's Blocks; ``interrupt_after`` looks at
    ``is_running`` raise KeyboardInterrupt, as Ctrl-C does in the main thread."""

    def __init__(self, interrupt_after: int | None = None) -> None:
        self.looks = 0
        self.interrupt_after = interrupt_after
        self.closed = False
        self.temp_file_sets: list[set[str]] = []
        self.blocks: dict = {}

    @property
    def is_running(self) -> bool:
        self.looks += 1
        if self.interrupt_after is not None and self.looks > self.interrupt_after:
            raise KeyboardInterrupt
        return not self.closed

    def close(self, verbose: bool = True) -> None:
        self.closed = True


def _stopped_by(signum: int, blocks: FakeBlocks, close_after: float | None = None) -> str:
    """``serve_until_stopped`` with ``signum`` sent to this process 0.3 s in (and, where it should
    go on serving, the server closing itself ``close_after`` seconds in)."""
    timers = [threading.Timer(0.3, os.kill, (os.getpid(), signum))]
    if close_after is not None:
        timers.append(threading.Timer(close_after, setattr, (blocks, "closed", True)))
    for timer in timers:
        timer.start()
    try:
        return serve_until_stopped(blocks)
    finally:
        for timer in timers:
            timer.cancel()


@contextlib.contextmanager
def handled(signum: int, handler) -> Iterator[None]:
    """``signum``'s handler set to ``handler`` (as the process would start with it), then put back."""
    before = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, before)


def test_ctrl_c_closes_the_server(capsys):
    blocks = FakeBlocks(interrupt_after=2)
    assert serve_until_stopped(blocks) == "Ctrl-C"
    assert blocks.closed
    assert "Stopping (Ctrl-C)" in capsys.readouterr().out


def test_sigterm_closes_the_server_and_its_handler_is_put_back(capsys):
    before = signal.getsignal(signal.SIGTERM)
    blocks = FakeBlocks()
    assert _stopped_by(signal.SIGTERM, blocks) == "SIGTERM"  # not the end of this process
    assert blocks.closed
    assert signal.getsignal(signal.SIGTERM) == before
    assert "Stopping (SIGTERM)" in capsys.readouterr().out


def test_forget_uploads_deletes_what_gradio_keeps_for_the_blocks(tmp_path):
    upload = tmp_path / "0123abcd" / "my-photo.jpg"
    upload.parent.mkdir()
    upload.write_bytes(b"\xff\xd8 a photo of the user's")
    with gr.Blocks(delete_cache=(3600, 3600)) as blocks:
        gr.Markdown("x")
    blocks.upload_file_set.add(str(upload))  # where Gradio's upload route records it
    forget_uploads(blocks)
    assert not upload.exists()


class FakeJob:
    """A re-index from the page (``reindex.ReindexJob``) that finishes its batch ``after`` seconds
    once asked to stop (never, with ``after=None``)."""

    def __init__(self, running: bool = True, after: float | None = 0.1) -> None:
        self.running, self.after = running, after
        self.stopped = threading.Event()
        self.status = self

    def stop(self) -> None:
        self.stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self.after is None or (timeout is not None and timeout < self.after):
            return False
        self.running = False
        return True


class FakeHandlers:
    def __init__(self, job: FakeJob) -> None:
        self.job, self.closed = job, False

    def close(self) -> None:
        self.closed = True


def test_a_reindex_from_the_page_stops_after_its_batch_and_the_handlers_close(capsys):
    blocks = FakeBlocks(interrupt_after=1)
    blocks.handlers = FakeHandlers(FakeJob())
    serve_until_stopped(blocks)
    job = blocks.handlers.job
    assert job.stopped.is_set() and not job.running and blocks.handlers.closed
    assert "Stopping the re-index after its batch in flight" in capsys.readouterr().out


def test_no_reindex_running_no_wait_and_no_word_of_it(capsys):
    job = FakeJob(running=False)
    assert let_reindex_finish(job)
    assert not job.stopped.is_set() and capsys.readouterr().out == ""


def test_a_reindex_that_does_not_stop_in_time_is_said_and_left(caplog):
    job = FakeJob(after=None)
    assert not let_reindex_finish(job, grace=0.01)
    assert job.stopped.is_set()
    assert "did not stop within" in caplog.text


def test_served_from_another_thread_it_stops_when_the_server_closes():
    """Python sets signal handlers in the main thread only: elsewhere the loop still serves."""
    blocks = FakeBlocks()
    stopped = []
    thread = threading.Thread(target=lambda: stopped.append(serve_until_stopped(blocks)))
    thread.start()
    blocks.closed = True  # the server closed itself (blocks.close() from elsewhere)
    thread.join(10)
    assert stopped == ["closed"]


def test_the_terminal_closed_sighup_stops_it_as_sigterm_does(capsys):
    """SIGHUP closes the server as SIGTERM does; a second one, the shell's (an interactive shell
    passes its own hang-up on to its jobs as it exits), is ignored from then on: put back as it
    was (the default, the end of the process), it ended the close, or the exit after it, where it stood."""
    with handled(signal.SIGHUP, signal.SIG_DFL):
        blocks = FakeBlocks()
        assert _stopped_by(signal.SIGHUP, blocks) == "SIGHUP"
        assert blocks.closed and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert "Stopping (SIGHUP)" in capsys.readouterr().out


def test_a_second_sighup_while_closing_changes_nothing(monkeypatch):
    from webui import stopping

    said = []
    monkeypatch.setattr(stopping, "say", lambda line: said.append((line, signal.getsignal(signal.SIGHUP))))
    with handled(signal.SIGHUP, signal.SIG_DFL):
        blocks = FakeBlocks()
        assert _stopped_by(signal.SIGHUP, blocks) == "SIGHUP"
    assert said[-1][0].startswith("Stopping (SIGHUP)") and said[-1][1] == signal.SIG_IGN  # as the close begins


def test_under_nohup_sighup_stays_ignored():
    with handled(signal.SIGHUP, signal.SIG_IGN):  # as nohup starts it
        blocks = FakeBlocks()
        assert _stopped_by(signal.SIGHUP, blocks, close_after=1.0) == "closed"  # served on
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN


def test_ctrl_c_from_the_keyboard_closes_the_server_and_its_handler_is_put_back(capsys):
    with handled(signal.SIGINT, signal.default_int_handler):  # as Python starts a command
        blocks = FakeBlocks()
        assert _stopped_by(signal.SIGINT, blocks) == "Ctrl-C"
        assert blocks.closed and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert "Stopping (Ctrl-C)" in capsys.readouterr().out


def test_the_banner_is_said_once_a_ctrl_c_would_close_the_server(monkeypatch):
    """A Ctrl-C just after "Serving clipsearch on ..." (a test sends it as soon as it reads the
    line) met no try yet: "interrupted", exit 130, the server never closed."""
    from webui import stopping

    said = []
    monkeypatch.setattr(stopping, "say", lambda line: said.append((line, signal.getsignal(signal.SIGINT))))
    with handled(signal.SIGINT, signal.default_int_handler):
        blocks = FakeBlocks()
        blocks.closed = True  # nothing to wait for
        serve_until_stopped(blocks, "Serving clipsearch on http://127.0.0.1:7860/ (Ctrl-C stops it)")
    banner, handler = said[0]
    assert banner.startswith("Serving clipsearch on") and handler is not signal.default_int_handler
    assert said[1][1] is signal.default_int_handler  # put back before the close: a second Ctrl-C ends it


def test_a_ctrl_c_ignored_where_it_started_stays_ignored():
    """A job a script put in the background starts with SIGINT ignored: it serves on."""
    with handled(signal.SIGINT, signal.SIG_IGN):
        blocks = FakeBlocks()
        assert _stopped_by(signal.SIGINT, blocks, close_after=1.0) == "closed"
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
