"""``search --server URL``: a URL that is not one ends in one line, before anything is asked."""

from __future__ import annotations

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
