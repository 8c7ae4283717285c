"""The newest search asked is the one the page shows, in a real Chromium, when answers come late.

A change of folder or dates runs the last search again (``Page.rerun``). That re-run, still on
its way when a new query was searched, answered after it and put the older query's results back
(seen once in a browser under load); and a re-run asked while a search was on its way ran the
search before that one again; and a file that was no picture, its answer late, emptied the drop
zone of the photo dropped over it meanwhile; and the search of the address the page was opened at,
late, put its date in the From box beside the results of a search asked since. Here the server's steps are held until the test lets
them answer, so the late answer comes when the test says (``webui.turns`` is what keeps them in
order; ``app.EMPTY_IF_UNREADABLE`` empties the zone of the unreadable file only).
"""

from __future__ import annotations

import random
import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from clipsearch.demo import Scene, SceneObject, make_sample_library, render_scene
from testsupport.browser import served_library

from .test_browser import BROWSER_MARKS, TIMEOUT, expect_status, ground_truth, result_names, search_for
from .test_drop_zone_browser import HeldSteps

pytestmark = BROWSER_MARKS
SINCE = "From (YYYY-MM-DD)"
UNTIL = "To (YYYY-MM-DD)"
QUERY = "#query textarea, #query input"
# The newer search waits its turn behind the step asked before it (the page's queue of turns holds
# two: that step's and its own); or (LANDED_OR_WAITING) its answer is on the page already.
WAITING = "() => (window.clipsearchTurns ? window.clipsearchTurns.ends.length : 0) >= 2"
LANDED_OR_WAITING = f"(words) => document.querySelector('#status').innerText.includes(words) || ({WAITING})()"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo model over a sample library (EXIF dates 2016-2024); ``app["rerun"]``, ``app["search"]``
    hold the re-run and the search when told, and ``app["told"]`` and ``app["address"]`` the step of
    a re-run's chain, and of a search's, that comes after its answer is on the page (the address
    written, ``Page.similar_address``, ``Page.query_address``)."""
    from webui.page import Page

    root = tmp_path_factory.mktemp("browser-search-order")
    make_sample_library(root / "photos", n=120, seed=0)
    held = {"rerun": HeldSteps(Page.rerun), "search": HeldSteps(Page.search), "told": HeldSteps(Page.similar_address),
            "address": HeldSteps(Page.query_address), "refilter": HeldSteps(Page.refilter)}
    with pytest.MonkeyPatch.context() as mp:  # before the app binds them
        for name, steps in (("rerun", held["rerun"]), ("search", held["search"]), ("similar_address", held["told"]),
                            ("query_address", held["address"]), ("refilter", held["refilter"])):
            mp.setattr(Page, name, lambda page, *args, steps=steps: steps(page, *args))
        with served_library(root) as app:
            app.update(held, truth=ground_truth(app["library"]))
            yield app


def ask(page, words: str) -> None:
    """Words typed in the search box and Enter, not waiting for the answer."""
    box = page.locator("#query textarea, #query input").first
    box.fill(words)
    box.press("Enter")


def set_since(page, day: str) -> None:
    """A date typed in the From box, which is then left: one re-run (Enter, then a click elsewhere,
    would ask two, and the second, late, would run into the next test)."""
    box = page.get_by_label(SINCE)
    box.fill(day)
    box.blur()


def first_is(app, page, colour: str, shape: str) -> bool:
    return (colour, shape) in app["truth"][result_names(page)[0]]


def a_red_circle(app) -> Path:
    """A photo of the library with a red circle in it."""
    return next(path for path in sorted(app["library"].rglob("*.jpg"))
                if ("red", "circle") in app["truth"].get(path.name, set()))


def test_a_search_asked_while_a_rerun_is_on_its_way_is_the_one_shown(app, page):
    """The dates changed (the last search, "a red circle", runs again) and, before that answer
    came, "a blue star" searched: the blue stars stay, whatever answers last, and the page
    remembers them as the last search (a change of sort keeps that query in the status line)."""
    search_for(page, "a red circle")
    with app["rerun"].held() as reruns, app["told"].held() as told:
        set_since(page, "2016-01-01")
        reruns.arrived(1)  # the re-run of "a red circle" on the server, not answered yet
        ask(page, "a blue star")
        page.wait_for_function(LANDED_OR_WAITING, arg="“a blue star”")
        reruns.answer(0)  # the re-run answers now, after the new search was asked
        told.arrived(1)  # and its answer is on the page
    expect_status(page, "“a blue star”")
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]
    page.get_by_label("date (newest first)").check()  # a re-sort of the results remembered: the blue stars'
    expect_status(page, "“a blue star”")
    page.get_by_label("relevance").check()


def test_a_filter_changed_just_before_a_search_does_not_put_the_older_results_back(app, page):
    """Strong matches only unticked (the results shown filtered again, ``Page.refilter``) and, before
    that answer came, "a blue star" searched: the red circles, filtered again, answered after the
    blue stars and were put back over them (seen in a browser test under load). The filter now takes
    its turn: the red circles filtered, then the blue stars searched, shown last."""
    search_for(page, "a red circle")
    with app["refilter"].held() as refilters:
        page.locator("#strong-only input").uncheck()
        refilters.arrived(1)  # the red circles' refilter on the server, not answered yet
        ask(page, "a blue star")
        page.wait_for_function(LANDED_OR_WAITING, arg="“a blue star”")
        refilters.answer(0)  # it answers now, after the new search was asked
        page.wait_for_timeout(1500)  # its answer, on the server already, is on the page by now
    expect_status(page, "“a blue star”")
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]
    page.locator("#strong-only input").check()
    expect_status(page, "“a blue star”")


def test_a_rerun_asked_while_a_search_is_on_its_way_reruns_that_search(app, page):
    """Find similar, then "a blue star" searched and, before that answer came, the dates changed:
    the re-run is of "a blue star", not of the Find similar before it."""
    from playwright.sync_api import expect

    search_for(page, "a red circle")
    page.locator("#results .thumbnail-item").first.click()
    expect(page.locator("#preview img")).to_have_count(1)
    page.locator("#find-similar").click()
    expect_status(page, "photos like")
    page.wait_for_url(re.compile(r"[?&]similar="))  # its chain done: the address written
    with app["rerun"].held() as reruns, app["told"].held() as told:
        with app["search"].held() as searches:
            ask(page, "a blue star")
            searches.arrived(1)  # the search on the server, not answered yet
            set_since(page, "2016-01-02")
            searches.answer(0)  # the search answers after the dates changed
        expect_status(page, "“a blue star”")
        reruns.arrived(1)
        reruns.answer(0)
        told.arrived(1)  # the re-run's answer is on the page
    status = page.locator("#status").inner_text()
    assert "“a blue star”" in status and "photos like" not in status, status
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]


def test_words_searched_while_a_search_is_on_its_way_are_searched_after_it(app, page):
    """"a red circle" searched and, before it answered, "a blue star": the blue stars are searched
    too, after it, and shown (the newer search was dropped, its words left beside the red circles)."""
    with app["search"].held() as searches:
        ask(page, "a red circle")
        searches.arrived(1)  # on the server, not answered yet
        ask(page, "a blue star")
        page.wait_for_function(WAITING)
        searches.answer(0)
        searches.arrived(2)  # the blue star's search asked, once the red circle's answered
    expect_status(page, "“a blue star”")
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]


def test_how_many_changed_while_a_search_is_on_its_way_runs_that_search_again_with_the_new_count(app, page):
    """How many set to 5 while "a red circle" was on its way (How many changed nothing until the
    next search): that search runs again, in its turn, after it answered, and 5 results show."""
    from playwright.sync_api import expect

    from .test_browser import set_strong_only

    set_strong_only(page, False)  # every result, up to How many
    with app["search"].held() as searches:
        ask(page, "a red circle")
        searches.arrived(1)  # on the server, not answered yet
        page.locator("input[type=number]").first.fill("5")  # How many
        page.wait_for_function(WAITING)  # the re-run waits for the search to answer
        searches.answer(0)
        searches.arrived(2)  # then runs it again (``Page.rerun`` calls ``Page.search``)
    expect(page.locator("#results .thumbnail-item")).to_have_count(5, timeout=TIMEOUT)
    expect_status(page, "“a red circle”")
    assert first_is(app, page, "red", "circle"), result_names(page)[:3]


@contextmanager
def blue_stars_searched_before_the_address_answered(app, address: str, asking=lambda page: ask(page, "a blue star")):
    """The page opened at ``address`` (a search in it, held) and, before that search answered,
    "a blue star" searched (``asking``: Enter, unless told): it waits its turn behind the address's
    search, and is the one shown, with its words in the box and in the address. Yields the page,
    both searches answered."""
    from testsupport.browser import open_page

    with app["search"].held() as searches, open_page(f"{app['url']}?{address}") as page:
        searches.arrived(1)  # the address's search on the server, not answered yet
        asking(page)
        page.wait_for_function(WAITING)  # the newer search waits for it
        searches.answer(0)
        searches.arrived(2)
        searches.answer(1)
        expect_status(page, "“a blue star”")
        assert first_is(app, page, "blue", "star"), result_names(page)[:3]
        assert page.locator(QUERY).first.input_value() == "a blue star"
        page.wait_for_function("() => new URL(location.href).searchParams.get('q') === 'a blue star'")
        yield page


def test_a_search_asked_while_the_address_s_search_is_on_its_way_is_the_one_shown(app):
    """The page opened at an address with a search in it (``/?q=a+red+circle``) and, before that
    search answered, "a blue star" searched: it waits its turn behind the address's search (they
    were two searches in flight at once, the later answer shown), and the blue stars stay, with
    their words in the box and in the address (the address's answer put its words over them)."""
    with blue_stars_searched_before_the_address_answered(app, "q=a+red+circle"):
        pass  # all said there


def test_a_late_not_a_picture_leaves_the_photo_dropped_since_in_the_drop_zone(app, page, tmp_path):
    """A file that is no picture dropped and, before its search said so, a photo dropped over it:
    the answer for the file ("not a picture") empties the drop zone of that file only, and the
    photo stays there, searched with."""
    from playwright.sync_api import expect

    fake, photo = tmp_path / "holiday.png", tmp_path / "blue-star.jpg"
    fake.write_text("this is not a picture")
    render_scene(Scene((SceneObject("blue", "star"),), "white"), 256, random.Random(5)).save(photo, quality=90)
    zone, picture = page.locator("#query-image input[type=file]"), page.locator("#query-image img")
    with app["search"].held() as searches, app["address"].held() as told:
        zone.set_input_files(str(fake))
        searches.arrived(1)  # its search on the server, not answered yet
        zone.set_input_files(str(photo))
        expect(picture).to_have_attribute("src", re.compile(f"/{re.escape(photo.name)}$"), timeout=TIMEOUT)
        page.wait_for_function(WAITING)  # the photo's search asked, waiting for the file's to answer
        searches.answer(0)  # "not a picture" comes now, after the photo was dropped
        told.arrived(1)  # that answer is on the page, and the step after it that empties the zone done
        assert picture.count() == 1 and picture.get_attribute("src").endswith(f"/{photo.name}")
    expect_status(page, "· the dropped photo ·")
    assert picture.get_attribute("src").endswith(f"/{photo.name}")
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]
    page.locator("#query-image button[aria-label='Remove Image']").click()


def test_a_topic_opened_while_a_rerun_is_on_its_way_is_the_one_shown(app, page):
    """The dates changed (the last search runs again) and, before that answer came, a topic
    opened: its photos stay."""
    search_for(page, "a red circle")
    page.locator("#topics-panel").get_by_text("Topics: what your photos show").click()
    page.locator("#topics img").first.wait_for()
    topic = app["engine"].topics()[0]
    with app["rerun"].held() as reruns, app["told"].held() as told:
        set_since(page, "2016-01-03")
        reruns.arrived(1)
        page.locator("#topics .thumbnail-item").first.click()
        page.wait_for_function(LANDED_OR_WAITING, arg=f"topic “{topic.name}”")
        reruns.answer(0)
        told.arrived(1)  # the answer of the re-run or of the topic on the page (each chain then writes the address,
        told.answer(0)  # one at a time: a step's calls queue on the server)
        told.arrived(2)  # and the other's
        expect_status(page, f"topic “{topic.name}”")
    assert result_names(page)[0] == Path(topic.paths[0]).name
    page.locator("#topics-panel").get_by_text("Topics: what your photos show").click()


def test_a_saved_search_opened_while_a_rerun_is_on_its_way_is_the_one_shown(app, page):
    """The dates changed (the last search runs again) and, before that answer came, a saved
    search opened: its results stay."""
    from clipsearch.saved import SavedSearch, SavedSearches

    SavedSearches(app["root"] / "index").save(SavedSearch("Blue stars", "a blue star"))
    search_for(page, "a red circle")
    with app["rerun"].held() as reruns, app["told"].held() as told:
        set_since(page, "2016-01-04")
        reruns.arrived(1)
        page.locator("#saved-panel").get_by_text("Saved searches").click()
        page.locator("#saved-choice input").click()
        page.get_by_role("option", name="Blue stars").click()
        page.wait_for_function(LANDED_OR_WAITING, arg="“a blue star”")
        reruns.answer(0)
        told.arrived(1)  # the re-run's answer is on the page
        expect_status(page, "“a blue star”")  # (another re-run, for the dates the saved search put back, held)
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]


def test_a_turn_whose_answer_was_lost_does_not_hold_the_page_s_searches_for_ever(app, page):
    """A step that took its turn and whose answer never came (the server gone mid-search: neither
    of its ends runs) is taken for lost once the next search has waited ``LOST_AFTER_MS`` (here
    1.5 s): that search, and the ones after it, are searched and shown; none waits again."""
    from webui.turns import TAKE_TURN

    search_for(page, "a red circle")
    page.evaluate("() => { window.clipsearchTurnWait = 1500; }")
    page.evaluate(f"({TAKE_TURN})()")  # a turn taken, never ended
    search_for(page, "a blue star")
    assert first_is(app, page, "blue", "star"), result_names(page)[:3]
    page.wait_for_function("() => window.clipsearchTurns.ends.length === 0")  # the lost turn forgotten
    page.evaluate("() => { window.clipsearchTurnWait = 600000; }")  # no search waits for a lost one again
    search_for(page, "a green square")
    assert first_is(app, page, "green", "square"), result_names(page)[:3]


@pytest.mark.parametrize("opened", ["saved", "q", "indexed"])
def test_a_search_asked_while_the_address_s_dated_search_is_on_its_way_keeps_its_own_boxes(app, opened):
    """The page opened at an address whose search has a date (``/?saved=NAME``, a bookmarked saved
    search from 2016; ``/?q=a+red+circle&since=2016-01-01``; ``/?indexed=PATH&since=2016-01-01``,
    a photo of the library) and, before that search answered, "a blue star" searched with no date
    and no photo: the blue stars stay, and so do the boxes they were searched with: the From box
    stays empty, the drop zone too, and the address has no ``since`` (the address's answer put its
    date in the From box, where nothing was typed, and its photo in the drop zone, beside results
    searched with neither, and the blue stars' address took that date)."""
    from clipsearch.saved import SavedSearch, SavedSearches

    saved, name = SavedSearches(app["root"] / "index"), "Red circles lately"
    address = {"saved": "saved=Red+circles+lately", "q": "q=a+red+circle&since=2016-01-01",
               "indexed": f"indexed={quote(str(a_red_circle(app)))}&since=2016-01-01"}[opened]
    if opened == "saved":
        saved.save(SavedSearch(name, "a red circle", since="2016-01-01"))
    try:
        with blue_stars_searched_before_the_address_answered(app, address) as page:
            kept = {"From": page.get_by_label(SINCE).input_value(), "photos": page.locator("#query-image img").count(),
                    "since": page.evaluate("() => new URL(location.href).searchParams.get('since')")}
            assert kept == {"From": "", "photos": 0, "since": None}
    finally:
        if opened == "saved":
            saved.remove(name)


def test_a_date_changed_by_hand_while_the_address_s_dated_search_is_on_its_way_keeps_the_boxes_as_asked(app):
    """The page opened at ``/?q=a+red+circle&since=2016-01-01`` and, before that search answered,
    "a blue star" typed and a To date typed, its box left: that re-run, of the words typed and the
    dates of the boxes, is a search the user asked as Enter is: it is the one shown, the From box
    stays empty and the address has its To date, not the address's From (which went in the From
    box and in the address beside results searched without it)."""
    def asking(page):
        page.locator(QUERY).first.fill("a blue star")
        box = page.get_by_label(UNTIL)
        box.fill("2030-12-31")
        box.blur()

    with blue_stars_searched_before_the_address_answered(app, "q=a+red+circle&since=2016-01-01", asking) as page:
        kept = {"From": page.get_by_label(SINCE).input_value(), "since": page.evaluate(
            "() => new URL(location.href).searchParams.get('since')")}
        assert kept == {"From": "", "since": None}
        page.wait_for_function("() => new URL(location.href).searchParams.get('until') === '2030-12-31'")


@pytest.mark.parametrize("opened", ["saved", "q"])
def test_words_only_typed_while_the_address_s_dated_search_is_on_its_way_stay_beside_its_date(app, opened):
    """The page opened at an address whose search has a date and, before that search answered,
    "a blue star" typed but not searched: the address's search is the one shown, the typed words
    stay in their box, and the address's date goes in the From box, where nothing was typed (a
    search asked is what keeps the boxes as they are, not words typed)."""
    from playwright.sync_api import expect

    from clipsearch.saved import SavedSearch, SavedSearches
    from testsupport.browser import open_page

    saved, name = SavedSearches(app["root"] / "index"), "Red circles lately"
    address = {"saved": "saved=Red+circles+lately", "q": "q=a+red+circle&since=2016-01-01"}[opened]
    if opened == "saved":
        saved.save(SavedSearch(name, "a red circle", since="2016-01-01"))
    try:
        with app["search"].held() as searches, open_page(f"{app['url']}?{address}") as page:
            searches.arrived(1)  # the address's search on the server, not answered yet
            page.locator(QUERY).first.fill("a blue star")
            searches.answer(0)
            expect_status(page, "“a red circle”")
            expect(page.get_by_label(SINCE)).to_have_value("2016-01-01", timeout=TIMEOUT)
            assert page.locator(QUERY).first.input_value() == "a blue star"
            assert first_is(app, page, "red", "circle"), result_names(page)[:3]
    finally:
        if opened == "saved":
            saved.remove(name)


def test_a_date_changed_with_no_words_while_the_address_s_search_is_on_its_way_lets_its_words_in(app):
    """The page opened at ``/?q=a+red+circle&since=2016-01-01`` and, before that search answered, a
    To date typed with the search box still empty, its box left: that re-run has nothing of its own
    to search (no words, no photo), so it is not a search of the user's that keeps the boxes as
    asked: the address's words and date go in their boxes, beside the To date typed (the boxes were
    left empty beside the address's results). The re-run, asked before those words were in their
    box, runs the address's search again with the To date, after it (it searched the empty box: a
    warning beside the address's results, the To date not applied; and, late, it reached the next
    test's held searches)."""
    from playwright.sync_api import expect

    from testsupport.browser import open_page

    with app["search"].held() as searches, open_page(f"{app['url']}?q=a+red+circle&since=2016-01-01") as page:
        searches.arrived(1)  # the address's search on the server, not answered yet
        box = page.get_by_label(UNTIL)
        box.fill("2030-12-31")
        box.blur()
        page.wait_for_function(WAITING)  # the re-run waits for it
        searches.answer(0)
        expect(page.locator(QUERY).first).to_have_value("a red circle", timeout=TIMEOUT)
        expect(page.get_by_label(SINCE)).to_have_value("2016-01-01", timeout=TIMEOUT)
        expect(page.get_by_label(UNTIL)).to_have_value("2030-12-31", timeout=TIMEOUT)
        assert first_is(app, page, "red", "circle"), result_names(page)[:3]
        searches.arrived(2)  # the re-run, in its turn
        rerun = searches.calls[1]["args"]  # Page.search's text, ..., date_from, date_to
        assert (rerun[0], rerun[6], rerun[7]) == ("a red circle", "2016-01-01", "2030-12-31"), rerun
        searches.answer(1)
        page.wait_for_function("() => new URL(location.href).searchParams.get('until') === '2030-12-31'")
        status = page.locator("#status").inner_text()
        assert "“a red circle”" in status and "⚠️" not in status, status
        assert first_is(app, page, "red", "circle"), result_names(page)[:3]


@pytest.mark.parametrize("opened", ["indexed", "saved"])
def test_a_photo_dropped_while_the_address_s_photo_search_is_on_its_way_stays_in_the_drop_zone(
        app, tmp_path, monkeypatch, opened):
    """The page opened at an address with a photo in it, a part of it boxed (``/?indexed=PATH&region=...``,
    a photo of the library; ``/?saved=NAME``, a saved search with its photo) and, before that search
    answered, a photo dropped: it stays in the drop zone, with no box on it, and its search, run
    after the address's, is the one shown (the address's photo and box went over it, and stayed
    there beside its results)."""
    from urllib.parse import urlencode

    from playwright.sync_api import expect

    from clipsearch.saved import SavedSearch, SavedSearches
    from testsupport.browser import open_page

    red = a_red_circle(app)
    photo = tmp_path / "blue-star.jpg"
    render_scene(Scene((SceneObject("blue", "star"),), "white"), 256, random.Random(5)).save(photo, quality=90)
    saved, name, part = SavedSearches(app["root"] / "index"), "Like that red circle", "0.1,0.1,0.6,0.6"
    if opened == "saved":
        saved.put(SavedSearch(name, "", region=part), str(red), red.name)
    address = urlencode({"saved": name} if opened == "saved" else {"indexed": str(red), "region": part})
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(app["gradio"]))  # the server's, for the upload (as ``page`` sets it)
    try:
        with app["search"].held() as searches, open_page(f"{app['url']}?{address}") as page:
            searches.arrived(1)  # the address's search on the server, not answered yet
            page.locator("#query-image input[type=file]").set_input_files(str(photo))
            page.wait_for_function(WAITING)  # the dropped photo's search waits for it
            searches.answer(0)
            searches.arrived(2)
            searches.answer(1)
            expect_status(page, "· the dropped photo ·")
            assert first_is(app, page, "blue", "star"), result_names(page)[:3]
            picture = page.locator("#query-image img")
            expect(picture).to_have_attribute("src", re.compile(f"/{re.escape(photo.name)}$"), timeout=TIMEOUT)
            expect(page.locator("#query-image .region-box")).to_be_hidden(timeout=TIMEOUT)
            page.wait_for_function("() => new URL(location.href).searchParams.get('photo') === 'blue-star.jpg'")
    finally:
        saved.remove(name)
