"""The REST routes as an HTTP client and a client generator see them: FastAPI's schema of them
(one operation ID each), HEAD beside every GET, and the answers to a route or a method that is not
there."""

from __future__ import annotations

import gc
import warnings
from collections import Counter

import httpx
import pytest

from tests.integration.test_rest_mcp import Served

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder

# Each REST operation and its ID in /openapi.json: the same in every process.
OPERATIONS = {
    ("/api/search", "get"): "search_get_api_search_get", ("/api/search", "post"): "search_post_api_search_post",
    ("/api/similar", "get"): "similar_get_api_similar_get", ("/api/thumbnail", "get"): "thumbnail_get_api_thumbnail_get",
    ("/api/photo", "get"): "photo_get_api_photo_get", ("/api/info", "get"): "info_get_api_info_get",
    ("/api/saved", "get"): "saved_get_api_saved_get", ("/api/saved", "post"): "saved_post_api_saved_post",
    ("/api/saved", "delete"): "saved_delete_api_saved_delete", ("/api/topics", "get"): "topics_get_api_topics_get",
    ("/api/duplicates", "get"): "duplicates_get_api_duplicates_get",
}


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


def test_the_schema_gives_each_operation_one_id_of_its_own_without_a_warning(served):
    """Routes registered for GET and HEAD at once were one operation with two methods and one ID:
    FastAPI warned "Duplicate Operation ID search_get_api_search_get" (or ..._head, by the hash
    seed), and a client generated from the schema got clashing names."""
    app = served.demo.app
    app.openapi_schema = None  # made anew, as a fresh server makes it for its first caller
    # What earlier tests and requests left for the collector goes first: an event loop left
    # unclosed warns as it is collected, which inside the block below is an "unraisable" error
    # (seen in a whole run: 7 such warnings, their timing the collector's).
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "Duplicate Operation ID" warning fails the test
        app.openapi()
    schema = httpx.get(served.url + "openapi.json", timeout=60).json()
    ids = Counter(op["operationId"] for ops in schema["paths"].values() for op in ops.values())
    assert [name for name, count in ids.items() if count > 1] == []
    ours = {(path, method): op["operationId"] for path, ops in schema["paths"].items() if path.startswith("/api/")
            for method, op in ops.items()}
    assert ours == OPERATIONS  # HEAD is not an operation of its own


@pytest.mark.parametrize("route", sorted({path for path, method in OPERATIONS if method == "get"}))
def test_every_get_route_answers_head_with_gets_status_and_headers(served, demo_engine, route):
    photo = demo_engine.search_text("a red circle", k=1)[0].path
    params = {"/api/search": {"q": "a red circle"}, "/api/similar": {"file": photo},
              "/api/thumbnail": {"file": photo}, "/api/photo": {"file": photo}}.get(route, {})
    with httpx.Client(base_url=served.url, timeout=60) as http:
        got, head = http.get(route.lstrip("/"), params=params), http.head(route.lstrip("/"), params=params)
    assert head.status_code == got.status_code and head.content == b"", route
    assert head.headers["content-type"] == got.headers["content-type"], route


@pytest.mark.parametrize("method, route", [("GET", "api/nope"), ("POST", "api/nope"), ("GET", "api/"),
                                           ("GET", "api/search/more"), ("DELETE", "api/info/x")])
def test_a_route_that_is_not_there_is_a_404_with_a_json_error(served, method, route):
    answer = httpx.request(method, served.url + route, timeout=60)
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"
    assert f"no route /{route} here" in answer.json()["error"] and "/api/search" in answer.json()["error"]
    assert httpx.head(served.url + route, timeout=60).status_code == 404


@pytest.mark.parametrize("method, route, allow", [
    ("PUT", "api/search", "GET, HEAD, POST"), ("DELETE", "api/search", "GET, HEAD, POST"),
    ("POST", "api/info", "GET, HEAD"), ("POST", "api/similar", "GET, HEAD"), ("POST", "api/thumbnail", "GET, HEAD"),
    ("DELETE", "api/photo", "GET, HEAD"), ("PATCH", "api/saved", "DELETE, GET, HEAD, POST"),
    ("POST", "api/topics", "GET, HEAD"), ("DELETE", "api/duplicates", "GET, HEAD")])
def test_a_method_a_route_does_not_take_is_a_405_with_a_json_error_and_allow(served, method, route, allow):
    answer = httpx.request(method, served.url + route, timeout=60)
    assert answer.status_code == 405 and answer.headers["allow"] == allow
    assert answer.json() == {"error": f"/{route} takes {allow}, not {method}"}


def test_a_routes_path_with_a_slash_after_it_still_goes_to_the_route(served):
    answer = httpx.get(served.url + "api/info/", timeout=60)
    assert answer.status_code == 307 and answer.headers["location"].endswith("/api/info")


@pytest.mark.parametrize("route, params, words", [
    ("api/search", {"q": "a dog", "fold": "maybe"}, "fold is 1 or 0"),
    ("api/similar", {"k": "x"}, "k must be a whole number"),
    ("api/similar", {"min_score": "high"}, "min_score must be a number or auto"),
    ("api/similar", {"fold": "maybe"}, "fold is 1 or 0"),
    ("api/similar", {"region": "a part"}, "not a region"),
    ("api/thumbnail", {"size": "big"}, "size must be a whole number"),
    ("api/thumbnail", {"size": "300"}, "size is 256 or 1024"),
    ("api/topics", {"k": "x"}, "k must be a whole number"),  # was ignored (200) without a name
    ("api/topics", {"since": "yesterday"}, "since 'yesterday' is not a date"),
    ("api/topics", {"name": "a bowl of soup"}, "no topic is called 'a bowl of soup'"),
])
def test_a_wrong_parameter_is_a_400_that_names_it_on_every_route(served, demo_engine, route, params, words):
    photo = demo_engine.search_text("a red circle", k=1)[0].path
    params = {**({"file": photo} if route in ("api/similar", "api/thumbnail") else {}), **params}
    answer = httpx.get(served.url + route, params=params, timeout=60)
    assert answer.status_code == 400 and words in answer.json()["error"], answer.text[:300]


def test_with_auth_a_route_that_is_not_there_is_still_a_404(demo_engine, gradio_temp):
    """The refusals say nothing of the library: no credentials needed to hear them (the routes' own
    answers still want them)."""
    server = Served.uploading_to(gradio_temp, demo_engine.settings, auth=("alice", "s3cret"), mcp=False)
    try:
        assert httpx.get(server.url + "api/nope", timeout=60).status_code == 404
        assert httpx.put(server.url + "api/search", timeout=60).status_code == 405
        assert httpx.get(server.url + "api/search", params={"q": "a dog"}, timeout=60).status_code == 401
    finally:
        server.close()


def test_a_folder_the_index_does_not_cover_is_said_not_left_an_empty_list(served, demo_engine, tmp_path):
    """``folder=`` outside every folder of the index answered an empty list and nothing else, where the
    page and the command line say why: a script, or an assistant, took it for "no such photos"."""
    photo = demo_engine.search_text("a red circle", k=1)[0].path
    elsewhere = str(tmp_path / "elsewhere")
    with httpx.Client(base_url=served.url, timeout=60) as http:
        searched = http.get("api/search", params={"q": "a red circle", "folder": elsewhere}).json()
        similar = http.get("api/similar", params={"file": photo, "folder": elsewhere}).json()
        covered = http.get("api/search", params={"q": "a red circle"}).json()
    for answer in (searched, similar):
        assert answer["results"] == [] and answer["note"].startswith(f"No results: the index holds no photo in {elsewhere}")
        assert all(folder in answer["note"] for folder in demo_engine.folders())
    assert covered["results"] and "note" not in covered  # only where the folder explains an empty answer
