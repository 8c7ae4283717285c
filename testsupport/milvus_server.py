"""A local Milvus standalone server for tests and benchmarks, from the PyPI ``milvus`` package.

Development support, not part of the library: tests and benchmarks import it as
``testsupport.milvus_server``; ``scripts/milvus_server.py`` is its command line.

That package (embedded Milvus 2.3) pins old dependencies, so it lives in its own virtual
environment and runs as a child process of that environment's python::

    python -m venv /tmp/milvus-venv && /tmp/milvus-venv/bin/pip install milvus
    python scripts/milvus_server.py --python /tmp/milvus-venv/bin/python --port 19530

Every component advertises 127.0.0.1, and clients are pointed at 127.0.0.1 only. (Milvus 2.3
has no setting for the address its gRPC ports listen on: on a shared host, firewall them.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testsupport.net import free_port

PYTHON_ENV = "CLIPSEARCH_MILVUS_SERVER_PYTHON"
_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
_LAUNCHER = """
import signal, sys
from milvus import MilvusServer, MilvusServerConfig
server = MilvusServer(MilvusServerConfig(), wait_for_started=True)
server.set_base_dir(sys.argv[1])
for component in sys.argv[3:]:
    server.config.set(component + ".ip", "127.0.0.1")
server.config.set("proxy_port", int(sys.argv[2]))
signal.signal(signal.SIGTERM, lambda *_: (server.stop(), sys.exit(0)))
server.start()
print("READY", flush=True)
server.wait()
"""


class LocalMilvusServer:
    """Start (``start``) and stop (``stop``) a Milvus standalone on 127.0.0.1; a context manager."""

    def __init__(self, python: str, data_dir: str | Path | None = None, port: int | None = None) -> None:
        self.python = python
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="milvus-"))
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> LocalMilvusServer:
        """Launch the server and wait until it answers (it took 7-15 s on a 2-core machine)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "launcher.log", "w+b")  # noqa: SIM115 - kept open for the child
        self.process = subprocess.Popen(
            [self.python, "-c", _LAUNCHER, str(self.data_dir), str(self.port), *_COMPONENTS],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log.seek(0)
            text = log.read().decode(errors="replace")
            if "READY" in text:
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"the Milvus server exited with {self.process.returncode}:\n{text[-2000:]}")
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"the Milvus server did not start in {timeout:.0f} s (log: {self.data_dir})")

    def stop(self) -> None:
        """Stop the server and the Milvus process it started (its own process group)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def __enter__(self) -> LocalMilvusServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/milvus_server.py",
                                     description="Run a local Milvus standalone on 127.0.0.1 until Ctrl+C.")
    parser.add_argument("--python", default=os.environ.get(PYTHON_ENV),
                        help=f"python of the venv holding the PyPI 'milvus' package (default ${PYTHON_ENV})")
    parser.add_argument("--data", help="data folder (default: a new temporary folder)")
    parser.add_argument("--port", type=int, default=19530)
    args = parser.parse_args(argv)
    if not args.python:
        parser.error(f"give --python or set {PYTHON_ENV}")
    server = LocalMilvusServer(args.python, args.data, args.port).start()
    print(f"Milvus listening at {server.uri} (data in {server.data_dir}); Ctrl+C to stop", flush=True)
    try:
        while server.process and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
