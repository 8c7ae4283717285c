"""Cron's line (``python -m indexer``, no folder) and a removal, run while a first run is making
the index (its lock taken, its model loading, no index yet): README says a second indexer is
refused with who holds the index (exit 1), "also when the first is still loading its model and has
not made the index yet". These were told to name a FOLDER (a usage error, exit 2), as if no index
were on its way, which tells a cron user to change a crontab line that is right."""

from __future__ import annotations

import os

import pytest

import indexer.cli
from clipsearch.lock import IndexLock


@pytest.mark.parametrize("extra", [[], ["--remove", "FOLDER"]], ids=["cron", "remove"])
def test_a_run_beside_a_first_run_making_the_index_is_refused_naming_it(settings, library, capsys, extra):
    index = str(settings.index_dir)
    argv = [arg.replace("FOLDER", str(library / "a")) for arg in extra] + ["--index", index]
    with IndexLock(settings.index_dir):  # a first run, its model loading
        assert indexer.cli.main(argv) == 1
        said = capsys.readouterr().err
        assert f"error: the index {index} is being made by process {os.getpid()} on " in said, said
        assert said.rstrip().endswith("wait for it to finish, then retry") and "FOLDER" not in said, said
    assert not (settings.index_dir / "records.sqlite").exists()
    with pytest.raises(SystemExit) as ended:  # none on its way: what to name, as before
        indexer.cli.main(argv)
    assert ended.value.code == 2
