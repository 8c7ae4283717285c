"""A filter changed after a topic or Find similar is one step of the browser's history, in a real Chromium.

Another folder, a date or How many runs the last search again (``Page.rerun``), and the address is
written after it. For a topic or Find similar run again, it was written twice: first as if it were a
search of words (``Page.query_address``: no words, the new filter alone, ``/?folder=...``), then as
what it was (``Page.similar_address``: ``/?topic=...&folder=...``). Each write was a step of the
history, so Back went to the bare filter, an address no search was asked at (no results, an empty
status line), and only a second Back to the topic. Now the re-run's own kind says which one writes.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from clipsearch.demo import make_sample_library
from testsupport.browser import served_library

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status, result_names, search_for

pytestmark = BROWSER_MARKS
STEPS = "() => window.history.length"
SINCE = "From (YYYY-MM-DD)"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a sample library with folders (2019/summer, misc/deep/er, ...) and EXIF dates."""
    root = tmp_path_factory.mktemp("browser-history-filters")
    make_sample_library(root / "photos", n=60, seed=0)
    with served_library(root) as app:
        yield app


def asked(page) -> dict[str, str]:
    """The search the address says: its fields (``sort`` and Gradio's own aside)."""
    return {name: values[0] for name, values in parse_qs(urlparse(page.url).query).items()}


def type_folder(page, folder: str) -> None:
    """A folder typed in the Folder box (it takes any), and Enter."""
    box = page.get_by_role("combobox", name="Folder")
    box.fill(folder)
    box.press("Enter")


def type_since(page, day: str) -> None:
    box = page.get_by_label(SINCE)
    box.fill(day)
    box.press("Enter")


def test_a_folder_typed_after_a_topic_is_one_step_and_back_shows_the_topic(app, page):
    from playwright.sync_api import expect

    topic = app["engine"].topics()[0]
    page.locator("#topics-panel").get_by_text("Topics: what your photos show").click()
    page.locator("#topics img").first.wait_for()
    page.locator("#topics .thumbnail-item").first.click()
    expect_status(page, f"topic “{topic.name}”")
    page.wait_for_function("() => new URL(location.href).searchParams.has('topic')", timeout=TIMEOUT)
    at_topic, before = page.url, page.evaluate(STEPS)
    folder = str(app["library"] / "2019")
    type_folder(page, folder)
    expect_status(page, f"its photos in {folder}")
    expect(page).to_have_url(re.compile(r"topic=.*folder="), timeout=TIMEOUT)
    assert asked(page) == {"topic": topic.name, "folder": folder}
    assert page.evaluate(STEPS) == before + 1, "one folder typed made more than one step of the history"

    page.go_back()  # the topic, in all folders: the search before
    expect(page).to_have_url(at_topic, timeout=TIMEOUT)
    expect_status(page, f"topic “{topic.name}”")
    expect(page.locator("#status")).not_to_contain_text("its photos in")
    assert result_names(page)


def test_a_date_typed_after_find_similar_is_one_step_and_back_shows_those_photos(app, page):
    from playwright.sync_api import expect

    search_for(page, "a red circle")
    first = result_names(page)[0]
    page.locator("#results .thumbnail-item").first.click()
    page.locator("#find-similar").click()
    expect_status(page, f"photos like {first}")
    expect(page).to_have_url(re.compile(r"similar="), timeout=TIMEOUT)
    at_similar, before = page.url, page.evaluate(STEPS)
    path = asked(page)["similar"]
    type_since(page, "2019")
    expect(page).to_have_url(re.compile(r"similar=.*since=2019"), timeout=TIMEOUT)
    assert asked(page) == {"similar": path, "since": "2019"}
    assert page.evaluate(STEPS) == before + 1, "one date typed made more than one step of the history"

    page.go_back()  # Find similar in every date: the search before
    expect(page).to_have_url(at_similar, timeout=TIMEOUT)
    expect_status(page, f"photos like {first}")
    expect(page.get_by_label(SINCE)).to_have_value("")
    assert result_names(page)


def test_a_date_typed_after_words_is_still_one_step_with_the_words(app, page):
    """The words' re-run writes its address as before: the words and the date, one step."""
    from playwright.sync_api import expect

    search_for(page, "a blue square")
    expect(page).to_have_url(re.compile(r"q=a\+blue\+square"), timeout=TIMEOUT)
    at_words, before = page.url, page.evaluate(STEPS)
    type_since(page, "2019")
    expect(page).to_have_url(re.compile(r"since=2019"), timeout=TIMEOUT)
    assert asked(page) == {"q": "a blue square", "since": "2019"}
    assert page.evaluate(STEPS) == before + 1

    page.go_back()
    expect(page).to_have_url(at_words, timeout=TIMEOUT)
    expect_status(page, "“a blue square”")
