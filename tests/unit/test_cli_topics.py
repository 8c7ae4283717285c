"""``clipsearch topics`` on a terminal: every topic it prints has a photo, and a bad ``--words``
file is a usage error (an engine stand-in: no model, no index)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

import cli.search
import cli.topics
from clipsearch.topics import Topic


class Engine:
    def __init__(self, topics):
        self.found = topics

    def topics(self, k=None, words=None):
        return self.found

    def close(self):
        pass


@pytest.fixture
def engine(monkeypatch):
    shown = Engine([Topic("a red circle", ("a.jpg", "b.jpg"), (0.9, 0.8), ()), Topic("a blue star", (), (), ())])
    monkeypatch.setattr(cli.topics, "SearchEngine", SimpleNamespace(for_reading=lambda settings, **_: shown))
    return shown


def test_a_topic_without_a_photo_is_not_listed(engine, tmp_path, capsys):
    assert cli.search.main(["topics", "-k", "1000", "--index", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert out.out == "2\ta red circle\ta.jpg\n" and "1 topic of 2 photos" in out.err
    assert cli.search.main(["topics", "-k", "1000", "--index", str(tmp_path), "--json"]) == 0
    assert [t["name"] for t in json.loads(capsys.readouterr().out)] == ["a red circle"]


def test_a_words_file_that_is_not_utf8_is_a_usage_error_not_a_traceback(engine, tmp_path, capsys):
    latin = tmp_path / "mots.txt"
    latin.write_bytes("un caf\u00e9\nune plage\n".encode("latin-1"))
    assert cli.search.main(["topics", "--index", str(tmp_path), "--words", str(latin)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m clipsearch topics ")
    assert err.splitlines()[-1] == (f"python -m clipsearch topics: error: argument --words: cannot read {latin}: "
                                    "not UTF-8 text (byte 7); save it as UTF-8")


@pytest.mark.parametrize("name, said", [
    ("none.txt", "No such file or directory"), ("", "not a file (a folder)"), ("empty.txt", "holds no words"),
    ("/dev/zero", "not a file (a device)"),  # read for ever, memory filling
    ("idle-pipe", "empty file (a pipe nothing is writing to)"),  # waited for ever
    ("big.txt", "file too large")])
def test_a_words_file_that_cannot_be_used_is_a_usage_error_before_the_model_loads(name, said, tmp_path, monkeypatch,
                                                                                  capsys):
    """``topics --words /nonexistent`` ended with exit 1 ("failed") and no usage: a bad path given
    to a flag is a usage error (README: exit 2), said under the usage of ``topics`` with the flag's
    name, and no engine (no model) is made for it."""
    (tmp_path / "empty.txt").write_text("# only a comment\n\n")
    os.mkfifo(tmp_path / "idle-pipe")
    (tmp_path / "big.txt").write_text("a word\n" * (cli.topics.MAX_WORDS_BYTES // 7 + 1))
    monkeypatch.setattr(cli.topics, "SearchEngine", SimpleNamespace(
        for_reading=lambda *_, **__: pytest.fail("a model was loaded for a --words it cannot use")))
    assert cli.search.main(["topics", "--index", str(tmp_path), "--words", str(tmp_path / name)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("usage: python -m clipsearch topics ")
    last = out.err.splitlines()[-1]
    assert last.startswith("python -m clipsearch topics: error: argument --words: ") and said in last, last


def test_a_topic_that_is_not_there_shows_the_usage_of_topics(engine, tmp_path, capsys):
    from clipsearch import InvalidQuery

    def topic_photos(name, k=None, words=None):
        raise InvalidQuery(f"no topic is called {name!r}")

    engine.topic_photos = topic_photos
    assert cli.search.main(["topics", "--show", "a dragon", "--index", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m clipsearch topics ")
    assert "no topic is called 'a dragon'" in err
