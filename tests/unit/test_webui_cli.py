"""``python -m webui``: arguments, exit codes, the exposure warning; nothing is served."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

import webui.__main__ as cli
from clipsearch import cutoff
from webui import app


class FakeDemo:
    """Records what ``main`` would launch the app with."""

    def __init__(self) -> None:
        self.launched: dict | None = None
        self.blocks: dict = {}  # what Gradio deletes at the stop: nothing uploaded here
        self.temp_file_sets: list[set[str]] = []

    def queue(self, **kwargs) -> FakeDemo:
        return self

    def launch(self, **kwargs) -> None:
        self.launched = kwargs
        self.local_url = f"http://{kwargs['server_name']}:{kwargs['server_port']}/"

    @property
    def is_running(self) -> bool:
        """``main`` serves until stopped: here Ctrl-C comes at its first look."""
        self.blocked = True
        raise KeyboardInterrupt

    def close(self, verbose: bool = True) -> None:
        self.closed = True


@pytest.fixture
def fake_demo(monkeypatch) -> FakeDemo:
    demo = FakeDemo()
    def build_app(engine, settings, overrides, **options):
        demo.options = options
        return demo

    monkeypatch.setattr("webui.app.build_app", build_app)
    monkeypatch.setattr("webui.rest.mount", lambda demo: setattr(demo, "rest_mounted", True))
    monkeypatch.setattr(cutoff, "SHARED_FITS", cutoff.SHARED_FITS)  # main switches the process's fits
    # Nothing listens: whether port 7860 is free on this machine (a clipsearch of the user's own)
    # is not what these tests are about (test_a_port_in_use_is_a_usage_error_before_the_model_loads is).
    monkeypatch.setattr(cli, "check_port", lambda parser, host, port: None)
    # The test process's objects stay the collector's (a real server sets its own aside).
    def settle() -> int:
        demo.settled_after_launch = demo.launched is not None and not getattr(demo, "blocked", False)
        return 0

    monkeypatch.setattr(cli, "settle_loaded_objects", settle)
    demo.mmap_thresholds = []  # and the test process's malloc keeps its own (memory.fix_mmap_threshold)
    monkeypatch.setattr(cli, "fix_mmap_threshold", lambda size: demo.mmap_thresholds.append(size) or True)
    return demo


def test_help_is_clear(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--index", "--host", "--port", "--auth", "--device", "--threads", "/search_text"):
        assert flag in out


@pytest.mark.parametrize("argv, message", [
    (["--port", "0"], "at least 1"),
    (["--port", "70000"], "at most 65535"),
    (["--port", "web"], "whole number"),
    (["--auth", "admin"], "USER:PASS"),
    (["--auth-file", "/no/such/file"], "cannot read /no/such/file: No such file or directory"),
    (["--auth", "a:b", "--auth-file", __file__], "not allowed with argument --auth"),
    (["--threads", "-2"], "at least 1"),
    (["--root-path", "photos"], "such as /photos, not 'photos'"),
    (["--root-path", "https://example.com/photos"], "such as /photos"),
    (["--device", "tpu"], "invalid choice"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_flags_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_defaults_bind_loopback_with_an_upload_limit(fake_demo, tmp_path, capsys):
    assert cli.main(["--index", str(tmp_path / "none")]) == 0
    launched = fake_demo.launched
    assert launched["server_name"] == "127.0.0.1" and launched["server_port"] == 7860
    assert launched["auth"] is None and launched["max_file_size"] == "50mb"
    assert str((tmp_path / "none").resolve()) in launched["blocked_paths"]
    assert "allowed_paths" not in launched  # only the thumbnail cache is served (static path)
    assert launched["quiet"] is True  # no "set share=True" advice to a command-line user...
    out, err = capsys.readouterr()
    assert "Serving clipsearch on http://127.0.0.1:7860/" in out  # ...but where it serves
    assert "without --auth" not in err


def test_a_root_path_goes_to_gradio_and_the_banner_says_where_the_proxy_serves_it(fake_demo, capsys):
    assert cli.main([]) == 0
    assert "root_path" not in fake_demo.launched  # Gradio's own default then: $GRADIO_ROOT_PATH, else none
    capsys.readouterr()
    assert cli.main(["--root-path", "/photos/"]) == 0
    assert fake_demo.launched["root_path"] == "/photos"
    assert "a proxy serves it under /photos/" in capsys.readouterr().out


def test_photos_are_handed_out_whole_only_with_originals(fake_demo):
    assert cli.main([]) == 0
    assert fake_demo.options == {"originals": False}
    assert cli.main(["--originals"]) == 0
    assert fake_demo.options == {"originals": True}


def test_public_host_without_auth_warns(fake_demo, capsys):
    assert cli.main(["--host", "0.0.0.0", "--port", "8080"]) == 0
    assert "warning: serving on 0.0.0.0 without --auth" in capsys.readouterr().err
    assert fake_demo.launched["mcp_server"] is False  # no tools for assistants on an open network


def test_rest_and_mcp_are_served_by_default_and_mcp_can_be_turned_off(fake_demo):
    assert cli.main([]) == 0
    assert fake_demo.launched["mcp_server"] is True and fake_demo.rest_mounted and fake_demo.blocked
    assert fake_demo.closed
    assert cli.main(["--no-mcp"]) == 0
    assert fake_demo.launched["mcp_server"] is False
    assert cli.main(["--host", "0.0.0.0", "--auth", "me:secret"]) == 0
    assert fake_demo.launched["mcp_server"] is True


def test_what_the_server_loaded_is_set_aside_from_the_collector_once_launched_before_it_serves(fake_demo):
    assert cli.main([]) == 0
    assert fake_demo.settled_after_launch is True


def test_the_server_maps_its_large_blocks_on_their_own_before_the_model_loads(fake_demo, monkeypatch):
    def load_and_warm_up(*args) -> LoadedEngine:
        fake_demo.mmap_thresholds.append("model")
        return LoadedEngine("cpu")

    monkeypatch.setattr(cli, "load_and_warm_up", load_and_warm_up)
    assert cli.main([]) == 0
    assert fake_demo.mmap_thresholds == [cli.SERVER_MMAP_THRESHOLD, "model"]


def test_the_server_fits_its_cut_offs_with_the_compiled_em(fake_demo):
    assert cutoff.SHARED_FITS.fn is cutoff.mixture_fits
    assert cli.main([]) == 0
    assert cutoff.SHARED_FITS.fn is cutoff.compiled_mixture_fits


class LoadedEngine:
    """What ``main`` reads of an engine whose model loaded on ``device``."""

    def __init__(self, device: str) -> None:
        self.encoder = SimpleNamespace(device=device)

    def info(self) -> dict:
        return {"stamp": {"model": "ViT-B-32"}, "count": 3}

    def folders(self) -> list[str]:
        return []


@pytest.mark.parametrize("device, argv, reserved", [
    ("cpu", [], True), ("cpu", ["--no-model-core"], False), ("cuda", [], False),
])
def test_a_model_on_the_cpu_keeps_a_core_of_its_own(fake_demo, monkeypatch, device, argv, reserved):
    calls = []
    monkeypatch.setattr(cli, "load_and_warm_up", lambda *args: LoadedEngine(device))
    monkeypatch.setattr("clipsearch.affinity.reserve_core", lambda run_on_model_thread: calls.append(run_on_model_thread))
    assert cli.main(argv) == 0
    assert calls == ([app.model_thread().call] if reserved else [])
    assert fake_demo.launched is not None


def test_public_host_with_auth_does_not_warn(fake_demo, capsys):
    assert cli.main(["--host", "0.0.0.0", "--auth", "me:secret:with:colons"]) == 0
    assert fake_demo.launched["auth"] == ("me", "secret:with:colons")
    assert "without --auth" not in capsys.readouterr().err


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("myhost.lan", False),
])
def test_is_loopback(host, loopback):
    assert cli.is_loopback(host) is loopback


def test_a_port_in_use_is_a_usage_error_before_the_model_loads(tmp_path, monkeypatch, capsys):
    def no_model(*args, **kwargs):
        raise AssertionError("the model loaded before the port was checked")

    monkeypatch.setattr(cli, "load_and_warm_up", no_model)
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            cli.main(["--index", str(tmp_path / "index"), "--port", str(port)])
    assert stopped.value.code == 2
    assert (f"error: cannot serve on 127.0.0.1:{port}: the port is in use (another clipsearch, or another "
            "server?): pass another --port") in capsys.readouterr().err


def test_a_thumbnail_cache_that_cannot_be_made_is_a_usage_error_before_the_model_loads(tmp_path, monkeypatch, capsys):
    def no_model(*args, **kwargs):
        raise AssertionError("the model loaded before the cache was checked")

    monkeypatch.setattr(cli, "load_and_warm_up", no_model)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")  # as a read-only home refuses it
    monkeypatch.setenv("CLIPSEARCH_CACHE", str(blocked))
    with socket.socket() as probe:  # a port free now: the port check passes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--index", str(tmp_path / "index"), "--port", str(port)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"error: no thumbnail cache in {blocked / 'thumbs'}: " in err
    assert "(set CLIPSEARCH_CACHE to a folder this user can write)" in err


def test_the_password_can_come_from_a_private_file_instead_of_the_command_line(tmp_path, capsys):
    """A command line is visible to every user of the computer (ps); a file can be kept private."""
    private = tmp_path / "auth"
    private.write_text("me:s3cret\n")
    private.chmod(0o600)
    assert cli.build_parser().parse_args(["--auth-file", str(private)]).auth == ("me", "s3cret")
    assert capsys.readouterr().err == ""
    private.chmod(0o644)
    assert cli.build_parser().parse_args(["--auth-file", str(private)]).auth == ("me", "s3cret")
    assert f"warning: other users of this computer can read {private}: chmod 600 {private}" in capsys.readouterr().err
    private.write_text("just a password\n")
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["--auth-file", str(private)])
    assert exit_.value.code == 2 and f"the first line of {private} should be USER:PASS" in capsys.readouterr().err
