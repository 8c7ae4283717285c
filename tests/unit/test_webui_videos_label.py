"""The "In videos" panel's label: the weaker moments it offers are those unticking would show."""

from __future__ import annotations

from webui.videos_view import VideosView

STRONG = {"path": "/v/a.mp4", "at": 2.0, "score": 0.6, "strong": True}
WEAK = {"path": "/v/b.mp4", "at": 4.0, "score": 0.1, "strong": False}


def view() -> VideosView:
    thumbs = type("Thumbs", (), {"get_moment": lambda *args: "/frame.jpg"})()
    return VideosView(type("Handlers", (), {"thumbs": thumbs})())


def test_the_weaker_moments_are_offered_when_unticking_shows_them():
    panel = view().show({"moments": [STRONG, WEAK]}, 0.0, True)[0]
    assert panel["label"] == "In videos · 1 with a matching moment (1 weaker hidden: untick Strong matches only)"


def test_weaker_moments_under_the_score_cut_off_are_not_offered():
    """A cut-off of 0.3 hides the weaker moment (0.1) whether or not Strong matches only is ticked:
    the label offered it, and unticking showed nothing more."""
    assert view().show({"moments": [STRONG, WEAK]}, 0.3, True)[0]["label"] == "In videos · 1 with a matching moment"
    assert view().show({"moments": [STRONG, WEAK]}, 0.3, False)[2] == [STRONG]
