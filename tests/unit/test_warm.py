"""``testsupport.warm``: a command forked from the warm interpreter is the command a fresh one runs.

The integration tests run most of their ``python -m indexer`` / ``python -m clipsearch`` through
it, so what it may change is pinned here: the zygote imports nothing that reads a variable the
tests set per test, a run answers as a fresh interpreter does, and anything else starts afresh.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from testsupport import warm

# Every module-level value of plain data, after importing the zygote's modules.
DUMP = r"""
import importlib, json, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
values = {}
for name, module in list(sys.modules.items()):
    for key, value in list(getattr(module, "__dict__", {}).items()):
        if isinstance(value, (str, bytes, int, float, tuple, list, frozenset)):
            values[f"{name}.{key}"] = repr(value)
print(json.dumps(values))
"""
# The one value they make from HOME: torchvision's datasets folder, which the project never uses;
# and site's, which ``user_site`` checks.
FROM_HOME = {"torchvision._internally_replaced_utils._HOME", "site.USER_BASE", "site.USER_SITE"}


def _imported_values(tmp_path, tag: str) -> dict[str, str]:
    home = tmp_path / tag
    changed = {"HOME": str(home), "XDG_CACHE_HOME": f"{home}/cache", "XDG_DATA_HOME": f"{home}/data",
               "XDG_CONFIG_HOME": f"{home}/config", "CLIPSEARCH_INDEX": f"{home}/index",
               "CLIPSEARCH_CACHE": f"{home}/thumbs", "HF_HOME": f"{home}/hf", "HF_HUB_OFFLINE": tag,
               "GRADIO_TEMP_DIR": f"{home}/gradio", "PYTEST_CURRENT_TEST": tag, "COLUMNS": f"{len(tag)}94711"}
    done = subprocess.run([sys.executable, "-c", DUMP, ",".join(warm.PRELOAD)], capture_output=True, text=True,
                          env={**os.environ, **changed}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_zygotes_modules_keep_no_value_of_a_variable_a_run_may_change(tmp_path):
    first, second = _imported_values(tmp_path, "qzx1"), _imported_values(tmp_path, "qzx22")
    differ = {key for key in first.keys() | second.keys() if first.get(key) != second.get(key)}
    mark = re.compile(r"qzx|\b\d94711\b")  # the values set, COLUMNS's a number of its own
    made_from_them = {key for key in differ if mark.search(first.get(key, "") + " " + second.get(key, ""))}
    assert made_from_them <= FROM_HOME, sorted(made_from_them - FROM_HOME)
    assert not any(name in warm.PRELOAD for name in warm.NEVER_PRELOADED)


@pytest.fixture(scope="module")
def zygote():
    running = warm._warm()  # this process's, where the tests run warm
    if running is not None:
        yield running
        return
    started = warm._Zygote()  # CLIPSEARCH_TEST_WARM=0: one of these tests' own
    yield started
    started.close()


def test_a_run_answers_as_a_fresh_interpreter_does(zygote, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(warm.REPO)}
    for args in (["indexer", "--frobnicate"], ["clipsearch", "info", "--index", str(tmp_path / "none")]):
        forked = zygote.run(args[0], args[1:], env, str(warm.REPO), 120, True)
        fresh = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env,
                               cwd=warm.REPO, timeout=120)
        assert fresh.returncode != 0 and "Traceback" not in fresh.stderr  # the case: a refusal said
        assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)


def test_a_run_that_could_differ_starts_a_fresh_interpreter(zygote, tmp_path):
    env = {**zygote.env}
    assert zygote.suits({**env, "HOME": str(tmp_path), "CLIPSEARCH_INDEX": str(tmp_path / "i")}, str(warm.REPO))
    assert not zygote.suits({**env, "PYTHONIOENCODING": "latin-1"}, str(warm.REPO))  # stdout's, at start
    assert not zygote.suits({**env, "OMP_NUM_THREADS": "1"}, str(warm.REPO))  # torch's, at import
    assert not zygote.suits(env, str(tmp_path))  # python -m puts its working folder on sys.path
    site = tmp_path / "home" / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    assert not zygote.suits({**env, "HOME": str(tmp_path / "home")}, str(warm.REPO))  # on sys.path at start


def test_a_run_past_its_time_is_killed_and_the_next_runs(zygote, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(warm.REPO)}
    (tmp_path / "photos").mkdir()
    watch = ["--watch", str(tmp_path / "photos"), "--index", str(tmp_path / "index"), "--model", "demo"]
    with pytest.raises(subprocess.TimeoutExpired):  # a watch runs until it is stopped
        zygote.run("indexer", watch, env, str(warm.REPO), 1, True)
    assert zygote.run("indexer", ["--frobnicate"], env, str(warm.REPO), 120, True).returncode == 2


def test_a_started_run_is_signalled_and_read_as_a_popen_is(zygote, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(warm.REPO)}
    (tmp_path / "photos").mkdir()
    watch = ["--watch", str(tmp_path / "photos"), "--index", str(tmp_path / "index"), "--model", "demo"]
    with zygote.start("indexer", watch, env, str(warm.REPO), subprocess.DEVNULL, subprocess.PIPE, True) as process:
        assert process.poll() is None and process.pid > 0
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(0.2)
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL and process.poll() == -signal.SIGKILL
        assert isinstance(process.stderr.read(), str)  # text, and it ends: no one holds the pipe open


def test_a_zygote_that_cannot_start_leaves_every_run_to_a_fresh_interpreter(monkeypatch):
    def cannot(*args):
        raise OSError("AF_UNIX path too long")

    monkeypatch.setattr(warm, "_Zygote", cannot)
    monkeypatch.setattr(warm, "_zygote", None)
    monkeypatch.setattr(warm, "_failed", False)
    with pytest.warns(UserWarning, match="every command starts afresh: AF_UNIX path too long"):
        first = warm.run_module("indexer", "--frobnicate", timeout=120)
    second = warm.run_module("indexer", "--frobnicate", timeout=120)  # said once, tried once
    assert first.returncode == second.returncode == 2 and "unrecognized arguments" in second.stderr
