"""``search --server URL``: a URL that is not one ends in one line, before anything is asked; what the
server refuses ends as the same mistake ends in a search here."""

from __future__ import annotations

import contextlib
import os
import threading

import pytest

import cli.search
from testsupport.net import answering


@pytest.mark.parametrize("url, said", [("http://host:abc/", "Invalid port: 'abc'"),
                                        ("http://[::1", "Invalid port"),
                                        ("http://me:secret@host:abc/", "Invalid port: 'abc'")])
def test_a_server_url_that_is_not_one_is_a_one_line_error(url, said, capsys):
    assert cli.search.main(["search", "red", "--server", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --server http://") and " is not a URL (" in err and said in err
    assert err.count("\n") == 1 and "secret" not in err


@pytest.mark.parametrize("status, body, said", [
    (400, {"error": "the query's terms cancel out"}, "the query's terms cancel out"),
    (422, {"detail": "q is not a query"}, "q is not a query"),
])
def test_a_query_the_server_refuses_as_unusable_is_a_usage_error_in_its_words(status, body, said, capsys):
    """``search "red - red" --server URL`` ended with exit 1 ("failed"), where the same search here
    is a usage error (exit 2, README): the server's 400 or 422 is one too, its reason said under
    the usage of ``search``."""
    with answering(status, body) as url:
        assert cli.search.main(["search", "red - red", "--server", url]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("usage: python -m clipsearch search ")
    assert out.err.splitlines()[-1] == f"python -m clipsearch search: error: {said}"


def test_a_server_that_fails_on_its_side_is_still_a_failure(capsys):
    """A 500 (or a 503: no index there yet) is the server failing, not the query: exit 1, one line."""
    for status in (500, 503):
        with answering(status, {"error": "no index yet"}) as url:
            assert cli.search.main(["search", "a red circle", "--server", url]) == 1
        err = capsys.readouterr().err
        assert err == f"error: {url} refused the search: no index yet\n"


@pytest.mark.parametrize("names, listed", [(["Sea", "Snow"], " (saved: 'Sea', 'Snow')"), ([], " (none is saved yet)")])
def test_a_name_no_search_is_saved_under_is_a_usage_error_as_here(names, listed, capsys):
    """``search --saved NAME --server URL`` for a name not saved there ended with exit 1 ("refused the
    search"), where ``--index DIR`` says it as a usage error (exit 2): the server's 404 names it
    (``unknown_saved_search``, with ``saved_searches``), and the command line says what it says here."""
    body = {"error": "no saved search is called 'Beach' (GET /api/saved lists them)",
            "unknown_saved_search": "Beach", "saved_searches": names}
    with answering(404, body) as url:
        assert cli.search.main(["search", "--saved", "Beach", "--server", url]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("usage: python -m clipsearch search ")
    assert out.err.splitlines()[-1] == f"python -m clipsearch search: error: no saved search is called 'Beach'{listed}"


@pytest.mark.parametrize("status, body, said", [
    (404, {"detail": "Not Found"}, "answered 404 (Not Found) to api/search"),  # another JSON API
    (404, {"error": "no saved search is called 'Beach' (GET /api/saved lists them)"},  # a release before the mark
     "answered 404 (no saved search is called 'Beach' (GET /api/saved lists them)) to api/search"),
    (405, {"detail": "Method Not Allowed"}, "answered 405 (Method Not Allowed) to api/search"),
    (404, "<html><body>Not here</body></html>", "answered 404, not a clipsearch answer"),
    (200, {"hello": "world"}, "answered 200, not a clipsearch answer"),
])
def test_a_server_with_no_search_at_that_url_is_a_failure_that_says_so(status, body, said, capsys):
    """A 404 without the mark of a saved search's name is a URL with no clipsearch search behind it
    (another server, a wrong path, or a release from before the mark): exit 1, one line that says
    what answered and asks whether ``python -m webui`` serves that URL. A 200 that is not a search's
    answer ended in a traceback (``KeyError: 'results'``)."""
    with answering(status, body) as url:
        assert cli.search.main(["search", "--saved", "Beach", "--server", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {url} {said}") and err.count("\n") == 1, err
    assert "is `python -m webui` what serves that URL" in err


def test_a_picture_the_server_cannot_use_is_the_usage_error_a_search_here_says(tmp_path, capsys):
    """``search --image notes.jpg --server URL`` said the server's words ("the uploaded file cannot
    be used as a picture (not an image)"); ``--image FOLDER`` ended in a traceback (exit 1). Both are
    now what a search here says of them, a usage error: ``argument --image: PATH: REASON``."""
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture")
    body = {"error": "the uploaded file cannot be used as a picture (not an image)",
            "unreadable": {"reason": "not an image", "detail": ""}}
    with answering(400, body) as url:
        assert cli.search.main(["search", "--image", str(notes), "--server", url]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("usage: python -m clipsearch search ")
    assert out.err.splitlines()[-1] == f"python -m clipsearch search: error: argument --image: {notes}: not an image"
    # a folder, a device, are refused before any server is asked (nothing listens on port 9)
    for name, kind in ((str(tmp_path), "a folder"), ("/dev/zero", "a device")):
        assert cli.search.main(["search", "--image", name, "--server", "http://127.0.0.1:9/"]) == 2
        last = capsys.readouterr().err.splitlines()[-1]
        assert last == f"python -m clipsearch search: error: argument --image: {name}: not a file ({kind})"


def endless(pipe: str) -> tuple[threading.Thread, int]:
    """A writer of zeros into the named pipe ``pipe`` until its readers go (an endless stream, as
    ``<(cat /dev/zero)``; /dev/zero itself is refused as a device), there before the command reads
    (a reader that never reads, whose descriptor is returned, lets it open the pipe at once)."""
    holder = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    stream = open(pipe, "wb")  # noqa: SIM115 - the writer's thread closes it

    def work() -> None:
        with contextlib.suppress(BrokenPipeError), stream:
            while True:
                stream.write(bytes(1 << 20))

    writer = threading.Thread(target=work, daemon=True)
    writer.start()
    return writer, holder


@pytest.mark.parametrize("kind", ["sparse", "stream"])
def test_a_picture_over_the_limit_is_refused_before_the_server_is_asked_as_here(tmp_path, capsys, kind):
    """``search --image BIG --server URL`` sent the file (a 413 said in the server's words, exit 1)
    and streamed an endless one until it failed in a traceback; it now reads at most the limit and
    a byte, and says what a search here says (nothing listens on port 9)."""
    big = str(tmp_path / "huge.jpg")
    if kind == "sparse":
        with open(big, "wb") as handle:
            handle.truncate(50 * 1024 * 1024 + 1)
    else:
        os.mkfifo(big)
        writer, holder = endless(big)
    assert cli.search.main(["search", "--image", big, "--server", "http://127.0.0.1:9/"]) == 2
    if kind == "stream":
        os.close(holder)
        writer.join(30)
        assert not writer.is_alive()  # the reader went: the writer's pipe broke
    assert capsys.readouterr().err.splitlines()[-1] == ("python -m clipsearch search: error: argument --image: "
                                                        f"{big}: file too large (a picture to search with may be "
                                                        "at most 50 MB)")
