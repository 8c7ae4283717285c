"""The page behind a reverse proxy that serves it under /photos/ and takes that path off each
request (nginx's ``proxy_pass http://127.0.0.1:7860/;``), the app started with ``--root-path
/photos`` (and ``--originals``): a search's gallery and the Duplicates panel show their pictures,
a result's Download link hands out the photo whole, and nothing the page asks for is refused.
The screenshot goes to tests/artifacts/proxy-duplicates.png."""

from __future__ import annotations

import pytest

from clipsearch.demo.near_copies import make_near_copy_library
from testsupport.browser import open_page, served_library
from testsupport.proxy import reverse_proxy

from .test_browser import ARTIFACTS, BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-proxy")
    make_near_copy_library(root / "photos", originals=6, seed=5)
    with served_library(root, originals=True, root_path="/photos") as app:
        app["groups"] = len(app["engine"].duplicates().groups)
        with reverse_proxy(app["url"], "/photos") as public:
            app["public"] = public
            yield app


def loaded_pictures(page, selector: str) -> list[int]:
    """The natural widths of the pictures under ``selector``: 0 for one that did not load."""
    return page.eval_on_selector_all(selector, "els => els.map(e => e.complete ? e.naturalWidth : 0)")


def test_the_page_behind_a_proxy_shows_its_pictures(app, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    refused = []
    with open_page(app["public"]) as page:
        page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.get_by_label("Search").fill("a red circle")
        page.keyboard.press("Enter")
        page.locator("#results img").first.wait_for()
        expect(page.locator("#results img").first).to_have_js_property("complete", True, timeout=TIMEOUT)
        widths = loaded_pictures(page, "#results img")
        assert widths and all(widths), widths

        assert app["groups"], "the library has copies"
        page.locator("#duplicates-panel").get_by_text("Duplicates", exact=True).click()
        page.locator("#find-duplicates").click()
        expect(page.locator("#duplicate-groups .dup-group")).to_have_count(app["groups"], timeout=TIMEOUT)
        cards = page.locator("#duplicate-groups img")
        for index in range(cards.count()):
            expect(cards.nth(index)).to_have_js_property("complete", True, timeout=TIMEOUT)
        widths = loaded_pictures(page, "#duplicate-groups img")
        assert widths and all(widths), widths
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#duplicates-panel").screenshot(path=str(ARTIFACTS / "proxy-duplicates.png"))
    assert not refused, refused


def test_with_originals_a_result_downloads_whole_through_the_proxy(app, monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["public"], accept_downloads=True) as page:
        page.get_by_label("Search").fill("a red circle")
        page.keyboard.press("Enter")
        page.locator("#results .thumbnail-item").first.click()
        expect(page.locator("#details")).to_contain_text("Path")
        path = page.locator("#details li").filter(has_text="Path:").inner_text().split("Path:", 1)[1].strip()
        with page.expect_download() as download:
            page.locator("#details").get_by_role("link", name="Download the original").click()
        got = download.value
        assert got.suggested_filename == path.rsplit("/", 1)[1]
        with open(got.path(), "rb") as saved, open(path, "rb") as original:
            assert saved.read() == original.read()
