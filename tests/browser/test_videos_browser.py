"""Moments in videos, in a real Chromium: the Index panel's switch reads the videos; a search of
words then shows the "In videos" panel under the photos, one frame a video captioned with its time; a click shows the frame larger with its other
matching moments; a search no moment matches hides it; Find similar shows the moments like the photo."""

from __future__ import annotations

import random

import pytest

from clipsearch.demo import Scene, SceneObject, render_scene
from clipsearch.demo.clips import write_clip
from tests.browser.test_browser import BROWSER_MARKS, TIMEOUT, expect_status
from testsupport.browser import VIEWPORT, open_page, served_library

pytestmark = BROWSER_MARKS

BLUE_SQUARE = Scene((SceneObject("blue", "square"),), "white")
SHOTS = [Scene((SceneObject("red", "circle"),), "gray"), BLUE_SQUARE, Scene((SceneObject("yellow", "star"),), "black")]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Thirteen photos (one of a blue square) and one clip (a red circle, a blue square from 0:02, a
    yellow star from 0:04), indexed without reading videos."""
    root = tmp_path_factory.mktemp("browser-videos")
    library = root / "library"
    library.mkdir()
    rng = random.Random(5)
    for i in range(12):
        render_scene(Scene((SceneObject(("green", "orange", "purple")[i % 3], "triangle"),), "brown"), 224,
                     rng).save(library / f"photo{i}.jpg")
    render_scene(BLUE_SQUARE, 224, rng).save(library / "square.jpg")
    write_clip(library / "holiday.mp4", SHOTS, seconds_each=2.0, fps=10, size=160)
    with served_library(root, library) as app:  # videos not read: the test turns that on from the page
        yield app


@pytest.fixture(scope="module")
def page(app):
    with open_page(app["url"]) as page:
        yield page


def test_turn_videos_on_then_a_search_shows_the_moment_and_find_similar_the_moments_like_a_photo(app, page):
    from playwright.sync_api import expect

    panel = page.locator("#videos-panel")
    page.locator("#index-panel").get_by_text("Index", exact=True).click()
    expect(page.locator("#index-info")).to_contain_text("Videos: not read")
    toggle = page.locator("#videos-toggle input[type=checkbox]")
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(page.locator("#job-status")).to_contain_text("videos read: 1 (3 moments", timeout=TIMEOUT)
    expect(page.locator("#index-info")).to_contain_text("Videos: 1 read, 0:06 long in all, 3 moments")
    expect(panel).to_be_hidden()
    box = page.locator("#query textarea, #query input").first
    box.fill(BLUE_SQUARE.caption)
    box.press("Enter")
    expect_status(page, BLUE_SQUARE.caption)
    expect(panel).to_be_visible(timeout=TIMEOUT)
    expect(panel).to_contain_text("In videos · 1 with a matching moment")
    caption = page.locator("#moments .caption-label").first
    expect(caption).to_have_text("0:02 · holiday.mp4")  # the time first: a long name cut short never hides it
    page.set_viewport_size({"width": 1024, "height": VIEWPORT["height"]})  # a small laptop's window
    try:  # frames of 140 px at least (five columns were 112 px there), their captions two lines at most
        page.wait_for_function("() => document.querySelector('#moments .thumbnail-item')"
                               ".getBoundingClientRect().width >= 139", timeout=5000)
        assert caption.evaluate("c => getComputedStyle(c).webkitLineClamp") == "2"
    finally:
        page.set_viewport_size(VIEWPORT)
    frame = page.locator("#moments img").first
    frame.wait_for()
    assert frame.evaluate("img => img.naturalWidth") > 0  # a real frame, served
    frame.click()
    details = page.locator("#moment-details")
    expect(details).to_contain_text("holiday.mp4 at 0:02 of 0:06")
    expect(details).to_contain_text(f"Path: {app['library'] / 'holiday.mp4'}")  # as written, no markdown escapes
    expect(page.locator("#moment-preview img")).to_be_visible()
    page.screenshot(path=str(app["library"].parent / "videos.png"), full_page=True)

    box.fill("a green triangle")  # photos only: no moment matches
    box.press("Enter")
    expect_status(page, "a green triangle")
    expect(panel).to_be_hidden(timeout=TIMEOUT)

    box.fill(BLUE_SQUARE.caption)
    box.press("Enter")
    expect(panel).to_be_visible(timeout=TIMEOUT)
    page.locator("#results img").first.click()  # the photo: Find similar finds the moments like it too
    page.locator("#find-similar").click()
    expect_status(page, "photos like square.jpg")
    expect(page.locator("#moment-details")).to_contain_text("Click a moment")  # a new panel of moments
    expect(panel).to_be_visible(timeout=TIMEOUT)
    expect(page.locator("#moments .caption-label").first).to_have_text("0:02 · holiday.mp4")
