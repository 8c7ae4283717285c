"""The cut-off of composite queries, decided per term (clipsearch.cutoff_terms), on a real store."""

from __future__ import annotations

import numpy as np
import pytest

from clipsearch.cutoff_terms import TermVector, combine, combine_strong, judged

A, B, BOTH = range(0, 8), range(8, 16), range(16, 22)  # near "alpha", near "beta", near both


def _term(weight, text=True):
    return TermVector(weight, np.zeros(4, np.float32), text)


def _mask(*rows, n=6):
    out = np.zeros(n, bool)
    out[list(rows)] = True
    return out


def test_a_sum_is_either_terms_matches():
    terms = [_term(1.0), _term(1.0)]
    strong = combine_strong(terms, _mask(0, 1), {0: _mask(2, 3), 1: _mask(3, 4)})
    assert list(np.flatnonzero(strong)) == [2, 3, 4]  # the combined cut alone does not count


def test_a_negative_term_rules_out_what_it_names():
    terms = [_term(1.0), _term(-1.0)]
    strong = combine_strong(terms, _mask(0, 1, 5), {0: _mask(1, 2, 3), 1: _mask(3, 5)})
    assert list(np.flatnonzero(strong)) == [0, 1, 2]  # the positive's and the combined cut's, less 3 and 5


def test_a_picture_plus_words_is_the_combined_cut_less_the_negatives():
    terms = [_term(1.0), _term(-1.0), _term(1.0, text=False)]
    assert judged(terms) == [1]  # the positive words and the picture are not judged alone
    strong = combine_strong(terms, _mask(0, 1, 2), {1: _mask(2, 4)})
    assert list(np.flatnonzero(strong)) == [0, 1]


def test_negative_words_only_keep_the_combined_cut():
    terms = [_term(-1.0), _term(-2.0)]
    strong = combine_strong(terms, _mask(0, 1), {0: _mask(1), 1: _mask(4)})
    assert list(np.flatnonzero(strong)) == [0]


def test_combine_weighs_and_normalises():
    a, b = np.eye(3, dtype=np.float32)[:2]
    vector, text_like = combine([TermVector(2.0, a, True), TermVector(-1.0, b, False)], 3)
    assert np.allclose(vector, np.array([2, -1, 0]) / np.sqrt(5))
    assert text_like


@pytest.fixture
def two_concepts(tmp_path):
    """A real store of 300 vectors: 8 near the fake encoder's "alpha", 8 near "beta", 6 near both."""
    from clipsearch import SearchEngine, Settings
    from clipsearch.stores import ImageRecord, WriteBatch, open_store
    from testsupport.fakes import FakeEncoder

    encoder = FakeEncoder(dim=128)
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    rng = np.random.default_rng(11)
    alpha, beta = encoder.embed_texts(["alpha", "beta"])
    vectors = rng.standard_normal((300, encoder.dim)) / np.sqrt(encoder.dim)
    vectors[A] += alpha
    vectors[B] += beta
    vectors[BOTH] += (alpha + beta) * 0.8
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.write(WriteBatch(put=[(ImageRecord(f"/p/{i:03d}.jpg", 1, 1, f"f{i}", 10, 10), v.astype(np.float32))
                                for i, v in enumerate(vectors)]))
    engine = SearchEngine(encoder, store, settings=settings)
    yield engine
    engine.close()


def _paths(rows):
    return {f"/p/{i:03d}.jpg" for r in rows for i in r}


def test_engine_sum_marks_either_concept_strong_and_shows_them_first(two_concepts):
    hits = two_concepts.search_text("alpha + beta", k=40)
    strong = [h.path for h in hits if h.strong]
    assert set(strong) == _paths([A, B, BOTH])
    assert [h.strong for h in hits] == sorted((h.strong for h in hits), reverse=True)  # strong first
    scores = [h.score for h in hits if h.strong]
    assert scores == sorted(scores, reverse=True)  # each part best first


def test_engine_negative_keeps_the_positive_and_drops_what_the_negative_names(two_concepts):
    hits = two_concepts.search_text("alpha - beta", k=40)
    strong = {h.path for h in hits if h.strong}
    assert strong == _paths([A])


def test_engine_composite_without_auto_keeps_the_combined_ranking(two_concepts):
    everything = two_concepts.search_text("alpha + beta", k=40, cutoff=0)
    assert all(h.strong for h in everything)
    scores = [h.score for h in everything]
    assert scores == sorted(scores, reverse=True)
    flat = two_concepts.search_text("alpha + beta", k=40, cutoff=0.5)
    assert [h.strong for h in flat] == [h.score >= 0.5 for h in flat]


def test_engine_composite_respects_the_filter(two_concepts):
    from clipsearch import SearchFilter

    hits = two_concepts.search_text("alpha + beta", k=40, where=SearchFilter(folder="/elsewhere"))
    assert hits == []


def test_a_picture_plus_words_keeps_the_combined_querys_best_group_less_the_negatives(two_concepts):
    """A picture among the terms: the combined query is cut as a narrow one (its best group at the
    widest gap, at least ``PICTURE_GROUP``), not by the two-part fit; negative words still rule
    out what they name."""
    from clipsearch.cutoff_terms import composite_search

    engine = two_concepts
    alpha, beta = engine.encoder.embed_texts(["alpha", "beta"])
    both = engine.store.vector("/p/016.jpg")  # a photo of both, dropped as the query's picture
    for terms, want in [([TermVector(1.0, alpha, False), TermVector(1.0, beta, True)], [A, B, BOTH]),
                        ([TermVector(1.0, both, False), TermVector(1.0, beta, True), TermVector(-1.0, alpha, True)], [B])]:
        vector, text_like = combine(terms, engine.encoder.dim)
        hits = composite_search(engine.store, terms, vector, 40, None, text_like, engine.cutoff_thresholds)
        assert {record.path for record, _, strong in hits if strong} == _paths(want)


class _IndexScoresAbove:
    """The store, its scores a few last bits above NumPy's sums of the same vectors: what hnswlib's
    own sums (and 1 - its distance) gave on one CPU and not on another."""

    def __init__(self, store):
        self.store = store

    def search(self, *args, **kwargs):
        return [(record, score + 3e-7) for record, score in self.store.search(*args, **kwargs)]

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_photo_whose_score_is_its_terms_cut_is_judged_by_it_whatever_the_last_bits(two_concepts):
    """A cut is often a photo's own score. The candidates are judged on scores computed again from
    their stored vectors, which differ from the index's in the last bits: "a cross - purple" kept
    the one purple cross on a CPU where its "purple" score came out just under the cut that was its
    own score, and dropped it on another."""
    from clipsearch.cutoff_terms import composite_search

    engine = two_concepts
    store = _IndexScoresAbove(engine.store)
    alpha, beta = engine.encoder.embed_texts(["alpha", "beta"])
    best = {name: store.search(v, 1)[0][0].path for name, v in (("alpha", alpha), ("beta", beta))}

    def at_the_best(vectors, tops, words):  # each term's cut at its best photo's score
        return [float(top[0]) for top in tops]

    either = [TermVector(1.0, alpha, True), TermVector(1.0, beta, True)]
    vector, text_like = combine(either, engine.encoder.dim)
    hits = composite_search(store, either, vector, 40, None, text_like, at_the_best)
    assert {record.path for record, _, strong in hits if strong} == set(best.values())

    unlike = [TermVector(1.0, alpha, True), TermVector(-1.0, beta, True)]
    vector, text_like = combine(unlike, engine.encoder.dim)
    top = store.search(vector, 1)[0][0].path
    hits = composite_search(store, unlike, vector, 40, None, text_like, at_the_best)
    assert {record.path for record, _, strong in hits if strong} == {best["alpha"], top} - {best["beta"]}


def test_a_picture_plus_words_is_not_cut_at_the_pictures_look_alikes(tmp_path):
    """80 photos share the picture's broad look (its colour, its background) at every strength;
    8 are what the query asks for, the look and the words together, without a clean gap above the
    look-alikes. The two-part fit alone keeps the 8 with the look-alikes (about 90); the narrow cut,
    the 8 (as does, here, the general cut-off's check for answers above look-alikes)."""
    from clipsearch import SearchEngine, Settings, cutoff
    from clipsearch.cutoff_terms import composite_search
    from clipsearch.stores import ImageRecord, WriteBatch, open_store
    from testsupport.fakes import FakeEncoder

    dim, rng = 128, np.random.default_rng(1)
    look, words = np.linalg.qr(rng.standard_normal((dim, 2)))[0].T.astype(np.float32)
    vectors = rng.standard_normal((300, dim)) / np.sqrt(dim)
    vectors[:80] += look * rng.uniform(0.3, 0.9, (80, 1))
    vectors[80:88] += (look + words) * rng.uniform(0.6, 0.8, (8, 1))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    encoder = FakeEncoder(dim=dim)
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    store.write(WriteBatch(put=[(ImageRecord(f"/p/{i:03d}.jpg", 1, 1, f"f{i}", 10, 10), v.astype(np.float32))
                                for i, v in enumerate(vectors)]))
    engine = SearchEngine(encoder, store, settings=settings)
    try:
        terms = [TermVector(1.0, look, False), TermVector(1.0, words, True)]
        vector, text_like = combine(terms, dim)
        hits = composite_search(store, terms, vector, 100, None, text_like, engine.cutoff_thresholds)
        assert {record.path for record, _, strong in hits if strong} == _paths([range(80, 88)])
        scores = np.array([score for _, score in store.search(vector, 100)])
        sample = engine.library_sample() @ vector
        x, w = cutoff.library_scores(scores, sample, 300)
        by_fit = cutoff._decide_by_fit(scores, sample, x, w, cutoff.SHARED_FITS([(x, w)])[0])
        assert np.sum(scores >= by_fit.threshold) > 80  # the two-part fit alone
        assert np.sum(scores >= engine.cutoff_thresholds([vector], [scores])[0]) == 8
    finally:
        engine.close()


def test_only_the_weights_ratios_count_and_a_weight_past_any_size_is_refused():
    """`1e30:dog + cat` overflowed the vector's length: every score 0. A weight past float's range
    (`1000...0:dog`, 400 digits) made every score NaN, and the REST route answered 500."""
    from clipsearch import InvalidQuery
    from clipsearch.encoders import normalize

    rng = np.random.default_rng(0)
    a, b = normalize(rng.normal(size=(2, 512)).astype(np.float32))
    vector, _ = combine([TermVector(2.0, a, True), TermVector(-1.0, b, True)], 512)
    assert np.array_equal(vector, normalize((np.float32(2) * a - b)[None])[0])  # as it always was, bit for bit
    for weight in (1e30, 1e39, 1e300):
        vector, _ = combine([TermVector(weight, a, True), TermVector(1.0, b, True)], 512)
        assert np.all(np.isfinite(vector)) and float(vector @ a) > 0.999, weight
    vector, _ = combine([TermVector(1e30, a, True), TermVector(1e30, b, True)], 512)
    np.testing.assert_allclose(vector, normalize((a + b)[None])[0], atol=1e-6)
    for weight in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(InvalidQuery, match="a weight is too large"):
            combine([TermVector(weight, a, True), TermVector(1.0, b, True)], 512)
