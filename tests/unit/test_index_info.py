"""How an index's dates read: "Last indexed" in `clipsearch info` and the web app's index panel."""

from __future__ import annotations

from datetime import datetime

from cli.search import format_info
from clipsearch.reports import indexed_when
from webui.markdown import info_markdown

CHANGED = datetime(2026, 11, 20, 9, 30).timestamp()
CHECKED = datetime(2026, 12, 4, 3, 0).timestamp()


def test_a_later_run_that_changed_nothing_is_shown_beside_the_last_change():
    info = {"last_indexed": CHANGED, "last_checked": CHECKED}
    assert indexed_when(info) == "2026-11-20 09:30 (checked 2026-12-04 03:00: no change since)"
    assert "Last indexed:  2026-11-20 09:30 (checked 2026-12-04 03:00: no change since)" in format_info(info)
    assert "**Last indexed:** 2026-11-20 09:30 (checked 2026-12-04 03:00: no change since)" in info_markdown(info)


def test_a_run_that_changed_photos_shows_just_its_time():
    assert indexed_when({"last_indexed": CHANGED, "last_checked": CHANGED + 5}) == "2026-11-20 09:30"


def test_indexes_of_earlier_releases_and_empty_folders():
    assert indexed_when({"last_indexed": CHANGED}) == "2026-11-20 09:30"  # no check recorded yet
    assert indexed_when({}) == "never"
    assert indexed_when({"last_checked": CHECKED}) == "never (checked 2026-12-04 03:00: no photos found)"


def test_a_covered_folder_that_is_not_there_now_says_so(tmp_path):
    here, empty, gone = tmp_path / "Pictures", tmp_path / "usb", tmp_path / "nas"
    here.mkdir()
    (here / "a.jpg").write_bytes(b"x")
    empty.mkdir()  # an empty mount point
    info = {"folders": [str(here), str(empty), str(gone)]}
    text = format_info(info)
    assert f"Folders:       {here}\n" in text
    assert f"{empty} (empty now: a disk not mounted?)" in text and f"{gone} (missing now: a disk not mounted?)" in text
    panel = info_markdown(info)
    assert "(missing now: a disk not mounted?)" in panel and "(empty now: a disk not mounted?)" in panel
    assert panel.count("now: a disk") == 2
