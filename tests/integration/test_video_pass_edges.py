"""The video pass at its edges with a real disk: a tmpfs mounted inside a covered folder, then not
(``python -m indexer --videos``, the demo model). Mounting needs root: skipped otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess

import pytest

from clipsearch.demo import Scene, SceneObject, render_scene
from clipsearch.demo.clips import write_clip

from .conftest import run_indexer

SCENES = [Scene((SceneObject("red", "circle"),), "gray"), Scene((SceneObject("blue", "square"),), "white")]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A two-shot clip and a photo, made once for the module."""
    folder = tmp_path_factory.mktemp("clips")
    write_clip(folder / "nas.mp4", SCENES, seconds_each=2.0, fps=5, size=96)
    render_scene(SCENES[0], 160, random.Random(1)).save(folder / "photo.jpg", quality=90)
    return folder


@contextlib.contextmanager
def mounted(folder):
    """A tmpfs on ``folder`` while in the block (skipped where it cannot be mounted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "none", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def index(library, index_dir) -> dict:
    result = run_indexer(str(library), "--model", "demo", "--index", str(index_dir), "--videos", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["videos"]


def test_a_disk_of_videos_not_mounted_inside_a_covered_folder_keeps_them_and_is_not_read_again(tmp_path, clips):
    """``umount`` of a disk holding only a video, inside the covered folder: the video pass said
    "removed 1" and its moments went; mounted again, the video was decoded again."""
    library, index_dir = tmp_path / "library", tmp_path / "index"
    disk = library / "nas"
    disk.mkdir(parents=True)
    shutil.copy2(clips / "photo.jpg", library / "photo.jpg")
    with mounted(disk):
        shutil.copy2(clips / "nas.mp4", disk / "nas.mp4")
        first = index(library, index_dir)
    assert (first["videos"], first["read"]) == (1, 1), first
    away = index(library, index_dir)
    assert (away["removed"], away["kept"]) == (0, {str(disk): 1}), away
    with mounted(disk):
        shutil.copy2(clips / "nas.mp4", disk / "nas.mp4")
        back = index(library, index_dir)
    assert (back["read"], back["removed"], back["reused"] + back["unchanged"]) == (0, 0, 1), back
