"""Saved searches that keep an example photo, or a part of it ("smart albums by example"), end to end
with the demo model over the sample library: the command line (here and through --server), REST,
the named endpoint and the MCP tool. Each runs the search it was saved as, after the photo it came
from is gone."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import shutil

import httpx
import pytest
from gradio_client import Client

import cli.search
from clipsearch.saved import FILE_NAME, PHOTO_FILE_NAME, PHOTOS, SavedSearch, SavedSearches
from tests.integration.test_region_search import LEFT, RIGHT, shows
from tests.integration.test_rest_mcp import Served, _mcp_session

pytestmark = pytest.mark.usefixtures("same_gradio_temp")  # conftest.py: the server's upload folder


@pytest.fixture(scope="module")
def served(demo_engine, gradio_temp):
    server = Served.uploading_to(gradio_temp, demo_engine.settings)
    yield server
    server.close()


@pytest.fixture
def saved_here(demo_engine):
    """The demo index's saved searches, left as they were found (the index is the session's)."""
    index = demo_engine.settings.index_dir
    yield SavedSearches(index)
    (index / FILE_NAME).unlink(missing_ok=True)
    (index / PHOTO_FILE_NAME).unlink(missing_ok=True)
    shutil.rmtree(index / PHOTOS, ignore_errors=True)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.search.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_line_saves_a_part_of_a_photo_and_runs_it_after_the_photo_is_gone(
        demo_engine, saved_here, truth, two_halves, served, capsys, tmp_path):
    index = str(demo_engine.settings.index_dir)
    photo = tmp_path / "IMG_0016.jpg"
    shutil.copy(two_halves, photo)
    code, _, err = run(capsys, "saved", "--index", index, "add", "Blue star", "--photo", str(photo), "--region", LEFT)
    assert code == 0 and "saved 'Blue star': photo IMG_0016.jpg, a part (0,0,0.5,1)" in err, err
    asked = ("-k", "3", "--min-score", "0", "--json")
    code, direct, _ = run(capsys, "search", "--image", str(photo), "--region", LEFT, *asked, "--index", index)
    assert code == 0 and shows([{"file": h["path"]} for h in json.loads(direct)], truth, "blue", "star"), direct
    photo.unlink()  # the file it was saved from is gone; its copy beside the index is not
    assert run(capsys, "search", "--saved", "Blue star", *asked, "--index", index)[:2] == (0, direct)
    assert run(capsys, "search", "--saved", "Blue star", *asked, "--server", served.url)[:2] == (0, direct)
    # a picture beside it: both pictures here, a usage error with --server (REST takes one; README)
    assert run(capsys, "search", "--saved", "Blue star", "--image", str(two_halves), *asked, "--index", index)[0] == 0
    code, _, err = run(capsys, "search", "--saved", "Blue star", "--image", str(two_halves), *asked, "--server", served.url)
    assert code == 2 and err.startswith("usage: python -m clipsearch search ") and "has a photo of its own" in err, err
    # with words: the photo's part and the words, as the same search typed out
    code, _, err = run(capsys, "saved", "--index", index, "add", "Star, not green", "- a green square",
                       "--photo", str(two_halves), "--region", "0%,0%,50%,100%")
    assert code == 0, err
    typed = run(capsys, "search", "- a green square", "--image", str(two_halves), "--region", LEFT, *asked,
                "--index", index)
    assert run(capsys, "search", "--saved", "Star, not green", *asked, "--index", index)[:2] == typed[:2]
    code, listed, _ = run(capsys, "saved", "--index", index, "--json")
    assert [(s["name"], s["photo_name"], s["region"], s["query"]) for s in json.loads(listed)] == [
        ("Blue star", "IMG_0016.jpg", "0,0,0.5,1", ""), ("Star, not green", "two-halves.jpg", "0,0,0.5,1",
                                                        "- a green square")]
    assert all("photo" not in s for s in json.loads(listed))  # where the copy lies is the index's business
    assert len(list((demo_engine.settings.index_dir / PHOTOS).iterdir())) == 1  # one copy of one photo's bytes
    for wrong, says in ((["x", "a dog", "--region", LEFT], "a region is a part of a photo"),
                        (["x", "--photo", str(photo)], "no such file"),
                        (["x"], "needs words to search for, or a photo"),
                        (["x", "--photo", str(two_halves), "--region", "0,0,5000,10"], "reaches past the picture")):
        code, _, err = run(capsys, "saved", "--index", index, "add", *wrong)
        assert code == 2 and says in err, (wrong, err)
    assert [s.name for s in saved_here.all()] == ["Blue star", "Star, not green"]  # nothing else written


def test_rest_the_named_endpoint_and_the_mcp_tool_run_a_saved_photo(served, saved_here, two_halves, truth):
    saved_here.save(SavedSearch("Green square", "", region=RIGHT), two_halves)
    with open(two_halves, "rb") as data:
        posted = httpx.post(served.url + "api/search", data={"region": RIGHT, "k": 3}, timeout=60,
                            files={"image": ("two-halves.jpg", data)}).json()["results"]
    assert shows(posted, truth, "green", "square"), posted
    files = [r["file"] for r in posted]
    answer = httpx.get(served.url + "api/search", params={"saved": "Green square", "k": 3}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert [r["file"] for r in answer.json()["results"]] == files and answer.json()["image"] is True
    listed = httpx.get(served.url + "api/saved", timeout=60).json()["searches"]
    assert listed == [{"name": "Green square", "query": "", "folder": None, "since": None, "until": None,
                       "photo_name": "two-halves.jpg", "region": "0.5,0,1,1"}]
    refused = httpx.get(served.url + "api/search", params={"saved": "Green square", "region": LEFT}, timeout=60)
    assert refused.status_code == 400 and "has a photo of its own" in refused.json()["error"]

    client = Client(served.url, verbose=False)
    try:
        assert [r["file"] for r in client.predict("Green square", 3, api_name="/run_saved_search")] == files
        with pytest.raises(Exception, match="No saved search is called 'Blue'"):
            client.predict("Blue", 3, api_name="/run_saved_search")
    finally:
        client.close()

    async def work(session):
        tools = {tool.name for tool in (await session.list_tools()).tools}
        listed = await session.call_tool("saved_searches", {})
        ran = await session.call_tool("run_saved_search", {"name": "Green square", "k": 3})
        return tools, listed, ran

    tools, listed, ran = asyncio.run(_mcp_session(served.url, work=work))
    assert "run_saved_search" in tools and "two-halves.jpg" in listed.content[0].text
    assert not ran.isError, ran.content
    assert [r["file"] for r in ast.literal_eval(ran.content[0].text)] == files


def test_scripts_and_assistants_save_and_forget_searches(served, saved_here, two_halves, sample_library, truth):
    """POST /api/saved (a picture sent, or an indexed photo by its path, and words), DELETE
    /api/saved, and the MCP tool save_search: each saved as the page saves it, run by name."""
    url = served.url
    with open(two_halves, "rb") as data:
        made = httpx.post(url + "api/saved", data={"name": "Green square", "region": RIGHT}, timeout=60,
                          files={"image": ("two-halves.jpg", data)})
    assert made.status_code == 200, made.text
    assert made.json()["saved"] == {"name": "Green square", "query": "", "folder": None, "since": None,
                                    "until": None, "photo_name": "two-halves.jpg", "region": "0.5,0,1,1"}
    assert made.json()["replaced"] is False
    ran = httpx.get(url + "api/search", params={"saved": "Green square", "k": 3}, timeout=60).json()["results"]
    assert shows(ran, truth, "green", "square"), ran
    indexed = str(sorted(sample_library.rglob("*.jpg"))[0])
    by_path = httpx.post(url + "api/saved", timeout=60, data={  # URL-encoded: no file in it
        "name": "Like it, in 2020", "file": indexed, "q": "- a red circle", "since": "2020", "until": "2020"})
    assert by_path.status_code == 200, by_path.text
    again = httpx.post(url + "api/saved", timeout=60, data={"name": "Like it, in 2020", "file": indexed,
                                                            "q": "- a red circle", "since": "2020", "until": "2020"})
    assert again.json()["replaced"] is True, again.text  # the same name: that search replaced, and said
    kept = saved_here.get("Like it, in 2020")
    assert (kept.photo_name, kept.query, kept.since, kept.until) == (
        os.path.basename(indexed), "- a red circle", "2020-01-01", "2020-12-31")
    assert open(kept.photo_path(saved_here.folder), "rb").read() == open(indexed, "rb").read()
    for fields, status, says in (({"name": "x", "file": indexed + ".nope"}, 404, "not in the index"),
                                 ({"q": "a dog"}, 400, "give the saved search a name"),
                                 ({"name": "x", "q": "a dog", "region": LEFT}, 400, "a region is a part of a photo"),
                                 ({"name": "x", "q": "a dog", "since": "2023-02-30"}, 400, "since"),
                                 ({"name": "x", "q": "2:"}, 400, "")):
        refused = httpx.post(url + "api/saved", data=fields, timeout=60)
        assert refused.status_code == status and says in refused.json()["error"], (fields, refused.text)
    assert httpx.delete(url + "api/saved", params={"name": "Green square"}, timeout=60).json() == {
        "forgot": "Green square"}
    again = httpx.delete(url + "api/saved", params={"name": "Green square"}, timeout=60)
    assert again.status_code == 404 and "no saved search is called" in again.json()["error"]

    async def work(session):
        saved = await session.call_tool("save_search", {"name": "Blue stars of 2019", "query": "a blue star",
                                                        "since": "2019", "until": "2019"})
        like = await session.call_tool("save_search", {"name": "Like that one", "path": indexed,
                                                       "region": "0,0,0.5,0.5"})
        wrong = await session.call_tool("save_search", {"name": "x", "path": "/nowhere.jpg"})
        return saved, like, wrong

    saved, like, wrong = asyncio.run(_mcp_session(url, work=work))
    assert not saved.isError and not like.isError, (saved.content, like.content)
    assert (saved_here.get("Blue stars of 2019").query, saved_here.get("Blue stars of 2019").since) == (
        "a blue star", "2019-01-01")
    assert saved_here.get("Like that one").region == "0,0,0.5,0.5"
    assert wrong.isError and "not in the index" in str(wrong.content)
    assert [s.name for s in saved_here.all()] == ["Blue stars of 2019", "Like it, in 2020", "Like that one"]
