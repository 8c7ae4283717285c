"""File names that are not UTF-8 (a Latin-1 name from an old archive) on the real server: every
route answers, shows the odd bytes as \\xNN, and takes that form back (webui/paths.py). Before,
one such photo among the results failed the whole search: 500 on REST, an error on the page."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest
from gradio_client import Client
from PIL import Image

from clipsearch import ModelSpec, SearchEngine, Settings
from tests.integration.test_rest_mcp import Served
from testsupport.imagefactory import photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def odd_library(tmp_path_factory):
    """A folder named 'Fotos d\\xe9t\\xe9' (Latin-1 bytes) holding 'caf\\xe9.jpg' and an exact copy
    'caf\\xe9 (2).jpg', beside two ordinary pictures."""
    root = tmp_path_factory.mktemp("odd")
    library = root / "photos"
    library.mkdir()
    odd = os.fsencode(library) + b"/Fotos d\xe9t\xe9"
    os.mkdir(odd)
    with open(odd + b"/caf\xe9.jpg", "wb") as out:
        photo(320, 240, seed=1).save(out, "JPEG", quality=90)
    shutil.copyfile(odd + b"/caf\xe9.jpg", odd + b"/caf\xe9 (2).jpg")
    photo(320, 240, seed=2).save(library / "plain.jpg", quality=90)
    Image.new("RGB", (320, 240), "navy").save(library / "navy.png")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    assert engine.index_folder(library).added == 4
    engine.close()
    return settings, os.fsdecode(odd)


@pytest.fixture(scope="module")
def server(odd_library, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        served = Served(odd_library[0])
    yield served
    served.close()


def shown(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def test_rest_answers_and_takes_its_own_form_back(server, odd_library):
    folder = odd_library[1]
    cafe = os.path.join(folder, "caf\udce9.jpg")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        answer = http.get("api/search", params={"q": "a picture", "k": 4, "min_score": 0})
        assert answer.status_code == 200, answer.text
        files = [hit["file"] for hit in answer.json()["results"]]
        assert shown(cafe) in files and shown(cafe) == folder.replace("\udce9", "\\xe9") + "/caf\\xe9.jpg"
        hit = next(h for h in answer.json()["results"] if h["file"] == shown(cafe))
        assert hit["name"] == "caf\\xe9.jpg"
        thumb = http.get(hit["thumbnail"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        like = http.get("api/similar", params={"file": hit["file"], "k": 3, "min_score": 0})
        assert like.status_code == 200, like.text
        assert shown(cafe.replace(".jpg", " (2).jpg")) == like.json()["results"][0]["file"]
        inside = http.get("api/search", params={"q": "a picture", "k": 4, "min_score": 0, "folder": shown(folder)})
        assert inside.status_code == 200 and len(inside.json()["results"]) == 2
        assert {h["file"] for h in inside.json()["results"]} == {shown(cafe), shown(cafe.replace(".jpg", " (2).jpg"))}
        server.demo.handlers.originals = True  # --originals: the photo whole, under a name a header can hold
        try:
            whole = http.get("api/photo", params={"file": hit["file"]})  # was a 500 (UnicodeEncodeError)
        finally:
            server.demo.handlers.originals = False
        assert whole.status_code == 200 and whole.content == open(os.fsencode(cafe), "rb").read()
        assert whole.headers["content-disposition"] == "attachment; filename*=utf-8''caf%EF%BF%BD.jpg"


def test_gradio_api_search_similar_and_duplicates(server, odd_library):
    cafe = shown(os.path.join(odd_library[1], "caf\udce9.jpg"))
    client = Client(server.url, ssl_verify=False, verbose=False)
    hits = client.predict("a picture", 4, api_name="/search_text")
    assert cafe in [h["file"] for h in hits]
    like = client.predict(cafe, 3, api_name="/similar")
    assert like and cafe not in [h["file"] for h in like]
    groups = client.predict(False, api_name="/duplicates")
    assert [sorted(g["paths"]) for g in groups] == [sorted([cafe, cafe.replace(".jpg", " (2).jpg")])]


def test_the_command_lines_print_the_names_own_bytes_and_valid_json(odd_library, tmp_path):
    """Under a UTF-8 locale Python writes stdout strictly (PYTHONIOENCODING=utf-8:strict here, as a
    desktop's en_US.UTF-8 does): such a name ended the commands in a traceback."""
    import json
    import subprocess
    import sys

    from tests.integration.conftest import REPO

    settings, folder = odd_library
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8:strict"}

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", *args], capture_output=True, cwd=REPO, env=env, timeout=300)
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        return done

    cafe = os.path.join(folder, "caf\udce9.jpg")
    text = run("clipsearch", "search", "a picture", "--index", str(settings.index_dir), "--min-score", "0", "--no-fold")
    assert os.fsencode(cafe) in text.stdout  # a script gets the path it can open
    found = json.loads(run("clipsearch", "search", "a picture", "--index", str(settings.index_dir), "--json").stdout)
    assert cafe in [hit["path"] for hit in found] and all(os.path.exists(hit["path"]) for hit in found)
    groups = json.loads(run("clipsearch", "duplicates", "--index", str(settings.index_dir), "--json").stdout)
    assert sorted(groups[0]["paths"]) == sorted([cafe, cafe.replace(".jpg", " (2).jpg")])
    # The indexer: a broken file with such a name, skipped and reported, in text and in JSON.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / os.fsdecode(b"d\xe9j\xe0.jpg")).write_bytes(b"not a picture")
    index = ["--index", str(tmp_path / "index"), "--model", "demo"]
    report = run("indexer", str(broken), *index)
    assert b"d\xe9j\xe0.jpg" in report.stdout + report.stderr
    # Its warning on stderr, where Python writes such a byte as "\udce9" by default: the bytes too.
    plain = {k: v for k, v in env.items() if k != "PYTHONIOENCODING"} | {"LC_ALL": "C.UTF-8"}
    warned = subprocess.run([sys.executable, "-m", "indexer", str(broken), "--index", str(tmp_path / "index3"),
                             "--model", "demo"], capture_output=True, cwd=REPO, env=plain, timeout=300)
    assert warned.returncode == 0 and b"skipping " + os.fsencode(broken) + b"/d\xe9j\xe0.jpg" in warned.stderr
    index = ["--index", str(tmp_path / "index2"), "--model", "demo"]  # a first run: the next would not read it again
    skipped = json.loads(run("indexer", str(broken), *index, "--json").stdout.splitlines()[-1])["skipped"]
    assert [os.path.basename(p) for paths in skipped.values() for p in paths] == [os.fsdecode(b"d\xe9j\xe0.jpg")]


def test_search_server_sends_such_a_name_and_prints_what_a_search_here_prints(server, odd_library, capsysbinary):
    """`clipsearch search --server` ended in a traceback (httpx: UnicodeEncodeError) for a folder, a
    picture's file name or words holding a byte that is not UTF-8; a search here took them."""
    import cli.search

    settings, folder = odd_library
    index = str(settings.index_dir)
    for ask in (["a picture", "--folder", folder, "--min-score", "0"],
                ["--image", os.path.join(folder, "caf\udce9.jpg"), "-k", "3", "--min-score", "0"],
                ["caf\udce9", "-k", "3", "--min-score", "0"]):
        assert cli.search.main(["search", *ask, "--index", index]) == 0, ask
        here = capsysbinary.readouterr()
        assert cli.search.main(["search", *ask, "--server", server.url]) == 0, ask
        there = capsysbinary.readouterr()
        assert there.out == here.out and there.err == here.err and here.out, (ask, here, there)
    assert b"caf" in here.out  # the folder's two photos, the picture's copy, or the words' best
