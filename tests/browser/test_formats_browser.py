"""A camera RAW file and an AVIF in a real Chromium: chosen or dropped in the drop zone, searched
with, and shown there (the RAW file as a JPEG made of it, upright: a browser draws no RAW file);
a RAW photo of the library shown in the results and the preview as a JPEG."""

from __future__ import annotations

import random

import pytest

from clipsearch import camera_raw
from clipsearch.demo import Scene, SceneObject, render_scene
from testsupport.browser import served_library
from testsupport.rawfactory import dng

from .test_browser import BROWSER_MARKS, TIMEOUT, drop_file, expect_status, result_names

pytestmark = [*BROWSER_MARKS, pytest.mark.skipif(not camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")]
SHOTS = [("blue", "star"), ("green", "square"), ("red", "circle"), ("yellow", "triangle"), ("purple", "cross")]


def scene(colour: str, shape: str, seed: int):
    return render_scene(Scene((SceneObject(colour, shape),), "white"), 256, random.Random(seed))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Two shots of each kind, one of the green squares a RAW file of a portrait shot sideways."""
    root = tmp_path_factory.mktemp("browser-formats")
    library = root / "photos"
    library.mkdir()
    for n, (colour, shape) in enumerate(SHOTS * 2):
        if n != 1:
            scene(colour, shape, n).save(library / f"{colour}-{shape}-{n}.jpg", quality=90)
    (library / "DSC_0002.DNG").write_bytes(dng(scene("green", "square", 1).resize((200, 300)), orientation=8))
    with served_library(root) as app:
        yield app


def drawn_size(page) -> list[int]:
    """The size of the picture the drop zone draws, once it is a JPEG Chromium could draw."""
    page.wait_for_function("() => document.querySelector('#query-image img')?.naturalWidth > 0", timeout=TIMEOUT)
    return page.locator("#query-image img").evaluate("img => [img.naturalWidth, img.naturalHeight]")


def test_a_raw_file_and_an_avif_chosen_or_dropped_are_searched_and_shown(page, tmp_path):
    raw, avif = tmp_path / "IMG_0042.CR2", tmp_path / "PXL_0043.avif"
    raw.write_bytes(dng(scene("blue", "star", 42).resize((200, 300)), orientation=6))  # a portrait, sideways
    scene("red", "circle", 43).save(avif, quality=90)
    remove = page.locator("#query-image button[aria-label='Remove Image']")
    for picture, kind, size in ((raw, ("blue", "star"), [200, 300]), (avif, ("red", "circle"), [256, 256])):
        for how in ("chosen", "dropped", "typed as no picture"):  # (as a system that knows no RAW type types it)
            box = page.locator("#query textarea, #query input").first
            box.fill("")
            box.press("Enter")  # the status line of nothing searched, till the photo's replaces it
            expect_status(page, "⚠️")
            if how == "chosen":
                page.locator("#query-image input[type=file]").set_input_files(str(picture))
            elif how == "typed as no picture":
                page.locator("#query-image input[type=file]").set_input_files(
                    {"name": picture.name, "mimeType": "application/octet-stream", "buffer": picture.read_bytes()})
            else:
                drop_file(page, picture)
            expect_status(page, "· the dropped photo ·")
            first = result_names(page)[0]
            assert first.startswith("-".join(kind)), (picture.name, how, first)
            if picture == raw:
                page.wait_for_function("() => document.querySelector('#query-image img')?.src.endsWith('.jpg')",
                                       timeout=TIMEOUT)
            assert drawn_size(page) == size, (picture.name, how)
            remove.click()
            page.locator("#query-image input[type=file]").wait_for(state="attached")
            expect_status(page, "The photo is removed")  # its answer in, before the next Enter's


def test_a_raw_photo_of_the_library_shows_in_the_results_and_the_preview(page):
    from playwright.sync_api import expect

    box = page.locator("#query textarea, #query input").first
    box.fill("a green square")
    box.press("Enter")
    expect_status(page, "“a green square”")
    names = result_names(page)
    assert "DSC_0002.DNG" in names, names
    item = page.locator("#results .thumbnail-item").nth(names.index("DSC_0002.DNG"))
    thumb = item.locator("img")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=TIMEOUT)
    assert thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [171, 256]  # upright: a portrait
    item.click()
    expect(page.locator("#details")).to_contain_text("DSC_0002.DNG", timeout=TIMEOUT)
    preview = page.locator("#preview img")
    preview.wait_for()
    page.wait_for_function("() => document.querySelector('#preview img')?.naturalWidth > 0", timeout=TIMEOUT)
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [200, 300]
