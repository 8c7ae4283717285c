"""The page before any index exists, in a real Chromium: what a first-time user sees.

The Topics panel, opened then, showed the banner's markdown as raw text: ``**Check again**``,
code fences and all, run together into one paragraph.
"""

from __future__ import annotations

import pytest

from testsupport.browser import serve_app

from .test_browser import BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from clipsearch import ModelSpec, Settings

    root = tmp_path_factory.mktemp("browser-no-index")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        with serve_app(None, settings) as url:
            yield {"url": url, "gradio": root / "gradio"}


def test_the_topics_panel_says_there_is_no_index_in_words(page):
    from playwright.sync_api import expect

    expect(page.locator(".no-index").first).to_contain_text("No index yet", timeout=TIMEOUT)
    page.locator("#topics-panel").get_by_text("Topics: what your photos show").click()
    note = page.locator("#topics-note")
    expect(note).to_contain_text("No index yet", timeout=TIMEOUT)
    text = note.inner_text()
    assert "**" not in text and "```" not in text and "`" not in text, text
