"""The command line reads its arguments as ``--help`` and the README write them."""

from __future__ import annotations

import pytest

import cli.search
from cli.search import build_parser, image_terms, weighted_images


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
