"""The web app under load, beside a running indexer, and behind --auth (real server, demo model)."""

from __future__ import annotations

import os
import shutil
import threading
import time

import httpx
import pytest
from gradio_client import Client

from clipsearch import SearchEngine, Settings
from clipsearch.demo import Scene, SceneObject, render_scene
from tests.integration.conftest import REPO
from testsupport.load import run_load
from testsupport.net import free_port
from testsupport.warm import run_module
from webui import build_demo, launch_options


def serve(settings: Settings, **launch_kwargs):
    engine = SearchEngine.for_reading(settings)
    demo = build_demo(engine, settings)
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(settings, engine), **launch_kwargs)
    return demo, engine, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def query_images(tmp_path_factory):
    import random

    folder = tmp_path_factory.mktemp("queries")
    rng = random.Random(11)
    paths = []
    for i, (colour, shape) in enumerate([("blue", "star"), ("red", "circle"), ("green", "square")]):
        path = folder / f"q{i}.png"
        render_scene(Scene((SceneObject(colour, shape),), "white"), 160, rng).save(path)
        paths.append(str(path))
    return paths


def test_eight_clients_mixed_queries_get_no_errors(demo_engine, query_images):
    demo, engine, url = serve(demo_engine.settings)
    try:
        result = run_load(url, ["a red circle", "a blue star and a yellow square", "a circle - red",
                                "2:a green cross + a white square"], query_images, clients=8, seconds=6)
    finally:
        demo.close()
        engine.close()
    assert result.errors == []
    assert result.latencies["text"] and result.latencies["image"]


def test_the_app_answers_while_the_indexer_adds_images_and_picks_them_up(sample_library, tmp_path):
    library = tmp_path / "photos"
    pictures = sorted(p for p in sample_library.rglob("*") if p.suffix in {".jpg", ".png", ".webp"})
    first, later = pictures[:150], pictures[150:]
    for path in first:
        target = library / path.relative_to(sample_library)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    index = tmp_path / "index"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [str(library), "--index", str(index), "-q", "--batch-size", "8"]
    made = run_module("indexer", *args, "--model", "demo", env=env, cwd=REPO)
    assert made.returncode == 0, made.stderr
    settings = Settings(index_dir=index, cache_dir=tmp_path / "cache")
    demo, engine, url = serve(settings)
    errors, counts, stop = [], [], threading.Event()

    def keep_searching():
        client = Client(url, verbose=False)
        while not stop.is_set():
            try:
                hits = client.predict("a red circle", 500, 0.0, api_name="/search_text")
                scores = [h["score"] for h in hits]
                assert scores == sorted(scores, reverse=True), "results out of order"
                assert len({h["file"] for h in hits}) == len(hits), "duplicate results"
                counts.append(len(hits))
            except Exception as exc:  # every failure is the finding
                errors.append(f"{type(exc).__name__}: {exc}")

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        for path in later:
            target = library / path.relative_to(sample_library)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
        indexer = run_module("indexer", *args, env=env, cwd=REPO)
        assert indexer.returncode == 0, indexer.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not counts or counts[-1] < 300):
            time.sleep(0.2)
    finally:
        stop.set()
        searcher.join(60)
        demo.close()
        engine.close()
    assert errors == []
    assert counts[0] == 150 and counts[-1] == 300  # the new images appear without a restart


def test_with_auth_every_route_but_login_requires_it(demo_engine):
    demo, engine, url = serve(demo_engine.settings, auth=("alice", "s3cret"))
    # A real thumbnail: served to a signed-in user, so its refusal below is the session's doing.
    thumbnail = "gradio_api/file=" + demo.handlers.thumbs.get(engine.search_text("a red circle", k=1)[0].path)
    try:
        with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as http:
            for route in ("config", "gradio_api/info", "gradio_api/queue/status", "gradio_api/upload",
                          thumbnail, "gradio_api/call/search_text"):
                response = http.get(route) if "upload" not in route and "call" not in route else http.post(
                    route, json={"data": ["a red circle", 5, 0.0]})
                assert response.status_code in (401, 403), f"{route}: {response.status_code}"
            shell = http.get("/")  # the login page: the app's shell, with nothing of the app in it
            assert shell.status_code == 200
            assert '"auth_required":true' in shell.text and '"components":[]' in shell.text
            assert "Relevance cut-off" not in shell.text  # no part of the app
            # Gradio embeds the public API's schema (endpoint and parameter names) in the shell,
            # but nothing of the library: no folder, no index location, no file name.
            assert str(demo_engine.settings.index_dir) not in shell.text
            assert "img_0" not in shell.text and "/photos" not in shell.text
            assert http.post("login", data={"username": "alice", "password": "wrong"}).status_code >= 400
            assert http.post("login", data={"username": "alice", "password": "s3cret"}).status_code == 200
            assert http.get("config").status_code == 200  # the session cookie now opens the app
            served = http.get(thumbnail)
            assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        assert client.predict("a red circle", 3, 0.0, api_name="/search_text")
    finally:
        demo.close()
        engine.close()
