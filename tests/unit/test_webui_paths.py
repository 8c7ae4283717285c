"""webui/paths.py: a file name that is not UTF-8, as the web carries it and back."""

from __future__ import annotations

import json

from webui.duplicates_view import write_exports
from webui.paths import local_path, web_path, web_safe

ODD = "/photos/Fotos d\udce9t\udce9/caf\udce9.jpg"  # Latin-1 bytes, as Python reads them
SHOWN = "/photos/Fotos d\\xe9t\\xe9/caf\\xe9.jpg"


def test_an_odd_name_shows_its_bytes_and_comes_back():
    assert web_path(ODD) == SHOWN
    SHOWN.encode("utf-8")  # JSON encoders take it
    assert local_path(SHOWN) == ODD
    for ordinary in ("/photos/café.jpg", "/photos/a.jpg", "", "/photos/日本.png"):
        assert web_path(ordinary) == ordinary and local_path(ordinary) == ordinary


def test_a_name_holding_a_backslash_x_stays_itself():
    assert local_path("/photos/x\\x41.jpg") == "/photos/x\\x41.jpg"  # would decode to UTF-8: not ours
    assert local_path("/photos/C:\\xyz.jpg") == "/photos/C:\\xyz.jpg"  # not two hex digits


def test_a_file_named_with_a_backslash_x_and_a_byte_is_that_file(tmp_path):
    """'lit\\xe9.webp' as written (a backslash, an x, e, 9: no odd byte) came back as 'lit\\udce9.webp',
    a file that is not there: its own thumbnail link and Find similar answered 404."""
    literal = tmp_path / "lit\\xe9.webp"
    literal.write_bytes(b"RIFF")
    assert local_path(str(literal)) == str(literal)
    odd = tmp_path / "caf\udce9.jpg"  # only the byte's file there: the escape names it
    odd.write_bytes(b"x")
    assert local_path(str(tmp_path / "caf\\xe9.jpg")) == str(odd)
    assert local_path("/nowhere/caf\\xe9.jpg") == "/nowhere/caf\udce9.jpg"  # neither there: the byte


def test_web_safe_walks_an_answer_and_leaves_other_values():
    answer = {"results": [{"file": ODD, "score": 0.5, "strong": True, "tags": (ODD, 3)}], ODD: None}
    assert web_safe(answer) == {"results": [{"file": SHOWN, "score": 0.5, "strong": True, "tags": (SHOWN, 3)}],
                                SHOWN: None}
    json.dumps(web_safe(answer), ensure_ascii=False).encode("utf-8")


def test_duplicate_exports_write_odd_names_as_the_page_shows_them(tmp_path):
    groups = [{"kind": "duplicates", "paths": [ODD, "/photos/b.jpg"],
               "photos": [{"path": ODD, "width": 1, "height": 1, "size": 1, "date_taken": None,
                           "modified": "2024-01-01T00:00:00", "similarity": 1.0}]}]
    json_path, csv_path = write_exports(groups, tmp_path)
    assert json.load(open(json_path, encoding="utf-8"))[0]["paths"][0] == SHOWN
    assert SHOWN in open(csv_path, encoding="utf-8").read()
