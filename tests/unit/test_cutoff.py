"""The relevance cut-off on synthetic score distributions (no model): narrow, broad, any scale."""

from __future__ import annotations

import numpy as np
import pytest

from clipsearch import cutoff
from clipsearch.cutoff import TOP_CANDIDATES, Cutoff, gap_ratios, relevance_cutoff

pytestmark = pytest.mark.usefixtures("fitted_by")  # every decision with both EMs (conftest.py)


def _library(rng, total, matches, bulk=(0.18, 0.02), match=(0.29, 0.012)):
    """Scores of a library: a bulk of non-matches and a group of matches (CLIP text-to-image range)."""
    scores = np.concatenate([rng.normal(*bulk, total - matches), rng.normal(*match, matches)])
    relevant = np.zeros(total, bool)
    relevant[total - matches:] = True
    return scores, relevant


def _decide(rng, scores, sample_size=2048):
    order = np.argsort(-scores)
    top = scores[order[:TOP_CANDIDATES]]
    sample = scores[rng.choice(len(scores), min(sample_size, len(scores)), replace=False)]
    return relevance_cutoff(top, sample, len(scores))


def _f1(scores, relevant, cut: Cutoff) -> float:
    returned = scores >= cut.threshold
    tp = np.sum(returned & relevant)
    return 2 * tp / (returned.sum() + relevant.sum())


def test_narrow_query_keeps_its_handful():
    rng = np.random.default_rng(1)
    scores, relevant = _library(rng, 20_000, 6, match=(0.31, 0.006))
    cut = _decide(rng, scores)
    assert _f1(scores, relevant, cut) == 1.0
    assert cut.method == "gap"


def test_narrow_query_without_a_clear_gap_returns_few():
    """Six matches spread close to the bulk's upper tail: the mixture keeps a few dozen at most,
    not the hundreds a flat threshold at the bulk's edge would."""
    rng = np.random.default_rng(1)
    scores, relevant = _library(rng, 20_000, 6)
    cut = _decide(rng, scores)
    assert _f1(scores, relevant, cut) >= 0.6
    assert np.sum(scores >= cut.threshold) <= 30


@pytest.mark.parametrize("seed", [1, 2])
def test_a_skewed_bulk_is_not_split_into_a_quarter_of_matches(seed):
    """Six matches just above a right-skewed bulk with no clean gap: a two-Gaussian mixture calls
    the bulk's long upper tail an "upper part" (thousands); a skew-normal fits as well, so the
    cut-off keeps a few dozen at most, the matches among them."""
    rng = np.random.default_rng(seed)
    bulk = 0.12 + 0.01 * rng.gamma(8.0, 1.0, 20_000)
    matches = np.quantile(bulk, 0.9995) + np.abs(rng.normal(0.0, 0.01, 6))
    scores = np.concatenate([bulk, matches])
    cut = _decide(rng, scores)
    returned = scores >= cut.threshold
    assert cut.method == "skewed"
    assert returned.sum() <= 30 and returned[-6:].all()


def test_broad_query_keeps_a_fifth_of_the_library():
    rng = np.random.default_rng(2)
    scores, relevant = _library(rng, 20_000, 4_000, match=(0.26, 0.02))
    cut = _decide(rng, scores)
    assert cut.method == "mixture"
    assert _f1(scores, relevant, cut) > 0.9
    assert 3_000 < cut.matches < 5_000


@pytest.mark.parametrize("seed", [14, 18])
def test_broad_matches_with_a_bump_on_top_are_kept_whole(seed):
    """A fifth of a 400-photo library matches, loosely, and a few dozen of them score higher than
    the rest of the matches, with no clean gap (what a shape query gives with the demo model). The
    most likely two-part fit is that top bump alone; the fit of all the matches against the rest
    describes the scores as well, so the cut-off keeps the matches whole. (Seeds where the bump's
    edge is not a clean gap, so that the mixture decides.)"""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 0.1, 290), rng.normal(0.25, 0.1, 90), rng.normal(0.5, 0.02, 20)])
    relevant = np.arange(400) >= 290
    top = np.sort(scores)[::-1][:TOP_CANDIDATES]
    x, w = cutoff.library_scores(top, scores, 400)
    fits = cutoff.SHARED_FITS([(x, w)])[0]
    most_likely = max(fits, key=lambda fit: fit.loglik)
    assert np.sum(w * most_likely.upper) < 40  # the top bump, not the matches
    cut = relevance_cutoff(top, scores, 400)
    assert cut.method == "mixture"
    assert _f1(scores, relevant, cut) >= 0.8
    assert 80 <= cut.matches <= 150


@pytest.mark.parametrize("seed", [18, 21, 74, 77, 82, 86, 92])
def test_a_broad_querys_best_few_standing_apart_by_chance_are_not_its_answers(seed):
    """A quarter of the library matches, as one bell curve of scores; its best two to four stand
    apart by chance, by a gap the distinct-group test takes for a narrow query's answers (seeds
    where it does). They stand no higher above the other matches than the best few of a hundred
    draws from one curve do, so the fit of all the matches decides, and keeps them."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 1.0, 300), rng.normal(3.5, 1.0, 100)])
    top = np.sort(scores)[::-1][:TOP_CANDIDATES]
    assert 2 <= cutoff.distinct_top_group(top) <= 4
    cut = relevance_cutoff(top, scores, 400)
    assert cut.method == "mixture"
    assert np.sum(scores[300:] >= cut.threshold) >= 75


@pytest.mark.parametrize("seed", [0, 1, 2, 4, 7, 12])
def test_a_group_far_above_broad_look_alikes_stays_the_answer(seed):
    """Five answers well above a quarter of the library that looks like them (a colour and shape
    on a background, above everything of that colour): the two-part fit alone keeps the
    look-alikes too, but the group stands far above them, so it is the answer."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 1.0, 300), rng.normal(3.0, 1.0, 95), rng.normal(7.0, 0.3, 5)])
    top = np.sort(scores)[::-1][:TOP_CANDIDATES]
    x, w = cutoff.library_scores(top, scores, 400)
    by_fit = cutoff._decide_by_fit(top, scores, x, w, cutoff.SHARED_FITS([(x, w)])[0])
    assert by_fit.method == "mixture" and np.sum(scores >= by_fit.threshold) >= 90
    cut = relevance_cutoff(top, scores, 400)
    assert cut.method == "gap"
    assert np.flatnonzero(scores >= cut.threshold).tolist() == list(range(395, 400))


@pytest.mark.parametrize("mean, seed", [(2.0, 74), (3.0, 86), (3.0, 129)])
def test_a_broad_querys_best_few_within_the_librarys_spread_are_not_its_answers(mean, seed):
    """120 of 400 photos match, as one bell curve; its best two to five stand apart by a clean gap
    and a little more than three deviations above the other matches the fit keeps, so the check
    against the matches alone leaves them the answer. But they stand less than ``LIBRARY_TOP``
    deviations above the rest of the library, where a narrow query's answers stand apart from
    everything: the fit of all the matches decides, and keeps most of them."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 1.0, 280), rng.normal(mean, 1.0, 120)])
    top = np.sort(scores)[::-1][:TOP_CANDIDATES]
    group = cutoff.distinct_top_group(top)
    assert 2 <= group <= 5
    assert cutoff.library_standing(top, group, scores, 400) < cutoff.LIBRARY_TOP
    cut = relevance_cutoff(top, scores, 400)
    kept = int(np.sum(top >= cut.threshold))
    assert cutoff._standing(top, group)[kept - group - 1] >= cutoff.NATURAL_TOP
    assert cut.method == "mixture"
    assert np.sum(scores[280:] >= cut.threshold) >= 72


@pytest.mark.parametrize("seed", [0, 1, 4, 9, 12, 13])
def test_answers_above_look_alikes_decide_under_a_weaker_gap(seed):
    """Three answers above a quarter of the library that looks like them (a colour and shape on a
    background, above everything of that colour), set apart by a gap too small for a distinct
    group: the two-part fit alone keeps the look-alikes too. But the three stand far above them,
    and the look-alikes spread as wide as the rest of the library, as a mix of near misses does:
    the three are the answer."""
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.0, 1.0, 300), rng.normal(3.0, 1.0, 97), rng.normal(6.5, 0.3, 3)])
    top = np.sort(scores)[::-1][:TOP_CANDIDATES]
    assert cutoff.distinct_top_group(top) == 0
    x, w = cutoff.library_scores(top, scores, 400)
    by_fit = cutoff._decide_by_fit(top, scores, x, w, cutoff.SHARED_FITS([(x, w)])[0])
    assert by_fit.method == "mixture" and np.sum(scores >= by_fit.threshold) >= 50
    cut = relevance_cutoff(top, scores, 400)
    assert cut.method == "gap"
    assert np.flatnonzero(scores >= cut.threshold).tolist() == [397, 398, 399]


def _fit(share: float, loglik: float) -> cutoff.PartFit:
    return cutoff.PartFit(np.array([share]), loglik, share)


def test_choose_fit_takes_a_larger_split_only_when_it_is_as_likely_broad_and_two_populations():
    from clipsearch.cutoff import BROAD, EQUALLY_LIKELY, choose_fit

    draws = 400
    best = _fit(0.02, 1.0)
    as_likely = 1.0 - 0.9 * EQUALLY_LIKELY / draws
    broad = _fit(0.2, as_likely)
    assert choose_fit([best, broad], draws) is broad
    assert choose_fit([best, broad, _fit(0.3, as_likely)], draws).share == 0.3  # the largest such
    assert choose_fit([best, broad], draws, one_bump=as_likely - 3 / draws) is broad
    assert choose_fit([best, _fit(0.2, 1.0 - 1.1 * EQUALLY_LIKELY / draws)], draws) is best  # less likely
    assert choose_fit([best, broad], draws, one_bump=as_likely - 1 / draws) is best  # one bump does as well
    assert choose_fit([best, _fit(BROAD * 0.9, as_likely)], draws) is best  # not a broad query's split
    near = _fit(0.15, 1.0)
    assert choose_fit([near, _fit(0.2, as_likely)], draws) is near  # the same split, reached less exactly
    assert choose_fit([best], draws) is best


@pytest.mark.parametrize("scale, shift", [(1.0, 0.0), (3.0, 0.4), (0.2, -0.5)])
def test_only_the_shape_of_the_scores_matters(scale, shift):
    """An affine change of the scores (another model's range, a composite query) moves the
    threshold with it and keeps the same results strong."""
    rng = np.random.default_rng(3)
    scores, _ = _library(rng, 5_000, 900, match=(0.25, 0.02))
    top, sample = np.sort(scores)[::-1][:TOP_CANDIDATES], scores[:2048]
    base = relevance_cutoff(top, sample, len(scores))
    moved = relevance_cutoff(top * scale + shift, sample * scale + shift, len(scores))
    assert moved.method == base.method
    assert moved.threshold == pytest.approx(base.threshold * scale + shift, abs=1e-9)
    assert np.sum(scores * scale + shift >= moved.threshold) == np.sum(scores >= base.threshold)


def test_a_sample_stands_for_a_big_library():
    """With 2,048 sampled scores out of 200,000, the decision is near the one on all of them."""
    rng = np.random.default_rng(4)
    scores, relevant = _library(rng, 200_000, 30_000, match=(0.25, 0.015))
    cut = _decide(rng, scores)
    assert _f1(scores, relevant, cut) > 0.9
    assert 20_000 < cut.matches < 40_000


def test_a_lone_outlier_on_top_is_not_a_group():
    rng = np.random.default_rng(5)
    top = np.sort(rng.normal(0.2, 0.02, TOP_CANDIDATES))[::-1]
    top[0] = 0.5
    cut = relevance_cutoff(top, rng.normal(0.15, 0.02, 2048), 50_000)
    assert cut.method != "gap"


def test_gap_ratio_is_large_only_at_the_break():
    top = np.concatenate([np.linspace(0.9, 0.88, 5), np.linspace(0.6, 0.5, 60)])
    ratios = gap_ratios(top)
    assert int(np.argmax(ratios)) + 1 == 5
    assert ratios[4] > 10 * np.median(ratios)


def test_narrow_cutoff_keeps_the_best_group_of_at_least_min_group():
    """A query known to be narrow (a picture plus words): the widest gap relative to the spacing
    around it, for a group of at least ``min_group``, whether or not it would pass the gap test."""
    from clipsearch.cutoff import narrow_cutoff

    group = np.linspace(0.50, 0.47, 8)
    bulk = np.linspace(0.44, 0.10, 92)  # a gap of 0.03 after the group, spacing about 0.004 either side
    cut = narrow_cutoff(np.concatenate([bulk, group]), min_group=5)
    assert cut.method == "narrow" and cut.matches == 8 and 0.44 < cut.threshold < 0.47
    pair = np.array([0.9, 0.89])  # set apart more widely, but fewer than min_group
    assert narrow_cutoff(np.concatenate([pair, group, bulk]), min_group=5).matches == 10
    assert narrow_cutoff(np.concatenate([pair, group, bulk]), min_group=2).matches == 2
    few = narrow_cutoff(np.array([0.5, 0.4, 0.3]), min_group=5)
    assert few.method == "none" and few.is_strong(0.3)


@pytest.mark.parametrize("top", [[], [0.3], [0.3, 0.2], [0.5, float("nan"), 0.4]])
def test_too_few_scores_keep_everything(top):
    cut = relevance_cutoff(np.array(top, float))
    assert cut.method == "none"
    assert all(cut.is_strong(s) for s in top if np.isfinite(s))


def test_equal_scores_keep_everything():
    cut = relevance_cutoff(np.full(50, 0.3), np.full(500, 0.3), 10_000)
    assert cut.is_strong(0.3)


def test_sample_without_total_or_sample():
    rng = np.random.default_rng(6)
    scores, relevant = _library(rng, 400, 80, match=(0.3, 0.01))
    cut = relevance_cutoff(scores)  # the whole library as "top", no sample
    assert _f1(scores, relevant, cut) > 0.95


# --- the engine marks its results ------------------------------------------------------------------
@pytest.fixture
def planted_engine(tmp_path):
    """A real store holding 300 vectors: 8 close to one direction, the rest scattered."""
    from clipsearch import SearchEngine, Settings
    from clipsearch.stores import ImageRecord, WriteBatch, open_store
    from testsupport.fakes import FakeEncoder

    encoder = FakeEncoder()
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    rng = np.random.default_rng(7)
    centre = rng.standard_normal(encoder.dim)
    vectors = rng.standard_normal((300, encoder.dim))
    vectors[:8] = centre + 0.15 * rng.standard_normal((8, encoder.dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    batch = WriteBatch(put=[(ImageRecord(f"/p/{i:03d}.jpg", 1, 1, f"f{i}", 10, 10), v.astype(np.float32))
                            for i, v in enumerate(vectors)])
    store.write(batch)
    engine = SearchEngine(encoder, store, settings=settings)
    yield engine
    engine.close()


def test_engine_marks_the_planted_group_strong(planted_engine):
    hits = planted_engine.similar("/p/000.jpg", k=20)
    assert len(hits) == 20
    assert {h.path for h in hits if h.strong} == {f"/p/{i:03d}.jpg" for i in range(1, 8)}
    assert all(h.to_dict()["strong"] == h.strong for h in hits)


def test_engine_cutoff_off_or_flat(planted_engine):
    assert all(h.strong for h in planted_engine.similar("/p/000.jpg", k=20, cutoff=None))
    assert all(h.strong for h in planted_engine.similar("/p/000.jpg", k=20, cutoff=0))
    flat = planted_engine.similar("/p/000.jpg", k=20, cutoff=0.5)
    assert [h.strong for h in flat] == [h.score >= 0.5 for h in flat]


def test_no_cutoff_marks_every_result_strong_down_to_the_lowest_score(planted_engine):
    """`--min-score 0` shows all k: a result scored below zero (the far end of a library, the
    negative side of `a - b`) is no weaker for it; a flat cut-off of 0 does not mean "score >= 0"."""
    for cut in (None, 0, 0.0):
        hits = planted_engine.similar("/p/000.jpg", k=299, cutoff=cut)
        assert len(hits) == 299 and min(h.score for h in hits) < 0  # the case that matters
        assert all(h.strong for h in hits), cut


def test_engine_refuses_an_unknown_cutoff(planted_engine):
    from clipsearch import InvalidQuery

    with pytest.raises(InvalidQuery):
        planted_engine.similar("/p/000.jpg", k=5, cutoff="sometimes")


def test_library_sample_follows_the_index(planted_engine):
    from clipsearch.stores import WriteBatch

    first = planted_engine.library_sample()
    assert first.shape == (300, planted_engine.encoder.dim)
    assert planted_engine.library_sample() is first  # kept while the index is unchanged
    planted_engine.store.write(WriteBatch(delete=["/p/299.jpg"]))
    assert planted_engine.library_sample().shape[0] == 299


def test_deciding_several_queries_together_gives_each_its_own_decision():
    """A composite query's terms are decided in one EM (``relevance_cutoffs``): the same cuts as
    one at a time, though their score lists differ in length and some end at the gap test."""
    from clipsearch.cutoff import relevance_cutoffs

    rng = np.random.default_rng(7)
    queries = []
    for matches, size in [(6, 20_000), (4_000, 20_000), (0, 5_000), (30, 12_000), (1_000, 3_000)]:
        scores, _ = _library(rng, size, matches)
        sample = rng.choice(scores, 2048, replace=False)
        queries.append((np.sort(scores)[::-1][:100], sample, size))
    queries.append((np.array([0.5, 0.4]), None, 2))  # too few to decide
    together = relevance_cutoffs(queries)
    assert together == [relevance_cutoff(*q) for q in queries]
    assert {cut.method for cut in together} >= {"mixture", "none"}


def test_queries_decided_at_once_from_many_threads_get_the_decisions_made_alone():
    """Under load the fits of concurrent queries share one EM (``cutoff.SHARED_FITS``): every
    query still gets exactly the cut it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    from clipsearch.cutoff import relevance_cutoffs

    rng = np.random.default_rng(11)
    cases = []
    for i in range(24):
        scores, _ = _library(rng, 8_000, [6, 40, 1_500, 0][i % 4], match=(0.25 + 0.002 * i, 0.015))
        cases.append((np.sort(scores)[::-1][:TOP_CANDIDATES], rng.choice(scores, 2048, replace=False), 8_000))
    alone = [relevance_cutoff(*case) for case in cases]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda i: relevance_cutoffs([cases[i], cases[(i + 5) % 24]]), range(24)))
    assert together == [[alone[i], alone[(i + 5) % 24]] for i in range(24)]
    assert {cut.method for cut in alone} >= {"gap", "mixture"}  # fits ran, beside decisions without
