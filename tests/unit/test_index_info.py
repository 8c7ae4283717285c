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
