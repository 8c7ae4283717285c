"""Search with a part of a picture (a region), end to end with the demo model over the sample library:
the Python API, the command line (here and through --server), REST, the named endpoints and MCP."""

from __future__ import annotations

import ast
import asyncio
import base64
import io
import json

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from clipsearch import InvalidQuery, parse_region
from tests.integration.test_rest_mcp import Served, _mcp_session

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder

LEFT, RIGHT = "0,0,0.5,1", "50%,0%,100%,100%"  # the two halves, in two of a region's spellings


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


def kinds(hits, truth, n: int = 3) -> list[set]:
    return [set(truth[hit["file"] if isinstance(hit, dict) else hit.path]) for hit in hits[:n]]


def shows(hits, truth, colour: str, shape: str) -> bool:
    """The best hit shows that shape in that colour, the next two that colour (the demo model sees
    colour first)."""
    found = kinds(hits, truth)
    return (colour, shape) in found[0] and all(colour in {c for c, _ in kind} for kind in found)


def test_each_half_of_a_picture_finds_what_that_half_shows(demo_engine, truth, two_halves):
    left = demo_engine.search_image(str(two_halves), k=3, region=parse_region(LEFT))
    right = demo_engine.search_image(two_halves.read_bytes(), k=3, region=parse_region(RIGHT))
    in_pixels = demo_engine.search_image(Image.open(two_halves), k=3, region=parse_region("1024,0,2048,1024"))
    assert shows(left, truth, "blue", "star"), kinds(left, truth)
    assert shows(right, truth, "green", "square"), kinds(right, truth)
    # one region, two spellings: the same cut (a JPEG whole, where a region in pixels needs it whole)
    as_share = demo_engine.search_image(Image.open(two_halves), k=3, region=parse_region(RIGHT))
    assert [(hit.path, hit.score) for hit in in_pixels] == [(hit.path, hit.score) for hit in as_share]
    assert in_pixels[0].path == right[0].path  # and the JPEG decoded at a reduced scale: the same best
    whole = demo_engine.search_image(str(two_halves), k=3)
    assert [hit.path for hit in whole] not in ([hit.path for hit in left], [hit.path for hit in right])


def test_similar_to_a_region_of_an_indexed_photo_reads_that_part_of_its_file(demo_engine, sample_library):
    path = str(sorted(sample_library.rglob("*.jpg"))[0])
    region = parse_region("0.25,0.25,0.75,0.75")
    with Image.open(path) as photo:
        middle = photo.convert("RGB").crop((round(photo.width * 0.25), round(photo.height * 0.25),
                                            round(photo.width * 0.75), round(photo.height * 0.75)))
    expected = [hit.path for hit in demo_engine.search_image(middle, k=6) if hit.path != path][:5]
    found = demo_engine.similar(path, k=5, region=region)
    assert [hit.path for hit in found] == expected and path not in expected
    assert [hit.path for hit in found] != [hit.path for hit in demo_engine.similar(path, k=5)]
    with pytest.raises(InvalidQuery, match="not in the index"):
        demo_engine.similar(path + ".not-indexed.jpg", region=region)
    with pytest.raises(InvalidQuery, match="too small to search with"):
        demo_engine.similar(path, region=parse_region("0,0,0.01,0.01"))


def test_the_command_line_crops_the_image_before_the_region(demo_engine, truth, two_halves, served, capsys):
    import cli.search

    index = str(demo_engine.settings.index_dir)
    for region, kind in ((LEFT, ("blue", "star")), (RIGHT, ("green", "square"))):
        assert cli.search.main(["search", "--image", str(two_halves), "--region", region, "-k", "3",
                                "--min-score", "0", "--json", "--index", index]) == 0
        here = capsys.readouterr().out
        assert shows([{"file": hit["path"]} for hit in json.loads(here)], truth, *kind), (region, here)
        assert cli.search.main(["search", "--image", str(two_halves), "--region", region, "-k", "3",
                                "--min-score", "0", "--json", "--server", served.url]) == 0
        assert capsys.readouterr().out == here  # the server cuts the same part of the picture
    for wrong, says in ((["--region", LEFT, "--image", str(two_halves)], "give it after the --image it crops"),
                        (["--image", str(two_halves), "--region", "1,2,3"], "not a region: '1,2,3'"),
                        (["--image", str(two_halves), "--region", LEFT, "--region", RIGHT], "one region for each")):
        with pytest.raises(SystemExit) as usage:
            cli.search.main(["search", *wrong, "--index", index])
        assert usage.value.code == 2 and says in capsys.readouterr().err, wrong
    # the second picture's region crops the second picture alone
    assert cli.search.main(["search", "--image", str(two_halves), "--image", str(two_halves), "--region", RIGHT,
                            "--index", index, "-k", "1", "--min-score", "0", "--json"]) == 0
    capsys.readouterr()


def test_a_region_past_the_photo_or_too_small_is_a_usage_error_before_any_search(demo_engine, two_halves, capsys,
                                                                                 monkeypatch):
    """``search --image X --region``: a region past the photo (or too small) exits 2 with the reason,
    as ``saved add`` refuses it, before an index, a model or a server is asked (not 1, "found while
    searching")."""
    import cli.search
    from clipsearch import SearchEngine

    def no_search(*args, **kwargs):
        raise AssertionError("searched with a region the photo does not have")

    monkeypatch.setattr(SearchEngine, "for_reading", no_search)
    index = str(demo_engine.settings.index_dir)
    for region, says in (("0,0,5000,10", "reaches past the picture (2048 x 1024 pixels)"),
                         ("0,0,10,10", "is 10 x 10 pixels of a 2048 x 1024 picture: too small to search with")):
        for where in (["--index", index], ["--server", "http://127.0.0.1:9/"]):
            with pytest.raises(SystemExit) as usage:
                cli.search.main(["search", "--image", str(two_halves), "--region", region, *where])
            err = capsys.readouterr().err
            assert usage.value.code == 2 and f"error: argument --region: the region {region} {says}" in err, err


def test_rest_takes_a_region_of_an_upload_and_of_an_indexed_photo(served, demo_engine, truth, two_halves,
                                                                   sample_library):
    with open(two_halves, "rb") as data:
        answer = httpx.post(served.url + "api/search", data={"region": RIGHT, "k": 3}, timeout=60,
                            files={"image": ("two-halves.jpg", data)})
    assert answer.status_code == 200, answer.text
    assert shows(answer.json()["results"], truth, "green", "square")
    path = str(sorted(sample_library.rglob("*.jpg"))[0])
    similar = httpx.get(served.url + "api/similar", params={"file": path, "region": "0.25,0.25,0.75,0.75", "k": 5},
                        timeout=60)
    assert similar.status_code == 200, similar.text
    assert [r["file"] for r in similar.json()["results"]] == [
        hit.path for hit in demo_engine.similar(path, k=5, region=parse_region("0.25,0.25,0.75,0.75"))]
    for asked, says in (({"q": "a dog", "region": LEFT}, "a region is a part of a picture"),
                        ({"file": path, "region": "0.5,0.5,0.2,0.9"}, "RIGHT must be more than LEFT")):
        route = "api/similar" if "file" in asked else "api/search"
        refused = httpx.get(served.url + route, params=asked, timeout=60)
        assert refused.status_code == 400 and says in refused.json()["error"], refused.text


def test_the_named_endpoints_and_the_mcp_tools_take_a_region(served, truth, two_halves, sample_library):
    client = Client(served.url, verbose=False)
    try:
        found = client.predict(handle_file(str(two_halves)), 3, 0, "", "", "", LEFT, api_name="/search_image")
        assert shows(found, truth, "blue", "star"), found
        assert client.predict(handle_file(str(two_halves)), 3, api_name="/search_image")  # its old inputs still do
        path = str(sorted(sample_library.rglob("*.jpg"))[0])
        with pytest.raises(Exception, match="too small to search with"):
            client.predict(path, 3, "", "", "", "0,0,0.01,0.01", api_name="/similar")
    finally:
        client.close()

    encoded = "data:image/jpeg;base64," + base64.b64encode(two_halves.read_bytes()).decode()

    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        by_image = await session.call_tool("search_photos_by_image", {"image": encoded, "k": 3, "region": RIGHT})
        return tools, by_image

    tools, by_image = asyncio.run(_mcp_session(served.url, work=work))
    for name in ("search_photos_by_image", "find_similar_photos"):
        told = tools[name].inputSchema["properties"]["region"]["description"]
        assert "top right quarter" in told and told.endswith("empty for the whole picture."), (name, told)
    # every parameter's whole description (Gradio reads one docstring line a parameter)
    told = tools["search_photos_by_text"].inputSchema["properties"]["min_score"]["description"]
    assert told.endswith("leave out results scoring less than this."), told
    assert not by_image.isError, by_image.content
    assert shows(ast.literal_eval(by_image.content[0].text), truth, "green", "square")


def test_an_assistant_looks_closer_at_a_part_of_a_photo(served, sample_library):
    """look_at_photo's region: that part of the indexed photo, as image content, as large as 512 px
    allows (a detail a 512 px whole photo would blur); a wrong region is an error that says why."""
    path = str(sorted(sample_library.rglob("*.jpg"))[0])

    async def work(session):
        part = await session.call_tool("look_at_photo", {"path": path, "region": "0.5,0,1,0.25"})
        wrong = await session.call_tool("look_at_photo", {"path": path, "region": "0.5,0.5,0.2,1"})
        return part, wrong

    part, wrong = asyncio.run(_mcp_session(served.url, work=work))
    assert not part.isError, part.content
    shown = next(c for c in part.content if c.type == "image")
    with Image.open(io.BytesIO(base64.b64decode(shown.data))) as picture, Image.open(path) as original:
        box = parse_region("0.5,0,1,0.25").box(original.width, original.height)
        cut = original.convert("RGB").crop(box)
        cut.thumbnail((512, 512))  # shrunk to 512 px at most, never blown up
        assert picture.size == cut.size
        expected = np.asarray(cut.resize((16, 8)), float)
        assert np.abs(np.asarray(picture.convert("RGB").resize((16, 8)), float) - expected).mean() < 12
    assert wrong.isError and "RIGHT must be more than LEFT" in str(wrong.content)
