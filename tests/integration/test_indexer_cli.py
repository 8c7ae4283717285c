"""``python -m indexer`` as users and cron run it: real demo model, real files, subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from clipsearch.lock import IndexLock
from clipsearch.stores import open_store
from tests.integration.conftest import REPO, run_indexer
from testsupport.imagefactory import photo, save
from testsupport.warm import start_module


@pytest.fixture
def library(sample_library, tmp_path):
    """A private copy of the first 60 sample pictures (tests change files)."""
    folder = tmp_path / "photos"
    for i, path in enumerate(sorted(p for p in sample_library.rglob("*") if p.suffix in {".jpg", ".png", ".webp"})):
        if i >= 60:
            break
        target = folder / path.relative_to(sample_library)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return folder


def test_index_then_rerun_json(library, tmp_path):
    index = tmp_path / "index"
    first = run_indexer(str(library), "--index", str(index), "--model", "demo", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["added"] == 60 and report["embedded"] == 60 and report["skipped_count"] == 0
    assert "\r" not in first.stderr  # not a terminal: no progress-bar garbage
    # cron style: no folder, no model flag: the index remembers both
    second = run_indexer("--index", str(index), "--json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["unchanged"] == 60 and again["embedded"] == 0 and again["added"] == 0
    # The run closed its index: SQLite's write-ahead log is folded back in, so the folder is whole
    # files that a backup may copy one by one (a copy without the log would miss the last batches).
    assert not list(index.glob("*-wal")) and not list(index.glob("*-shm")), sorted(index.iterdir())


def test_human_summary_and_skipped_files_do_not_fail(library, tmp_path):
    (library / "broken.jpg").write_text("this is not a jpeg")
    result = run_indexer(str(library), "--index", str(tmp_path / "index"), "--model", "demo")
    assert result.returncode == 0, result.stderr
    assert "added 60" in result.stdout
    assert "skipped 1" in result.stdout and "not an image" in result.stdout
    assert str(library / "broken.jpg") in result.stdout


def test_dry_run_reports_without_writing(library, tmp_path):
    index = tmp_path / "index"
    run_indexer(str(library), "--index", str(index), "--model", "demo", "--json")
    (next(library.rglob("*.jpg"))).unlink()
    result = run_indexer(str(library), "--index", str(index), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["dry_run"] and report["removed"] == 1
    store = open_store(index)
    assert store.count() == 60
    store.close()


def test_dry_runs_of_a_new_index_and_of_a_removal_write_nothing(library, tmp_path):
    (library / "broken.jpg").write_text("this is not a jpeg")
    index = tmp_path / "index"
    first = run_indexer(str(library), "--index", str(index), "--model", "demo", "--dry-run", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["dry_run"] and report["added"] == 60 and report["skipped"] == {"not an image": [str(library / "broken.jpg")]}
    assert not index.exists()  # nothing created, so no model recorded for it either
    said = run_indexer(str(library), "--index", str(index), "--dry-run")
    assert "would add 60" in said.stdout and "nothing was created" in said.stdout and not index.exists()
    # Another model is still free to build it afterwards.
    assert run_indexer(str(library), "--index", str(index), "--model", "demo", "-q").returncode == 0
    under = next(p for p in library.iterdir() if p.is_dir())
    count = sum(1 for p in under.rglob("*") if p.suffix in {".jpg", ".png", ".webp"})
    removal = run_indexer("--index", str(index), "--remove", str(under), "--dry-run")
    assert removal.returncode == 0 and f"would remove {count} images under {under}" in removal.stdout
    store = open_store(index)
    assert store.count() == 60 and not store.info().get("left_out")
    store.close()


def test_a_librarys_warning_about_a_photo_it_reads_all_the_same_shows_with_v_only(tmp_path):
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(data, "JPEG")
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00\x0f\x01\x02\x00\x10\x00\x00\x00garbage"  # cut short
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "odd-exif.jpg").write_bytes(data.getvalue()[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big")
                                          + exif + data.getvalue()[2:])
    quiet = run_indexer(str(folder), "--index", str(tmp_path / "index"), "--model", "demo", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""  # Pillow's "Truncated File Read" too
    told = run_indexer(str(folder), "--index", str(tmp_path / "index2"), "--model", "demo", "-v")
    assert told.returncode == 0 and "Truncated File Read" in told.stderr


def test_usage_errors_exit_2(tmp_path):
    missing = run_indexer(str(tmp_path / "nope"), "--index", str(tmp_path / "i"))
    assert missing.returncode == 2 and "folder not found" in missing.stderr
    flag = run_indexer("--batch-size", "zero", str(tmp_path))
    assert flag.returncode == 2 and "--batch-size" in flag.stderr
    unknown = run_indexer("--frobnicate")
    assert unknown.returncode == 2 and "unrecognized arguments" in unknown.stderr
    nothing = run_indexer("--index", str(tmp_path / "empty"), "--model", "demo")
    assert nothing.returncode == 2 and "no folder given" in nothing.stderr
    bad_choice = run_indexer("--device", "tpu", str(tmp_path))
    assert bad_choice.returncode == 2 and "invalid choice" in bad_choice.stderr
    # --remove alone never makes an index (before, it loaded the default model to make an empty one)
    remove = run_indexer("--index", str(tmp_path / "none"), "--remove", str(tmp_path))
    assert remove.returncode == 2 and "there is no index at" in remove.stderr and "nothing to remove" in remove.stderr
    assert not (tmp_path / "none").exists()


def test_a_gpu_the_machine_lacks_is_a_clear_error_and_leaves_no_index(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    (tmp_path / "photos").mkdir()
    save(photo(64, 48, seed=1), tmp_path / "photos" / "a.jpg")
    result = run_indexer(str(tmp_path / "photos"), "--index", str(tmp_path / "index"), "--model", "demo",
                         "--device", "cuda")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith('error: device "cuda" asked for, but no CUDA GPU can run the model here: ')
    assert "pass --device cpu" in result.stderr and not (tmp_path / "index").exists()


def test_model_mismatch_and_offline_model_fail_with_exit_1(library, tmp_path):
    index = tmp_path / "index"
    run_indexer(str(library), "--index", str(index), "--model", "demo")
    other = run_indexer(str(library), "--index", str(index), "--model", "ViT-B-32", "--pretrained", "none")
    assert other.returncode == 1
    assert "was built with model demo" in other.stderr and "Traceback" not in other.stderr
    offline = run_indexer(str(library), "--index", str(tmp_path / "new"))  # default pretrained model
    assert offline.returncode == 1
    assert "cannot load the weights" in offline.stderr and "--model demo" in offline.stderr
    assert "cache folder" in offline.stderr and "--weights" in offline.stderr
    assert "Traceback" not in offline.stderr


def test_second_indexer_is_refused_while_the_first_holds_the_lock(library, tmp_path):
    index = tmp_path / "index"
    run_indexer(str(library), "--index", str(index), "--model", "demo")
    with IndexLock(index):
        result = run_indexer(str(library), "--index", str(index))
    assert result.returncode == 1
    assert "is being updated by process" in result.stderr


def test_a_second_first_run_is_refused_while_the_first_loads_its_model(library, tmp_path):
    """Before the index exists (the first run still loading its model, which holds the lock), a
    second run says at once who is updating it, exit 1 as when the index exists, and makes
    nothing: no model loaded (offline, the default model would fail to download), no index."""
    index = tmp_path / "new"
    with IndexLock(index):
        result = run_indexer(str(library), "--index", str(index))
    assert result.returncode == 1, result.stderr
    assert "is being updated by process" in result.stderr and "cannot load" not in result.stderr
    assert sorted(p.name for p in index.iterdir()) == ["index.lock"]
    # A first run killed while it loads its model (SIGKILL) leaves no lock that blocks the next one.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from clipsearch.lock import IndexLock; "
                               f"IndexLock({str(index)!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    after = run_indexer(str(library), "--index", str(index), "--model", "demo", "--json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["added"] == 60


def test_remove_folder_and_rename_via_cli(library, tmp_path):
    index = tmp_path / "index"
    run_indexer(str(library), "--index", str(index), "--model", "demo")
    # Renames: a file renamed in place and a whole folder moved keep their vectors; nothing is
    # embedded again, nothing added or removed, and the old paths leave the index.
    first = sorted(p for p in library.iterdir() if p.is_dir())[0]
    moved_folder, other = sorted(p for p in first.iterdir() if p.is_dir())[:2]
    renamed_file = sorted(p for p in other.rglob("*") if p.is_file())[0]
    moves = {renamed_file: renamed_file.with_name("renamed-" + renamed_file.name)}
    moves.update({p: library / "moved" / p.relative_to(moved_folder) for p in moved_folder.rglob("*") if p.is_file()})
    store = open_store(index)
    vectors = {old: store.vector(str(old)) for old in moves}
    store.close()
    renamed_file.rename(moves[renamed_file])
    moved_folder.rename(library / "moved")
    result = run_indexer(str(library), "--index", str(index), "--json", "-v")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["moved"] == len(moves) > 1 and report["embedded"] == 0
    assert "loading model" not in result.stderr  # nothing new to embed: the model never loads
    assert report["added"] == 0 and report["removed"] == 0 and report["unchanged"] == 60 - len(moves)
    store = open_store(index)
    assert store.count() == 60
    for old, new in moves.items():
        assert store.get(str(old)) is None and store.get(str(new)) is not None
        assert np.array_equal(store.vector(str(new)), vectors[old]), f"{old.name} -> {new}"
    store.close()
    save(photo(90, 70, seed=5), library / "moved" / "new.jpg", quality=85)  # a photo the index lacks loads it
    result = run_indexer(str(library), "--index", str(index), "--json", "-v")
    assert json.loads(result.stdout)["embedded"] == 1 and "INFO loading model clipsearch-demo" in result.stderr
    (library / "moved" / "new.jpg").unlink()
    assert json.loads(run_indexer(str(library), "--index", str(index), "--json").stdout)["removed"] == 1
    # Removing a folder from the index
    count = sum(1 for p in first.rglob("*") if p.is_file())
    result = run_indexer("--index", str(index), "--remove", str(first))
    assert result.returncode == 0, result.stderr
    assert f"removed {count} images" in result.stdout
    stray = run_indexer("--index", str(index), "--remove", str(tmp_path / "elsewhere"))  # a folder it never held
    assert stray.returncode == 0 and f"removed 0 images under {tmp_path / 'elsewhere'} (the index covers " in stray.stdout
    store = open_store(index)
    assert store.count() == 60 - count > 0
    store.close()


def test_watch_indexes_new_and_removed_files_until_stopped(library, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.integration.conftest import REPO

    index = tmp_path / "index"
    assert run_indexer(str(library), "--index", str(index), "--model", "demo").returncode == 0
    proc = start_module("indexer", str(library), "--index", str(index), "--watch",
                        env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_for(condition, seconds=90):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            store = open_store(index)
            try:
                if condition(store):
                    return True
            finally:
                store.close()
            time.sleep(0.3)
        return False

    try:
        watching(proc)  # the first pass is over and the watcher is on
        source = next(library.rglob("*.png"))
        new = library / "arrived" / "new-photo.png"
        new.parent.mkdir()
        shutil.copy(source, new)
        gone = next(library.rglob("*.jpg"))
        gone.unlink()
        assert wait_for(lambda s: s.get(str(new)) is not None and s.get(str(gone)) is None), "watch missed it"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def watching(proc) -> None:
    """Wait for ``indexer --watch`` (``proc``, its stderr a text pipe) to say it watches: its first
    pass is over and the watcher is on. A fixed sleep was too short on a busy machine, and long on
    an idle one."""
    while (line := proc.stderr.readline()) and not line.startswith("watching "):
        pass
    assert line.startswith("watching "), line

def test_ctrl_c_during_a_watch_pass_says_it_was_interrupted_and_exits_1(tmp_path):
    """README: Ctrl-C finishes the batch in flight and the next run resumes; exit 1 when interrupted.
    A --watch pass stopped mid-way left files unindexed yet exited 0 without a word about them."""
    import signal

    photos, index = tmp_path / "photos", tmp_path / "index"
    save(photo(64, 48, seed=0), photos / "first.jpg")
    assert run_indexer(str(photos), "--index", str(index), "--model", "demo", "-q").returncode == 0
    proc = subprocess.Popen([sys.executable, "-c", BATCH_BY_BATCH, "--index", str(index), "--watch",
                             "--batch-size", "1", "--workers", "1"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    arrived = photos / "arrived"
    try:
        watching(proc)  # the first pass (nothing to do) is over and the watcher is on
        arrived.mkdir()
        for i in range(6):  # a card's worth of new photos, copied at once
            save(photo(64, 48, seed=10 + i), arrived / f"new-{i}.jpg")
        while (line := proc.stderr.readline()) and "embedding batch 2" not in line:
            pass
        assert "embedding batch 2" in line, line
        proc.send_signal(signal.SIGINT)  # Ctrl-C in the middle of the pass
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert held(index, arrived) == 2  # stopped mid-pass, its batch in flight committed
    assert proc.returncode == 1, (proc.returncode, err)
    assert "interrupted: the index holds every batch finished so far; run again to resume" in err
    again = run_indexer("--index", str(index), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 4

BATCH_BY_BATCH = """
import os, sys, time
import clipsearch.pipeline

commit = clipsearch.pipeline.IndexingPipeline._commit
batches = 0

def slow_commit(self, state):  # each batch embedded in half a second (or BATCH_SECONDS): signals land in one
    global batches
    if state.embeds:
        batches += 1
        print(f"embedding batch {batches}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("BATCH_SECONDS", "0.5")))
    commit(self, state)

clipsearch.pipeline.IndexingPipeline._commit = slow_commit
from indexer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def held(index, folder) -> int:
    """How many photos of ``folder`` the index at ``index`` holds."""
    store = open_store(index)
    try:
        return sum(store.get(str(path)) is not None for path in folder.iterdir())
    finally:
        store.close()


@pytest.mark.skipif(not shutil.which("setsid"), reason="util-linux's setsid gives the run a terminal")
def test_a_run_whose_terminal_closed_commits_its_batch_in_flight_and_exits_1(tmp_path):
    """An SSH session that ends hangs up its terminal: the run got SIGHUP and died where it stood
    (the batch in flight lost, exit -1), where SIGTERM and Ctrl-C finish the batch in flight and
    exit 1. Its lines written after the hang-up would fail (EIO): they go nowhere. A second
    SIGHUP, an interactive shell's as it exits, does not make it quit at once, as a second SIGTERM does."""
    from testsupport.terminal import Terminal

    photos, index = tmp_path / "photos", tmp_path / "index"
    for i in range(4):
        save(photo(64, 48, seed=i), photos / f"{i}.jpg")
    command = Terminal([sys.executable, "-c", BATCH_BY_BATCH, str(photos), "--index", str(index), "--model", "demo",
                        "--batch-size", "1", "--workers", "1"], cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO), "BATCH_SECONDS": "1.5"})
    try:
        command.wait_for(b"embedding batch 2")
    finally:
        code = command.hang_up()  # the second batch in flight (for 1.5 s), then the shell's SIGHUP too
    assert code == 1, (code, command.shown)  # interrupted, as SIGTERM's stop
    assert held(index, photos) == 2  # the batch in flight committed (it was lost), none begun after it


def test_a_run_under_nohup_goes_on_through_a_hang_up(tmp_path):
    """``nohup python -m indexer ...``: SIGHUP ignored, as nohup asks; the run ends whole."""
    import signal

    photos, index = tmp_path / "photos", tmp_path / "index"
    for i in range(2):
        save(photo(64, 48, seed=i), photos / f"{i}.jpg")
    proc = subprocess.Popen([sys.executable, "-c", BATCH_BY_BATCH, str(photos), "--index", str(index), "--model", "demo",
                             "--batch-size", "1", "--workers", "1", "--json"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        while (line := proc.stderr.readline()) and "embedding batch 1" not in line:
            pass
        assert "embedding batch 1" in line, line
        proc.send_signal(signal.SIGHUP)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, (proc.returncode, err)
    assert json.loads(out)["added"] == 2 and held(index, photos) == 2

def test_remove_while_watch_runs_is_not_undone_by_the_watcher(library, tmp_path):
    """`indexer --remove B` beside an `indexer --watch` service over A and B: the watcher's next
    pass indexed B again (every photo embedded anew) and covered it again."""
    import os
    import signal
    import subprocess
    import time

    from tests.integration.conftest import REPO

    index, other = tmp_path / "index", tmp_path / "phone"
    for i, source in enumerate(sorted(library.rglob("*.png"))[:5]):
        other.mkdir(exist_ok=True)
        shutil.copy(source, other / f"phone-{i}.png")
    assert run_indexer(str(library), str(other), "--index", str(index), "--model", "demo", "-q").returncode == 0
    proc = start_module("indexer", "--index", str(index), "--watch", env={**os.environ, "PYTHONPATH": str(REPO)},
                        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        watching(proc)
        removal = run_indexer("--index", str(index), "--remove", str(other))
        assert removal.returncode == 0 and "removed 5 images" in removal.stdout, removal.stdout + removal.stderr
        new = library / "arrived.png"
        shutil.copy(next(library.rglob("*.png")), new)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            store = open_store(index)
            try:
                if store.get(str(new)) is not None:
                    break
            finally:
                store.close()
            time.sleep(0.3)
        time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    store = open_store(index)
    try:
        assert store.get(str(new)) is not None, err
        assert not any(store.get(str(other / f"phone-{i}.png")) for i in range(5)), out
        assert store.info()["folders"] == [str(library)]
    finally:
        store.close()
    assert f"{other} was removed from the index: no longer indexed" in err


SLOW = """
import sys, time
import clipsearch.engine

def slow(*args, **kwargs):  # {what}
    print("{said}", file=sys.stderr, flush=True)
    time.sleep(60)

{target} = slow
from indexer.cli import main
sys.exit(main(sys.argv[1:]))
"""


def signalled_indexer(tmp_path, target: str, said: str, what: str, *signals: int) -> tuple[int, str]:
    """``python -m indexer PHOTOS --model demo`` with ``target`` replaced by a call that says ``said``
    on stderr and sleeps (``what``: the step it stands for); each of ``signals`` is sent once the
    line before it is on stderr (first ``said``, then the one the first signal prints)."""
    import signal
    import subprocess
    import sys

    from tests.integration.conftest import REPO

    save(photo(64, 48, seed=1), tmp_path / "photos" / "a.jpg")
    child = SLOW.format(target=target, said=said, what=what)
    proc = subprocess.Popen([sys.executable, "-c", child, str(tmp_path / "photos"), "--index", str(tmp_path / "index"),
                             "--model", "demo"], env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for signum in signals:
            while (line := proc.stderr.readline()) and not line.strip():
                pass
            lines.append(line)
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert signals[0] in (signal.SIGTERM, signal.SIGHUP) and lines[0] == said + "\n", lines
    return proc.returncode, "".join(lines) + err


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_while_the_model_loads_says_it_stopped_and_exits_1(tmp_path, signame):
    """README: a run stopped by SIGTERM exits 1 and says so. Before the run began (the model still
    loading) SIGTERM ended it with no word, killed (exit 143), where Ctrl-C says "interrupted".
    SIGHUP sent by hand, its output still there, stops it the same way (it was killed, -1)."""
    import signal

    code, err = signalled_indexer(tmp_path, "clipsearch.engine.load_encoder", "loading", "the model loads",
                                  getattr(signal, signame))
    assert code == 1, (code, err)
    assert err.endswith("stopped before the run began (while the model loaded): nothing was indexed\n"), err
    assert not (tmp_path / "index").exists()  # a new index is not left behind half made


def test_a_second_sigterm_quits_at_once_with_sigterms_code(tmp_path):
    """README: a second Ctrl-C quits at once, 130; a second SIGTERM did too, 130, as if Ctrl-C, where
    a process ended by SIGTERM is 143 to the shell and to service managers."""
    import signal

    code, err = signalled_indexer(tmp_path, "clipsearch.engine.SearchEngine.index_folder", "running",
                                  "a batch in flight", signal.SIGTERM, signal.SIGTERM)
    assert "stopping after the current batch (again to quit at once)" in err, err
    assert code == 143, (code, err)


def test_an_index_whose_records_were_deleted_is_made_anew_with_the_model_its_manifest_names(tmp_path):
    """records.sqlite deleted by hand, manifest.json left: the next run with no --model made a new
    index with the default model (here: a download that fails), not the one the user chose."""
    save(photo(64, 48, seed=1), tmp_path / "photos" / "a.jpg")
    save(photo(64, 48, seed=2), tmp_path / "photos" / "b.jpg")
    index = tmp_path / "index"
    assert run_indexer(str(tmp_path / "photos"), "--index", str(index), "--model", "demo", "-q").returncode == 0
    (index / "records.sqlite").unlink()
    again = run_indexer(str(tmp_path / "photos"), "--index", str(index), "--json", env={"HF_HUB_OFFLINE": "1"})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 2
    assert f"the records of the index in {index} are gone (its manifest.json is left): it is made anew with the " \
           "model the manifest names, demo" in again.stderr
    store = open_store(index)
    try:
        assert store.stamp["model"] == "demo" and store.count() == 2
    finally:
        store.close()


@pytest.fixture(scope="module")
def records_template(tmp_path_factory):
    """An index over photos/ and more/, photos/private removed from it, made once for the tests
    that delete its records (``_records_deleted``): they read its photos and change none."""
    return indexed_then_removed(tmp_path_factory.mktemp("records-deleted"))


def indexed_then_removed(root):
    """``root``/index over ``root``/photos and ``root``/more, photos/private removed from it: ``root``."""
    for seed, name in enumerate(("photos/a.jpg", "photos/b.jpg", "more/c.jpg", "photos/private/d.jpg")):
        save(photo(64, 48, seed=seed), root / name)
    index = root / "index"
    made = run_indexer(str(root / "photos"), str(root / "more"), "--index", str(index), "--model", "demo", "-q")
    assert made.returncode == 0, made.stderr
    removed = run_indexer("--index", str(index), "--remove", str(root / "photos" / "private"), "-q")
    assert removed.returncode == 0, removed.stderr
    assert list(index.glob("vectors-*.hnsw"))
    return root


def _records_deleted(template, tmp_path):
    """A copy, in ``tmp_path``, of the template's index over photos/ and more/ (photos/private
    removed from it), then its records.sqlite deleted by hand (manifest.json and the graph
    snapshot left): the template's folder, which holds the photos, and the copy."""
    index = tmp_path / "index"
    shutil.copytree(template / "index", index)
    (index / "records.sqlite").unlink()
    return template, index


@pytest.mark.parametrize("model", [[], ["--model", "demo"]], ids=["its-model", "model-named"])
def test_deleted_records_are_said_once_and_the_photos_removed_stay_out(records_template, tmp_path, model):
    """The run after records.sqlite was deleted also warned that the old graph snapshot was ahead
    of the records (true, but the same news: and with --model named, the only word of it), and
    indexed again the folder removed from the index (--remove) inside the one it names."""
    root, index = _records_deleted(records_template, tmp_path)
    again = run_indexer(str(root / "photos"), "--index", str(index), "--json", *model)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 2, again.stdout  # a and b: not private/d
    warnings = [line for line in again.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, again.stderr  # the records gone, said once; then more/, which this run leaves out
    assert "are gone (its manifest.json is left): it is made anew with the model" in warnings[0] \
        and "every photo is embedded again" in warnings[0], again.stderr
    assert "leaves out" in warnings[1] and str(root / "more") in warnings[1] and "are gone" not in warnings[1]
    assert "ahead of the records" not in again.stderr
    later = run_indexer(str(root / "photos"), "--index", str(index), "--json")
    assert later.returncode == 0 and json.loads(later.stdout)["unchanged"] == 2, later.stdout + later.stderr


def test_a_run_naming_no_folder_indexes_the_folders_the_manifest_names_after_records_were_deleted(records_template,
                                                                                                  tmp_path):
    """`python -m indexer --index DIR` said there was no index yet, where the manifest names the
    folders it covered: a run with no folder takes them, as it did before the records went."""
    root, index = _records_deleted(records_template, tmp_path)
    dry = run_indexer("--index", str(index), "--dry-run", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout)["added"] == 3, dry.stdout + dry.stderr
    again = run_indexer("--index", str(index), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["added"] == 3, again.stdout  # a, b and c: not private/d
    assert "ahead of the records" not in again.stderr
    store = open_store(index)
    try:
        assert sorted(store.info()["folders"]) == [str(root / "more"), str(root / "photos")]
        assert store.info()["left_out"] == [str(root / "photos" / "private")] and store.count() == 3
    finally:
        store.close()
