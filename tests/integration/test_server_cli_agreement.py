"""``clipsearch search --server URL`` prints what the same search on the index prints (README: "the
same lines printed"), on a served library whose photos have words (real OCR, demo model): a photo
whose words match stays under a flat ``--min-score``, a folder the index does not cover is said in
the same words; and what the app's other fronts take as ``min_score`` is what its docs say."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from gradio_client import Client

from cli.search import main as cli_main
from clipsearch import ModelSpec, SearchEngine, Settings
from tests.integration.test_rest_mcp import Served, _mcp_session
from testsupport.net import answering
from testsupport.ocrfactory import make_ocr_library
from webui.matches import api_min_score

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("same_gradio_temp")]  # conftest.py: the server's uploads

HIGH = "0.99"  # a flat cut-off no photo's CLIP score reaches here: only the words keep a photo


@pytest.fixture(scope="module")
def library(tmp_path_factory, gradio_temp):
    """(the served app, its index's settings, the OCR library)."""
    root = tmp_path_factory.mktemp("agreement")
    photos = make_ocr_library(root / "photos", n_text=2, n_shapes=4, seed=6)
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    engine.set_text_reading(True)
    engine.index_folder(photos.folder)
    assert engine.read_texts().read == photos.photos
    engine.close()
    server = Served.uploading_to(gradio_temp, settings)
    yield server, settings, photos
    server.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``python -m clipsearch ARGV``, in this process: its exit code, stdout and stderr."""
    capsys.readouterr()
    try:
        code = cli_main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def both(capsys, library, *argv: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """``search ARGV`` on the index here, then asked of the server."""
    server, settings, _ = library
    return (run(capsys, "search", *argv, "--index", str(settings.index_dir)),
            run(capsys, "search", *argv, "--server", server.url))


def without_scores(out: str) -> list[str]:
    """The printed results less their score (a last digit the server's arithmetic may round apart)."""
    return [line.split("\t", 1)[1] for line in out.splitlines()]


def test_a_flat_min_score_keeps_the_photo_its_words_match_as_a_search_here_does(library, capsys):
    """`search waffle --min-score 0.9 --server URL` printed nothing ("No result scored 0.9 or more")
    where the search here, REST, the call API and MCP list the photo that says "waffle": a word
    match is strong whatever its score (webui/API.md), and the server's answer marks it."""
    _, _, photos = library
    for word, photo in sorted(photos.words.items()):
        here, there = both(capsys, library, word, "-k", "5", "--min-score", HIGH)
        assert here[0] == there[0] == 0
        assert [line.split("\t")[0] for line in without_scores(here[1])] == [str(photo)], here
        assert without_scores(there[1]) == without_scores(here[1]), (here, there)
        assert there[2] == here[2] and "1 matched by its words" in here[2], (here[2], there[2])
        here, there = both(capsys, library, word, "-k", "5", "--min-score", HIGH, "--json")
        listed = [(hit["path"], hit["strong"], hit.get("text")) for hit in json.loads(here[1])]
        assert [path for path, _, _ in listed] == [str(photo)]
        assert [(hit["path"], hit["strong"], hit.get("text")) for hit in json.loads(there[1])] == listed


def test_a_moment_whose_words_match_stays_under_a_flat_min_score_as_here(capsys):
    """The videos' moments alike: one whose words match (the answer's ``words``) is strong whatever
    its score, as ``VideoSide.search`` marks it here; and the answer's note where no photo is found
    but moments are ("No photo results: ...") prints what a search here prints."""
    moment = {"file": "/videos/market.mp4", "at": 12.0, "score": 0.21, "duration": 60.0, "width": 640, "height": 360,
              "date_taken": None, "size": 1000, "mtime_ns": 1, "strong": True, "also": [], "words": "[Waffle] stand"}
    weak = {**moment, "file": "/videos/beach.mp4", "score": 0.3, "words": None}
    body = {"results": [], "moments": [moment, weak], "note": "No photo results: no indexed photo is in that folder "
            "and date range; the videos' matching moments are in moments"}
    with answering(200, body) as url:
        code, out, err = run(capsys, "search", "waffle", "--min-score", HIGH, "--folder", "/videos", "--server", url)
    assert code == 0
    assert out.splitlines() == ["0.210\t/videos/market.mp4\tat 0:12\t[Waffle] stand"], out
    assert err.splitlines() == ["No photo result: no indexed photo is in that folder and date range; the videos' "
                                "moments follow", "In videos: 1 strong match; 1 weaker hidden (--min-score 0 shows all)"]


def test_a_folder_the_index_does_not_cover_is_said_as_a_search_here_says_it(library, capsys, tmp_path):
    """`search waffle --folder /home/nobody/Pictures --server URL` said "No result: no indexed photo is
    in that folder and date range" where the search here and REST say the index holds no photo
    there and what it covers: the answer's note says it, and the command line prints it."""
    _, _, photos = library
    word = sorted(photos.words)[0]
    elsewhere = str(tmp_path / "Pictures")
    for argv in ((word, "--folder", elsewhere), (word, "--folder", elsewhere, "--min-score", "0")):
        here, there = both(capsys, library, *argv)
        assert here == there, (here, there)
        assert here[2] == f"No result: the index holds no photo in {elsewhere}: it covers {photos.folder}\n"
    here, there = both(capsys, library, word, "--folder", str(photos.folder / "signs"), "--since", "2031")
    assert here == there == (0, "", "No result: no indexed photo is in that folder and date range\n")


@pytest.mark.parametrize("where", ["--server", "--index", "saved add"])
def test_a_region_that_starts_with_a_minus_is_refused_as_a_region(library, capsys, tmp_path, where):
    """`--region -0.1,0,1,1` ended in argparse's "expected one argument" (a value with a leading
    minus read as a flag), where the other fronts say what a region is; so did `saved add`'s."""
    server, settings, photos = library
    photo = str(next(iter(photos.words.values())))
    if where == "saved add":
        argv = ["saved", "add", "Part", "--photo", photo, "--region", "-0.1,0,1,1", "--index", str(tmp_path / "index")]
    else:
        argv = ["search", "--image", photo, "--region", "-0.1,0,1,1", where,
                server.url if where == "--server" else str(settings.index_dir)]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "not a region: '-0.1,0,1,1'; give LEFT,TOP,RIGHT,BOTTOM" in err.splitlines()[-1], err


def test_auto_as_min_score_is_taken_where_the_docs_say_and_refused_by_mcp(library):
    """``api_min_score``'s docstring said "auto" works for MCP too, whose tools declare ``min_score``
    a number: MCP's own check refuses it before the tool runs. REST and the call API take it."""
    server, _, photos = library
    word = sorted(photos.words)[0]
    rest = httpx.get(server.url + "api/search", params={"q": word, "k": 5, "min_score": "auto"}, timeout=60)
    assert rest.status_code == 200 and all(r["strong"] for r in rest.json()["results"])
    client = Client(server.url, verbose=False)
    try:
        called = client.predict(word, 5, "auto", api_name="/search_text")
        assert [r["file"] for r in called] == [r["file"] for r in client.predict(word, 5, -1, api_name="/search_text")]
    finally:
        client.close()

    async def work(session):
        return [await session.call_tool("search_photos_by_text", {"text": word, "k": 5, "min_score": cut})
                for cut in ("auto", -1)]

    refused, taken = asyncio.run(_mcp_session(server.url, work=work))
    assert refused.isError and "'auto' is not of type 'number'" in refused.content[0].text
    assert not taken.isError
    said = " ".join(api_min_score.__doc__.split())
    assert "MCP's own check of a call's arguments refuses \"auto\"" in said, said
