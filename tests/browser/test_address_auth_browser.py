"""An address that names an indexed photo (``/?q=...&indexed=PATH``) behind ``--auth``, in a real Chromium:
nothing of the photo is served before the login, and after it the page puts the photo back and
runs the search, as it does without a password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from clipsearch import ModelSpec, SearchEngine, Settings
from clipsearch.demo import make_sample_library
from testsupport.browser import TIMEOUT, open_page, serve_app

from .test_browser import BROWSER_MARKS, expect_status

pytestmark = BROWSER_MARKS
USER, PASSWORD = "me", "a-long-secret"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a 30-picture sample library, served in-process with a password."""
    root = tmp_path_factory.mktemp("address-auth")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        library = root / "photos"
        make_sample_library(library, n=30, seed=0)
        settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
        engine = SearchEngine.for_writing(settings)
        engine.index_folder(library)
        with serve_app(engine, settings, auth=(USER, PASSWORD)) as url:
            yield {"url": url, "photo": sorted(str(r.path) for r in engine.records())[0], "root": root}
        engine.close()


def test_an_indexed_photo_in_the_address_waits_for_the_login(app):
    from playwright.sync_api import expect

    name = Path(app["photo"]).name
    address = app["url"] + "?" + urlencode({"q": "- red", "indexed": app["photo"]})
    cached = sorted((app["root"] / "cache").rglob("*.jpg"))
    with open_page(address, ready="input[type=password]") as page:
        expect(page.locator("#query-image img")).to_have_count(0)
        assert sorted((app["root"] / "cache").rglob("*.jpg")) == cached  # nothing made of the photo yet
        page.locator("input[type=text]").first.fill(USER)
        page.locator("input[type=password]").fill(PASSWORD)
        page.locator("input[type=password]").press("Enter")
        expect_status(page, f"“- red” + {name}")  # the address kept through the login: the same search
        page.locator("#query-image img").wait_for(timeout=TIMEOUT)
        assert "/thumbs/1024/" in page.locator("#query-image img").get_attribute("src")
