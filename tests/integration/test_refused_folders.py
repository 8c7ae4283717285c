"""The indexer over folders the OS refuses, for real: ``chmod 000`` and ``chmod 644`` on folders
of an indexed library. Root passes ``chmod`` (its DAC capabilities): the refused runs drop them
(``setpriv``), as a user's run would be refused; the tests skip only where that cannot be done."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from clipsearch.demo import make_sample_library
from tests.integration.conftest import REPO, run_indexer

DROP_CAPS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps=-all"]


def as_refused(tmp_path: Path) -> list[str]:
    """The command prefix under which ``chmod`` refuses (none for a user; root less its
    capabilities), after checking that it does; else the test is skipped."""
    prefix = DROP_CAPS if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: chmod refuses root nothing")
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0)
    try:
        if subprocess.run([*prefix, "ls", str(probe)], capture_output=True).returncode == 0:
            pytest.skip("chmod 000 is not honoured here")
    finally:
        probe.chmod(0o755)
    return prefix


def indexer(prefix: list[str], *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([*prefix, "python", "-m", "indexer", *args, "--json"], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_folders_the_os_refuses_keep_their_photos_and_are_back_without_embedding(tmp_path):
    """``chmod 000`` on a subfolder (not listed) and ``chmod 644`` on another (listed, each file's
    stat refused) removed their indexed photos ("removed 9"), and the next readable run embedded
    them again. Both keep them as a folder gone or empty keeps its photos, said in the summary; the
    dry run says the same; readable again, all are unchanged."""
    refused = as_refused(tmp_path)
    library, index = tmp_path / "lib", tmp_path / "idx"
    make_sample_library(library, n=40, seed=0)
    first = run_indexer(str(library), "--index", str(index), "--model", "demo", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == 40
    winter, year = library / "2019" / "winter", library / "2020"
    in_winter = len([p for p in winter.iterdir() if p.suffix != ".json"])
    in_year = len([p for p in year.iterdir() if p.is_file()])
    assert in_winter and in_year
    winter.chmod(0)
    year.chmod(0o644)
    try:
        for dry_run in (["--dry-run"], []):
            report = indexer(refused, "--index", str(index), *dry_run)
            assert report["removed"] == 0, report
            assert report["kept"] == {str(winter): in_winter, str(year): in_year}
            assert report["kept_unreadable"] == 0  # the files that broke, which info names: none
            assert len(report["skipped"]["permission denied"]) == 1 + in_year
    finally:
        winter.chmod(0o755)
        year.chmod(0o755)
    back = indexer([], "--index", str(index))
    assert (back["unchanged"], back["added"], back["embedded"], back["removed"]) == (40, 0, 0, 0)


def test_a_symlink_loop_named_as_a_photo_is_no_skipped_video(tmp_path):
    """With ``--videos``, a loop of two ``.jpg`` links was a skipped photo and a skipped video (and
    "2 unreadable skipped again" in every later video pass); ``.txt`` ones an error in both."""
    library, index = tmp_path / "lib", tmp_path / "idx"
    make_sample_library(library, n=4, seed=1)
    bad = library / "bad"
    bad.mkdir()
    for a, b in (("loop1.jpg", "loop2.jpg"), ("a.txt", "b.txt")):
        (bad / a).symlink_to(b)
        (bad / b).symlink_to(a)
    done = run_indexer(str(library), "--index", str(index), "--model", "demo", "--videos", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {k: sorted(v) for k, v in report["skipped"].items()} == {
        "symlink loop": [str(bad / "loop1.jpg"), str(bad / "loop2.jpg")]}
    assert report["videos"]["skipped"] == {} and report["videos"]["still_unreadable"] == 0
