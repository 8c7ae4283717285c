"""``k``, the number of results, read by one rule on every route (``webui.filters.read_k``): a
fraction is cut to its whole part everywhere (``/search_image`` rounded it: 2.7 gave 3 where
``/search_text`` gave 2, and REST refused it); the MCP tools all declare it an integer."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.integration.test_rest_mcp import Served, _mcp_session, png_bytes

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


@pytest.fixture(scope="module")
def picture(sample_library):
    return sorted(sample_library.rglob("*.png"))[0]


def test_a_fractional_k_is_cut_to_its_whole_part_on_every_route(served, picture):
    client = Client(served.url, verbose=False)
    try:
        by_text = client.predict("a red circle", 2.7, 0.0, api_name="/search_text")
        by_image = client.predict(handle_file(str(picture)), 2.7, api_name="/search_image")
        similar = client.predict(by_text[0]["file"], 2.7, api_name="/similar")
    finally:
        client.close()
    assert (len(by_text), len(by_image), len(similar)) == (2, 2, 2)
    with httpx.Client(base_url=served.url, timeout=60) as http:
        for params in ({"q": "a red circle", "k": "2.7"}, {"q": "a red circle", "k": " 2 "}):
            answer = http.get("api/search", params=params)
            assert answer.status_code == 200 and len(answer.json()["results"]) == 2, answer.text
        posted = http.post("api/search", data={"k": "2.7"}, files={"image": ("q.png", png_bytes(picture))})
        assert posted.status_code == 200 and len(posted.json()["results"]) == 2, posted.text
        alike = http.get("api/similar", params={"file": by_text[0]["file"], "k": "2.7"})
        assert alike.status_code == 200 and len(alike.json()["results"]) == 2, alike.text
    encoded = "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()

    async def work(session):
        return [await session.call_tool(name, {**arguments, "k": 2.7}) for name, arguments in (
            ("search_photos_by_text", {"text": "a red circle"}), ("search_photos_by_image", {"image": encoded}),
            ("find_similar_photos", {"path": by_text[0]["file"]}))]

    # Every MCP tool declares k an integer (the model is told so), and the protocol's own check of
    # the arguments refuses a fraction, alike for each (search_photos_by_image took 2.7 as 3).
    for answer in asyncio.run(_mcp_session(served.url, work=work)):
        assert answer.isError and "2.7 is not of type 'integer'" in answer.content[0].text, answer.content
