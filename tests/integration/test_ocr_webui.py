"""Words in photos through the web app's HTTP APIs (gradio_client and REST), in-process, real OCR."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from clipsearch import ModelSpec, SearchEngine, Settings
from testsupport.net import free_port
from testsupport.ocrfactory import make_ocr_library
from webui import build_demo, launch_options
from webui.rest import launch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ocr-webui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        library = make_ocr_library(root / "photos", n_text=2, n_shapes=4, seed=6)
        settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec("demo"))
        engine = SearchEngine.for_writing(settings)
        engine.set_text_reading(True)
        engine.index_folder(library.folder)
        assert engine.read_texts().read == library.photos
        demo = build_demo(engine, settings)
        port = free_port()
        demo.queue()
        launch(demo, mcp=False, server_name="127.0.0.1", server_port=port, quiet=True,
               **launch_options(settings, engine))  # the page, Gradio's API and the /api/ routes
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(root / "client"))
        yield client, library, demo
        demo.close()
        demo.handlers.close()
        engine.close()


def test_search_text_carries_the_matched_words(server):
    client, library, _ = server
    for word, photo in library.words.items():
        results = client.predict(word, 5, 0.0, api_name="/search_text")
        assert Path(results[0]["file"]) == photo
        assert f"[{word}]" in results[0]["text"].lower()
        assert all("text" not in r for r in results[1:])


def test_a_flat_cut_off_keeps_photos_whose_words_match(server):
    client, library, _ = server
    word, photo = sorted(library.words.items())[0]
    results = client.predict(word, 5, 0.999, api_name="/search_text")
    assert [Path(r["file"]) for r in results] == [photo]


def test_the_preview_shows_the_words_in_bold(server):
    _, library, demo = server
    word, _ = sorted(library.words.items())[0]
    handlers = demo.handlers
    results = handlers.query(word, None, 5)
    gallery, shown, _ = handlers.render(results, 0.0, "relevance")
    assert f"[{word}]" in gallery[0][1].lower()

    class Click:
        index = 0

    _, details, _ = handlers.select(shown, Click())
    assert "**Words:**" in details and f"**{word}**" in details.lower()
    info, _, _ = handlers.index_panel()
    assert f"read in {library.photos} photos, 2 with words" in info


def test_the_rest_route_carries_the_matched_words(server):
    import httpx

    client, library, _ = server
    word, photo = sorted(library.words.items())[0]
    answer = httpx.get(client.src.rstrip("/") + "/api/search", params={"q": word, "k": 5, "min_score": 0.999},
                       timeout=120).json()
    assert [Path(r["file"]) for r in answer["results"]] == [photo]
    assert f"[{word}]" in answer["results"][0]["text"].lower()
