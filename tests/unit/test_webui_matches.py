"""The web app's side of the automatic cut-off: what shows, what the status line and the API say."""

from __future__ import annotations

import gradio as gr
import pytest

from webui.matches import api_cut, api_min_score, strong_results, strong_status

RESULTS = [{"path": f"/p/{i}.jpg", "score": 0.9 - i / 10, "strong": i < 3} for i in range(8)]


def test_strong_results_keep_order_and_only_strong():
    assert [r["path"] for r in strong_results(RESULTS)] == ["/p/0.jpg", "/p/1.jpg", "/p/2.jpg"]
    assert strong_results([{"path": "/old.jpg", "score": 0.2}]) != []  # records from before: strong


def test_status_says_how_many_and_offers_the_rest():
    shown = strong_results(RESULTS)
    _, got, status = strong_status(([], shown, "3 results"), 3, 5)
    assert got == shown
    assert status.startswith("3 strong matches") and "5 weaker results hidden" in status
    assert "untick" in status
    assert strong_status(([], shown[:1], "1 results"), 1, 0)[2] == "1 strong match"
    assert strong_status(([], [], "No results."), 0, 8)[2].startswith("No strong match · 8 weaker")


def test_a_flat_cut_off_keeps_its_own_status():
    _, _, status = strong_status(([], RESULTS[:2], "2 of 3 results score 0.75 or more"), 3, 5)
    assert status.startswith("2 of 3 results score 0.75 or more")


@pytest.mark.parametrize("min_score, expected", [(0, 8), (0.0, 8), (None, 8), (0.55, 4), (-1, 3), ("-1", 3)])
def test_api_min_score(min_score, expected):
    assert len(api_cut(RESULTS, min_score)) == expected


@pytest.mark.parametrize("min_score", ["auto-ish", float("nan"), "nan", float("inf"), "-inf"])
def test_api_min_score_must_be_a_number(min_score):
    """nan kept no result (every comparison false), without a word; the REST route says 400."""
    with pytest.raises(gr.Error, match="min_score must be a number"):
        api_cut(RESULTS, min_score)


@pytest.mark.parametrize("raw, cut", [("auto", -1.0), (" AUTO ", -1.0), ("", 0.0), (None, 0.0), (0, 0.0),
                                      ("0.3", 0.3), (0.25, 0.25), ("-1", -1.0)])
def test_one_reading_of_an_apis_min_score(raw, cut):
    """REST, the named endpoints and the MCP tools read min_score one way (webui.matches.api_min_score)."""
    assert api_min_score(raw) == cut


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "strong", float("nan"), [0.2]])
def test_an_apis_min_score_that_is_no_number_is_refused(raw):
    with pytest.raises(ValueError, match="min_score must be a number or auto"):
        api_min_score(raw)
