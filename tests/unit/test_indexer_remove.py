"""``python -m indexer --remove``: what it says, and what a run says once no folder is left
(an engine stand-in: no model, no index)."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest

import indexer.cli
from clipsearch import IndexReport
from indexer.cli import main


class Engine:
    """The indexer's engine, as ``--remove`` and a run without folders use it."""

    def __init__(self, folders: dict[str, int], checked: float | None = 1_764_000_000.0) -> None:
        self.covered = dict(folders)  # folder -> its photos
        self.checked = checked  # when a run last ended (None: never)
        self.busy: str | None = None  # another run that updates the index now

    def remove_folder(self, folder, dry_run: bool = False) -> int:
        count = self.covered.get(str(folder), 0)
        if not dry_run:
            self.covered.pop(str(folder), None)
        return count

    def info(self) -> dict:
        return {"folders": list(self.covered), "left_out": [], "last_checked": self.checked}

    def folders(self) -> list[str]:
        return list(self.covered)

    def writer_elsewhere(self) -> str | None:
        return self.busy

    def lost_folders(self) -> list[str]:
        return []  # its records are there (none deleted by hand)

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


def test_a_removal_with_json_prints_one_json_object_of_what_it_removed(engine, tmp_path, monkeypatch, capsys):
    """``--remove X --json`` printed nothing at all (exit 0): a script's ``json.loads`` failed on
    an empty stdout. A removal alone prints its own object; beside a run, the run's summary says it."""
    assert main(["--remove", "/photos/a", "--dry-run", "--json", "--index", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"removed_folders": {"/photos/a": 1}, "dry_run": True} and out.err == ""
    assert main(["--remove", "/photos/b", "--remove", "/photos/c", "--json", "--index", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"removed_folders": {"/photos/b": 3, "/photos/c": 0}, "dry_run": False}

    engine.index_folder = lambda folders, **_: IndexReport(folders=[str(f) for f in folders], found=2, unchanged=2)
    engine.read_texts = engine.read_videos = lambda **_: None
    monkeypatch.setattr(indexer.cli, "stop_on_signals", threading.Event)
    assert main([str(tmp_path), "--remove", "/photos/a", "--json", "--index", str(tmp_path / "index")]) == 0
    summary = json.loads(capsys.readouterr().out)  # one object: the run's, with the removal in it
    assert summary["removed_folders"] == {"/photos/a": 1} and summary["unchanged"] == 2
    assert summary["folders"] == [str(tmp_path)]
    assert main([str(tmp_path), "--json", "--index", str(tmp_path / "index")]) == 0
    assert "removed_folders" not in json.loads(capsys.readouterr().out)  # no removal asked: none said


def test_a_run_without_a_folder_after_every_folder_was_removed_says_so(engine, tmp_path, capsys):
    """Cron's run (no folder named) after ``--remove A``, ``--remove B``: the index covered folders
    once, so "the index covers none yet" was not true."""
    assert main(["--remove", "/photos/a", "--index", str(tmp_path)]) == 0
    assert main(["--remove", "/photos/b", "--index", str(tmp_path)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as end:
        main(["--index", str(tmp_path)])
    err = capsys.readouterr().err
    assert end.value.code == 2 and ("the index covers no folder now (each one it covered was removed): "
                                    "name a FOLDER to index it") in err and "yet" not in err


def test_a_run_without_a_folder_on_an_index_that_never_ran_says_none_yet(monkeypatch, tmp_path, capsys):
    never = Engine({}, checked=None)
    monkeypatch.setattr(indexer.cli, "SearchEngine", SimpleNamespace(for_writing=lambda settings, **_: never))
    with pytest.raises(SystemExit) as end:
        main(["--index", str(tmp_path)])
    assert end.value.code == 2 and "the index covers none yet: name a FOLDER to index" in capsys.readouterr().err


def test_remove_with_watch_and_no_folder_watches_the_folders_left(engine, tmp_path, monkeypatch, capsys):
    """``--remove X --watch`` removed X and ended, watching nothing: it now watches what the index
    still covers, after bringing it up to date, as ``--watch`` alone does."""
    import indexer.watch

    engine.settings = SimpleNamespace(cache_dir=tmp_path / "cache", index_dir=tmp_path)
    indexed, watched = [], []
    monkeypatch.setattr(indexer.cli, "stop_on_signals", threading.Event)
    monkeypatch.setattr(indexer.cli, "_index", lambda engine, folders, args, stop, removed=None:
                        indexed.append(folders) or SimpleNamespace(interrupted=False))
    monkeypatch.setattr(indexer.watch, "watch_folders", lambda engine, folders, *a, **k: watched.append(folders))
    assert main(["--remove", "/photos/a", "--watch", "--index", str(tmp_path)]) == 0
    assert "removed 1 image under /photos/a" in capsys.readouterr().out
    assert indexed == watched == [["/photos/b"]]
    with pytest.raises(SystemExit) as end:  # nothing left to watch: said, not a silent end
        main(["--remove", "/photos/b", "--watch", "--index", str(tmp_path)])
    assert end.value.code == 2 and "each one it covered was removed" in capsys.readouterr().err
    assert watched == [["/photos/b"]]


def test_an_empty_folder_name_to_remove_forgets_nothing(tmp_path, monkeypatch, capsys):
    """``--remove "$OLD"`` with OLD unset, run from the photos' folder, removed that folder (an empty
    name read as the current folder) and every photo the index held under it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shown = Engine({str(photos): 5})
    monkeypatch.setattr(indexer.cli, "SearchEngine", SimpleNamespace(
        for_writing=lambda settings, **_: pytest.fail("the index was opened for an empty folder name")))
    monkeypatch.chdir(photos)
    with pytest.raises(SystemExit) as stopped:
        main(["--remove", "", "--index", str(tmp_path / "index")])
    assert stopped.value.code == 2 and shown.covered == {str(photos): 5}
    assert "argument --remove: an empty name" in capsys.readouterr().err
