"""Shared fixtures of the integration tests: the sample library and a demo-model index."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from clipsearch.demo import Scene, SceneObject, make_sample_library, render_scene
from clipsearch.demo.quality import load_truth
from testsupport.warm import run_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_library(tmp_path_factory) -> Path:
    """300 rendered pictures in nested folders (JPEG/PNG/WebP), with a manifest.json."""
    folder = tmp_path_factory.mktemp("sample") / "photos"
    make_sample_library(folder, n=300, seed=0)
    return folder


def ground_truth(library: Path) -> dict[str, list[tuple[str, str]]]:
    """absolute path -> [(colour, shape), ...] from the library's manifest."""
    manifest = json.loads((library / "manifest.json").read_text())
    items = manifest["images"] if isinstance(manifest, dict) and "images" in manifest else manifest
    out = {}
    for rel, entry in items.items():
        out[str(library / rel)] = [(o["colour"], o["shape"]) for o in entry["objects"]]
    return out


def run_indexer(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m indexer ARGS`` in a process of its own, as a user or cron runs it (forked from
    a warm interpreter where nothing can differ: ``testsupport.warm``)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return run_module("indexer", *args, env=full_env, timeout=timeout, cwd=REPO)


@pytest.fixture(scope="session")
def demo_engine(sample_library, tmp_path_factory):
    """The sample library indexed with the demo model through the real engine and store."""
    from clipsearch import ModelSpec, SearchEngine, Settings

    root = tmp_path_factory.mktemp("demo-index")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=ModelSpec(name="demo"))
    engine = SearchEngine.for_writing(settings)
    report = engine.index_folder(sample_library)
    assert report.added == 300 and report.skipped_count == 0
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def gradio_temp(tmp_path_factory) -> Path:
    """A test module's Gradio upload folder, for the servers it starts (``Served.uploading_to``)."""
    return tmp_path_factory.mktemp("gradio")


@pytest.fixture
def same_gradio_temp(monkeypatch, gradio_temp) -> None:
    """Gradio reads GRADIO_TEMP_DIR per request: a test's clients keep the module's servers' folder
    (``pytestmark = pytest.mark.usefixtures("same_gradio_temp")``)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(gradio_temp))


@pytest.fixture(scope="module")
def truth(sample_library):
    return load_truth(sample_library)


@pytest.fixture(scope="module")
def two_halves(tmp_path_factory):
    """A 2048 x 1024 JPEG: a blue star on its left half, a green square on its right (each alone
    is found by the demo model; the whole, of both colours, by neither as surely)."""
    rng = random.Random(3)
    picture = Image.new("RGB", (512, 256))
    picture.paste(render_scene(Scene((SceneObject("blue", "star"),), "white"), 256, rng), (0, 0))
    picture.paste(render_scene(Scene((SceneObject("green", "square"),), "white"), 256, rng), (256, 0))
    path = tmp_path_factory.mktemp("region") / "two-halves.jpg"
    picture.resize((2048, 1024), Image.BICUBIC).save(path, quality=92)  # a JPEG: decoded at a reduced scale
    return path
