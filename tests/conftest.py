"""Test isolation: every data and cache folder points into tmp_path; no network, no ``~``; the
process's signal handlers as they were."""

from __future__ import annotations

import os
import signal

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point the index, caches and HOME at a per-test folder (llm's env_setup)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLIPSEARCH_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("CLIPSEARCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    yield


STOPPING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@pytest.fixture(autouse=True)
def signals_kept():
    """The process's signal handlers put back after each test. The command lines' ``main`` run in
    the test process set their own, and a server's stop leaves SIGHUP ignored (the shell's second
    hang-up changes nothing): a command the same worker started later, a server on a terminal that
    then closes, inherited it ignored and served on until the test killed it."""
    kept = {signum: signal.getsignal(signum) for signum in STOPPING_SIGNALS}
    yield
    for signum, handler in kept.items():
        if handler is not None and signal.getsignal(signum) is not handler:  # None: not set from Python
            signal.signal(signum, handler)
