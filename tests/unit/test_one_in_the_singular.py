"""Counts built into sentences say one thing in the singular ("1 byte", "1 picture"), as
``clipsearch.reports.counted`` says them: a file of one byte's size read "1 bytes", and a sample
library of one picture "1 pictures"."""

from __future__ import annotations

from cli.demo import main
from webui.markdown import human_size


def test_a_size_of_one_byte_is_one_byte():
    assert human_size(1) == "1 byte"
    assert human_size(0) == "0 bytes"
    assert human_size(512) == "512 bytes"
    assert human_size(2048) == "2.0 KB"


def test_a_sample_library_of_one_picture_says_one_picture(tmp_path, capsys):
    assert main(["make-library", str(tmp_path / "photos"), "--n", "1"]) == 0
    assert "sample library ready: 1 picture and manifest.json" in capsys.readouterr().out
