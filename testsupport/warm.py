"""The project's command lines run as a user runs them, without paying torch's import each time.

``run_module("indexer", *args, env=..., cwd=..., timeout=...)`` is ``subprocess.run([python, "-m",
"indexer", *args], capture_output=True, text=True, ...)``: a process of its own, with its own
exit code, stdout, stderr, signals, files and locks, running ``python -m``'s own code
(``runpy._run_module_as_main``). The one difference: it is forked from a warm interpreter (a
"zygote") that has imported torch and torchvision already, 2 of the 3.4 s a command that loads a
model spends importing on 2 cores, and most of the integration tests' time.

The zygote imports nothing of the project's and nothing that reads a variable the tests change per
test (HOME, XDG_*, CLIPSEARCH_*, HF_*: huggingface_hub, open_clip and the project import in the
command, afresh). Checked by ``tests/unit/test_warm.py``: torch and torchvision keep one path made
from HOME (torchvision's datasets folder, which nothing here uses), and ``site`` the user's
site-packages (a run whose HOME has one starts afresh). Any other variable that differs from the
zygote's, another working directory, more ``subprocess.run`` options, or ``CLIPSEARCH_TEST_WARM=0``:
a real ``subprocess.run`` of a fresh interpreter, exactly as before. The tests of the newcomer's
path, of signals and of stuck processes start fresh interpreters of their own.

The zygote forks once per run: a short-lived "reaper" that forks the command, tells the test its
pid, waits for it and sends its exit status. The zygote never runs torch and starts no thread of
its own, so a fork of it is as clean as a fresh start.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODULES = ("indexer", "clipsearch")
# What the zygote imports, and the variables a run may set otherwise: none of PRELOAD reads them
# at import (tests/unit/test_warm.py). Any other difference means a fresh interpreter.
PRELOAD = ("numpy", "PIL.Image", "hnswlib", "torch", "torchvision")
NEVER_PRELOADED = ("clipsearch", "indexer", "cli", "open_clip", "timm", "huggingface_hub", "gradio")
READ_AT_CALL_TIME = ("HOME", "XDG_", "CLIPSEARCH_", "HF_", "GRADIO_", "PYTEST_", "COLUMNS", "LINES", "NO_COLOR",
                     "FORCE_COLOR")

_ZYGOTE_CODE = r"""
import gc, importlib, json, os, socket, sys, threading, types
path, preload, never, parent = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), os.getppid()
for name in preload:
    importlib.import_module(name)
assert threading.active_count() == 1, "the zygote starts no thread"
assert not any(name.split(".")[0] in never for name in sys.modules), "the zygote imports none of these"
server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message each: a request comes whole
server.bind(path)
server.listen(16)
server.settimeout(2)  # to see the tests' process gone, and go too
gc.freeze()  # what it imported, never collected in a command: its pages stay shared
print("ready", flush=True)


def run_child(request, fds):
    os.dup2(fds[0], 0); os.dup2(fds[1], 1); os.dup2(fds[2], 2)
    for fd in fds:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = request["cwd"]  # python -m: the working directory first
    sys.argv = ["-m", *request["args"]]
    sys.modules["__main__"] = types.ModuleType("__main__")  # a fresh namespace, as python -m's
    import runpy
    runpy._run_module_as_main(request["module"], alter_argv=True)  # as python -m does; SystemExit ends it


def reap(conn, request, fds):
    pid = os.fork()
    if pid == 0:
        conn.close()
        server.close()
        run_child(request, fds)
        raise SystemExit(0)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    conn.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
    os._exit(0)


while True:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        if os.getppid() != parent:
            break
        continue
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    if os.fork() == 0:
        reap(conn, json.loads(message), fds)  # never returns in the reaper; the command exits on its own
    conn.close()
    for fd in fds:
        os.close(fd)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
"""


class _Zygote:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="clipsearch-zygote-")
        self.path = os.path.join(self.folder, "socket")
        self.env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.log = open(os.path.join(self.folder, "log"), "w+b")
        self.process = subprocess.Popen([sys.executable, "-c", _ZYGOTE_CODE, self.path, ",".join(PRELOAD),
                                         ",".join(NEVER_PRELOADED)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log,
                                        env=self.env, cwd=REPO)
        atexit.register(self.close)
        if self.process.stdout.readline().strip() != b"ready":
            self.process.wait()
            self.log.seek(0)
            raise RuntimeError(f"the warm interpreter did not start: {self.log.read().decode()[-2000:]}")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def suits(self, env: dict[str, str], cwd: str) -> bool:
        if self.process.poll() is not None or os.path.realpath(cwd) != str(REPO):
            return False
        keys = set(env) | set(self.env)
        if any(user_site(e) is not None for e in (env, self.env)):
            return False  # Python put it on sys.path at start
        return all(env.get(k) == self.env.get(k) for k in keys if not k.startswith(READ_AT_CALL_TIME))

    def start(self, module: str, args: list[str], env: dict[str, str], cwd: str, stdout: Any = None,
              stderr: Any = None, text: bool = False) -> WarmProcess:
        return WarmProcess(self.path, module, args, env, cwd, stdout, stderr, text)

    def run(self, module: str, args: list[str], env: dict[str, str], cwd: str,
            timeout: float | None, text: bool) -> subprocess.CompletedProcess:
        process = self.start(module, args, env, cwd, subprocess.PIPE, subprocess.PIPE, text)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


class WarmProcess:
    """A command forked from the zygote, as ``subprocess.Popen`` gives one: ``pid``, ``stdout`` and
    ``stderr`` (pipes where asked, else the null device, a file, or this process's own),
    ``poll``, ``wait``, ``communicate``, ``send_signal``, ``terminate``, ``kill``; stdin is the null device."""

    def __init__(self, socket_path: str, module: str, args: list[str], env: dict[str, str], cwd: str,
                 stdout: Any, stderr: Any, text: bool) -> None:
        self.args, self.returncode, self.text = [sys.executable, "-m", module, *args], None, text
        self.stdout = self.stderr = None
        given = [os.open(os.devnull, os.O_RDONLY)]
        try:
            for name, fd, wanted in (("stdout", 1, stdout), ("stderr", 2, stderr)):
                if wanted == subprocess.PIPE:
                    read_end, write_end = os.pipe()
                    setattr(self, name, open(read_end, "r" if text else "rb", **_decoding(text)))
                    given.append(write_end)
                elif wanted == subprocess.DEVNULL:
                    given.append(os.open(os.devnull, os.O_WRONLY))
                else:
                    given.append(os.dup(fd if wanted is None else wanted if isinstance(wanted, int) else wanted.fileno()))
            self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._conn.connect(socket_path)
            request = {"module": module, "args": list(args), "env": env, "cwd": cwd}
            socket.send_fds(self._conn, [json.dumps(request).encode()], given)
        finally:
            for fd in given:
                os.close(fd)
        self._buffer = b""
        self.pid = json.loads(self._line(None))["pid"]

    def _line(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._conn], [], [], wait)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            data = self._conn.recv(4096)
            if not data:
                raise RuntimeError(f"the warm interpreter lost the run of {self.args}")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = json.loads(self._line(timeout))["returncode"]
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Both pipes read to their end, then the exit awaited (``subprocess.Popen.communicate``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pipes = [p for p in (self.stdout, self.stderr) if p is not None]
        chunks = _drain([p.fileno() for p in pipes], deadline)
        if chunks is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        for pipe in pipes:
            pipe.close()
        got = iter(_text(c) if self.text else c for c in chunks)
        out = next(got) if self.stdout is not None else None
        err = next(got) if self.stderr is not None else None
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return out, err

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def __enter__(self) -> WarmProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        for pipe in (self.stdout, self.stderr):
            if pipe is not None:
                pipe.close()
        self.wait()


def _decoding(text: bool) -> dict[str, Any]:
    import locale

    return {"encoding": locale.getpreferredencoding(False)} if text else {}


def user_site(env: dict[str, str]) -> str | None:
    """The user's site-packages a Python started with ``env`` puts on sys.path, if there is one."""
    home = env.get("PYTHONUSERBASE") or os.path.join(env.get("HOME", "~"), ".local")
    folder = os.path.join(os.path.expanduser(home), "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                          "site-packages")
    return folder if os.path.isdir(folder) and "PYTHONNOUSERSITE" not in env else None


def _drain(fds: list[int], deadline: float | None) -> list[bytes] | None:
    """Each pipe read to its end (the command and everything it started closed it), or None past
    the deadline."""
    chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
    with selectors.DefaultSelector() as selector:
        for fd in fds:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            for key, _ in selector.select(wait):
                data = os.read(key.fd, 1 << 16)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
    return [b"".join(chunks[fd]) for fd in fds]


def _text(data: bytes) -> str:
    """As ``subprocess.run(text=True)`` decodes: the locale's encoding, universal newlines."""
    import locale

    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


_zygote: _Zygote | None = None
_failed = False


def _warm() -> _Zygote | None:
    """This process's zygote, started at the first run; None where it is turned off, or could not
    start (said once as a warning: every command then starts afresh, as it did before it)."""
    global _zygote, _failed
    if os.environ.get("CLIPSEARCH_TEST_WARM", "1") == "0" or _failed:
        return None
    if _zygote is None:
        try:
            _zygote = _Zygote()
        except (OSError, RuntimeError) as exc:  # a socket path too long, say: slower, never wrong
            _failed = True
            warnings.warn(f"the warm interpreter did not start, every command starts afresh: {exc}", stacklevel=2)
    return _zygote


def _suited(module: str, env: dict[str, str] | None, cwd: str | Path,
            kwargs: dict[str, Any]) -> tuple[dict[str, str], _Zygote | None]:
    """The whole environment of a run (default: this process's, the project on PYTHONPATH), and the
    zygote to fork it from, None where a fresh interpreter must run it."""
    env = dict(env if env is not None else {**os.environ, "PYTHONPATH": str(REPO)})
    zygote = _warm() if module in MODULES and not kwargs else None
    return env, zygote if zygote is not None and zygote.suits(env, str(cwd)) else None


def run_module(module: str, *args: str, env: dict[str, str] | None = None, cwd: str | Path = REPO,
               timeout: float | None = 300, text: bool = True, **kwargs: Any) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` with its output captured (``subprocess.run``'s result, as text
    unless ``text`` is False); ``env`` the whole environment (default: this process's, the project
    on PYTHONPATH); ``kwargs`` more of ``subprocess.run``'s (then a fresh interpreter runs it)."""
    env, zygote = _suited(module, env, cwd, kwargs)
    if zygote is not None:
        return zygote.run(module, list(args), env, str(cwd), timeout, text)
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=text, env=env,
                          cwd=cwd, timeout=timeout, **kwargs)


def start_module(module: str, *args: str, env: dict[str, str] | None = None, cwd: str | Path = REPO,
                 stdout: Any = None, stderr: Any = None, text: bool = False, **kwargs: Any) -> Any:
    """``subprocess.Popen([python, "-m", MODULE, *ARGS], ...)``, or a ``WarmProcess`` that answers
    as one where nothing can differ (``run_module``'s rule); stdin is the null device either way."""
    env, zygote = _suited(module, env, cwd, kwargs)
    if zygote is not None:
        return zygote.start(module, list(args), env, str(cwd), stdout, stderr, text)
    return subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, text=text, env=env, cwd=cwd, **kwargs)
