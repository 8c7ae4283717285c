"""The cut-off's nested group: a few answers over the look-alikes that step 3's cut keeps with them."""

from __future__ import annotations

import numpy as np
import pytest

from clipsearch import cutoff
from clipsearch.cutoff import relevance_cutoff

pytestmark = pytest.mark.usefixtures("fitted_by")  # every decision with both EMs (conftest.py)


def _top(scores: np.ndarray) -> np.ndarray:
    return np.sort(scores)[::-1][: cutoff.TOP_CANDIDATES]


@pytest.mark.parametrize("seed", [23, 294, 370, 525])
def test_answers_over_the_look_alikes_step_3_keeps_are_the_answer(seed):
    """Three answers above 47 look-alikes (a colour and shape on the wrong background) on the tail
    of 350 other photos, with no clean gap anywhere: one skewed bump describes the scores as well
    as two parts do, so step 3 cuts at the widest gap of the 100 best, under the look-alikes. But
    among its ten best, a gap sets the three apart, and they stand far above the rest of that cut
    (even without the best of them) and above the rest of the library: they are the answer.
    (Seeds where step 3's cut keeps the look-alikes.)"""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 1.0, 350), rng.normal(1.8, 0.6, 47), rng.normal(3.8, 0.2, 3)])
    top = _top(scores)
    assert cutoff.distinct_top_group(top) == 0
    x, w = cutoff.library_scores(top, scores, 400)
    by_fit = cutoff._decide_by_fit(top, scores, x, w, cutoff.SHARED_FITS([(x, w)])[0])
    assert by_fit.method == "skewed" and np.sum(scores >= by_fit.threshold) >= cutoff.GROUP_INSIDE * 3
    cut = relevance_cutoff(top, scores, 400)
    assert np.flatnonzero(scores >= cut.threshold).tolist() == [397, 398, 399]


def test_the_nested_group_leaves_a_broad_querys_matches_alone(monkeypatch):
    """A fifth of the library matches, as one bell curve: in 200 such libraries, the nested group
    changes the decision of at most two (what the cut-off decides without it: ``NESTED_GAP``
    infinite), however its best few happen to fall."""
    decisions = []
    for nested_gap in (cutoff.NESTED_GAP, np.inf):
        monkeypatch.setattr(cutoff, "NESTED_GAP", nested_gap)
        cuts = []
        for seed in range(200):
            rng = np.random.default_rng(seed)
            scores = np.concatenate([rng.normal(0.0, 1.0, 320), rng.normal(2.5, 1.0, 80)])
            cuts.append(relevance_cutoff(_top(scores), scores, 400))
        decisions.append(cuts)
    assert sum(a != b for a, b in zip(*decisions)) <= 2
    assert sum(cut.method == "skewed" for cut in decisions[1]) >= 20  # step 3 decided many of them


def test_the_nested_group_decides_only_after_step_3():
    """Five answers above a quarter of the library that the two-part fit of step 2 keeps (its
    matches stand clear of the rest): no nested group is looked for there."""
    top = np.concatenate([np.linspace(6.0, 5.8, 5), np.linspace(3.6, 2.0, 95)])
    assert cutoff._nested_group(top, np.zeros(10), 400, cutoff.Cutoff(2.5, 60.0, "mixture")) == 0
    assert cutoff._nested_group(top, np.zeros(10), 400, cutoff.Cutoff(2.5, 60.0, "skewed")) == 5
