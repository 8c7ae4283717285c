"""Saved searches from the command line: saved without a model, run again with one, shared by name."""

from __future__ import annotations

import json
from types import SimpleNamespace

import cli.search
from clipsearch import SearchFilter, sort_date
from clipsearch.saved import FILE_NAME


def test_save_list_run_and_remove_a_search_from_the_command_line(demo_engine, sample_library, capsys, tmp_path):
    index = str(demo_engine.settings.index_dir)
    folder = str(sample_library / "misc")
    try:
        assert cli.search.main(["saved", "--index", index, "add", "Red circles", "a red circle",
                                "--folder", folder, "--since", "2019"]) == 0
        assert "saved 'Red circles': a red circle · in " in capsys.readouterr().err
        assert cli.search.main(["saved", "--index", index, "add", "Red circles", "a red circle",
                                "--folder", folder, "--since", "2019"]) == 0  # the same name: replaced, and said
        assert "replaced 'Red circles': a red circle · in " in capsys.readouterr().err
        assert cli.search.main(["saved", "--index", index]) == 0
        assert capsys.readouterr().out == f"Red circles\ta red circle · in {folder} · 2019-01-01 to …\n"

        assert cli.search.main(["search", "--saved", "Red circles", "--index", index, "--json", "-k", "8"]) == 0
        got = [hit["path"] for hit in json.loads(capsys.readouterr().out)]
        where = SearchFilter(folder=folder, date_from="2019-01-01")
        assert got == [hit.path for hit in demo_engine.search("a red circle", k=8, where=where)] != []
        # the command line's own dates replace the saved ones
        assert cli.search.main(["search", "--saved", "Red circles", "--index", index, "--json", "--since", "2022"]) == 0
        hits = [SimpleNamespace(**hit) for hit in json.loads(capsys.readouterr().out)]
        assert hits and all(sort_date(hit) >= "2022" for hit in hits)

        assert cli.search.main(["search", "--saved", "Blue", "--index", index]) == 2
        assert "no saved search is called 'Blue' (saved: 'Red circles')" in capsys.readouterr().err
        assert cli.search.main(["search", "a dog", "--saved", "Red circles", "--index", index]) == 2
        assert cli.search.main(["saved", "--index", index, "add", "Broken", "2:"]) == 2  # it could not run
        assert cli.search.main(["saved", "--index", index, "remove", "Red circles"]) == 0
        assert cli.search.main(["saved", "--index", index, "--json"]) == 0
        assert capsys.readouterr().out.strip().endswith("[]")
        assert cli.search.main(["saved", "--index", str(tmp_path / "none"), "add", "x", "a dog"]) == 1
        assert "no index in" in capsys.readouterr().err
    finally:
        (demo_engine.settings.index_dir / FILE_NAME).unlink(missing_ok=True)


def test_saved_add_and_remove_take_index_where_the_readme_puts_it(demo_engine, capsys):
    index = str(demo_engine.settings.index_dir)
    try:
        assert cli.search.main(["saved", "add", "Red", "a red circle", "--index", index]) == 0
        assert cli.search.main(["saved", "--index", index]) == 0
        assert capsys.readouterr().out == "Red\ta red circle\n"
        assert cli.search.main(["saved", "remove", "Red", "--index", index]) == 0
        assert "forgot 'Red'" in capsys.readouterr().err
        assert cli.search.main(["saved", "--index", index, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
    finally:
        (demo_engine.settings.index_dir / FILE_NAME).unlink(missing_ok=True)


def test_saved_list_and_forget_are_what_the_help_and_the_page_call_them(demo_engine, capsys):
    """``saved``'s help says "list, add, remove" and the page's button is Forget it: ``saved list``
    was a usage error ("invalid choice: 'list'"), and so was ``saved forget``."""
    index = str(demo_engine.settings.index_dir)
    try:
        assert cli.search.main(["saved", "add", "Red", "a red circle", "--index", index]) == 0
        capsys.readouterr()
        assert cli.search.main(["saved", "list", "--index", index]) == 0
        assert capsys.readouterr().out == "Red\ta red circle\n"
        for argv in (["saved", "list", "--json", "--index", index], ["saved", "--json", "list", "--index", index]):
            assert cli.search.main(argv) == 0
            assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["Red"], argv
        assert cli.search.main(["saved", "forget", "Red", "--index", index]) == 0
        assert "forgot 'Red'" in capsys.readouterr().err
        assert cli.search.main(["saved", "forget", "Red", "--index", index]) == 1
        assert "no saved search is called 'Red'" in capsys.readouterr().err
        assert cli.search.main(["saved", "list", "--json", "--index", index]) == 0
        assert json.loads(capsys.readouterr().out) == []
    finally:
        (demo_engine.settings.index_dir / FILE_NAME).unlink(missing_ok=True)

def test_a_folder_the_index_does_not_cover_is_saved_with_a_warning_as_search_says_it(demo_engine, sample_library,
                                                                                      capsys, tmp_path):
    """``saved add --folder /not/covered`` saved in silence a search that could find nothing."""
    index = str(demo_engine.settings.index_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        assert cli.search.main(["saved", "add", "Away", "a red circle", "--folder", str(elsewhere),
                                "--index", index]) == 0
        err = capsys.readouterr().err
        assert f"warning: the index holds no photo in {elsewhere}: it covers " in err
        # the index it was saved on, named: without --index, the command pasted indexed into another
        assert f"this search finds nothing until `python -m indexer {elsewhere} --index {index}` indexes it" in err
        assert cli.search.main(["saved", "add", "Here", "a red circle", "--folder", str(sample_library / "misc"),
                                "--index", index]) == 0
        assert "warning" not in capsys.readouterr().err  # a folder inside a covered one
    finally:
        (demo_engine.settings.index_dir / FILE_NAME).unlink(missing_ok=True)
