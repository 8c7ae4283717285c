"""A search of words finds the photos that say them (``--ocr``), first and strong, with the words
as a snippet; words read from a photo's earlier content are not its words any more."""

from __future__ import annotations

import pytest
from PIL import Image

import clipsearch.textsearch
from clipsearch.ocr import Line, PageText, Word


class FakeReader:
    """Reads the text keyed by the picture's width."""

    threads = 1
    stamp = {"reader": "fake"}

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts

    def read(self, image: Image.Image) -> PageText:
        words = self.texts.get(image.width, "").split()
        box = ((0, 0), (9, 0), (9, 9), (0, 9))
        return PageText((Line(" ".join(words), 0.95, tuple(Word(w, 0.95, box) for w in words)),) if words else (),
                        image.width, image.height)


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(6):
        Image.new("RGB", (50 + i, 40), (i * 40, 80, 120)).save(root / f"p{i}.png")
    return root


def test_a_photo_that_says_the_words_comes_first_and_strong_until_its_content_changes(engine, library, monkeypatch):
    monkeypatch.setattr(clipsearch.textsearch, "TextReader", lambda threads=None: FakeReader({52: "grand cafe"}))
    engine.set_text_reading(True)
    engine.index_folder(library)
    assert engine.read_texts().with_text == 1
    hits = engine.search("grand cafe", k=4, cutoff=2.0)  # a flat cut no CLIP score reaches
    assert hits[0].path == str(library / "p2.png") and "[GRAND]" in hits[0].text.upper()
    assert [h.strong for h in hits] == [True, False, False, False]  # the photo says the words
    assert all(h.text is None for h in hits[1:])
    Image.new("RGB", (52, 40), (0, 200, 0)).save(library / "p2.png")  # other content, its words not read yet
    engine.index_folder(library)
    assert all(h.text is None and not h.strong for h in engine.search("grand cafe", k=4, cutoff=2.0))


def test_the_page_keeps_a_photo_that_says_the_words_under_any_flat_cut_off(engine, library, settings, monkeypatch):
    from webui.handlers import SORT_RELEVANCE, Handlers

    monkeypatch.setattr(clipsearch.textsearch, "TextReader", lambda threads=None: FakeReader({52: "grand cafe"}))
    engine.set_text_reading(True)
    engine.index_folder(library)
    engine.read_texts()
    handlers = Handlers(engine, settings)
    try:
        gallery, results, shown, status, _ = handlers.search("grand cafe", None, 4, 0.99, SORT_RELEVANCE, "", "", "")
        assert [r["path"] for r in shown] == [str(library / "p2.png")] and len(gallery) == 1
        assert shown[0]["score"] < 0.99 and shown[0]["text"]  # kept for its words, not its score
    finally:
        handlers.close()
