r"""A name that holds control characters, printed for people on a terminal: its ESC and newline
shown as ``\xNN`` (a name with ``ESC[2J`` cleared the screen, one with a newline split a result
over two lines); into a pipe or a file, and in ``--json``, its own bytes as before. A terminal
here is a stream whose ``isatty()`` is True (an engine stand-in: no model, no index)."""

from __future__ import annotations

import io
import json
import logging
import sys
from types import SimpleNamespace

import pytest

import cli.duplicates
import cli.search
import cli.topics
from clipsearch import SearchResult
from clipsearch.duplicates import DuplicateGroup, DuplicateReport
from clipsearch.reports import IndexReport
from clipsearch.saved import SavedSearch, SavedSearches
from clipsearch.stores.base import ImageRecord
from clipsearch.topics import Topic

NAME = "/photos/a\x1b[2J\nb.jpg"  # clears the screen; splits the line
SHOWN = "/photos/a\\x1b[2J\\x0ab.jpg"
FOLDER = "/photos/\x1b]0;owned\x07trip"  # sets the window's title
FOLDER_SHOWN = "/photos/\\x1b]0;owned\\x07trip"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def as_terminal(monkeypatch) -> SimpleNamespace:
    """stdout and stderr as a terminal, from here in the test (pytest's capture takes them back
    between a fixture and the test): what the command writes to them."""
    out, err = Terminal(), Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    return SimpleNamespace(out=out, err=err)


def raw_free(text: str) -> bool:
    """No ESC, BEL nor newline of a name reached ``text`` raw (its lines are the command's own)."""
    return "\x1b" not in text and "\x07" not in text and "a\nb.jpg" not in text


def test_shown_writes_control_characters_as_xnn_on_a_terminal_only():
    from cli.terminal import shown

    odd = "tab\there del\x7f csi\x9b31m caf\u00e9 \u65e5\u672c caf\udce9"  # C0, DEL, C1; letters; a Latin-1 byte
    assert shown(odd, Terminal()) == "tab\\x09here del\\x7f csi\\x9b31m caf\u00e9 \u65e5\u672c caf\udce9"
    assert shown(NAME, Terminal()) == SHOWN
    assert shown(NAME, io.StringIO()) == NAME and shown(odd, io.StringIO()) == odd  # a pipe, a file


def hit(path: str) -> SearchResult:
    return SearchResult(path, 0.9, 10, 10, None, 1, 0, True, "words\x1b[31m read")


def test_search_results_on_a_terminal_show_the_name_and_a_pipe_gets_its_bytes(monkeypatch, capsys):
    terminal = as_terminal(monkeypatch)
    cli.search.print_hits([hit(NAME)], as_json=False)
    assert terminal.out.getvalue() == f"0.900\t{SHOWN}\twords\\x1b[31m read\n"
    cli.search.print_hits([hit(NAME)], as_json=True)
    on_terminal = terminal.out.getvalue().splitlines()[-1]
    monkeypatch.undo()  # a pipe: the name's own bytes, and the same JSON
    cli.search.print_hits([hit(NAME)], as_json=False)
    cli.search.print_hits([hit(NAME)], as_json=True)
    out = capsys.readouterr().out
    assert out.startswith(f"0.900\t{NAME}\twords\x1b[31m read\n") and out.endswith(on_terminal + "\n")
    assert json.loads(on_terminal)[0]["path"] == NAME


def test_search_errors_on_a_terminal_show_the_name(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    with pytest.raises(SystemExit):  # argparse's error: the --image that is not there
        cli.search.main(["search", "--image", NAME, "--index", str(tmp_path)])
    assert "no such file: " + SHOWN in terminal.err.getvalue() and raw_free(terminal.err.getvalue())


def test_info_on_a_terminal_shows_the_index_and_its_folders(monkeypatch, capsys):
    as_terminal(monkeypatch)
    info = {"location": FOLDER, "count": 1, "stamp": {"model": "demo"}, "folders": [NAME], "left_out": [FOLDER]}
    text = cli.search.format_info(info)
    assert FOLDER_SHOWN in text and SHOWN in text and raw_free(text)
    monkeypatch.undo()
    assert FOLDER in cli.search.format_info(info) and NAME in cli.search.format_info(info)


def test_duplicates_on_a_terminal_show_the_names(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    records = [ImageRecord(NAME, 100, 0, "a", 10, 10), ImageRecord(FOLDER + "/b.jpg", 90, 0, "a", 10, 10)]
    report = DuplicateReport([DuplicateGroup("exact", records, [1.0, 1.0])], photos=2)
    engine = SimpleNamespace(duplicates=lambda **_: report, close=lambda: None)
    monkeypatch.setattr(cli.duplicates, "SearchEngine", SimpleNamespace(for_reading=lambda settings, **_: engine))
    assert cli.search.main(["duplicates", "--index", str(tmp_path)]) == 0
    out = terminal.out.getvalue()
    assert f"  {SHOWN}\t10x10" in out and f"  {FOLDER_SHOWN}/b.jpg\t" in out and raw_free(out)
    assert len(out.splitlines()) == 3  # the group's line and one a photo


def test_saved_searches_on_a_terminal_show_their_names_and_folders(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    SavedSearches(tmp_path).put(SavedSearch("trip\x1b[2J", "beach\nsea", folder=FOLDER))
    assert cli.search.main(["saved", "--index", str(tmp_path)]) == 0
    assert terminal.out.getvalue() == f"trip\\x1b[2J\tbeach\\x0asea · in {FOLDER_SHOWN}\n"


def test_topics_on_a_terminal_show_the_names(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    engine = SimpleNamespace(topics=lambda **_: [Topic("a \x1b[2Jdog", (NAME,), (0.9,), ())], close=lambda: None,
                             topic_photos=lambda name, **_: [SimpleNamespace(score=0.5, path=NAME)])
    monkeypatch.setattr(cli.topics, "SearchEngine", SimpleNamespace(for_reading=lambda settings, **_: engine))
    assert cli.search.main(["topics", "--index", str(tmp_path)]) == 0
    assert cli.search.main(["topics", "--show", "a dog", "--index", str(tmp_path)]) == 0
    assert terminal.out.getvalue() == f"1\ta \\x1b[2Jdog\t{SHOWN}\n0.500\t{SHOWN}\n"


def test_the_indexers_summary_on_a_terminal_shows_the_names(monkeypatch):
    as_terminal(monkeypatch)
    from indexer.report import format_report

    report = IndexReport(folders=[FOLDER], found=1, skipped={"not a picture": [NAME]})
    text = format_report(report)
    assert FOLDER_SHOWN in text and f"      {SHOWN}" in text and raw_free(text)
    monkeypatch.undo()
    assert f"      {NAME}" in format_report(report)


def test_the_indexers_live_warnings_on_a_terminal_show_the_names(monkeypatch):
    terminal = as_terminal(monkeypatch)
    from indexer.cli import _setup_logging

    monkeypatch.setattr(logging.root, "handlers", [])  # as in a command: the indexer's handler alone
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    _setup_logging(SimpleNamespace(verbose=False, quiet=False))
    IndexReport().skip(NAME, "not a picture")  # "skipping PATH: reason", as the run goes
    assert terminal.err.getvalue() == f"WARNING skipping {SHOWN}: not a picture\n"


def test_the_video_passs_bar_shows_the_name_on_a_terminal(monkeypatch):
    as_terminal(monkeypatch)
    from clipsearch.videopass import VideoProgress
    from indexer.videoreport import VideoProgressPrinter

    _, _, postfix = VideoProgressPrinter(enabled=True, tty=True).position(VideoProgress(1, current="/v/\x1b[2Jx.mp4"))
    assert postfix["video"] == "\\x1b[2Jx.mp4"


def test_the_indexers_usage_errors_on_a_terminal_show_the_name(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    from indexer.cli import main

    with pytest.raises(SystemExit):
        main([str(tmp_path / "a\x1b[2J\nb"), "--index", str(tmp_path / "index")])
    assert "folder not found: " in terminal.err.getvalue() and raw_free(terminal.err.getvalue())


def test_the_web_servers_log_on_a_terminal_shows_the_names(monkeypatch):
    """``python -m webui`` logs a re-index's "skipping PATH: reason" (the page's Re-index), and where
    it found no index: on its terminal, the names as the commands show them."""
    terminal = as_terminal(monkeypatch)
    import webui.__main__

    monkeypatch.setattr(logging.root, "handlers", [])  # as in a command: the server's handler alone
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    levels = {name: logging.getLogger(name).level for name in ("webui", "clipsearch")}
    try:
        webui.__main__.setup_logging(verbose=False)
        IndexReport().skip(NAME, "not a picture")
        logging.getLogger("webui").warning("no index in %s yet: the page explains how to build one", FOLDER)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert terminal.err.getvalue() == (f"WARNING clipsearch.pipeline: skipping {SHOWN}: not a picture\n"
                                       f"WARNING webui: no index in {FOLDER_SHOWN} yet: the page explains how to build one\n")


def test_the_web_servers_messages_on_a_terminal_show_the_names(monkeypatch, tmp_path):
    """Its usage errors and warnings name files (``--auth-file``, the thumbnail cache): real files
    whose names hold ESC and a newline."""
    terminal = as_terminal(monkeypatch)
    import webui.__main__

    private = tmp_path / "a\x1b[2J\nb"
    private.write_text("me:s3cret\n")
    private.chmod(0o644)
    assert webui.__main__.build_parser().parse_args(["--auth-file", str(private)]).auth == ("me", "s3cret")
    private.unlink()
    with pytest.raises(SystemExit):
        webui.__main__.build_parser().parse_args(["--auth-file", str(private)])
    blocked = tmp_path / "\x1b]0;owned\x07cache"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(SystemExit):
        webui.__main__.check_cache(webui.__main__.build_parser(), blocked)
    err, shown_private = terminal.err.getvalue(), f"{tmp_path}/a\\x1b[2J\\x0ab"
    assert f"warning: other users of this computer can read {shown_private}: chmod 600 {shown_private}" in err
    assert f"error: argument --auth-file: cannot read {shown_private}: " in err
    assert f"error: no thumbnail cache in {tmp_path}/\\x1b]0;owned\\x07cache/thumbs: " in err and raw_free(err), err


def test_the_demo_library_command_on_a_terminal_shows_its_folder(monkeypatch, tmp_path):
    terminal = as_terminal(monkeypatch)
    import cli.demo

    folder = tmp_path / "a\x1b[2J\nb"
    assert cli.demo.main(["make-library", str(folder), "--n", "2"]) == 0
    out = terminal.out.getvalue()
    assert out == f"sample library ready: 2 pictures and manifest.json in {tmp_path}/a\\x1b[2J\\x0ab\n", out
