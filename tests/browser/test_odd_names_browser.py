"""A file name that is not UTF-8 (Latin-1 bytes) in a real Chromium: the search shows it, its
details open, Find similar starts from it, and the Duplicates panel lists it (webui/paths.py).
Before, a search whose results held it failed with an error."""

from __future__ import annotations

import os
import shutil

import pytest

from testsupport.browser import served_library
from testsupport.imagefactory import photo

from .test_browser import BROWSER_MARKS, TIMEOUT, search_every_result

pytestmark = BROWSER_MARKS
# A phone's name for a photo shared by a messenger, say: emoji, words, a long run without a space.
LONG_NAME = ("🐶🌴 holiday with the family at the beach in summer " + "very long name " * 5
             + "IMG_20240101_123456789_HDR_edited_copy_final.jpg")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-odd-names")
    library = root / "photos"
    library.mkdir()
    odd = os.fsencode(library) + b"/caf\xe9.jpg"
    with open(odd, "wb") as out:
        photo(320, 240, seed=5).save(out, "JPEG", quality=90)
    shutil.copyfile(odd, odd.replace(b".jpg", b" (2).jpg"))
    photo(320, 240, seed=6).save(library / "plain.jpg", quality=90)
    photo(320, 240, seed=7).save(library / LONG_NAME, quality=90)
    with served_library(root) as app:
        yield app


def test_an_odd_name_is_shown_opened_searched_from_and_grouped(page):
    from playwright.sync_api import expect

    search_every_result(page, "a picture")
    captions = page.locator("#results .caption-label")
    expect(captions.first).to_be_visible(timeout=TIMEOUT)
    texts = captions.all_inner_texts()
    assert any("caf\\xe9" in text for text in texts), texts  # the copy folds under it: "+1 similar"
    page.locator("#results .thumbnail-item").nth(next(i for i, t in enumerate(texts) if "caf\\xe9" in t)).click()
    expect(page.locator("#details")).to_contain_text("caf\\xe9.jpg", timeout=TIMEOUT)
    page.locator("#find-similar").click()
    expect(page.locator("#status")).to_contain_text("photos like caf\\xe9", timeout=TIMEOUT)
    page.locator("#duplicates-panel").get_by_text("Duplicates", exact=True).click()
    page.locator("#find-duplicates").click()
    expect(page.locator("#duplicates-status")).to_contain_text("1 group, 2 photos", timeout=TIMEOUT)
    expect(page.locator("#duplicate-groups figcaption").first).to_contain_text("caf\\xe9", timeout=TIMEOUT)


def test_a_long_name_leaves_its_thumbnail_in_sight(page):
    """A long file name's caption wrapped without end over its thumbnail: at 200% zoom (or on a
    phone) it covered the whole picture and ran up over the panel above it. It now takes at most
    a few lines at the thumbnail's foot; the details give the whole name."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 700, "height": 550})  # a 1400 px window at 200% zoom
    page.locator("#strong-only input").uncheck()
    box = page.locator("#query textarea, #query input").first
    box.fill("a picture")
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("“a picture”", timeout=TIMEOUT)
    captions = page.locator("#results .caption-label")
    expect(captions.filter(has_text="holiday")).to_have_count(1, timeout=TIMEOUT)
    for item in page.locator("#results .thumbnail-item").all():
        thumb, caption = item.bounding_box(), item.locator(".caption-label").bounding_box()
        assert caption["y"] >= thumb["y"] + thumb["height"] / 3, (thumb, caption)  # the picture shows above it
        assert caption["y"] + caption["height"] <= thumb["y"] + thumb["height"] + 1, (thumb, caption)
        assert caption["x"] + caption["width"] <= thumb["x"] + thumb["width"] + 1, (thumb, caption)
    item = page.locator("#results .thumbnail-item").filter(has_text="holiday")
    item.click()
    expect(page.locator("#details")).to_contain_text("IMG_20240101_123456789_HDR_edited_copy_final.jpg",
                                                     timeout=TIMEOUT)
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], width  # nothing runs past the window's edge
