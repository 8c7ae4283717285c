"""An address that names an indexed photo (``/?q=...&indexed=PATH``) behind ``--auth``, in a real Chromium:
nothing of the photo is served before the login, and after it the page puts the photo back and
runs the search, as it does without a password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from clipsearch.demo import make_sample_library
from testsupport.browser import TIMEOUT, open_page, served_library

from .test_browser import BROWSER_MARKS, expect_status

pytestmark = BROWSER_MARKS
USER, PASSWORD = "me", "a-long-secret"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a 30-picture sample library, served in-process with a password."""
    root = tmp_path_factory.mktemp("address-auth")
    make_sample_library(root / "photos", n=30, seed=0)
    with served_library(root, auth=(USER, PASSWORD)) as app:
        app["photo"] = sorted(str(r.path) for r in app["engine"].records())[0]
        yield app


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
