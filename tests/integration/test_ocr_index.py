"""Words in photos end to end (issue 15): the indexer's --ocr, the Python API, a SIGKILL mid-pass,
resuming, and an index made without OCR gaining it. Real OCR models, the demo CLIP model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from clipsearch import ModelSpec, SearchEngine, SearchFilter, Settings
from clipsearch.textindex import TEXT_DB_NAME, TextIndex
from tests.integration.conftest import REPO, run_indexer
from testsupport.ocrfactory import make_ocr_library
from testsupport.warm import run_module, start_module

pytestmark = pytest.mark.slow
ARGS = ["--model", "demo", "--precision", "fp32"]


def search(index: Path, query: str, *extra: str) -> list[dict]:
    result = run_module("clipsearch", "search", query, "--index", str(index), "--json", "-k", "5", *extra,
                        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def indexer_json(*args: str) -> dict:
    result = run_indexer(*args, "--json", *ARGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def ocr_library(tmp_path_factory):
    return make_ocr_library(tmp_path_factory.mktemp("ocr-cli") / "photos")


def test_cli_turns_reading_on_remembers_it_and_turns_it_off(ocr_library, tmp_path):
    library, index = ocr_library.folder, tmp_path / "index"
    word, photo = sorted(ocr_library.words.items())[0]
    # An index made without --ocr has no text store, and its search carries no words.
    first = indexer_json(str(library), "--index", str(index))
    assert "text" not in first and not (index / TEXT_DB_NAME).exists()
    assert all("text" not in hit for hit in search(index, word))
    # --ocr on that index: it gains the store; only the reading runs (nothing is re-embedded).
    on = indexer_json(str(library), "--index", str(index), "--ocr")
    assert on["embedded"] == 0 and on["unchanged"] == ocr_library.photos
    assert on["text"]["read"] == ocr_library.photos and on["text"]["with_text"] == 3
    hits = search(index, word)
    assert Path(hits[0]["path"]) == photo and f"[{word}]" in hits[0]["text"].lower()
    # A later run without the flag keeps reading, and never reads an unchanged photo again; a
    # moved photo keeps its words.
    moved = library / "moved" / photo.name
    moved.parent.mkdir()
    shutil.move(photo, moved)
    again = indexer_json("--index", str(index))
    assert again["moved"] == 1 and again["text"]["to_read"] == 0 and again["text"]["read"] == 0
    assert Path(search(index, word)[0]["path"]) == moved
    # --no-ocr: no reading, no text matches; the words are kept for when it is turned on again.
    off = indexer_json("--index", str(index), "--no-ocr")
    assert "text" not in off
    assert all("text" not in hit for hit in search(index, word))
    back = indexer_json("--index", str(index), "--ocr")
    assert back["text"]["read"] == 0 and back["text"]["already_read"] == ocr_library.photos
    shutil.move(moved, photo)


def test_cli_prints_what_the_text_pass_did(ocr_library, tmp_path):
    result = run_indexer(str(ocr_library.folder), "--index", str(tmp_path / "index"), "--ocr", *ARGS)
    assert result.returncode == 0, result.stderr
    assert f"text: read {ocr_library.photos} photos (3 with words)" in result.stdout
    assert "RapidOCR" not in result.stderr and "[INFO]" not in result.stderr


def test_python_api_fuses_text_matches_first_with_filters_and_quotes(ocr_library, tmp_path):
    settings = Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=ModelSpec("demo"))
    engine = SearchEngine.for_writing(settings)
    engine.set_text_reading(True)
    engine.index_folder(ocr_library.folder)
    report = engine.read_texts()
    assert report.read == ocr_library.photos and report.skipped_count == 0
    assert engine.info()["text"]["with_text"] == 3
    for word, photo in ocr_library.words.items():
        hits = engine.search_text(word.upper(), k=5)
        assert Path(hits[0].path) == photo and hits[0].text and f"[{word}]" in hits[0].text.lower()
        assert all(h.text is None for h in hits[1:])  # each word is in one photo only
        assert hits[0].to_dict()["text"] == hits[0].text
    word, photo = sorted(ocr_library.words.items())[0]
    elsewhere = SearchFilter(folder=str(ocr_library.folder / "shapes"))
    assert all(h.text is None for h in engine.search_text(word, where=elsewhere))
    assert engine.search_text(word, where=SearchFilter(folder=str(photo.parent)))[0].text
    assert all(h.text is None for h in engine.search_text(word, where=SearchFilter(date_to="2000-01-01")))
    assert engine.search_text(word[:5])[0].text  # a word's beginning matches...
    assert all(h.text is None for h in engine.search_text(f'"{word[:5]}"'))  # ...not in quotes
    assert engine.search_text(f'"{word}"')[0].text
    assert all(h.text is None for h in engine.search_text(f"{word} - red"))  # composite: CLIP only
    engine.close()


# --- crash and resume ----------------------------------------------------------------------------
def pages_read(index: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{index / TEXT_DB_NAME}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM pages").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_sigkill_mid_pass_loses_at_most_the_batch_in_flight(tmp_path):
    library = make_ocr_library(tmp_path / "photos", n_text=3, n_shapes=60, seed=5)
    index = tmp_path / "index"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = start_module("indexer", str(library.folder), "--index", str(index), "--ocr", "-q", *ARGS, cwd=REPO,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while pages_read(index) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    done = pages_read(index)
    assert 0 < done < library.photos, f"the kill landed at {done} of {library.photos} photos"
    resumed = indexer_json("--index", str(index))
    assert resumed["text"]["to_read"] == resumed["text"]["read"] == library.photos - done
    text = TextIndex.open(index)
    assert text.counts() == {"files": library.photos, "read": library.photos,
                             "with_text": 3, "unreadable": 0, "pending": 0}
    text.close()
    word, photo = sorted(library.words.items())[0]
    assert Path(search(index, word)[0]["path"]) == photo
