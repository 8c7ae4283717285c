"""A command run in a terminal of its own that then closes, as an SSH session that ends closes it
(the indexer's and the web app's hang-up tests)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from typing import Any


class Terminal:
    """``argv`` run by ``setsid -c`` on a pseudo-terminal: a session of its own, that terminal its
    controlling one, so that closing it sends the command SIGHUP. ``popen``: Popen's other
    arguments (``cwd``, ``env``). ``shown`` is what the command wrote to it so far."""

    def __init__(self, argv: list[str], **popen: Any) -> None:
        self.terminal, its_end = pty.openpty()
        self.proc = subprocess.Popen(["setsid", "-c", *argv], stdin=its_end, stdout=its_end, stderr=its_end, **popen)
        os.close(its_end)
        self.shown = b""

    def wait_for(self, words: bytes, seconds: float = 120) -> None:
        """Read what the command writes until ``words`` are among it (an assertion error after ``seconds``)."""
        deadline = time.monotonic() + seconds
        while words not in self.shown and time.monotonic() < deadline:
            if select.select([self.terminal], [], [], 0.1)[0]:
                self.shown += os.read(self.terminal, 65536)
        assert words in self.shown, self.shown

    def hang_up(self) -> int:
        """Close the terminal, then, 0.3 s later, send the SIGHUP an interactive shell passes on to
        its jobs as it exits (the command gets both); the command's exit status (killed after a minute)."""
        os.close(self.terminal)
        time.sleep(0.3)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
