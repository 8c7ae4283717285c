"""Words in photos in a real Chromium: the Index panel turns reading on, results show the words."""

from __future__ import annotations

import pytest

from tests.browser.test_browser import BROWSER_MARKS, TIMEOUT, expect_status
from testsupport.browser import open_page, served_library
from testsupport.ocrfactory import make_ocr_library

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An index made without OCR, served in-process; the test turns reading on from the page."""
    root = tmp_path_factory.mktemp("browser-ocr")
    library = make_ocr_library(root / "photos", n_text=2, n_shapes=3, seed=6)
    with served_library(root, library.folder) as app:
        app["library"] = library  # the made library (its words and photos), not only its folder
        yield app


@pytest.fixture(scope="module")
def page(app):
    with open_page(app["url"]) as page:
        yield page


def test_turn_reading_on_then_find_a_photo_by_its_words(app, page):
    from playwright.sync_api import expect

    library = app["library"]
    word, photo = sorted(library.words.items())[0]
    page.locator("#index-panel").get_by_text("Index", exact=True).click()
    expect(page.locator("#index-info")).to_contain_text("Words in photos: not read")
    toggle = page.locator("#ocr-toggle input[type=checkbox]")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(page.locator("#job-status")).to_contain_text("words read in", timeout=TIMEOUT)
    expect(page.locator("#job-status")).to_contain_text(f"words read in {library.photos} photos")
    expect(page.locator("#index-info")).to_contain_text(f"read in {library.photos} photos, 2 with words")

    box = page.locator("#query textarea, #query input").first
    box.fill(word)
    box.press("Enter")
    expect_status(page, f"“{word}”")
    page.locator("#results img").first.wait_for()
    first = page.locator("#results .caption-label").first
    expect(first).to_contain_text(photo.name)
    assert f"[{word}]" in first.inner_text().lower()
    page.locator("#results img").first.click()
    details = page.locator("#details")
    expect(details).to_contain_text("Words:")
    assert word in details.locator("strong").all_inner_texts()[-1].lower()
    page.reload()  # the index remembers: the switch comes back on
    page.locator("#index-panel").get_by_text("Index", exact=True).click()
    expect(page.locator("#ocr-toggle input[type=checkbox]")).to_be_checked()
