"""``clipsearch search --json --min-score 0`` (or a number) marks each hit ``strong`` as the automatic
cut-off marks it, as REST's ``min_score=0`` does ("lists all k, each marked strong or not"); it marked
every hit strong, so a script asking for all ``k`` could no longer tell the matches. Here and with
``--server URL``; the text output lists all ``k`` as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cli.search
from clipsearch import SearchEngine
from testsupport.net import answering

STRONG = 2  # the automatic cut-off, fixed here: the two best of each query are its matches


@pytest.fixture
def indexed(engine, library, monkeypatch):
    """The six photos indexed with the fake encoder; ``search --index`` opens this engine, whose
    automatic cut-off calls the two best results matches (the fake encoder's scores mean nothing)."""
    engine.index_folder(library)
    monkeypatch.setattr(SearchEngine, "for_reading", classmethod(lambda cls, settings, **model: engine))
    monkeypatch.setattr(engine, "cutoff_thresholds",
                        lambda vectors, tops, words=None: [float(np.sort(top)[::-1][STRONG - 1]) for top in tops])
    return engine


def searched(capsys, *argv: str) -> tuple[list[dict], str]:
    """``python -m clipsearch search ARGV`` in this process: its JSON (or text lines) and stderr."""
    capsys.readouterr()
    assert cli.search.main(["search", *argv]) == 0
    out = capsys.readouterr()
    return (json.loads(out.out) if "--json" in argv else out.out.splitlines()), out.err


def test_min_score_zero_lists_all_k_marked_as_the_automatic_cut_off_marks_them(indexed, capsys, tmp_path):
    query = ["red", "--index", str(tmp_path / "index"), "-k", "6", "--no-fold"]
    auto, _ = searched(capsys, *query, "--json")
    assert [hit["strong"] for hit in auto] == [True] * STRONG + [False] * 4
    every, _ = searched(capsys, *query, "--json", "--min-score", "0")
    assert [(hit["path"], hit["strong"]) for hit in every] == [(hit["path"], hit["strong"]) for hit in auto], \
        "--min-score 0 --json marked every hit strong"
    lines, err = searched(capsys, *query, "--min-score", "0")
    assert len(lines) == 6 and err == ""  # the text lists all k, as before
    cut = sorted(hit["score"] for hit in auto)[2]  # a flat cut-off above the two weakest
    flat, _ = searched(capsys, *query, "--json", "--min-score", f"{cut:.6f}")
    assert [(hit["path"], hit["strong"]) for hit in flat] == [(hit["path"], hit["strong"]) for hit in auto
                                                              if hit["score"] >= round(cut, 6)]


def test_with_a_server_min_score_zero_keeps_the_servers_marks(capsys):
    """``search --server URL --min-score 0 --json`` marked every hit strong, where the server's
    answer (asked with ``min_score=0``) marks them by its automatic cut-off."""
    def result(name: str, score: float, strong: bool) -> dict:
        return {"file": f"/photos/{name}", "score": score, "width": 10, "height": 10, "date_taken": None,
                "size": 1, "mtime_ns": 0, "strong": strong}

    body = {"results": [result("a.jpg", 0.6, True), result("b.jpg", 0.4, False), result("c.jpg", 0.2, False)]}
    with answering(200, body) as url:
        every, _ = searched(capsys, "red", "--server", url, "--json", "--min-score", "0")
        flat, _ = searched(capsys, "red", "--server", url, "--json", "--min-score", "0.3")
        lines, _ = searched(capsys, "red", "--server", url, "--min-score", "0")
    assert [(hit["path"], hit["strong"]) for hit in every] == [("/photos/a.jpg", True), ("/photos/b.jpg", False),
                                                              ("/photos/c.jpg", False)]
    assert [(hit["path"], hit["strong"]) for hit in flat] == [("/photos/a.jpg", True), ("/photos/b.jpg", False)]
    assert len(lines) == 3
