"""The web app in-process over HTTP: gradio_client against the named endpoints, and raw requests
that try to get files out of the server through Gradio's file routes."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from clipsearch import SearchEngine, Settings
from clipsearch.stores import open_store
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo, save
from testsupport.net import free_port
from webui import build_demo, launch_options


@dataclass
class Server:
    url: str
    demo: gr.Blocks
    settings: Settings
    library: Path
    secret: Path
    gradio_temp: Path


def launch(demo: gr.Blocks, settings: Settings, engine: SearchEngine | None) -> str:
    port = free_port()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(settings, engine))
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("webui")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        library, secret = root / "photos", root / "secret"
        for i in range(8):
            save(photo(320, 240, seed=i), library / ("a" if i < 4 else "b") / f"p{i}.jpg", quality=90)
        (library / "notes.txt").write_text("private notes beside the photos")
        secret.mkdir()
        (secret / "passwords.txt").write_text("hunter2")
        save(photo(64, 64, seed=77), secret / "hidden.jpg")
        os.symlink(secret / "passwords.txt", library / "link-out.txt")
        os.symlink(secret, library / "linked-dir")  # the indexer follows it: hidden.jpg is indexed
        settings = Settings(index_dir=root / "index", cache_dir=root / "cache")
        encoder = FakeEncoder()
        engine = SearchEngine(encoder, open_store(settings.index_dir, encoder.stamp, create=True), settings=settings)
        engine.index_folder(library)
        demo = build_demo(engine, settings)
        url = launch(demo, settings, engine)
        yield Server(url, demo, settings, library, secret, root / "gradio")
        demo.close()
        demo.handlers.close()
        engine.close()


@pytest.fixture(autouse=True)
def same_upload_folder(server, monkeypatch):
    """Gradio reads GRADIO_TEMP_DIR per request: keep the server's, not this test's."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(server.gradio_temp))


@pytest.fixture(scope="module")
def client(server) -> Client:
    # As webui/API.md shows for a local app: plain http, nothing to verify.
    return Client(server.url, verbose=False, ssl_verify=False, download_files=str(server.gradio_temp / "client"))


def test_only_the_named_endpoints_are_public(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/search_text", "/search_image", "/similar", "/duplicates", "/info",
                                            "/look_at_photo", "/saved_searches", "/run_saved_search", "/save_search",
                                            "/topics", "/topic_photos", "/search_videos", "/similar_videos"}
    assert info["unnamed_endpoints"] == {}


def test_search_text(client, server):
    results = client.predict("red sky", 5, 0.0, api_name="/search_text")
    assert len(results) == 5
    for r in results:
        assert set(r) >= {"file", "score", "name", "width", "height", "size", "date_taken"}
        assert r["file"].startswith(str(server.library))
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert client.predict("red sky", 5, 0.99, api_name="/search_text") == []


def test_search_image(client, server, tmp_path):
    upload = save(photo(320, 240, seed=5), tmp_path / "query.png")
    results = client.predict(handle_file(str(upload)), 3, api_name="/search_image")
    assert results[0]["file"] == str(server.library / "b" / "p5.jpg")


def test_similar(client, server):
    target = str(server.library / "a" / "p1.jpg")
    results = client.predict(target, 4, api_name="/similar")
    assert len(results) == 4 and target not in [r["file"] for r in results]


@pytest.mark.parametrize("path", ["/etc/passwd", "notes.txt", "link-out.txt", "a/../notes.txt", "a"])
def test_similar_refuses_what_is_not_indexed(client, server, path):
    full = path if path.startswith("/") else str(server.library / path)
    with pytest.raises(AppError, match="not in the index"):
        client.predict(full, 3, api_name="/similar")


def test_a_text_file_posing_as_an_image_is_a_clear_error(client, tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    with pytest.raises(AppError, match="not a picture"):
        client.predict(handle_file(str(fake)), 3, api_name="/search_image")
    assert len(client.predict("red sky", 3, 0.0, api_name="/search_text")) == 3


def test_an_upload_that_is_no_picture_is_refused_for_its_true_reason(client, tmp_path):
    """As the REST route says it: an empty file, or more pixels than allowed, not "not an image"."""
    from testsupport.imagefactory import bomb_png

    (tmp_path / "empty.jpg").write_bytes(b"")
    for upload, reason in ((tmp_path / "empty.jpg", "empty file"), (bomb_png(tmp_path / "huge.png", 30_000, 30_000), "too many pixels")):
        with pytest.raises(AppError, match=rf"not a picture clipsearch can read \({reason}\)"):
            client.predict(handle_file(str(upload)), 3, api_name="/search_image")


def test_thumbnails_are_served(server):
    thumb = server.demo.handlers.thumbs.get(str(server.library / "a" / "p0.jpg"))
    response = httpx.get(server.url + "gradio_api/file=" + thumb)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"


def forbidden_urls(server: Server) -> list[str]:
    thumbs = server.demo.handlers.thumbs.root
    lib, index = server.library, server.settings.index_dir
    paths = [
        str(lib / "notes.txt"),  # a text file beside the photos
        str(lib / "a" / "p0.jpg"),  # an original photo
        "/etc/passwd",
        str(lib / "link-out.txt"),  # a symlink in the photo folder pointing out
        str(lib / "linked-dir" / "hidden.jpg"),  # an indexed photo behind a symlinked folder
        str(server.secret / "passwords.txt"),
        str(index / "records.sqlite"),  # the index itself
        str(index / "manifest.json"),
        f"{thumbs}/../../index/records.sqlite",  # climbing out of the served folder
        f"{thumbs}/256/../../../photos/a/p0.jpg",
        f"{thumbs}/../../../../../../etc/passwd",
    ]
    urls = []
    for path in paths:
        urls.append(f"gradio_api/file={path}")
        urls.append(f"gradio_api/file={quote(path)}")
        urls.append(f"gradio_api/file/{path}")
    encoded = str(thumbs).replace("/", "%2F")
    urls += [
        f"gradio_api/file={thumbs}/%2e%2e/%2e%2e/index/records.sqlite",
        f"gradio_api/file={thumbs}/%2E%2E%2F%2E%2E%2Fphotos%2Fa%2Fp0.jpg",
        f"gradio_api/file={encoded}%2F..%2F..%2Findex%2Frecords.sqlite",
        f"gradio_api/file={thumbs}/%252e%252e/%252e%252e/photos/a/p0.jpg",
        "gradio_api/file=..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"file={lib}/a/p0.jpg",
        f"gradio_api/file=file://{lib}/a/p0.jpg",
    ]
    return urls


def test_no_file_outside_the_thumbnail_cache_can_be_fetched(server):
    with httpx.Client(base_url=server.url) as http:
        for url in forbidden_urls(server):
            for method in ("GET", "HEAD"):
                response = http.request(method, url)
                assert response.status_code >= 400, f"{method} {url} -> {response.status_code}"
                assert b"hunter2" not in response.content and b"root:" not in response.content


def test_file_inputs_must_have_been_uploaded(server):
    """A client cannot name a server-side file as the /search_image input."""
    for path in ("/etc/passwd", str(server.library / "a" / "p0.jpg")):
        payload = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, 3]}
        with httpx.Client(base_url=server.url, timeout=30) as http:
            event = http.post("gradio_api/call/search_image", json=payload).json()["event_id"]
            stream = http.get(f"gradio_api/call/search_image/{event}").text
        assert "event: error" in stream and "p0.jpg\"" not in stream.split("event: error")[-1]


def test_uploads_are_size_limited(server):
    big = b"\xff\xd8" + os.urandom(51 * 1024 * 1024)
    response = httpx.post(server.url + "gradio_api/upload", files={"files": ("big.jpg", big, "image/jpeg")},
                          timeout=60)
    assert response.status_code == 413


def test_without_an_index_the_page_says_how_to_build_one(tmp_path):
    settings = Settings(index_dir=tmp_path / "no-index", cache_dir=tmp_path / "cache")
    demo = build_demo(None, settings)
    url = launch(demo, settings, None)
    try:
        config = json.dumps(httpx.get(url + "config").json())
        assert "python -m indexer" in config and "No index yet" in config
        with pytest.raises(AppError, match="No index"):
            Client(url, verbose=False).predict("red sky", 3, 0.0, api_name="/search_text")
    finally:
        demo.close()
        demo.handlers.close()
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
