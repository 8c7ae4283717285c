"""A command's end: no last garbage collection over everything torch and open_clip made at import
(``cli.flags.ends_quietly``: ``gc.freeze`` at exit). That collection took 0.8 s of every command
that loaded a model on 2 cores, after its last line was printed (``bench_commands.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cli import flags

REPO = Path(__file__).resolve().parents[2]
# An exit handler registered before the command runs is called after the command's own (last
# registered, first called): it sees what the interpreter's end will see.
COMMAND = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
from cli import flags
main = flags.ends_quietly(lambda argv: 0)
for _ in range(2):
    main([])
print("frozen while it runs:", gc.get_freeze_count() > 0)
"""


def test_a_command_freezes_its_objects_at_exit_not_before():
    done = subprocess.run([sys.executable, "-c", COMMAND], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["frozen while it runs: False",
                                        "frozen at exit: True"], done.stdout


def test_the_freeze_is_registered_once_whoever_calls_main(monkeypatch):
    registered = []
    monkeypatch.setattr(flags.atexit, "register", registered.append)
    monkeypatch.setattr(flags, "_FREEZES_AT_EXIT", False)
    main = flags.ends_quietly(lambda argv: 0)
    for _ in range(3):
        assert main([]) == 0
    assert registered == [flags.gc.freeze]
