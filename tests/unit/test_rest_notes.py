"""The REST answers' ``note``: why a list is empty, said of what is empty."""

from __future__ import annotations

from clipsearch import SearchFilter
from clipsearch.videos import MomentResult
from webui import api_answers, rest


class Handlers:
    engine = None


def test_a_filter_holding_videos_but_no_photo_says_no_photo_result_beside_the_moments(monkeypatch):
    """An answer whose ``moments`` held a match said "No results: no indexed photo is in that folder
    and date range", as if nothing had been found."""
    monkeypatch.setattr(api_answers, "uncovered", lambda engine, hits, where: None)  # a folder the index covers
    where = SearchFilter(date_from="2001-01-01", date_to="2001-12-31")
    clip = MomentResult("/p/clip.mp4", 7.0, 0.4, 12.0, 320, 240, "2001-05-01T10:00:00", 100, 0)
    assert rest._outside(Handlers, [], where, [clip]) == {
        "note": "No photo results: no indexed photo is in that folder and date range; "
                "the videos' matching moments are in moments"}
    assert rest._outside(Handlers, [], where, []) == {
        "note": "No results: no indexed photo is in that folder and date range"}
    assert rest._outside(Handlers, [], where) == rest._outside(Handlers, [], where, None)
