"""The page on a phone (390 x 844 CSS px, touch, device scale 3), in a real Chromium, as a person
would use it there: a finger, one column, the results a screen and a half below the search box."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from clipsearch.demo import make_sample_library
from testsupport.browser import TIMEOUT, served_library

from .test_browser import BROWSER_MARKS, expect_status

pytestmark = BROWSER_MARKS
LONG_NAME = "IMG-20231014-WA0012_forwarded_from_the_family_group_chat_holiday"
# Open similar's status line for a photo and its one copy: "NAME and 1 near-duplicate", to its end
ONE_COPY = re.compile(r" and 1 near-duplicate\s*$")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a 60-picture sample library, served in-process."""
    root = tmp_path_factory.mktemp("phone")
    library = root / "photos"
    make_sample_library(library, n=60, seed=0)
    first = sorted(library.rglob("*.jpg"))[0]
    with Image.open(first) as picture:  # two copies, named as a messenger names them
        for scale in (0.8, 0.6):
            picture.convert("RGB").resize((int(picture.width * scale), int(picture.height * scale))).save(
                library / f"{LONG_NAME}-{int(scale * 10)}.jpg", quality=85)
    with served_library(root) as app:
        app["copied"] = str(first)
        yield app


@pytest.fixture(autouse=True)
def same_upload_folder(app, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))


@pytest.fixture(scope="module")
def phone(app):
    from testsupport.browser import chromium

    with chromium() as browser:
        page = browser.new_context(**PHONE).new_page()
        try:
            page.set_default_timeout(TIMEOUT)
            yield page
        finally:
            page.context.close()


def open_fresh(page, url: str) -> None:
    page.goto(url)
    page.locator("#query textarea, #query input").first.wait_for()
    page.locator("#results").wait_for(state="attached")


def test_a_search_out_of_sight_brings_its_results_into_sight(app, phone):
    """Enter at the top of the page searched, and the results came a screen and a half below, out of
    sight; Find similar, tapped under them, changed them out of sight above. Now the page scrolls
    to the results when their search starts, and a re-filter (the cut-off ticked) never moves it."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    results = phone.locator("#results")
    expect(results).not_to_be_in_viewport()
    box = phone.locator("#query textarea, #query input").first
    box.fill("a red circle")
    box.press("Enter")
    expect_status(phone, "“a red circle”")
    expect(results).to_be_in_viewport(timeout=TIMEOUT)
    said = phone.locator("#status-said")  # what the search said, a screen and a half above: its copy in sight
    expect(said).to_be_visible()
    assert said.text_content() == phone.locator("#status").text_content().strip() and "“a red circle”" in said.text_content()
    assert said.get_attribute("aria-hidden") == "true"  # screen readers hear the status line itself
    phone.locator("#results .thumbnail-item").first.tap()
    expect(phone.locator("#details")).to_contain_text("Path")
    expect(phone.locator("#find-similar")).to_be_in_viewport(timeout=TIMEOUT)  # the preview under the results
    expect(results).not_to_be_in_viewport()
    phone.locator("#find-similar").tap()
    expect_status(phone, "photos like")
    expect(results).to_be_in_viewport(timeout=TIMEOUT)

    phone.evaluate("window.scrollTo(0, 0)")
    expect(said).to_be_hidden()  # the status line itself in sight
    strong = phone.locator("#strong-only input[type=checkbox]")
    strong.tap()  # the results filtered again, out of sight: the page stays where the finger is
    expect(phone.locator("#status")).not_to_contain_text("strong match", timeout=TIMEOUT)
    phone.wait_for_timeout(1000)  # a scroll would have begun by now
    assert phone.evaluate("window.scrollY") == 0
    strong.tap()
    expect_status(phone, "strong match")


def test_every_topic_and_its_whole_name_show_on_a_phone(app, phone):
    """The Topics panel kept six columns of Gradio's 100 px at least: on a phone the third cover ran
    past the panel's edge and the fourth on lay out of sight, and each name was cut to one line
    ("a black tri…"). The covers now wrap into the columns that fit, and a name wraps, as the
    results' captions do."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    phone.locator("#topics-panel").get_by_text("Topics: what your photos show").tap()
    covers = phone.locator("#topics .thumbnail-item")
    covers.first.wait_for()
    grid = phone.locator("#topics .grid-container").first
    assert grid.evaluate("el => el.scrollWidth <= el.clientWidth")
    frame = grid.bounding_box()
    for index in range(covers.count()):
        box = covers.nth(index).bounding_box()
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, (index, box, frame)
    names = phone.locator("#topics .caption-label")
    for index in range(names.count()):
        assert names.nth(index).evaluate("el => el.scrollWidth <= el.clientWidth"), names.nth(index).inner_text()
    covers.nth(covers.count() - 1).tap()  # the last topic, which lay out of sight
    expect(phone.locator("#status")).to_contain_text("topic “", timeout=TIMEOUT)


def test_a_long_file_name_wraps_in_its_duplicate_card(app, phone):
    """A copy's name with no space in it (a messenger's) ran out of its card in the Duplicates
    panel: over the next card on a wide screen, past the screen's edge on a phone. It wraps."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    phone.locator("#duplicates-panel").get_by_text("Duplicates", exact=True).tap()
    phone.locator("#find-duplicates").tap()
    expect(phone.locator("#duplicates-status")).to_contain_text("1 group, 3 photos", timeout=TIMEOUT)
    cards = phone.locator("#duplicate-groups figure")
    expect(cards).to_have_count(3)
    assert any(LONG_NAME in text for text in cards.all_inner_texts())
    for index in range(3):
        card, name = cards.nth(index), cards.nth(index).locator("figcaption b")
        frame, text = card.bounding_box(), name.bounding_box()
        assert name.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), name.inner_text()
        assert text["x"] + text["width"] <= frame["x"] + frame["width"] + 1, (name.inner_text(), text, frame)
        assert frame["x"] + frame["width"] <= 390, frame


def half_shown_lines(page, selector: str) -> list[str]:
    """The captions under ``selector`` whose text shows a line only in part: a caption clamped to its
    lines cut the next one at its padding, where the tops of its letters still showed."""
    return page.locator(selector).evaluate_all("""els => els.filter(el => {
      const style = getComputedStyle(el), box = el.getBoundingClientRect();
      const edge = box.bottom - parseFloat(style.borderBottomWidth);  // overflow clips at the padding box
      const range = document.createRange();
      range.selectNodeContents(el);
      return [...range.getClientRects()].some(line => line.top < edge - 2 && line.bottom > edge + 2);  // 2 px: a line's box is a little taller than the line
    }).map(el => el.textContent)""")


def test_a_caption_cut_to_its_lines_shows_no_part_of_the_next(app, phone):
    """A long name ends in "…" after three lines; the fourth showed the tops of its letters under
    them, in the caption's padding."""
    from urllib.parse import urlencode

    open_fresh(phone, app["url"] + "?" + urlencode({"similar": app["copied"]}))  # its copies first
    expect_status(phone, "photos like")
    captions = phone.locator("#results .caption-label")
    captions.first.wait_for()
    assert LONG_NAME in captions.first.text_content()
    assert captions.first.evaluate("el => el.scrollHeight > el.clientHeight")  # cut to its lines
    assert half_shown_lines(phone, "#results .caption-label") == []
    phone.locator("#topics-panel").get_by_text("Topics: what your photos show").tap()
    phone.locator("#topics .caption-label").first.wait_for()
    assert half_shown_lines(phone, "#topics .caption-label") == []



def test_the_folded_copies_marker_shows_whatever_the_name(app, phone):
    """"(+1 similar)" ended the caption, after the name and the date: with a phone's name
    (IMG-20231014-WA0012...) the caption ran past its three lines and the marker was cut away
    with the rest, so nothing said that copies were folded under the photo. It now follows the score."""
    from urllib.parse import urlencode

    open_fresh(phone, app["url"] + "?" + urlencode({"similar": app["copied"]}))  # its copies first, folded
    expect_status(phone, "photos like")
    first = phone.locator("#results .caption-label").first
    first.wait_for()
    assert LONG_NAME in first.text_content() and "(+1 similar)" in first.text_content()
    assert shows_whole(first, "(+1 similar)"), first.text_content()


def shows_whole(caption, marker: str) -> bool:
    """Whether ``marker`` in a caption cut to its lines shows whole, above the cut."""
    return caption.evaluate("""(el, marker) => {
      const text = el.firstChild, at = text.textContent.indexOf(marker);
      if (at < 0) return false;
      const range = document.createRange();
      range.setStart(text, at);
      range.setEnd(text, at + marker.length);
      const edge = el.getBoundingClientRect().bottom - parseFloat(getComputedStyle(el).borderBottomWidth);
      return [...range.getClientRects()].every(part => part.bottom <= edge + 2);
    }""", marker)


def test_the_not_on_disk_marker_shows_whatever_the_name(app, phone):
    """"not on disk now" (a disk not mounted keeps its photos in the index) ended the caption: with a
    phone's name the caption ran past its three lines and the marker was cut away. It now follows
    the score, as the folded copies' marker does."""
    from urllib.parse import urlencode

    library, away = app["root"] / "photos", app["root"] / "unplugged"
    away.mkdir(exist_ok=True)
    moved = sorted(library.glob(f"{LONG_NAME}-*.jpg"))
    for path in moved:
        path.rename(away / path.name)
    try:
        open_fresh(phone, app["url"] + "?" + urlencode({"similar": app["copied"]}))
        expect_status(phone, "photos like")
        first = phone.locator("#results .caption-label").first
        first.wait_for()
        assert LONG_NAME in first.text_content() and "not on disk now" in first.text_content()
        assert first.evaluate("el => el.scrollHeight > el.clientHeight")  # cut to its lines
        assert shows_whole(first, "not on disk now"), first.text_content()
        assert shows_whole(first, "(+1 similar)"), first.text_content()
    finally:
        for path in moved:
            (away / path.name).rename(path)


def test_a_warning_out_of_sight_is_brought_into_sight(app, phone):
    """On a phone the status line is at the top: a date typed wrong under it, or Find similar tapped
    under the results with none chosen, was said there, out of sight, and the tap seemed to do
    nothing. The page now scrolls to what the status line says then."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    status = phone.locator("#status")
    phone.locator("#find-similar").scroll_into_view_if_needed()
    expect(status).not_to_be_in_viewport()
    phone.locator("#find-similar").tap()  # no result chosen
    expect(status).to_contain_text("Click a result first", timeout=TIMEOUT)
    expect(status).to_be_in_viewport(timeout=TIMEOUT)

    box = phone.locator("#query textarea, #query input").first
    box.fill("a red circle")
    box.press("Enter")
    expect_status(phone, "“a red circle”")
    since = phone.get_by_label("From (YYYY-MM-DD)")
    since.scroll_into_view_if_needed()
    phone.evaluate("window.scrollBy(0, 200)")  # the date box low on the screen, the status line above it
    expect(status).not_to_be_in_viewport()
    since.fill("not a date")
    since.press("Enter")
    expect(status).to_contain_text("is not a date", timeout=TIMEOUT)
    expect(status).to_be_in_viewport(timeout=TIMEOUT)
    since.fill("")  # put right: the search again, and the warning gone (it stayed, over results it no longer spoke of)
    since.press("Enter")
    expect_status(phone, "“a red circle”")


def test_the_photo_buttons_are_big_enough_for_a_finger(app, phone, tmp_path):
    """The drop zone's Remove and Fullscreen, its Upload and Paste, and the preview's Fullscreen were
    18 to 22 px: on a phone a finger missed them, or hit the photo under them and drew a box."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    phone.locator("#query-image input[type=file]").set_input_files(app["copied"])
    expect_status(phone, "the dropped photo")
    phone.locator("#query-image img").wait_for()
    phone.locator("#results .thumbnail-item").first.tap()
    phone.locator("#preview img").wait_for()
    buttons = phone.locator("#query-image button:visible, #preview button:visible")
    sizes = {b.get_attribute("aria-label"): b.bounding_box() for b in buttons.all()}
    assert {"Remove Image", "Fullscreen", "Upload file", "Paste from clipboard"} <= set(sizes), sizes
    small = {name: (box["width"], box["height"]) for name, box in sizes.items() if min(box["width"], box["height"]) < 44}
    assert small == {}, small
    phone.locator("#query-image button[aria-label='Remove Image']").tap()
    expect(phone.locator("#query-image img")).to_have_count(0)


TARGETS = {  # what a finger taps on the page, beyond the photos' buttons above
    "a panel's header": ".label-wrap", "a button": "button.lg, button.md, button.sm", "Open similar": "#open-similar",
    "a slider": "input[type=range]", "a slider's number": "input[type=number]", "a slider's reset": ".reset-button",
    "a tick box": "#strong-only label", "a choice": "label:has(> input[type=radio])",
    "a text field": "textarea, input[type=text]",
}


def test_every_control_is_big_enough_for_a_finger(app, phone):
    """The panels' headers (Saved searches, Topics, Index, Duplicates) were 20 px tall, "Open
    similar" and "Search with this photo" 26 px, the sliders 8 px (their number boxes and reset
    buttons 22): a finger missed them, or opened the panel under the slider it meant. Where the
    pointer is a finger each is 44 px tall at least, as the photo buttons are; a mouse keeps Gradio's."""
    from testsupport.browser import VIEWPORT

    def sizes(page) -> dict[str, list[tuple[int, int]]]:
        return {name: [(round(box["width"]), round(box["height"])) for box in
                       (el.bounding_box() for el in page.locator(selector).all() if el.is_visible())]
                for name, selector in TARGETS.items()}

    open_fresh(phone, app["url"] + "?q=a+red+circle")
    expect_status(phone, "“a red circle”")
    phone.locator("#results .thumbnail-item").first.tap()
    phone.locator("#details").get_by_text("Path").wait_for()
    found = sizes(phone)
    assert all(found.values()) and len(found["a panel's header"]) >= 4 and len(found["a slider"]) == 2, found
    small = {name: boxes for name, boxes in found.items() if any(height < 44 for _, height in boxes)}
    assert small == {}, small
    assert all(width >= 44 for width, _ in found["a slider's reset"]), found["a slider's reset"]

    desktop = phone.context.browser.new_context(viewport=VIEWPORT).new_page()
    try:
        open_fresh(desktop, app["url"] + "?q=a+red+circle")
        expect_status(desktop, "“a red circle”")
        assert desktop.locator("#open-similar").bounding_box()["height"] < 44  # a mouse: Gradio's own
    finally:
        desktop.context.close()


def test_the_folder_list_has_a_row_of_its_own_on_a_phone(app, phone):
    """The folder list shared its row with the two dates: 106 px for a path, the folder chosen cut to
    "/home/me/Pic" under the list's arrow. On a phone the list has a row of its own, as wide as the
    two dates below it, and the dates share the next."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    folder = str(app["library"])
    open_fresh(phone, app["url"] + "?" + urlencode({"q": "a red circle", "folder": folder}))
    expect_status(phone, "“a red circle”")
    chosen = phone.get_by_role("combobox", name="Folder")
    expect(chosen).to_have_value(folder)  # the address's boxes are filled just after its answer shows
    shown = phone.locator("#folder").bounding_box()
    since = phone.get_by_label("From (YYYY-MM-DD)").bounding_box()
    until = phone.get_by_label("To (YYYY-MM-DD)").bounding_box()
    assert shown["y"] + shown["height"] <= since["y"], (shown, since)
    assert since["y"] == until["y"], (since, until)
    assert shown["x"] <= since["x"] and until["x"] + until["width"] <= shown["x"] + shown["width"], (
        shown, since, until)


def test_a_saved_search_chosen_shows_its_whole_name_on_a_phone(app, phone):
    """The saved searches' list shared its row with Forget it: 104 px for a name, "Red circles in the
    summer" shown as "Red circles in the s" under the list's arrow. On a phone it has a row of its
    own, as has the name to save one as."""
    from playwright.sync_api import expect

    open_fresh(phone, app["url"] + "?q=a+red+circle")
    expect_status(phone, "“a red circle”")
    phone.locator("#saved-panel").get_by_text("Saved searches").tap()
    phone.locator("#saved-name input, #saved-name textarea").first.fill("Red circles in the summer")
    phone.locator("#save-search").tap()
    chosen = phone.get_by_role("combobox", name="Open a saved search")
    expect(chosen).to_have_value("Red circles in the summer", timeout=TIMEOUT)
    try:
        assert chosen.evaluate("el => el.scrollWidth <= el.clientWidth"), chosen.evaluate(
            "el => [el.scrollWidth, el.clientWidth]")
    finally:
        phone.get_by_role("button", name="Forget it").tap()
        expect(chosen).to_have_value("", timeout=TIMEOUT)


def test_a_date_that_is_no_date_stays_out_of_the_address(app, phone):
    """A date typed wrong was refused, the results before kept, but it went into the address
    (``since=not+a+date``): a reload, or the link sent, then opened on that warning instead of the
    search shown. The address now changes only with the results."""
    from urllib.parse import parse_qs, urlparse

    from playwright.sync_api import expect

    open_fresh(phone, app["url"])
    box = phone.locator("#query textarea, #query input").first
    box.fill("a red circle")
    box.press("Enter")
    expect_status(phone, "“a red circle”")
    expect(phone).to_have_url(app["url"] + "?q=a+red+circle", timeout=TIMEOUT)
    since = phone.get_by_label("From (YYYY-MM-DD)")
    since.fill("not a date")
    since.press("Enter")
    expect(phone.locator("#status")).to_contain_text("is not a date", timeout=TIMEOUT)
    phone.wait_for_timeout(1000)  # the address follows the search's answer: it would have changed by now
    assert parse_qs(urlparse(phone.url).query) == {"q": ["a red circle"]}, phone.url
    phone.reload()
    expect_status(phone, "“a red circle”")
    expect(phone.locator("#status")).not_to_contain_text("is not a date")


def test_the_results_grow_with_the_page(app, phone):
    """The results were a box 640 px tall with a scroll bar of its own: on a phone a scroll area
    inside the scrolling page, hard to move with a thumb, and one row of results sat in a box mostly
    empty. There the box is now as tall as its results (a wide screen's, with a mouse, stays 640 px)."""
    from playwright.sync_api import expect

    from testsupport.browser import VIEWPORT

    def boxes(page) -> dict:
        return page.evaluate("""() => {
          const block = document.getElementById("results"), wrap = block.querySelector(".grid-wrap");
          const grid = block.querySelector(".grid-container");
          return {block: block.getBoundingClientRect().height, grid: grid.getBoundingClientRect().height,
                  scrolls: wrap.scrollHeight > wrap.clientHeight + 1};
        }""")

    open_fresh(phone, app["url"] + "?q=a+red+circle")
    expect_status(phone, "“a red circle”")
    expect(phone.locator("#results .thumbnail-item").first).to_be_visible(timeout=TIMEOUT)
    few = boxes(phone)
    assert few["grid"] < 640 and few["block"] < few["grid"] + 100, few  # sized to its results
    phone.locator("#strong-only input[type=checkbox]").tap()  # all 40 (less the copies folded): taller than 640 px
    expect(phone.locator("#status")).not_to_contain_text("strong match", timeout=TIMEOUT)
    expect(phone.locator("#results .thumbnail-item").nth(30)).to_be_attached(timeout=TIMEOUT)
    many = boxes(phone)
    assert many["grid"] > 640 and not many["scrolls"] and many["block"] >= many["grid"], many

    desktop = phone.context.browser.new_context(viewport=VIEWPORT).new_page()
    try:
        open_fresh(desktop, app["url"] + "?q=a+red+circle")
        expect_status(desktop, "“a red circle”")
        desktop.locator("#results .thumbnail-item").first.wait_for()
        assert round(boxes(desktop)["block"]) == 640, boxes(desktop)
    finally:
        desktop.context.close()


def test_open_similar_goes_in_the_address(app, phone):
    """Open similar showed the copies folded under a result but left the address as it was: a
    reload, or the link sent, showed the search before. The address now names the photo opened
    (``open=PATH``, beside the search), and a re-filter, which folds the copies again, drops it."""
    from urllib.parse import parse_qs, urlencode, urlparse

    from playwright.sync_api import expect

    open_fresh(phone, app["url"] + "?" + urlencode({"similar": app["copied"]}))
    expect_status(phone, "photos like")
    phone.locator("#results .thumbnail-item").first.tap()
    expect(phone.locator("#details")).to_contain_text("Open similar")
    phone.locator("#open-similar").tap()
    expect(phone.locator("#status")).to_have_text(ONE_COPY, timeout=TIMEOUT)
    opened = phone.locator("#results .caption-label").all_inner_texts()
    expect(phone).to_have_url(re.compile(r"[?&]open="), timeout=TIMEOUT)
    asked = parse_qs(urlparse(phone.url).query)
    assert asked["similar"] == [app["copied"]] and LONG_NAME in asked["open"][0], asked

    phone.reload()
    expect(phone.locator("#status")).to_have_text(ONE_COPY, timeout=TIMEOUT)
    assert phone.locator("#results .caption-label").all_inner_texts() == opened

    phone.locator("#strong-only input[type=checkbox]").tap()  # the results again, the copies folded
    expect(phone.locator("#status")).not_to_contain_text("near-duplicate", timeout=TIMEOUT)
    expect(phone).not_to_have_url(re.compile(r"[?&]open="), timeout=TIMEOUT)
    assert parse_qs(urlparse(phone.url).query)["similar"] == [app["copied"]]


@pytest.mark.parametrize(("region", "said"), [("the top left", "not a region"),
                                              ("5000,5000,6000,6000", "reaches past the picture")])
def test_a_region_typed_wrong_into_the_address_is_said_once(app, phone, region, said):
    """``?indexed=PATH&region=...`` with a region that is none (typed by hand, cut short in a
    message) was said in the status line, and then kept in the drop zone's hidden box: every
    search after it, Enter, a date, was refused for it again until the photo was removed. It is
    said once and forgotten: the next search is of the whole photo. So is one that reads as a
    region but lies past the photo, which the page could not draw either."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    open_fresh(phone, app["url"] + "?" + urlencode({"indexed": app["copied"], "region": region}))
    expect_status(phone, said)
    phone.locator("#query-image img").wait_for()  # the photo is back in the drop zone
    box = phone.locator("#query textarea, #query input").first
    box.fill("+ a red circle")
    box.press("Enter")
    status = phone.locator("#status")
    expect(status).not_to_contain_text(said, timeout=TIMEOUT)
    expect(status).to_contain_text("a red circle", timeout=TIMEOUT)
    phone.locator("#results .thumbnail-item").first.wait_for()
