"""``k``, the number of results, read by one rule on every route (``webui.filters.read_k``): a
fraction is cut to its whole part everywhere (``/search_image`` rounded it: 2.7 gave 3 where
``/search_text`` gave 2, and REST refused it); the MCP tools all declare it an integer."""

from __future__ import annotations

import ast
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


OUT_OF_RANGE = (0, -3, 10**6)  # the library holds 300 photos


def test_a_k_out_of_range_or_not_a_number_is_clamped_or_refused_as_documented(served, picture, sample_library):
    """The call API and the MCP tools clamp a k out of range (1 for 0 or below, the library's 300 for
    a million); what is not a number is one clear error. REST refuses both with a 400 that says why."""
    indexed = str(sorted(sample_library.rglob("*.jpg"))[0])
    client = Client(served.url, verbose=False)
    try:
        calls = {"/search_text": ("a red circle",), "/search_image": (handle_file(str(picture)),),
                 "/similar": (indexed,)}
        for api_name, first in calls.items():
            assert [len(client.predict(*first, k, api_name=api_name)) for k in OUT_OF_RANGE] == [1, 1, 299 + (
                api_name != "/similar")], api_name
            with pytest.raises(Exception, match="k must be a whole number of results") as refused:
                client.predict(*first, "many", api_name=api_name)
            assert "'many'" in str(refused.value), api_name
    finally:
        client.close()
    encoded = "data:image/png;base64," + base64.b64encode(png_bytes(picture)).decode()
    tools = (("search_photos_by_text", {"text": "a red circle"}), ("search_photos_by_image", {"image": encoded}),
             ("find_similar_photos", {"path": indexed}))

    async def work(session):
        return {(name, repr(k)): await session.call_tool(name, {**arguments, "k": k})
                for name, arguments in tools for k in (*OUT_OF_RANGE, "many")}

    answers = asyncio.run(_mcp_session(served.url, work=work))
    for (name, k), answer in answers.items():
        if k == "'many'":
            assert answer.isError and "'many' is not of type 'integer'" in answer.content[0].text, (name, answer)
        else:
            assert not answer.isError, (name, k, answer.content)
            found = len(ast.literal_eval(answer.content[0].text))
            assert found == {"0": 1, "-3": 1}.get(k, 299 + (name != "find_similar_photos")), (name, k, found)
    with httpx.Client(base_url=served.url, timeout=60) as http:
        for k in OUT_OF_RANGE:
            answer = http.get("api/search", params={"q": "a red circle", "k": k})
            posted = http.post("api/search", data={"k": str(k)}, files={"image": ("q.png", png_bytes(picture))})
            for refused in (answer, posted):
                assert refused.status_code == 400 and f"k is from 1 to 500, not {k}" in refused.json()["error"]
        for k in ("many", "nan", "inf"):
            refused = http.get("api/search", params={"q": "a red circle", "k": k})
            assert refused.status_code == 400 and "k must be a whole number" in refused.json()["error"], k
