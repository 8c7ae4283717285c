"""Topics: spherical k-means over unit vectors, groups named by the words that fit them best
against the other groups (synthetic vectors; the demo model's own run is an integration test)."""

from __future__ import annotations

import numpy as np

from clipsearch.topics import default_words, find_topics, name_topics, spherical_kmeans, topic_count


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clusters(sizes: list[int], dim: int = 64, spread: float = 0.15, seed: int = 1):
    """Unit vectors around ``len(sizes)`` random centres, and each one's true group."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(len(sizes), dim)))
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return unit(centres[truth] + spread * rng.normal(size=(len(truth), dim)) / np.sqrt(dim) * 4), truth, centres


def test_kmeans_finds_well_separated_groups_whatever_their_sizes():
    vectors, truth, _ = clusters([120, 40, 15, 6])
    centres, labels = spherical_kmeans(vectors, 4)
    assert np.allclose(np.linalg.norm(centres, axis=1), 1, atol=1e-5)
    for group in range(4):  # each found group is one true group, whole
        assert len(set(labels[truth == group])) == 1
    assert len(set(labels)) == 4
    again = spherical_kmeans(vectors, 4)[1]
    assert np.array_equal(labels, again)  # a fixed seed: the same index gives the same topics


def test_each_group_is_named_by_the_word_that_fits_it_best_against_the_others():
    vectors, truth, centres = clusters([50, 30, 20])
    words = ["a photo", "beach", "dog", "snow", "cake"]
    # "a photo" fits every group a lot; each other word fits one group (cake: none)
    word_vectors = unit(np.stack([centres.sum(axis=0) * 3 + centres[0] * 0.1, centres[0], centres[1], centres[2],
                                  np.random.default_rng(5).normal(size=centres.shape[1])]))
    topics = find_topics([f"p{i}.jpg" for i in range(len(truth))], vectors, words, word_vectors, k=3)
    assert [(t.name, t.size) for t in topics] == [("beach", 50), ("dog", 30), ("snow", 20)]  # largest first
    assert all("a photo" != t.name for t in topics)
    beach = topics[0]
    assert beach.paths[0].startswith("p") and list(beach.closeness) == sorted(beach.closeness, reverse=True)
    assert set(beach.paths) == {f"p{i}.jpg" for i in np.flatnonzero(truth == 0)}
    assert beach.to_dict(examples=2) == {"name": "beach", "size": 50, "words": list(beach.words),
                                         "examples": list(beach.paths[:2])}


def test_one_group_is_named_by_the_word_that_fits_it_not_the_first_of_the_list():
    """A library of one to three photos, or of copies of one, is one group: every fit less the mean
    over the groups was 0, and the first word of the list named it ("a red circle" for yellow squares)."""
    vectors, truth, centres = clusters([5])
    words = ["beach", "dog", "snow"]
    word_vectors = unit(np.stack([centres[0] * -1, centres[0], np.random.default_rng(6).normal(size=centres.shape[1])]))
    topics = find_topics([f"p{i}.jpg" for i in range(len(truth))], vectors, words, word_vectors, k=1)
    assert [(t.name, t.size) for t in topics] == [("dog", 5)] and topics[0].words[-1] == "beach"


def test_a_word_names_one_group_at_most():
    centres = unit(np.array([[1.0, 0.1, 0], [1.0, -0.1, 0], [0, 0, 1.0]]))
    word_vectors = unit(np.array([[1.0, 0, 0], [0, 0, 1.0], [0.5, 0.5, 0]]))
    named = name_topics(centres, word_vectors, ["sea", "snow", "sky"])
    assert sorted(name for name, _ in named) == ["sea", "sky", "snow"]
    assert all(name not in others for name, others in named)
    fewer = name_topics(centres, word_vectors[:2], ["sea", "snow"])  # fewer words than groups: numbered
    assert sorted(name for name, _ in fewer) in (["sea", "sea (2)", "snow"], ["sea", "sea (1)", "snow"])


def test_how_many_topics_and_the_vocabulary():
    assert [topic_count(n) for n in (0, 1, 3, 10, 300, 1_700, 100_000)] == [0, 1, 1, 2, 10, 24, 24]
    assert find_topics([], np.zeros((0, 8), np.float32), ["a"], np.ones((1, 8), np.float32)) == []
    words = default_words()
    assert len(words) >= 250 and len(set(words)) == len(words) and "a beach" in words
    assert not any(word.startswith("#") for word in words)


def test_the_demo_models_index_is_named_from_the_words_it_reads():
    from clipsearch.demo import DEMO_WORDS
    from clipsearch.topics import TEMPLATE, words_for

    assert words_for("demo") == (list(DEMO_WORDS), "{}")  # "a red circle": no "a photo of a beach"
    assert words_for("ViT-B-32") == (default_words(), TEMPLATE)


def test_more_topics_asked_than_different_pictures_gives_none_empty():
    pictures = unit(np.random.default_rng(2).normal(size=(10, 16)))
    vectors = np.concatenate([pictures, pictures[:5], pictures[:3]])  # copies share their photo's vector
    paths = [f"p{i}.jpg" for i in range(len(vectors))]
    words = [f"word {i}" for i in range(12)]
    word_vectors = unit(np.random.default_rng(3).normal(size=(12, 16)))
    for k in (10, 11, 18, 1000):
        topics = find_topics(paths, vectors, words, word_vectors, k=k)
        assert len(topics) == 10 and all(t.size and t.paths for t in topics), k
        assert sorted(p for t in topics for p in t.paths) == sorted(paths)
        assert all(t.to_dict()["examples"] for t in topics)


def test_a_group_that_kmeans_leaves_empty_is_no_topic(monkeypatch):
    import clipsearch.topics as topics_module

    vectors, _, centres = clusters([6, 5, 4])
    labels = np.repeat([0, 2, 3], [6, 5, 4])  # group 1 holds no photo
    four = np.concatenate([centres[:1], unit(np.ones((1, centres.shape[1]))), centres[1:]])
    monkeypatch.setattr(topics_module, "spherical_kmeans", lambda sample, k: (four, labels))
    found = find_topics([f"p{i}" for i in range(15)], vectors, ["a", "b", "c", "d"], four, k=4)
    assert sorted(t.size for t in found) == [4, 5, 6]
