"""The drop zone in a real Chromium when the upload's last step answers late (a busy machine, a
slow phone): that step (``Page.stand_in``) gives the zone the picture to show, a JPEG where the
browser cannot draw the upload. Its answer for a photo replaced meanwhile, or removed and then
replaced, put the old photo back over the new one (or emptied the zone): the box drawn next was
drawn on the wrong picture, or on none, and searched with it. Here that step is held on the server
until the test lets it go, so the late answer comes when the test says."""

from __future__ import annotations

import random
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from clipsearch.demo import Scene, SceneObject, render_scene
from testsupport.browser import served_library

from .test_browser import BROWSER_MARKS, TIMEOUT, drag_over, expect_status, halves, result_names

pytestmark = BROWSER_MARKS
SHOTS = [("blue", "star"), ("green", "square"), ("red", "circle"), ("yellow", "triangle"), ("purple", "cross")]


class HeldSteps:
    """A method of ``Page`` held while ``held``: each call waits till ``answer`` lets it answer."""

    def __init__(self, method):
        self.original = method
        self.holding = False
        self.calls: list[dict] = []  # its arguments ("args"), its go-ahead ("go"), its answer given ("done")
        self.changed = threading.Condition()

    def __call__(self, page, *args):
        call = {"args": args, "go": threading.Event(), "done": threading.Event()}
        with self.changed:
            if self.holding:
                self.calls.append(call)
                self.changed.notify_all()
            else:
                call["go"].set()
        call["go"].wait(TIMEOUT / 1000)  # a failed test leaves no step waiting for ever
        try:
            return self.original(page, *args)
        finally:
            call["done"].set()

    def arrived(self, count: int) -> list[str | None]:
        """The names of the files in the drop zone the first ``count`` calls were asked with, once
        that many came."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= count, TIMEOUT / 1000), self.calls
            return [next((Path(a).name for a in call["args"] if isinstance(a, str) and "/" in a), None)
                    for call in self.calls[:count]]

    def answer(self, index: int) -> None:
        """Let call ``index`` answer, and wait till it has."""
        self.calls[index]["go"].set()
        assert self.calls[index]["done"].wait(TIMEOUT / 1000)

    @contextmanager
    def held(self):
        with self.changed:
            self.holding, self.calls = True, []
        try:
            yield self
        finally:
            with self.changed:
                self.holding = False
                for call in self.calls:
                    call["go"].set()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Two shots of each kind; ``app["stand_in"]`` holds the upload's last step when told, and
    ``app["address"]`` the step before it (the address written)."""
    from webui.page import Page

    root = tmp_path_factory.mktemp("browser-drop-zone")
    library = root / "photos"
    library.mkdir()
    for n, (colour, shape) in enumerate(SHOTS * 2):
        render_scene(Scene((SceneObject(colour, shape),), "white"), 256, random.Random(n)).save(
            library / f"{colour}-{shape}-{n}.jpg", quality=90)
    held = {"stand_in": HeldSteps(Page.stand_in), "address": HeldSteps(Page.query_address)}
    with pytest.MonkeyPatch.context() as mp:  # before the app binds them
        mp.setattr(Page, "stand_in", lambda page, *args: held["stand_in"](page, *args))
        mp.setattr(Page, "query_address", lambda page, *args: held["address"](page, *args))
        with served_library(root) as app:
            app.update(held)
            yield app


def red_circle_heic(folder: Path) -> Path:
    """A HEIC from a phone: the browser cannot draw it, so the zone gets a JPEG of it, late."""
    path = folder / "IMG_0001.heic"
    render_scene(Scene((SceneObject("red", "circle"),), "white"), 256, random.Random(9)).save(path, format="HEIF")
    return path


@pytest.mark.parametrize("removed_first", [False, True], ids=["dropped-over-it", "removed-then-another"])
def test_a_late_answer_for_the_photo_before_leaves_the_new_one_in_the_drop_zone(app, page, tmp_path, removed_first):
    """A HEIC dropped, its JPEG on its way; meanwhile (after a Remove, or not) another photo
    dropped: the zone keeps the new photo, and a box drawn on it searches with its part."""
    from playwright.sync_api import expect

    first, second = red_circle_heic(tmp_path), halves(tmp_path / "halves.jpg")
    zone = page.locator("#query-image input[type=file]")
    with app["stand_in"].held() as steps:
        zone.set_input_files(str(first))
        expect_status(page, "· the dropped photo ·")
        assert steps.arrived(1) == [first.name]  # its JPEG asked for, not answered yet
        if removed_first:
            page.locator("#query-image button[aria-label='Remove Image']").click()
            zone.wait_for(state="attached")
        zone.set_input_files(str(second))
        expect(page.locator("#query-image img")).to_have_attribute("src", re.compile(f"/{re.escape(second.name)}$"),
                                                                   timeout=TIMEOUT)
        steps.answer(0)  # the first photo's JPEG comes now, after the second photo
        drag_over(page, (0.55, 0.05, 0.97, 0.95))  # the right half: the green square
        expect_status(page, "· a part of the dropped photo ·")
        picture = page.locator("#query-image img")
        assert picture.get_attribute("src").endswith(f"/{second.name}")
        assert picture.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(Image.open(second).size)
        assert result_names(page)[0].startswith("green-square"), result_names(page)
    page.locator("#query-image button[aria-label='Remove Image']").click()


def test_a_late_answer_asked_after_a_remove_leaves_the_photo_dropped_since(app, page, tmp_path):
    """A photo removed before its last step was asked (so asked with the zone empty), another
    dropped before that answer came: the zone keeps the new photo (it was emptied), and a box
    drawn on it searches with its part (it searched with no photo: "type some words")."""
    from playwright.sync_api import expect

    first, second = red_circle_heic(tmp_path), halves(tmp_path / "halves.jpg")
    zone = page.locator("#query-image input[type=file]")
    with app["address"].held() as address, app["stand_in"].held() as steps:
        zone.set_input_files(str(first))
        expect_status(page, "· the dropped photo ·")
        address.arrived(1)  # the step before the last one, held: the last one not asked yet
        page.locator("#query-image button[aria-label='Remove Image']").click()
        zone.wait_for(state="attached")
        address.answer(0)
        assert steps.arrived(1) == [None]  # asked with the zone empty
        zone.set_input_files(str(second))
        expect(page.locator("#query-image img")).to_have_attribute("src", re.compile(f"/{re.escape(second.name)}$"),
                                                                   timeout=TIMEOUT)
        steps.answer(0)  # nothing to show, answered after the second photo came
        drag_over(page, (0.55, 0.05, 0.97, 0.95))
        expect_status(page, "· a part of the dropped photo ·")
        picture = page.locator("#query-image img")
        assert picture.get_attribute("src").endswith(f"/{second.name}")
        assert result_names(page)[0].startswith("green-square"), result_names(page)
    page.locator("#query-image button[aria-label='Remove Image']").click()
