"""``python -m indexer --remove``: what it says, and what a run says once no folder is left
(an engine stand-in: no model, no index)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import indexer.cli
from indexer.cli import main


class Engine:
    """The indexer's engine, as ``--remove`` and a run without folders use it."""

    def __init__(self, folders: dict[str, int]) -> None:
        self.covered = dict(folders)  # folder -> its photos

    def remove_folder(self, folder, dry_run: bool = False) -> int:
        count = self.covered.get(str(folder), 0)
        if not dry_run:
            self.covered.pop(str(folder), None)
        return count

    def info(self) -> dict:
        return {"folders": list(self.covered), "left_out": []}

    def folders(self) -> list[str]:
        return list(self.covered)

    def close(self) -> None:
        pass


@pytest.fixture
def engine(monkeypatch):
    shown = Engine({"/photos/a": 1, "/photos/b": 3})
    monkeypatch.setattr(indexer.cli, "SearchEngine", SimpleNamespace(for_writing=lambda settings, **_: shown))
    return shown


def test_a_removal_counts_its_images_in_words_that_fit_the_number(engine, tmp_path, capsys):
    assert main(["--remove", "/photos/a", "--dry-run", "--index", str(tmp_path)]) == 0
    assert "dry run: would remove 1 image under /photos/a\n" in capsys.readouterr().out
    assert main(["--remove", "/photos/a", "--index", str(tmp_path)]) == 0
    assert "removed 1 image under /photos/a\n" in capsys.readouterr().out
    assert main(["--remove", "/photos/b", "--index", str(tmp_path)]) == 0
    assert "removed 3 images under /photos/b\n" in capsys.readouterr().out
