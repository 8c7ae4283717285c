"""How ``python -m webui`` stops: on Ctrl-C, on SIGTERM (``systemctl stop``, ``docker stop``,
``kill``) and on SIGHUP (the terminal it ran in closed), it closes as Gradio's own ``close`` does,
and the files it kept for its users go.

Gradio's ``block_thread`` caught Ctrl-C alone, and closed the server with its event streams still
open: with a page or a gradio_client connected, the close waited 5 s for them and gave up, and the
photos uploaded as queries stayed in Gradio's cache folder for good (its clean-up runs as the
server's lifespan ends, which it never reached). SIGTERM ended the process at once, with the same
photos left there. They are the user's photos too: the app keeps them an hour at most
(``delete_cache`` in ``app.build_app``), and none past its own end. A re-index started from the page
stops after its batch in flight and keeps what it committed, as the indexer does on Ctrl-C: the
process ended under it before, and the next run embedded that batch again.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from cli import flags

from .behind_proxy import MCP_PREFIX

log = logging.getLogger(__name__)

REINDEX_GRACE = 60.0  # seconds a re-index may take to finish its batch in flight at the stop


def serve_until_stopped(blocks: Any, banner: str = "") -> str:
    """Print ``banner`` and serve until Ctrl-C, SIGTERM or SIGHUP (the terminal it ran in closed),
    then close ``blocks`` and delete the uploads it holds. A signal ignored where it started (SIGHUP
    under ``nohup``, SIGINT for a job a script put in the background) stays ignored; SIGHUP, where
    it handled it, is ignored from the stop on. Returns what stopped it ("Ctrl-C", "SIGTERM",
    "SIGHUP", or "closed" where the server closed itself)."""
    stop = threading.Event()
    asked = {"by": "closed"}

    def on_signal(signum, _frame) -> None:
        asked["by"] = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():  # where Python lets a handler be set
        # Handlers, not KeyboardInterrupt: a Ctrl-C just after the banner, before a try could catch
        # it, ended the command as "interrupted" (exit 130), the server never closed.
        for stopping, unless in ((signal.SIGTERM, None), (signal.SIGINT, signal.default_int_handler),
                                 (getattr(signal, "SIGHUP", None), signal.SIG_DFL)):
            if stopping is not None and (unless is None or signal.getsignal(stopping) == unless):
                previous[stopping] = signal.signal(stopping, on_signal)
    try:
        if banner:
            say(banner)
        while blocks.is_running and not stop.wait(0.2):
            pass
    except KeyboardInterrupt:  # Ctrl-C where no handler could be set
        asked["by"] = "Ctrl-C"
    finally:  # a second Ctrl-C or SIGTERM while closing ends it at once; a second SIGHUP, the
        # shell's (an interactive shell passes its own hang-up on to its jobs as it exits), changes
        # nothing, to the process's end: it came while the close ran, or as the process exited
        for stopping, handler in previous.items():
            signal.signal(stopping, signal.SIG_IGN if stopping == getattr(signal, "SIGHUP", None) else handler)
    say(f"Stopping ({asked['by']}): closing the server and deleting the photos uploaded as queries")
    end_mcp_streams(blocks)
    blocks.close(verbose=False)  # its event streams end first, so no open page holds the close
    forget_uploads(blocks)
    handlers = getattr(blocks, "handlers", None)  # app.build_app's
    if handlers is not None:
        let_reindex_finish(handlers.job)
        handlers.close()
    return asked["by"]


def end_mcp_streams(blocks: Any) -> int:
    """Close the connections of the assistants' MCP event streams (a ``GET`` of
    ``/gradio_api/mcp/sse``, or of ``/gradio_api/mcp/``), as the client going away would: Gradio's
    close ends its own streams, not the MCP sub-app's, and one assistant connected held the stop 5 s
    (the server waited for its stream, then gave up). Closed on the server's event loop, as a
    client's hang-up is, the stream ends with no error in the log. A tool call (a ``POST``) in
    flight is left to finish. Returns how many were closed."""
    server = getattr(blocks, "server", None)
    connections = getattr(getattr(server, "server_state", None), "connections", ())
    ended = 0
    for connection in list(connections):  # uvicorn's: the request each one serves now, its transport
        cycle = getattr(connection, "cycle", None)
        scope = getattr(cycle, "scope", None) or {}
        if (scope.get("method") == "GET" and MCP_PREFIX + "/" in scope.get("path", "")
                and not cycle.response_complete):
            connection.loop.call_soon_threadsafe(connection.transport.close)
            ended += 1
    return ended


def let_reindex_finish(job: Any, grace: float = REINDEX_GRACE) -> bool:
    """Stop a re-index from the page after its batch in flight (``ReindexJob``); False if it was
    still running after ``grace`` seconds (the process then ends under it, the index still usable).
    A second Ctrl-C ends the wait ("interrupted", exit 130); a second SIGTERM ends the process."""
    if not job.status.running:
        return True
    say("Stopping the re-index after its batch in flight (it keeps what it committed)...")
    job.stop()
    if job.wait(grace):
        return True
    log.warning("the re-index did not stop within %.0f s: its batch in flight is left to the next run", grace)
    return False


def say(line: str) -> None:
    """``line`` on stdout, where the terminal may be gone (SIGHUP: a write to it fails, EIO): then
    stdout goes to the null device, so that neither this line nor the exit's flush stops the close
    (it did: exit 1, the uploads left)."""
    try:
        print(line, flush=True)
    except OSError:
        flags.stdout_to_null()


def forget_uploads(blocks: Any) -> None:
    """Delete every file Gradio keeps for ``blocks`` (uploads, its copies of the downloads), as the
    end of its server's lifespan does: here too, for a close that gave up waiting before it."""
    try:
        from gradio.route_utils import delete_files_created_by_app
    except ImportError:  # another Gradio: its own lifespan's clean-up is all there is
        log.debug("gradio.route_utils.delete_files_created_by_app is gone: uploads left to Gradio")
        return
    try:
        delete_files_created_by_app(blocks, age=None)
    except OSError as exc:
        log.warning("could not delete the uploaded photos in Gradio's cache: %s", exc)
