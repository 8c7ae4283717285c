"""Words that name nothing the library holds: read against vague words (clipsearch.calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from clipsearch.calibration import VAGUE_WORDS, names_nothing
from testsupport.fakes import FakeEncoder

DIM = 64


class PlantedWords(FakeEncoder):
    """The fake encoder, with chosen vectors for some words (the others hash as usual)."""

    def __init__(self, planted: dict[str, np.ndarray]) -> None:
        super().__init__(dim=DIM)
        self.planted = planted
        self.text_calls: list[list[str]] = []

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        self.text_calls.append(list(texts))
        hashed = super().embed_texts(texts)
        return np.stack([self.planted.get(t, h) for t, h in zip(texts, hashed)]).astype(np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _at(direction: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at ``cosine`` from the unit ``direction``."""
    other = rng.standard_normal(DIM)
    other = _unit(other - (other @ direction) * direction)
    return cosine * direction + np.sqrt(1 - cosine**2) * other


@pytest.fixture
def library(tmp_path):
    """300 photos: 8 very like "a planted thing" (0.95), 8 somewhat like "xyzzy" (0.6, far above
    the scattered rest), and for each vague word one photo it describes at 0.8."""
    from clipsearch import SearchEngine, Settings
    from clipsearch.stores import ImageRecord, WriteBatch, open_store

    rng = np.random.default_rng(3)
    thing, nonsense = _unit(rng.standard_normal(DIM)), _unit(rng.standard_normal(DIM))
    encoder = PlantedWords({"a planted thing": thing, "xyzzy": nonsense})
    vague = encoder.embed_texts(list(VAGUE_WORDS))
    scattered = 300 - 16 - len(VAGUE_WORDS)  # rows: the scattered rest, 8 things, 8 xyzzy, the vague
    vectors = [_unit(rng.standard_normal(DIM)) for _ in range(scattered)]
    vectors += [_at(thing, 0.95, rng) for _ in range(8)] + [_at(nonsense, 0.6, rng) for _ in range(8)]
    vectors += [_at(v, 0.8, rng) for v in vague]
    paths = [f"/p/{i:03d}.jpg" for i in range(len(vectors))]
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")
    store = open_store(settings.index_dir, encoder.stamp, create=True)
    store.write(WriteBatch(put=[(ImageRecord(path, 1, 1, f"f{i}", 10, 10), v.astype(np.float32))
                                for i, (path, v) in enumerate(zip(paths, vectors))]))
    engine = SearchEngine(encoder, store, settings=settings)
    engine.planted = {"thing": set(paths[scattered:scattered + 8]), "nonsense": set(paths[scattered + 8:scattered + 16])}
    yield engine
    engine.close()


def _strong(hits) -> set[str]:
    return {h.path for h in hits if h.strong}


def test_the_level_is_the_lowest_best_score_of_the_vague_words(library):
    level = library.calibration.vague_level(library.store)
    bests = [library.store.search(v, 1, text_like=True)[0][1] for v in library.encoder.embed_texts(list(VAGUE_WORDS))]
    assert level == pytest.approx(min(bests))
    assert 0.75 < level < 0.85  # each vague word's best is its planted photo, at 0.8


def test_words_that_name_something_keep_their_matches(library):
    assert _strong(library.search_text("a planted thing", k=30)) == library.planted["thing"]


def test_words_whose_best_photo_scores_under_every_vague_word_name_nothing(library):
    hits = library.search_text("xyzzy", k=30)
    assert len(hits) == 30 and not _strong(hits)  # the results are still there, one click away
    # What the shape of its scores alone decides: its eight stand far above the rest.
    vector = library.encoder.embed_texts(["xyzzy"])[0]
    top = np.array([s for _, s in library.store.search(vector, 100, text_like=True)])
    alone = library.cutoff_thresholds([vector], [top], [False])[0]
    assert {h.path for h in hits if h.score >= alone} == library.planted["nonsense"]
    assert library.cutoff_thresholds([vector], [top], [True]) == [np.inf]


def test_a_picture_is_never_read_against_words(library, monkeypatch):
    """A photo query is not words: the vague words' level is never asked for."""
    def refuse(store):
        raise AssertionError("a picture query read against the vague words")

    thing = sorted(library.planted["thing"])
    library.search_text("a planted thing", k=5)  # words: asked (and kept)
    monkeypatch.setattr(library.calibration, "vague_level", refuse)
    assert _strong(library.similar(thing[0], k=20)) == set(thing[1:])
    library.search_text("a planted thing", k=5, cutoff=0.5)  # a flat cut-off: not asked either


def test_composite_queries_drop_only_the_words_that_name_nothing(library):
    thing = library.planted["thing"]
    assert _strong(library.search("a planted thing + xyzzy", k=40)) == thing  # either: only one names
    assert _strong(library.search("a planted thing - xyzzy", k=40)) == thing  # rules out nothing
    # Its only positive words name nothing: the combined query's own cut keeps nothing either.
    assert not _strong(library.search("xyzzy - a planted thing", k=40))


def test_the_vague_words_are_embedded_once_and_read_again_when_the_index_changes(library):
    from clipsearch.stores import WriteBatch

    first = library.calibration.vague_level(library.store)
    library.search_text("a planted thing", k=5)
    vague_calls = [c for c in library.encoder.text_calls if c == list(VAGUE_WORDS)]
    assert len(vague_calls) == 2  # the fixture's, and the engine's one
    planted = sorted(library.planted["thing"])  # remove the photo the lowest vague word describes best
    bests = [library.store.search(v, 1, text_like=True)[0] for v in library.encoder.embed_texts(list(VAGUE_WORDS))]
    lowest = min(bests, key=lambda hit: hit[1])[0].path
    library.store.write(WriteBatch(delete=[lowest]))
    assert lowest not in planted
    assert library.calibration.vague_level(library.store) < first
    assert len([c for c in library.encoder.text_calls if c == list(VAGUE_WORDS)]) == 3  # the test's own call only


def test_names_nothing_reads_the_best_score_against_the_level():
    assert not names_nothing(np.array([]), 0.5)
    assert names_nothing(np.array([0.4, 0.3]), 0.5) and not names_nothing(np.array([0.5]), 0.5)
