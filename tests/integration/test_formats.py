"""Camera RAW and AVIF photos end to end, with the demo model: the indexer's run (a broken RAW file
skipped for its reason), searches by meaning, dates, the RAW file and the camera's JPEG beside it
found as one shot, and a RAW file as the query of the command line, of REST and of the call API."""

from __future__ import annotations

import json
import random

import httpx
import pytest
from gradio_client import Client, handle_file

from clipsearch import ModelSpec, SearchEngine, SearchFilter, Settings, camera_raw
from clipsearch.demo import Scene, SceneObject, render_scene
from tests.integration.conftest import run_indexer
from tests.integration.test_rest_mcp import Served
from testsupport.rawfactory import dng

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("same_gradio_temp"),
              pytest.mark.skipif(not camera_raw.RAW_SUPPORTED, reason="rawpy is in requirements.txt")]
SHOTS = {"IMG_0001.DNG": ("blue", "star"), "IMG_0002.dng": ("green", "square"), "PXL_0003.avif": ("red", "circle"),
         "d4.jpg": ("yellow", "triangle"), "d5.jpg": ("purple", "cross"), "d6.jpg": ("orange", "circle"),
         "d7.jpg": ("red", "square"), "d8.jpg": ("green", "star")}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The shots above (a blue star shot sideways, in RAW; a green square in RAW with the camera's
    preview, and its JPEG beside it; a red circle in AVIF), a broken CR3; indexed by the indexer."""
    root = tmp_path_factory.mktemp("formats")
    library, rng = root / "photos", random.Random(11)
    library.mkdir()
    for name, (colour, shape) in SHOTS.items():
        picture = render_scene(Scene((SceneObject(colour, shape),), "white"), 256, rng)
        if name.lower().endswith(".dng"):
            sideways = name == "IMG_0001.DNG"
            (library / name).write_bytes(dng(picture, orientation=6 if sideways else 1,
                                             preview=None if sideways else picture, date="2019:05:06 07:08:09"))
            if not sideways:
                picture.save(library / "IMG_0002.JPG", quality=95)  # the camera's JPEG beside the RAW file
        else:
            picture.save(library / name, quality=90)
    (library / "IMG_0009.CR3").write_bytes(b"\0\0\0\x18ftypcrx \0\0\0\x01" + bytes(4000))
    index = root / "index"
    run = run_indexer(str(library), "--index", str(index), "--model", "demo", "--json")
    assert run.returncode == 0, run.stderr
    settings = Settings(index_dir=index, cache_dir=root / "cache", model=ModelSpec(name="demo"))
    return library, settings, json.loads(run.stdout)


def test_the_indexer_reads_raw_and_avif_and_skips_a_broken_raw_file(indexed):
    library, _, report = indexed
    assert report["added"] == len(SHOTS) + 1 and report["other_files"] == {}
    assert [paths for paths in report["skipped"].values()] == [[str(library / "IMG_0009.CR3")]]


def test_raw_and_avif_photos_are_found_by_meaning_and_date(indexed):
    library, settings, _ = indexed
    engine = SearchEngine.for_reading(settings)
    try:
        for name in ("IMG_0001.DNG", "IMG_0002.dng", "PXL_0003.avif"):
            colour, shape = SHOTS[name]
            found = [hit.path.rsplit("/", 1)[1] for hit in engine.search_text(f"a {colour} {shape}", k=2)]
            assert name in found, (name, found)
        may = SearchFilter(date_from="2019-05-01", date_to="2019-05-31")
        dated = {hit.path.rsplit("/", 1)[1] for hit in engine.search_text("a picture", k=10, where=may)}
        assert dated == {"IMG_0001.DNG", "IMG_0002.dng"}
        shot = [group.paths for group in engine.duplicates().groups]
        assert shot == [[str(library / "IMG_0002.dng"), str(library / "IMG_0002.JPG")]]  # the RAW file first
        first, copies = engine.fold(engine.search_text("a green square", k=3))[0]  # one result on the page
        assert {first.path, *(copy.path for copy in copies)} == set(shot[0])
    finally:
        engine.close()


def test_a_raw_file_is_a_query_for_the_command_line_rest_and_the_call_api(indexed, gradio_temp, capsys):
    import cli.search

    library, settings, _ = indexed
    star = library / "IMG_0001.DNG"
    assert cli.search.main(["search", "--image", str(star), "-k", "1", "--min-score", "0", "--json",
                            "--index", str(settings.index_dir)]) == 0
    assert [hit["path"] for hit in json.loads(capsys.readouterr().out)] == [str(star)]
    served = Served.uploading_to(gradio_temp, settings)
    try:
        with httpx.Client(base_url=served.url, timeout=60) as http:
            answer = http.post("api/search", data={"k": "1"}, files={"image": ("upload", star.read_bytes())})
            assert answer.status_code == 200, answer.text
            hit = answer.json()["results"][0]
            assert hit["file"] == str(star)
            thumbnail = http.get(hit["thumbnail"])
            assert thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"
        client = Client(served.url, verbose=False)
        hits = client.predict(handle_file(str(star)), 1, api_name="/search_image")
        assert hits[0]["file"] == str(star)
    finally:
        served.close()


def test_an_assistant_sends_a_camera_sized_raw_file_inline_and_looks_at_a_raw_result(indexed, gradio_temp):
    """Over MCP a picture comes inline, as a data: URL in the message; a camera's DNG is several MB,
    its base64 a third more (the mcp package refuses a message over 4 MiB). The tool says it takes
    RAW and AVIF files, finds the shot by it, and a RAW result is looked at, and its thumbnail loaded, as a JPEG."""
    import ast
    import asyncio
    import base64
    import io

    from PIL import Image

    from tests.integration.test_rest_mcp import _mcp_session

    library, settings, _ = indexed
    star = library / "IMG_0001.DNG"
    picture = render_scene(Scene((SceneObject("blue", "star"),), "white"), 256, random.Random(11))
    big = dng(picture.resize((1600, 1600)))  # 5 MB of 16-bit samples, as a small sensor's
    assert len(big) > 4 << 20
    served = Served.uploading_to(gradio_temp, settings)

    async def work(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        inline = "data:image/x-adobe-dng;base64," + base64.b64encode(big).decode()
        found = await session.call_tool("search_photos_by_image", {"image": inline, "k": 2})
        seen = await session.call_tool("look_at_photo", {"path": str(star)})
        return tools, found, seen

    try:
        tools, found, seen = asyncio.run(asyncio.wait_for(_mcp_session(served.url, work=work), 60))
        told = tools["search_photos_by_image"].inputSchema["properties"]["image"]["description"]
        assert "camera RAW" in told and "AVIF" in told and "HEIC" in told
        assert not found.isError, found.content
        hits = ast.literal_eval(found.content[0].text)
        assert hits[0]["file"] == str(star)
        thumbnail = httpx.get(hits[0]["thumbnail"], timeout=30)
        assert thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content[:2] == b"\xff\xd8"
        shown = [c for c in seen.content if c.type == "image"]
        assert not seen.isError and len(shown) == 1 and shown[0].mimeType == "image/jpeg"
        with Image.open(io.BytesIO(base64.b64decode(shown[0].data))) as jpeg:
            assert jpeg.format == "JPEG" and max(jpeg.size) == 256
    finally:
        served.close()
