"""``python -m indexer`` told to do what it cannot: ``--remove`` of a photo's file (it takes
folders), and any write to an index on a read-only mount (real demo model, real index, subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from clipsearch.demo import make_sample_library
from clipsearch.stores import open_store
from tests.integration.conftest import REPO, run_indexer


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """Twenty demo pictures in nested folders, indexed with the demo model (copied by each test)."""
    root = tmp_path_factory.mktemp("indexed")
    make_sample_library(root / "photos", n=20, seed=0)
    (root / "photos" / "manifest.json").unlink()
    result = run_indexer(str(root / "photos"), "--index", str(root / "index"), "--model", "demo", "-q")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def copy(indexed, tmp_path):
    """A private copy of the photos and their index (as the index names its photos, in place)."""
    shutil.copytree(indexed / "index", tmp_path / "index")
    return indexed / "photos", tmp_path / "index"


def held(index) -> tuple[int, list[str], list[str]]:
    store = open_store(index)
    try:
        return store.count(), store.info()["folders"], store.info().get("left_out", [])
    finally:
        store.close()


def test_remove_of_a_photos_file_is_a_usage_error_that_records_nothing(copy):
    """It said "removed 0 images under .../img_0004.jpg; later runs leave it out", listed the file as
    left out, and the next run kept it indexed (unchanged 20): nothing it said had happened."""
    photos, index = copy
    one = sorted(photos.rglob("*.jpg"))[0]
    before = held(index)
    for extra in ([], ["--dry-run"], [str(photos)]):
        result = run_indexer("--remove", str(one), *extra, "--index", str(index))
        assert result.returncode == 2 and result.stdout == "", result
        assert result.stderr.strip().splitlines()[-1] == (
            f"python -m indexer: error: --remove takes a folder: {one} is a file (a photo leaves the index "
            "when its file is deleted, or its folder removed)")
        assert held(index) == before and before[2] == []
    again = json.loads(run_indexer(str(photos), "--index", str(index), "--json").stdout)
    assert (again["unchanged"], again["added"], again["removed"]) == (20, 0, 0)


def test_remove_of_a_folder_its_disk_left_a_file_in_place_of_still_forgets_it(indexed, tmp_path):
    """A file left where a covered folder was (a disk away) is that folder: removed as asked."""
    shutil.copytree(indexed / "photos", tmp_path / "photos")
    photos = tmp_path / "photos"
    assert run_indexer(str(photos), "--index", str(tmp_path / "index"), "--model", "demo", "-q").returncode == 0
    shutil.rmtree(photos)
    photos.write_text("not the disk")
    result = run_indexer("--remove", str(photos), "--index", str(tmp_path / "index"))
    assert result.returncode == 0 and f"removed 20 images under {photos}" in result.stdout, result
    assert held(tmp_path / "index") == (0, [], [])


def mounting_allowed(tmp_path) -> bool:
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {tmp_path} {tmp_path}"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.parametrize("run", [[], ["--remove", "{photos}/2019"], ["{photos}"]], ids=["no folder", "--remove", "a folder"])
def test_an_index_on_a_read_only_mount_is_said_in_one_line_and_left_as_it_is(copy, tmp_path, run):
    """The indexer ended with a traceback (``OSError: [Errno 30] Read-only file system:
    .../index.lock``) where SQLite could open the index: its log beside it, as while the web app
    reads it (this test holds a connection, as it does)."""
    if not mounting_allowed(tmp_path):
        pytest.skip("no mount namespace here (unshare -m and mount need root)")
    photos, index = copy
    before = held(index)
    reader = sqlite3.connect(index / "records.sqlite")
    try:
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # its -wal and -shm files now there
        args = " ".join(arg.format(photos=photos) for arg in run)
        script = (f"mount --bind {index} {index} && mount -o remount,bind,ro {index} && "
                  f"exec {sys.executable} -m indexer {args} --index {index}")
        result = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        reader.close()
    assert result.returncode == 1 and result.stdout == "", result
    assert result.stderr == f"error: cannot write the index in {index}: read-only file system\n"
    assert held(index) == before


@pytest.mark.parametrize("removed", ["2019", "."], ids=["a folder inside", "the run's own folder"])
def test_a_dry_run_of_a_removal_beside_a_run_counts_what_the_run_does(copy, removed):
    """``--remove SUB FOLDER --dry-run`` counted SUB's photos as found and unchanged (41 found, 40
    unchanged), where the run, which removes SUB first and leaves it out, found 25 (24 unchanged);
    and ``--remove FOLDER FOLDER``'s as unchanged, which the run embeds anew."""
    photos, index = copy
    sub = os.path.normpath(photos / removed)
    runs = [json.loads(run_indexer("--remove", sub, str(photos), *extra, "--json", "--index", str(index)).stdout)
            for extra in (["--dry-run"], [])]
    dry, real = ({k: run[k] for k in ("removed_folders", "found", "added", "updated", "moved", "removed",
                                      "unchanged", "embedded")} for run in runs)
    assert dry == real
    if removed == ".":
        assert real["added"] == real["embedded"] == 20
    else:
        assert 0 < real["removed_folders"][sub] < 20 and real["found"] == real["unchanged"] == 20 - real["removed_folders"][sub]
