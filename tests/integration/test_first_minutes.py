"""What a new user sees in a terminal in the first minutes: the commands' help, `clipsearch info`,
and the web app's start-up lines (issue 13)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clipsearch.demo import make_sample_library
from testsupport.net import free_port
from testsupport.terminal import Terminal
from webui.upload_folders import HASHED

from .conftest import REPO, run_indexer


def python_m(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("first-minutes")
    make_sample_library(root / "photos", n=6, seed=0)
    done = run_indexer(str(root / "photos"), "--index", str(root / "index"), "--model", "demo", "-q")
    assert done.returncode == 0, done.stderr
    return root


def test_webui_help_answers_without_importing_gradio():
    probe = ("import sys\nfrom webui.__main__ import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "print('IMPORTED', sorted(m for m in ('gradio', 'torch', 'open_clip') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "usage: python -m webui" in result.stdout
    assert "IMPORTED []" in result.stdout, result.stdout


@pytest.mark.parametrize("command", [["clipsearch", "search"], ["clipsearch", "info"], ["indexer"], ["webui"]])
def test_every_command_names_the_index_flag_the_same_way(command):
    help_text = python_m(*command, "--help").stdout
    assert "--index DIR" in help_text, help_text


def test_device_is_a_fixed_choice_and_model_help_names_local_dir():
    assert "--device {cpu,cuda,mps}" in python_m("clipsearch", "search", "--help").stdout
    bad = python_m("clipsearch", "search", "x", "--device", "gpu")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert "local-dir:" in python_m("indexer", "--help").stdout


def test_info_is_readable_by_default_and_json_on_request(demo_index):
    readable = python_m("clipsearch", "info", "--index", str(demo_index / "index"))
    assert readable.returncode == 0, readable.stderr
    lines = readable.stdout.splitlines()
    assert lines[0].split(None, 1) == ["Index:", str(demo_index / "index")]
    assert "Photos:        6" in lines
    assert any(line.startswith("Model:         demo") for line in lines)
    last = next(line for line in lines if line.startswith("Last indexed:"))
    time.strptime(last.split(":", 1)[1].strip(), "%Y-%m-%d %H:%M")  # a date, not a Unix timestamp
    assert f"Folders:       {demo_index / 'photos'}" in lines
    assert "{" not in readable.stdout

    as_json = python_m("clipsearch", "info", "--index", str(demo_index / "index"), "--json")
    info = json.loads(as_json.stdout)
    assert info["count"] == 6 and isinstance(info["last_indexed"], float)


def test_the_web_app_says_where_it_serves_and_nothing_about_share(demo_index):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_TEMP_DIR": str(demo_index / "gradio")}
    server = subprocess.Popen([sys.executable, "-m", "webui", "--index", str(demo_index / "index"),
                               "--port", str(port)], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Serving clipsearch on" in line:
                break
        cores = threads_cores(server.pid)  # while it serves
        maps = Path(f"/proc/{server.pid}/maps").read_text() if sys.platform.startswith("linux") else ""
    finally:
        output.append(stopped(server, signal.SIGINT))
    text = "".join(output)
    assert f"Serving clipsearch on http://127.0.0.1:{port}/" in text, text
    assert "share=True" not in text and "public link" not in text, text
    assert "Stopping (Ctrl-C)" in text and server.returncode == 0, (server.returncode, text)
    # Libraries its dependencies would load and never call stay out (webui.__main__.SERVER_KEEPS_OUT).
    assert "libtriton" not in maps and "libarrow" not in maps
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) >= 2:
        # The model on the CPU keeps a core of its own; with no query running, the other threads
        # may use every core (they keep off the model's while queries overlap: test_affinity.py).
        cpus = set(os.sched_getaffinity(0))
        core = max(cpus)
        assert f"the model runs on core {core}, the other threads keep off it while queries overlap" in text, text
        assert [allowed for allowed in cores if allowed == {core}] == [{core}], cores
        assert all(allowed == cpus for allowed in cores if allowed != {core}), cores
        assert len(cores) > 5  # the server's threads were all read: HTTP, requests, the model...


def test_the_web_app_stopped_by_sigterm_closes_and_deletes_the_photos_dropped_as_queries(demo_index, tmp_path,
                                                                                         monkeypatch):
    """``systemctl stop``, ``docker stop`` or ``kill`` send SIGTERM: it ended the server at once, and
    the photos uploaded as queries stayed in Gradio's cache for good (as they did after Ctrl-C with
    a page or a client still connected, which also held the stop 5 s)."""
    port = free_port()
    uploads = tmp_path / "gradio"
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_TEMP_DIR": str(uploads)}
    server = subprocess.Popen([sys.executable, "-m", "webui", "--index", str(demo_index / "index"),
                               "--port", str(port), "--no-mcp"], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    try:
        while "Serving clipsearch on" not in "".join(output):
            line = server.stdout.readline()
            assert line, "".join(output)
            output.append(line)
        client = search_with_a_photo(port, demo_index, uploads, tmp_path, monkeypatch)  # it stays connected
    finally:
        output.append(stopped(server, signal.SIGTERM))
    text = "".join(output)
    assert server.returncode == 0, (server.returncode, text)  # -15 before: killed where it stood
    assert "Stopping (SIGTERM): closing the server and deleting the photos uploaded as queries" in text, text
    assert [p for p in uploads.rglob("*") if p.is_file()] == []
    assert upload_folders(uploads) == []  # each upload's folder stayed behind, empty
    assert client  # connected to the end


@pytest.mark.skipif(not shutil.which("setsid"), reason="util-linux's setsid gives the server a terminal")
def test_the_web_app_whose_terminal_closed_closes_and_deletes_the_photos_dropped_as_queries(demo_index, tmp_path,
                                                                                          monkeypatch):
    """An SSH session that ends hangs up its terminal: the server got SIGHUP and ended where it
    stood, and its "Stopping" line, written to a terminal gone, failed (EIO) before the close. A
    second SIGHUP, an interactive shell's as it exits, ended the close where it stood (exit -1)."""
    port = free_port()
    uploads = tmp_path / "gradio"
    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_TEMP_DIR": str(uploads)}
    server = Terminal([sys.executable, "-m", "webui", "--index", str(demo_index / "index"), "--port", str(port),
                       "--no-mcp"], cwd=REPO, env=env)
    try:
        server.wait_for(b"Serving clipsearch on", 300)
        search_with_a_photo(port, demo_index, uploads, tmp_path, monkeypatch)
    finally:
        code = server.hang_up()
    assert code == 0, (code, server.shown)  # -1 (SIGHUP) before, then 1 (EIO), then -1 (the shell's SIGHUP)
    assert [p for p in uploads.rglob("*") if p.is_file()] == []
    assert upload_folders(uploads) == []


def stopped(server: subprocess.Popen, signum: int) -> str:
    """What ``server`` printed after ``signum`` until it ended (killed after a minute)."""
    server.send_signal(signum)
    try:
        rest, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        rest, _ = server.communicate()
    return rest or ""


def upload_folders(uploads: Path) -> list[str]:
    """The folders Gradio made in ``uploads`` for the files uploaded, one each, named by a hash."""
    return [p.name for p in uploads.iterdir() if p.is_dir() and HASHED.fullmatch(p.name)]


def search_with_a_photo(port: int, demo_index: Path, uploads: Path, tmp_path: Path, monkeypatch):
    """A search with one of the library's photos through the call API, as a page drops one: the
    photo is in the server's Gradio folder ``uploads`` after it. Returns the client, connected."""
    from gradio_client import Client, handle_file

    photo = next(p for p in sorted((demo_index / "photos").rglob("*")) if p.suffix in (".jpg", ".png"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "client"))  # the client's downloads
    client = Client(f"http://127.0.0.1:{port}/", ssl_verify=False, verbose=False)
    hits = client.predict(handle_file(str(photo)), api_name="/search_image")
    assert hits and hits[0]["file"] == str(photo)
    assert [p.name for p in uploads.rglob("*") if p.is_file()] == [photo.name]
    assert len(upload_folders(uploads)) == 1, list(uploads.iterdir())  # its folder, as Gradio names them
    return client


def threads_cores(pid: int) -> list[set[int]]:
    """The cores each thread of a process may run on (Linux; empty elsewhere)."""
    cores = []
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            line = next(line for line in status.read_text().splitlines() if line.startswith("Cpus_allowed_list:"))
        except (OSError, StopIteration):  # a thread that ended meanwhile
            continue
        allowed: set[int] = set()
        for part in line.split(":", 1)[1].strip().split(","):
            first, _, last = part.partition("-")
            allowed.update(range(int(first), int(last or first) + 1))
        cores.append(allowed)
    return cores
