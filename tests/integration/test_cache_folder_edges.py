"""``python -m indexer`` with the demo model, as the hunter ran it: ``$CLIPSEARCH_CACHE`` set to a
folder inside the covered one, thumbnails the web app wrote in a photo folder seen by a run not
given the variable, and the ``--remove`` the summary suggests, pasted as it is."""

from __future__ import annotations

import json
import os
import shlex
import shutil

from clipsearch.demo import make_sample_library
from testsupport.warm import run_module
from webui.thumbnails import ThumbnailCache

from .conftest import REPO, run_indexer


def _photos(folder) -> int:
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png", ".webp"))


def test_a_cache_inside_the_photos_drops_none_and_its_thumbnails_are_no_photos(tmp_path):
    """``CLIPSEARCH_CACHE=photos/2019`` made a run say "removed 13" without a reason, and the next
    run without it "added 13 ... embedded 13"; thumbnails the web app wrote there were "added" by
    a run without the variable, and "removed" by the next one with it."""
    photos, index = tmp_path / "photos", tmp_path / "I"
    make_sample_library(photos, n=12, seed=3)
    inner = sorted(p for p in photos.iterdir() if p.is_dir())[0]
    count = _photos(photos)
    first = run_indexer(str(photos), "--index", str(index), "--model", "demo")
    assert first.returncode == 0 and f"added {count}," in first.stdout, first.stdout + first.stderr
    cached = run_indexer("--index", str(index), env={"CLIPSEARCH_CACHE": str(inner)})
    assert cached.returncode == 0 and "removed 0" in cached.stdout, cached.stdout + cached.stderr
    ThumbnailCache(inner).get_many(sorted(str(p) for p in photos.rglob("*.jpg")))  # the web app, given the variable
    assert (inner / "thumbs" / "CACHEDIR.TAG").is_file()
    for env in ({}, {"CLIPSEARCH_CACHE": str(inner)}):  # cron without the variable, the web app's re-index with it
        run = run_indexer("--index", str(index), env=env)
        assert run.returncode == 0 and "added 0," in run.stdout and "removed 0" in run.stdout, (env, run.stdout)


def test_the_remove_the_summary_suggests_pastes_as_it_is(tmp_path):
    """A folder with a space, moved away, in an index named by --index: the summary suggested
    "`python -m indexer --remove /x/Family Photos` forgets them", which, pasted, said "error:
    folder not found: Photos" (and would have acted on the default index)."""
    family, index = tmp_path / "Family Photos", tmp_path / "idx M"
    make_sample_library(family, n=6, seed=4)
    first = run_indexer(str(family), "--index", str(index), "--model", "demo")
    assert first.returncode == 0, first.stderr
    shutil.move(family, tmp_path / "away")
    run = run_indexer("--index", str(index))
    line = next((line for line in run.stdout.splitlines() if "forgets them" in line), run.stdout)
    words = shlex.split(line.split("`")[1])
    assert words == ["python", "-m", "indexer", "--remove", str(family), "--index", str(index)], line
    pasted = run_indexer(*words[3:])  # as a shell runs it
    assert pasted.returncode == 0 and f"removed 6 images under {family}" in pasted.stdout, pasted.stdout + pasted.stderr
    info = run_module("clipsearch", "info", "--index", str(index), "--json", env={**os.environ, "PYTHONPATH": str(REPO)},
                      cwd=REPO)
    assert (json.loads(info.stdout)["count"], json.loads(info.stdout)["folders"]) == (0, []), info.stdout
