"""The page used as a person would in the first minutes (issue 13), in a real Chromium.

Each test leaves a screenshot of what it checked in tests/artifacts/first-minutes/ (the folder is
printed at the end of the module), so that a person can look at the page as the test saw it.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from clipsearch.demo import make_sample_library
from testsupport.browser import open_page, painted, served_library

from .test_browser import BROWSER_MARKS, expect_status, search_for

SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "first-minutes"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a 150-picture sample library (EXIF dates 2016-2024), served in-process."""
    root = tmp_path_factory.mktemp("first-minutes")
    make_sample_library(root / "photos", n=150, seed=0)
    manifest = json.loads((root / "photos" / "manifest.json").read_text())["images"]
    with served_library(root) as app:
        app["taken"] = {Path(rel).name: entry["date_taken"][:10] for rel, entry in manifest.items()}
        yield app
    print(f"\nscreenshots of the first-minutes browser tests: {SHOTS}")


@pytest.fixture(autouse=True)
def same_upload_folder(app, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))


@pytest.fixture(scope="module")
def page(app):
    with open_page(app["url"]) as page:
        yield page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    painted(page)  # the thumbnails loaded and drawn
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def captions(page) -> list[list[str]]:
    """Each result's caption split into its parts: score, file name and (when known) the date."""
    page.locator("#results img").first.wait_for()
    return [c.split(" · ") for c in page.locator("#results .caption-label").all_inner_texts()]


def set_box(page, label: str, value: str) -> None:
    box = page.get_by_label(label)
    box.fill(value)
    box.press("Enter")


def clear_filters(page) -> None:
    for label in ("From (YYYY-MM-DD)", "To (YYYY-MM-DD)"):
        if page.get_by_label(label).input_value():
            set_box(page, label, "")


def toasts(page) -> int:
    return page.locator(".toast-body").count()


def test_thumbnails_show_the_date_taken(app, page):
    search_for(page, "a red circle")
    parts = captions(page)
    assert parts and all(len(p) == 3 and DATE.match(p[2]) for p in parts), parts
    assert all(app["taken"][name] == day for _, name, day in parts)
    shot(page, "1-thumbnails-with-dates")


def test_find_similar_moves_the_selection_with_the_results(page):
    from playwright.sync_api import expect

    search_for(page, "a green square")
    thumbs = page.locator("#results .thumbnail-item")
    thumbs.nth(2).click()
    third = captions(page)[2][1]
    expect(page.locator("#details")).to_contain_text(third)
    expect(page.locator("#results .thumbnail-item.selected")).to_have_count(1)
    page.locator("#find-similar").click()
    expect_status(page, f"photos like {third}")
    # The new results: nothing highlighted; the preview keeps the photo they are like, and says so
    # (no longer a result: not a photo left there unexplained).
    expect(page.locator("#results .thumbnail-item.selected")).to_have_count(0)
    expect(page.locator("#preview img")).to_have_count(1)
    expect(page.locator("#details")).to_contain_text(f"The results are photos like all of {third}, shown here.")
    shot(page, "2-after-find-similar")
    thumbs.first.click()  # the next Find similar uses what is highlighted and previewed now
    first = captions(page)[0][1]
    expect(page.locator("#details")).to_contain_text(first)
    page.locator("#find-similar").click()
    expect_status(page, f"photos like {first}")


def test_dates_and_folder_rerun_the_search_and_clear_the_preview(app, page):
    from playwright.sync_api import expect

    search_for(page, "a circle")
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#preview img")).to_have_count(1)
    set_box(page, "From (YYYY-MM-DD)", "2019-06-01")
    set_box(page, "To (YYYY-MM-DD)", "2019-08-31")
    expect_status(page, "“a circle”")
    expect(page.locator("#preview img")).to_have_count(0)  # the results changed: the preview went
    expect(page.locator("#results .thumbnail-item.selected")).to_have_count(0)  # and the highlight
    page.wait_for_function("() => { const c = [...document.querySelectorAll('#results .caption-label')]"
                           ".map(c => c.innerText.slice(-10)); return c.length > 0 && "
                           "c.every(d => d >= '2019-06-01' && d <= '2019-08-31'); }")
    days = [p[2] for p in captions(page)]
    assert days and all("2019-06-01" <= d <= "2019-08-31" for d in days), days
    shot(page, "3-summer-2019")

    set_box(page, "From (YYYY-MM-DD)", "2031-01-01")  # no photo then: an empty gallery, no old preview
    set_box(page, "To (YYYY-MM-DD)", "2031-12-31")
    expect_status(page, "No results.")
    expect(page.locator("#results img")).to_have_count(0)
    expect(page.locator("#preview img")).to_have_count(0)
    shot(page, "4-no-results")
    clear_filters(page)

    folder = str(app["library"] / "2020")
    dropdown = page.locator("input[aria-label='Folder'], [data-testid='dropdown'] input").first
    dropdown.fill(folder)
    dropdown.press("Enter")
    page.wait_for_function("() => { const c = [...document.querySelectorAll('#results .caption-label')]"
                           ".map(c => c.innerText.slice(-10)); return c.length > 0 && c.every(d => d.startsWith('2020')); }")
    assert all(p[2].startswith("2020") for p in captions(page))
    expect_status(page, "“a circle”")
    shot(page, "5-folder-2020")
    dropdown.fill("")
    dropdown.press("Enter")


def test_sort_and_cut_off_keep_the_query_and_its_time(page):
    from playwright.sync_api import expect

    search_for(page, "a blue star")
    page.get_by_label("Strong matches only").uncheck()  # all 40, so that the flat cut-off has a tail to cut
    expect(page.locator("#status")).to_contain_text("40 results · “a blue star”")
    page.get_by_role("radio", name="date (newest first)").check()
    page.wait_for_function("() => { const d = [...document.querySelectorAll('#results .caption-label')]"
                           ".map(c => c.innerText.slice(-10)); return d.length > 1 && "
                           "d.every((x, i) => i === 0 || d[i - 1] >= x); }")
    expect(page.locator("#status")).to_contain_text("“a blue star”")
    expect(page.locator("#status")).to_contain_text(re.compile(r"\d+ ms"))
    days = [p[2] for p in captions(page)]
    assert days == sorted(days, reverse=True)
    number = page.locator("#min-score input[type=number]")
    number.fill("0.3")
    number.press("Enter")
    expect(page.locator("#status")).to_contain_text("score 0.30 or more")
    expect(page.locator("#status")).to_contain_text("“a blue star”")
    expect(page.locator("#status")).to_contain_text(re.compile(r"\d+ ms"))
    shot(page, "6-sorted-by-date-with-cut-off")
    number.fill("0")
    number.press("Enter")
    page.get_by_role("radio", name="relevance").check()
    page.get_by_label("Strong matches only").check()


def test_weaker_results_under_the_cut_off_are_not_offered(page):
    """With a score cut-off above every result, the status line said "No result scores 0.99 or more
    · 29 weaker results hidden: untick “Strong matches only” to see them", and unticking showed none:
    the cut-off hid them too. Only the weaker results it keeps are offered."""
    from playwright.sync_api import expect

    search_for(page, "a red circle")
    expect(page.locator("#status")).to_contain_text("weaker results hidden")  # some to offer at 0
    number = page.locator("#min-score input[type=number]")
    number.fill("0.99")
    number.press("Enter")
    expect(page.locator("#status")).to_contain_text("No result scores 0.99 or more")
    expect(page.locator("#status")).not_to_contain_text("untick")
    page.get_by_label("Strong matches only").uncheck()
    expect(page.locator("#status")).to_contain_text("No result scores 0.99 or more")
    expect(page.locator("#results img")).to_have_count(0)
    number.fill("0")
    number.press("Enter")
    page.get_by_label("Strong matches only").check()


def test_the_status_line_says_how_many_results_are_strong_matches(page):
    """The automatic cut-off (clipsearch.cutoff) decides; the page says what it decided, and that the
    weaker results are one click away, with the query and its time."""
    from playwright.sync_api import expect

    search_for(page, "qwxz jumble")
    expect(page.locator("#status")).to_contain_text(re.compile(r"(No strong match|\d+ strong match)"))
    expect(page.locator("#status")).to_contain_text("“qwxz jumble”")
    shot(page, "10-strong-matches-of-a-nonsense-query")


def test_a_query_for_what_the_library_does_not_hold_has_no_strong_match(page):
    """Words whose best photo scores under every vague word's best ("something", "stuff"...) name
    nothing the library holds (clipsearch.calibration): none is strong, all 40 stay one click away.
    With the demo model on this library, "a bowl of soup" lies far under them (by 0.18)."""
    from playwright.sync_api import expect

    search_for(page, "a bowl of soup")
    expect(page.locator("#status")).to_contain_text("No strong match · 40 weaker results hidden")
    expect(page.locator("#results img")).to_have_count(0)
    shot(page, "11-no-strong-match-for-what-the-library-does-not-hold")
    page.get_by_label("Strong matches only").uncheck()
    expect(page.locator("#status")).to_contain_text("40 results · “a bowl of soup”")
    assert len(captions(page)) == 40
    page.get_by_label("Strong matches only").check()


def test_a_warning_is_said_once_and_does_not_pile_up(page):
    from playwright.sync_api import expect

    search_for(page, "a yellow cross")
    before = captions(page)
    for attempt in ("2019-13-45", "someday"):
        set_box(page, "From (YYYY-MM-DD)", attempt)
        expect(page.locator("#status")).to_contain_text(f"From date '{attempt}' is not a date")
        page.wait_for_timeout(500)
        assert toasts(page) == 0  # the status line says it; no toast repeats it
    assert captions(page) == before  # the results stay
    shot(page, "7-bad-date-said-once")
    set_box(page, "From (YYYY-MM-DD)", "")


def test_a_text_file_named_png_gets_one_clear_message(app, page, tmp_path, caplog, capfd):
    from playwright.sync_api import expect

    search_for(page, "an orange triangle")
    before = captions(page)
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    with caplog.at_level(logging.WARNING):
        page.locator("#query-image input[type=file]").set_input_files(str(fake))
        expect(page.locator("#status")).to_contain_text("is not a picture clipsearch can read")
    expect(page.locator("#query-image")).to_contain_text("Drop Image Here")  # the bad file is gone
    assert toasts(page) == 0
    expect(page.locator("#results .error")).to_have_count(0)  # no red Error badge over the results
    assert captions(page) == before
    shot(page, "8-not-a-picture")
    logged = [r.getMessage() for r in caplog.records if "upload" in r.getMessage()]
    assert logged == ["refused an uploaded query file: not an image"]
    assert "Traceback" not in capfd.readouterr().err
    search_for(page, "a white star")  # and searching goes on
    assert captions(page)


def test_a_very_long_query_is_not_echoed_in_full(page):
    long_query = " ".join(["a red circle"] * 170)[:2000]
    box = page.locator("#query textarea, #query input").first
    box.fill(long_query)
    box.press("Enter")
    expect_status(page, "(2,000 characters)")
    text = page.locator("#status").inner_text()
    assert len(text) < 200, text
    assert page.locator("#status").bounding_box()["height"] < 80
    shot(page, "9-long-query")


def test_save_without_a_name_asks_for_one_in_plain_words(page):
    """Save pressed before a name was typed said "a saved search's name has 1 to 80 characters,
    not 0", the length check's words; it now asks for a name, and nothing is saved."""
    from playwright.sync_api import expect

    search_for(page, "a red circle")
    page.locator("#saved-panel").get_by_text("Saved searches", exact=True).click()
    page.locator("#save-search").click()
    toast = page.locator(".toast-body").filter(has_text="Type a name for the search first")
    expect(toast).to_have_count(1)
    assert "characters" not in toast.inner_text()
    page.locator("#saved-choice input").click()
    expect(page.locator("ul[role=listbox] li")).to_have_count(0)  # nothing saved
    shot(page, "10-save-without-a-name")
    toast.locator(".toast-close").click()
    expect(toast).to_have_count(0)
