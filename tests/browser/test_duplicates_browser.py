"""The Duplicates panel and folded results, in a real Chromium over the demo model.

The library holds rendered pictures with edited copies (clipsearch.demo.near_copies). Screenshots
go to tests/artifacts/duplicates.png and folded.png.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from clipsearch.demo.near_copies import make_near_copy_library
from testsupport.browser import open_page, painted, served_library

from .test_browser import ARTIFACTS, BROWSER_MARKS, TIMEOUT

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-duplicates")
    truth = make_near_copy_library(root / "photos", originals=12, seed=3)
    with served_library(root) as app:
        app["truth"], app["expected"] = truth, [g.paths for g in app["engine"].duplicates().groups]
        yield app


@pytest.fixture
def page(app, monkeypatch):
    """As the shared page (tests/browser/conftest.py), with downloads accepted."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))
    with open_page(app["url"], accept_downloads=True) as page:
        yield page


def test_duplicates_panel_lists_groups_best_first_and_exports_them(app, page):
    from playwright.sync_api import expect

    before = {p.name: p.stat().st_mtime_ns for p in app["library"].iterdir()}
    assert app["expected"], "the library has copies"
    page.locator("#duplicates-panel").get_by_text("Duplicates", exact=True).click()
    page.locator("#find-duplicates").click()
    expect(page.locator("#duplicates-status")).to_contain_text(
        f"{len(app['expected'])} group{'s' * (len(app['expected']) != 1)}, ", timeout=TIMEOUT)
    groups = page.locator("#duplicate-groups .dup-group")
    expect(groups).to_have_count(len(app["expected"]))
    first = groups.first
    names = first.locator("figcaption b").all_inner_texts()
    assert names[0].startswith("best copy · ") and names[0].endswith(Path(app["expected"][0][0]).name)
    assert len(names) == len(app["expected"][0])
    captions = first.locator("figcaption").all_inner_texts()
    assert all(" px · " in c and ("KB" in c or "bytes" in c) for c in captions)  # pixels and file size
    srcs = page.locator("#duplicate-groups img").evaluate_all("els => els.map(e => e.src)")
    assert srcs and all("/thumbs/256/" in s for s in srcs)  # thumbnails, never the photos
    page.locator("#duplicate-groups img").first.evaluate("img => img.decode()")
    with page.expect_download() as download:
        page.locator("#duplicates-json").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert [g["paths"] for g in exported] == app["expected"]
    with page.expect_download() as download:
        page.locator("#duplicates-csv").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert rows[0].startswith("group,kind,rank,path") and len(rows) == 1 + sum(len(g) for g in app["expected"])
    # Gradio's copy in its own cache, which it deletes as it deletes uploads: the view's own lists
    # can go (it keeps its last two, duplicates_view.Exports) while the page still offers this one.
    served = unquote(download.value.url).split("file=", 1)[1]
    assert Path(served).is_relative_to(app["gradio"]) and "clipsearch-duplicates-" not in served, served
    ARTIFACTS.mkdir(exist_ok=True)
    painted(page)
    page.locator("#duplicates-panel").screenshot(path=str(ARTIFACTS / "duplicates.png"))
    assert {p.name: p.stat().st_mtime_ns for p in app["library"].iterdir()} == before  # nothing touched


def test_search_results_fold_copies_and_open_them(app, page):
    from playwright.sync_api import expect

    stem = min(n[:4] for n, e in app["truth"].items() if e["role"] == "rotated")
    copies = [f"{stem}_small.jpg", f"{stem}_crop.jpg", f"{stem}_rot.jpg"]
    page.locator("#query-image input[type=file]").set_input_files(str(app["library"] / f"{stem}.png"))
    expect(page.locator("#status")).to_contain_text("the dropped photo", timeout=TIMEOUT)
    page.locator("#results img").first.wait_for()
    captions = page.locator("#results .caption-label").all_inner_texts()
    assert captions[0].endswith(f" (+3 similar) · {stem}.png"), captions[:3]
    assert not any(c.split(" · ", 1)[1] in copies for c in captions)  # folded away
    page.locator("#open-similar").click()  # no result selected yet: the page says what to do first
    expect(page.locator("#status")).to_have_text("Click a result first, then open the near-duplicates folded under it.")
    assert page.locator(".toast-body").count() == 0
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#details")).to_contain_text("+3 similar")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "folded.png"), full_page=True)
    page.locator("#open-similar").click()
    expect(page.locator("#status")).to_contain_text("3 near-duplicates")
    expect(page.locator("#results .caption-label")).to_have_count(4)
    opened = [c.split(" · ", 1)[1] for c in page.locator("#results .caption-label").all_inner_texts()]
    assert opened[0] == f"{stem}.png" and sorted(opened[1:]) == sorted(copies)


def test_a_saved_search_opens_the_photo_its_address_names(app, unopened_page):
    """Open similar after a saved search wrote ``?saved=NAME&open=PATH``, but the page opened there
    ran the saved search and left the copies folded: ``open`` was read only beside ``q``,
    ``similar`` and ``indexed``. It now opens them there too; a path not among the results (not
    in the index) is still never opened."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    from clipsearch.saved import SavedSearch, SavedSearches

    stem = min(n[:4] for n, e in app["truth"].items() if e["role"] == "rotated")
    SavedSearches(app["root"] / "index").save(SavedSearch("Like the original", ""), app["library"] / f"{stem}.png")
    page = unopened_page  # opened at the saved search's address, once
    page.goto(app["url"] + "?" + urlencode({"saved": "Like the original", "open": str(app["library"] / f"{stem}.png")}))
    expect(page.locator("#status")).to_contain_text("3 near-duplicates", timeout=TIMEOUT)
    expect(page.locator("#results .caption-label")).to_have_count(4)

    page.goto(app["url"] + "?" + urlencode({"saved": "Like the original", "open": str(app["library"] / "nowhere.png")}))
    expect(page.locator("#status")).to_contain_text("strong match", timeout=TIMEOUT)
    expect(page.locator("#status")).not_to_contain_text("near-duplicates")
    assert page.locator("#results .caption-label").first.inner_text().endswith(f" (+3 similar) · {stem}.png")


# Whether the groups' place showed a run's progress before its groups came: it is left out while
# empty, but not while a run is on its way.
WATCH_PROGRESS = """() => {
  const groups = document.getElementById("duplicate-groups");
  window.progressShown = false;
  new MutationObserver(() => {
    const tracker = groups.querySelector(":scope > [data-testid=status-tracker]");
    if (tracker && !tracker.classList.contains("hide") && !groups.querySelector(".dup-group")
        && groups.getClientRects().length > 0 && tracker.getClientRects().length > 0) window.progressShown = true;
  }).observe(groups, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


@pytest.mark.parametrize("screen", [
    {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},  # a phone
    {"viewport": {"width": 1280, "height": 900}},  # a desktop's window
], ids=["phone", "desktop"])
def test_the_panel_has_no_empty_band_before_a_run(app, screen):
    """On a phone (390 x 844), and on a desktop (1280 x 900), the panel, opened, left a band as tall
    as its button under it before a run: its empty status, downloads' row and groups each kept a
    place and the gaps around it. They are left out while empty (the panel's edge just under the
    button), the run's progress shows in the groups' place while it runs, and its groups and
    downloads once it has something to show."""
    from playwright.sync_api import expect

    from testsupport.browser import chromium

    def below_button(page) -> float:
        """CSS px from the bottom of Find duplicates' row (on a desktop, its tick box beside it is a
        little taller) to the bottom of the panel's box."""
        return page.evaluate("""() => document.getElementById("duplicates-panel").getBoundingClientRect().bottom
          - document.getElementById("find-duplicates").closest(".row").getBoundingClientRect().bottom""")

    with chromium() as browser:
        page = browser.new_context(**screen).new_page()
        try:
            press = "tap" if screen.get("has_touch") else "click"
            page.set_default_timeout(TIMEOUT)
            page.goto(app["url"])
            page.locator("#query textarea, #query input").first.wait_for()
            getattr(page.locator("#duplicates-panel").get_by_text("Duplicates", exact=True), press)()
            expect(page.locator("#find-duplicates")).to_be_visible()
            padding = page.evaluate("""() => parseFloat(getComputedStyle(
              document.getElementById("duplicates-panel")).paddingBottom)""")
            assert below_button(page) <= padding + 2, (below_button(page), padding)  # the panel's own edge only
            page.evaluate(WATCH_PROGRESS)
            getattr(page.locator("#find-duplicates"), press)()
            expect(page.locator("#duplicate-groups .dup-group")).to_have_count(len(app["expected"]), timeout=TIMEOUT)
            expect(page.locator("#duplicates-status")).to_contain_text("group")
            expect(page.locator("#duplicates-json")).to_be_visible()
            assert page.evaluate("() => window.progressShown")  # the run's progress, in the groups' place
            assert below_button(page) > 120 * len(app["expected"])  # the groups' cards, under the button
        finally:
            page.context.close()
