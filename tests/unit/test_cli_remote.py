"""``search --server URL``: a URL that is not one ends in one line, before anything is asked; what the
server refuses ends as the same mistake ends in a search here."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import cli.search


@pytest.mark.parametrize("url, said", [("http://host:abc/", "Invalid port: 'abc'"),
                                        ("http://[::1", "Invalid port"),
                                        ("http://me:secret@host:abc/", "Invalid port: 'abc'")])
def test_a_server_url_that_is_not_one_is_a_one_line_error(url, said, capsys):
    assert cli.search.main(["search", "red", "--server", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --server http://") and " is not a URL (" in err and said in err
    assert err.count("\n") == 1 and "secret" not in err


@contextmanager
def answering(status: int, body: dict):
    """A server on a free local port that answers every GET with ``status`` and ``body`` as JSON."""
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


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
