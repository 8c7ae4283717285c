"""The files runs skipped for good, kept beside the index between runs (``unreadable.json``)."""

from __future__ import annotations

import os

from clipsearch import unreadable_files


def test_the_list_round_trips_is_rewritten_only_when_it_changes_and_goes_when_empty(tmp_path):
    entries = {"/photos/caf\udce9.jpg": (12, 1_700_000_000_000_000_000, "not an image")}  # a Latin-1 name
    unreadable_files.save(tmp_path, entries)
    path = tmp_path / unreadable_files.FILE_NAME
    assert unreadable_files.load(tmp_path) == entries
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # an old time, which a write would move
    unreadable_files.save(tmp_path, dict(entries))
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000  # the same list: not rewritten
    unreadable_files.save(tmp_path, {**entries, "/photos/b.jpg": (3, 4, "truncated")})
    assert path.stat().st_mtime_ns != 1_000_000_000_000_000_000 and len(unreadable_files.load(tmp_path)) == 2
    unreadable_files.save(tmp_path, {})
    assert not path.exists() and unreadable_files.load(tmp_path) == {}


def test_an_unreadable_or_foreign_list_means_reading_the_files_again(tmp_path):
    path = tmp_path / unreadable_files.FILE_NAME
    for text in ("{not json", '{"version": 99, "files": {}}', '{"version": 1, "files": {"/a.jpg": [1]}}'):
        path.write_text(text, encoding="utf-8")
        assert unreadable_files.load(tmp_path) == {}
    unreadable_files.save(tmp_path / "gone", {"/a.jpg": (1, 2, "truncated")})  # no folder: nothing kept, no error
    assert not (tmp_path / "gone").exists()
