"""Gradio's plain HTTP call API on the real server: a call leaving out values at the end, as the first
release's webui/API.md showed (``{"data": ["a red circle", 2, 0.0]}`` to /search_text), gets their
defaults, as gradio_client fills them (webui/call_defaults.py); a full call is as it was; --auth
still refuses a stranger."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.integration.test_rest_mcp import AUTH, Served, png_bytes

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the servers' upload folder


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings, mcp=False)
    yield server
    server.close()


def called(http: httpx.Client, name: str, data: list) -> tuple[str, object]:
    """A raw call of ``/name``, as curl makes it: the last event of its stream, and its data."""
    posted = http.post(f"gradio_api/call/{name}", json={"data": data})
    assert posted.status_code == 200, posted.text
    stream = http.get(f"gradio_api/call/{name}/{posted.json()['event_id']}").text
    events = [block for block in stream.split("\n\n") if block.startswith("event:")]
    kind, _, payload = events[-1].partition("\ndata: ")
    return kind.removeprefix("event: "), json.loads(payload)


def files(answer: object) -> list[str]:
    return [hit["file"] for hit in answer[0]]


def test_the_first_releases_three_value_call_to_search_text_answers(served, demo_engine):
    with httpx.Client(base_url=served.url, timeout=120) as http:
        short = called(http, "search_text", ["a red circle", 2, 0.0])  # API.md of the first release, as it was
        full = called(http, "search_text", ["a red circle", 2, 0.0, "", "", ""])
    assert short[0] == "complete", short
    assert short == full
    assert files(short[1]) == [hit.path for hit in demo_engine.search_text("a red circle", k=2)]


def test_a_full_call_is_unchanged(served, demo_engine, sample_library):
    folders = sorted({os.path.dirname(r.path) for r in demo_engine.records()})
    sub = next(f for f in folders if f != str(sample_library))
    with httpx.Client(base_url=served.url, timeout=120) as http:
        kind, answer = called(http, "search_text", ["a red circle", 5, 0.0, sub, "", ""])
    assert kind == "complete", answer
    assert answer[0] and all(path.startswith(sub + os.sep) for path in files(answer)), files(answer)


def test_the_first_releases_calls_to_similar_and_search_image_answer(served, demo_engine, sample_library):
    path = demo_engine.search_text("a red circle", k=1)[0].path
    with httpx.Client(base_url=served.url, timeout=120) as http:
        short = called(http, "similar", [path, 3])
        full = called(http, "similar", [path, 3, "", "", "", ""])
        assert short[0] == "complete" and len(short[1][0]) == 3, short
        assert short == full
        uploaded = http.post("gradio_api/upload", files={"files": ("q.png", png_bytes(path), "image/png")})
        picture = {"path": uploaded.json()[0], "meta": {"_type": "gradio.FileData"}}
        short = called(http, "search_image", [picture, 3])
        full = called(http, "search_image", [picture, 3, 0.0, "", "", "", ""])
        assert short[0] == "complete" and len(short[1][0]) == 3, short
        assert short == full
        # Grown since too: look_at_photo (path, then region)
        short = called(http, "look_at_photo", [path])
        assert short[0] == "complete", short
        assert short == called(http, "look_at_photo", [path, ""])


def test_a_value_with_no_default_left_out_is_refused_by_name(served):
    with httpx.Client(base_url=served.url, timeout=120) as http:
        kind, answer = called(http, "search_text", [])
    assert kind == "error"
    assert "text has no default" in ((answer or {}).get("error") or ""), answer


def test_with_auth_a_strangers_short_call_is_still_refused(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings, auth=AUTH, mcp=False)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            refused = http.post("gradio_api/call/search_text", json={"data": ["a red circle", 2, 0.0]})
            assert refused.status_code == 401, refused.text
            assert "event_id" not in refused.text
            assert http.post("login", data={"username": AUTH[0], "password": AUTH[1]}).status_code == 200
            kind, answer = called(http, "search_text", ["a red circle", 2, 0.0])
            assert kind == "complete", answer
    finally:
        server.close()
