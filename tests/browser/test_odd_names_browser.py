"""A file name that is not UTF-8 (Latin-1 bytes) in a real Chromium: the search shows it, its
details open, Find similar starts from it, and the Duplicates panel lists it (webui/paths.py).
Before, a search whose results held it failed with an error."""

from __future__ import annotations

import os
import shutil

import pytest

from clipsearch import ModelSpec, SearchEngine, Settings
from testsupport.browser import open_page, serve_app
from testsupport.imagefactory import photo

from .test_browser import BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-odd-names")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        library = root / "photos"
        library.mkdir()
        odd = os.fsencode(library) + b"/caf\xe9.jpg"
        with open(odd, "wb") as out:
            photo(320, 240, seed=5).save(out, "JPEG", quality=90)
        shutil.copyfile(odd, odd.replace(b".jpg", b" (2).jpg"))
        photo(320, 240, seed=6).save(library / "plain.jpg", quality=90)
        settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        with serve_app(engine, settings) as url:
            yield {"url": url, "gradio": root / "gradio"}
        engine.close()


@pytest.fixture
def page(app, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"]) as page:
        yield page


def test_an_odd_name_is_shown_opened_searched_from_and_grouped(page):
    from playwright.sync_api import expect

    page.locator("#strong-only input").uncheck()  # every result, not only the strong matches
    box = page.locator("#query textarea, #query input").first
    box.fill("a picture")
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("“a picture”", timeout=TIMEOUT)
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
