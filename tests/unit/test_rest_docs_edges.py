"""REST answers at the edges API.md draws: a note that speaks of moments only where ``moments``
holds one, a vanished example photo, a saved search's name left blank, a region on GET, a saved
search asked before there is an index, and a topic's empty answer explained."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clipsearch import IndexNotFound
from clipsearch.demo import Scene, SceneObject
from clipsearch.demo.clips import write_clip
from webui.handlers import Handlers
from webui.rest import build_router
from webui.rest_auth import Auth


def _client(handlers: Handlers):
    app = FastAPI()
    app.include_router(build_router(handlers, Auth(SimpleNamespace(auth=None, cookie_id="t", tokens={}))))
    return TestClient(app)


@pytest.fixture
def api(engine, library, settings):
    """The REST routes over an indexed ``library`` (photos in a/ and b/), for an app without --auth."""
    engine.index_folder(library)
    handlers = Handlers(engine, settings)
    with _client(handlers) as http:
        yield http
    handlers.close()


@pytest.fixture
def videos_api(engine, library, settings):
    """The same, with a folder ``videos/`` holding one clip and no photo, its moments read."""
    clip = library / "videos" / "clip.mp4"
    clip.parent.mkdir(parents=True)
    write_clip(clip, [Scene((SceneObject("red", "circle"),), "gray")], seconds_each=2.0, fps=5, size=64)
    engine.set_video_reading(True)
    engine.index_folder(library)
    engine.read_videos()
    assert engine.video_records()
    handlers = Handlers(engine, settings)
    with _client(handlers) as http:
        yield http, library
    handlers.close()


# --- 1. the note speaks of the moments only where the answer holds one ------------------------------

def test_a_folder_of_videos_whose_moments_the_cut_off_left_out_says_no_results(videos_api):
    """ "No photo results: ...; the videos' matching moments are in moments" beside ``moments: []``:
    the note was told of the moments found before ``min_score`` cut them."""
    http, library = videos_api
    folder = str(library / "videos")
    found = http.get("/api/search", params={"q": "red", "folder": folder}).json()
    assert found["results"] == [] and found["moments"], found  # the clip matches: "in moments"
    assert found["note"].startswith("No photo results: ") and found["note"].endswith("are in moments")
    emptied = 0
    for cut in ("auto", "0.5", "0.999"):
        for route, params in (("/api/search", {"q": "red"}), ("/api/similar", {"file": str(library / "a" / "p0.jpg")})):
            body = http.get(route, params={**params, "folder": folder, "min_score": cut}).json()
            if body["moments"]:
                assert body["note"].startswith("No photo results: ") and body["note"].endswith("are in moments")
            else:
                emptied += 1
                assert body["note"] == "No results: no indexed photo is in that folder and date range", body
    assert emptied >= 2  # min_score=0.999 left no moment on either route


# --- 2. an example photo gone since it was indexed -------------------------------------------------

def test_saving_an_indexed_photo_that_cannot_be_read_now_says_so_not_that_an_upload_failed(api, library):
    """400 "the uploaded file cannot be used as a picture (vanished)", where nothing was uploaded."""
    gone = library / "a" / "p0.jpg"
    os.replace(gone, library / "elsewhere.jpg")
    answer = api.post("/api/saved", data={"name": "gone", "file": str(gone)})
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"].startswith("that photo cannot be read now ("), answer.text
    assert api.get("/api/saved").json()["searches"] == []  # nothing written


# --- 3. a saved search's name left out or blank ----------------------------------------------------

def test_forgetting_a_saved_search_without_a_name_says_what_to_give(api):
    """404 "no saved search is called ''", where every other field left out is a 400 that says what to give."""
    for params in ({}, {"name": ""}, {"name": "  "}):
        answer = api.delete("/api/saved", params=params)
        assert answer.status_code == 400, answer.text
        assert answer.json() == {"error": "give name=NAME, the saved search to forget"}


def test_a_blank_saved_name_on_search_is_no_name_at_all(api):
    """``saved=%20`` was looked up as a name (404 "called ' '"), where DELETE and POST strip it:
    blank, it is left out, as ``saved=`` is."""
    assert api.post("/api/saved", data={"name": "reds", "q": "red"}).status_code == 200
    for blank in ("", " "):
        answer = api.get("/api/search", params={"saved": blank})
        assert answer.status_code == 400 and "unknown_saved_search" not in answer.json(), answer.text
        assert answer.json()["error"].startswith("give q=TEXT"), answer.text
        assert api.get("/api/search", params={"saved": blank, "q": "red"}).status_code == 200
    assert api.get("/api/search", params={"saved": " reds "}).json()["query"] == "red"


# --- 4. a region on GET /api/search, the whole picture too -----------------------------------------

def test_a_region_on_get_search_is_refused_even_the_whole_picture(api):
    """``region=0,0,1,1`` (read as no region: all of the picture) was answered 200, the region ignored."""
    for region in ("0,0,1,1", "0%,0%,100%,100%", "0,0,0.5,0.5"):
        answer = api.get("/api/search", params={"q": "red", "region": region})
        assert answer.status_code == 400, (region, answer.text)
        assert answer.json()["error"].startswith("a region is a part of a picture"), answer.text
    assert api.get("/api/search", params={"q": "red", "region": ""}).status_code == 200


# --- 5. a saved search asked before there is an index ----------------------------------------------

def test_a_saved_search_before_there_is_an_index_is_a_503_as_a_query_is(settings):
    """404 "no saved search is called 'x'", where ``q=red`` said there is no index yet."""
    def no_index():
        raise IndexNotFound(str(settings.index_dir))

    os.makedirs(settings.index_dir, exist_ok=True)
    handlers = Handlers(None, settings, open_engine=no_index)
    with _client(handlers) as http:
        plain = http.get("/api/search", params={"q": "red"})
        saved = http.get("/api/search", params={"saved": "x"})
    handlers.close()
    assert plain.status_code == 503, plain.text
    assert (saved.status_code, saved.json()) == (503, plain.json())


# --- 6. a topic's empty answer explained -----------------------------------------------------------

def test_a_topics_empty_answer_says_why_as_a_searchs_does(api):
    """A folder the index does not cover, dates with no photo of the topic or a ``min_score`` none
    reaches answered ``results: []`` and no ``note``, where ``/api/search`` says why."""
    name = api.get("/api/topics").json()["topics"][0]["name"]
    nowhere = api.get("/api/topics", params={"name": name, "folder": "/nope"}).json()
    assert nowhere["results"] == [] and nowhere["note"].startswith("No results: the index"), nowhere
    dates = api.get("/api/topics", params={"name": name, "since": "1900-01-01", "until": "1900-12-31"}).json()
    assert dates["note"] == "No results: no photo of that topic is in that folder and date range", dates
    cut = api.get("/api/topics", params={"name": name, "min_score": "1.5"}).json()
    assert cut["results"] == [] and cut["note"].startswith("No result scores 1.5 or more (the best scored "), cut
    plain = api.get("/api/topics", params={"name": name}).json()
    assert plain["results"] and "note" not in plain, plain
