"""The command line reads its arguments as ``--help`` and the README write them."""

from __future__ import annotations

import json

import pytest

import cli.search
from cli.dash_words import take_dash_words
from cli.search import build_parser, image_terms, weighted_images
from clipsearch import parse_query


def test_a_negative_image_weight_is_read_as_the_readme_writes_it(tmp_path, capsys):
    query = tmp_path / "query.jpg"
    query.write_bytes(b"")
    argv = ["search", "--image", str(query), "--image", "-1:not-this.jpg", "--region", "0,0,0.5,0.5",
            "--image", "-0.5:also-not.jpg"]
    args = build_parser().parse_args(weighted_images(argv))
    assert args.image == [str(query), "-1:not-this.jpg", "-0.5:also-not.jpg"] and list(args.regions) == [1]
    assert [(t.weight, t.image) for t in image_terms(args.image)] == [
        (1.0, str(query)), (-1.0, "not-this.jpg"), (-0.5, "also-not.jpg")]
    # the whole command gets as far as the missing file (no model is loaded for that)
    with pytest.raises(SystemExit) as end:
        cli.search.main(["search", "--image", str(query), "--image", "-1:not-this.jpg", "--index", str(tmp_path)])
    assert end.value.code == 2
    assert "argument --image: no such file: not-this.jpg" in capsys.readouterr().err


def test_only_an_image_weight_is_joined_and_nothing_after_a_double_dash():
    assert weighted_images(["search", "--image", "-1:a.jpg", "--folder", "-1:b"]) == [
        "search", "--image=-1:a.jpg", "--folder", "-1:b"]
    assert weighted_images(["search", "--image", "-k", "3"]) == ["search", "--image", "-k", "3"]
    assert weighted_images(["search", "--", "--image", "-1:a.jpg"]) == ["search", "--", "--image", "-1:a.jpg"]


def test_saved_add_and_remove_take_index_after_their_own_arguments_too(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    parse = build_parser().parse_args
    assert parse(["saved", "add", "Red", "a red circle", "--index", str(first)]).index == first
    assert parse(["saved", "remove", "Red", "--index", str(first)]).index == first
    assert parse(["saved", "--index", str(first), "add", "Red", "a red circle"]).index == first  # not reset
    assert parse(["saved", "--index", str(first), "remove", "Red"]).index == first
    assert parse(["saved", "--index", str(first), "remove", "Red", "--index", str(second)]).index == second
    assert parse(["saved", "add", "Red", "a red circle"]).index is None  # the default index


def test_a_word_that_starts_with_a_dash_is_a_term_to_subtract(tmp_path, capsys):
    """``search --image a.jpg -people`` (a photo minus words) and ``search "-blurry"`` were argparse
    errors ("unrecognized arguments"); ``-kittens`` read as ``-k ittens``, ``-hello`` as ``-h``."""
    with pytest.raises(SystemExit) as end:  # gets as far as the missing photo, its words read
        cli.search.main(["search", "--image", "no-such.jpg", "-people", "--index", str(tmp_path)])
    assert end.value.code == 2 and "argument --image: no such file: no-such.jpg" in capsys.readouterr().err
    assert cli.search.main(["saved", "add", "Empty beach", "beach", "-people", "-kittens", "-hello", "-blurry",
                            "--index", str(tmp_path)]) == 0
    assert cli.search.main(["saved", "add", "Sharp", "-blurry", "--index", str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli.search.main(["saved", "--json", "--index", str(tmp_path)]) == 0
    queries = {s["name"]: s["query"] for s in json.loads(capsys.readouterr().out)}
    assert queries == {"Empty beach": "beach - people - kittens - hello - blurry", "Sharp": "- blurry"}
    assert [(t.weight, t.text) for t in parse_query(queries["Empty beach"])] == [
        (1.0, "beach"), (-1.0, "people"), (-1.0, "kittens"), (-1.0, "hello"), (-1.0, "blurry")]


def test_options_are_still_options_and_a_wrong_one_says_what_is_wrong(capsys):
    parser = build_parser()
    kept, words = take_dash_words(parser, ["search", "-k5", "-k", "3", "--min=0.2", "--folder", "photos", "--sort", "date",
                                           "sea", "-people"])
    assert words == ["-people"]
    args = parser.parse_args(kept)
    assert (args.k, args.min_score, args.folder, args.sort, args.query) == (3, 0.2, "photos", "date", "sea")
    assert take_dash_words(parser, ["search", "--folder", "-photos"]) == (["search", "--folder", "-photos"], [])
    assert take_dash_words(parser, ["search", "--", "-people"]) == (["search", "--", "-people"], [])
    assert take_dash_words(parser, ["topics", "-people"]) == (["topics", "-people"], [])  # no query: argparse says
    for argv, said in ((["search", "beach", "--min-scroe", "0.3"], "unrecognized option --min-scroe (did you mean "
                        "--min-score?)"),
                       (["search", "beach", "-folder", "x"], "unrecognized option -folder (did you mean --folder?"),
                       (["search", "beach", "-x"], "unrecognized arguments: -x"),
                       # no query there: argparse's top-level "unrecognized arguments: -json" before
                       (["info", "-json"], "info: error: unrecognized option -json (did you mean --json?)\n"),
                       (["duplicates", "-bursts"], "usage: python -m clipsearch duplicates "),
                       (["duplicates", "-bursts"], "unrecognized option -bursts (did you mean --bursts?)\n")):
        with pytest.raises(SystemExit) as end:
            cli.search.main(argv)
        assert end.value.code == 2 and said in capsys.readouterr().err, argv


@pytest.mark.parametrize("argv, usage, said", [
    (["search", "beach", "--since", "2024", "--until", "2023"], "usage: python -m clipsearch search ",
     "the date range is empty"),
    (["search", "--folder", "photos"], "usage: python -m clipsearch search ", "give a text query, an --image"),
    (["search", "--saved", "Nothing"], "usage: python -m clipsearch search ", "no saved search is called 'Nothing'"),
    (["saved", "add", "Red", "a red circle", "--photo", "no-such.jpg"], "usage: python -m clipsearch saved add ",
     "argument --photo: no such file: no-such.jpg"),
    (["saved", "add", "Red", "a red circle", "--since", "2024", "--until", "2023"],
     "usage: python -m clipsearch saved add ", "the date range is empty"),
])
def test_an_error_found_after_parsing_shows_the_usage_of_its_sub_command(argv, usage, said, engine, capsys):
    """Not the whole command's usage (``python -m clipsearch [-h] {search,info,...}``), which says
    nothing of the flags the sub-command takes. (In an index: where none is, that is the error.)"""
    try:
        code = cli.search.main([*argv, "--index", str(engine.settings.index_dir)])
    except SystemExit as end:  # argparse's own way
        code = end.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(usage) and said in err, err


def test_a_query_that_cannot_be_read_is_a_usage_error_in_search_as_in_saved_add(tmp_path, capsys):
    """``search "2:"`` ended with exit 1 ("failed"), ``saved add X "2:"`` with 2, for one mistake:
    both are usage errors (README: exit codes), said under the sub-command's usage."""
    with pytest.raises(SystemExit) as end:
        cli.search.main(["search", "2:", "--index", str(tmp_path)])
    searched = capsys.readouterr().err
    assert end.value.code == 2 and searched.startswith("usage: python -m clipsearch search ")
    assert cli.search.main(["saved", "add", "X", "2:", "--index", str(tmp_path)]) == 2
    saved = capsys.readouterr().err
    assert saved.startswith("usage: python -m clipsearch saved add ")
    assert searched.splitlines()[-1].split("error: ")[1] == saved.splitlines()[-1].split("error: ")[1]


@pytest.mark.parametrize("query, said", [
    ("a red circle - a red circle", "the query's terms cancel out"),
    ("0:a red circle", "the query's terms cancel out"),
    ("9" * 400 + ":a red circle", "a weight is too large to search with"),
], ids=["cancel", "zero weight", "weight past any float"])
def test_a_query_that_reads_but_cannot_be_searched_is_a_usage_error_too(engine, tmp_path, monkeypatch, capsys,
                                                                        query, said):
    """Words that cancel out, or a weight past any float, were found only once the model had
    embedded them, and ended with exit 1 ("failed": no index, a model that cannot load), where
    the README and ``--help`` promise 2 for a query that cannot be used, as ``"2:"`` is."""
    from types import SimpleNamespace

    from PIL import Image

    (tmp_path / "photos").mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "photos" / "red.png")
    engine.index_folder(tmp_path / "photos")
    monkeypatch.setattr(cli.search, "SearchEngine", SimpleNamespace(for_reading=lambda settings, **_: engine))
    code = cli.search.main(["search", query, "--index", str(engine.settings.index_dir)])
    out = capsys.readouterr()
    assert code == 2 and out.out == "", out
    assert out.err.startswith("usage: python -m clipsearch search ") and f"search: error: {said}" in out.err
    assert cli.search.main(["search", "a red circle", "--min-score", "0", "--json",
                            "--index", str(engine.settings.index_dir)]) == 0  # a query that can be searched
    assert [hit["path"] for hit in json.loads(capsys.readouterr().out)] == [str(tmp_path / "photos" / "red.png")]


def test_saved_searches_of_a_folder_that_holds_no_index_say_there_is_none(engine, tmp_path, capsys):
    """``saved`` (and ``saved --json``) with a mistyped ``--index``, or in a cron job without
    ``$CLIPSEARCH_INDEX``, said "No saved search yet" (``[]``) with exit 0: the index was not
    there, which ``saved add``, ``info`` and ``search`` say, with exit 1. A real index with no
    saved search still lists none."""
    nowhere = tmp_path / "no-index"
    for argv in (["saved"], ["saved", "--json"]):
        assert cli.search.main([*argv, "--index", str(nowhere)]) == 1, argv
        out = capsys.readouterr()
        assert out.out == "" and out.err.startswith(f"error: no index in {nowhere}: build one with "), (argv, out)
    assert not nowhere.exists()
    index = str(engine.settings.index_dir)
    assert cli.search.main(["saved", "--json", "--index", index]) == 0 and json.loads(capsys.readouterr().out) == []
    assert cli.search.main(["saved", "add", "Beach", "a red circle", "--index", index]) == 0
    capsys.readouterr()
    assert cli.search.main(["saved", "--json", "--index", index]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["Beach"]


def test_a_saved_search_asked_of_a_folder_that_holds_no_index_says_there_is_none(engine, tmp_path, capsys):
    """``search --saved NAME --index /wrong/folder`` said "no saved search is called NAME" (a usage
    error, exit 2), and ``saved remove NAME`` there the same with exit 1: the index was not there,
    which ``search`` and ``saved`` say, with exit 1. In a real index an unknown name is still said so."""
    nowhere = tmp_path / "no-index"
    for argv in (["search", "--saved", "Beach"], ["saved", "remove", "Beach"]):
        assert cli.search.main([*argv, "--index", str(nowhere)]) == 1, argv
        out = capsys.readouterr()
        assert out.out == "" and out.err.startswith(f"error: no index in {nowhere}: build one with "), (argv, out)
    assert not nowhere.exists()
    index = str(engine.settings.index_dir)
    assert cli.search.main(["saved", "add", "Beach", "a red circle", "--index", index]) == 0
    capsys.readouterr()
    assert cli.search.main(["search", "--saved", "Sea", "--index", index]) == 2
    assert "error: no saved search is called 'Sea'" in capsys.readouterr().err
    assert cli.search.main(["saved", "remove", "Sea", "--index", index]) == 1
    assert capsys.readouterr().err.startswith("error: no saved search is called 'Sea'")
