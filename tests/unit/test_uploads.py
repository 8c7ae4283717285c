"""Gradio's uploads written as they arrive (webui/uploads.py): no thread hop for a chunk the size
a socket read returns, the same bytes and size, a thread hop still for a huge chunk, and any other
starlette left alone."""

from __future__ import annotations

import asyncio
import tempfile

import pytest
import starlette.datastructures
from gradio.route_utils import GradioUploadFile

from webui import uploads


@pytest.fixture
def installed(monkeypatch):
    """``uploads.install()``, undone after the test (it changes Gradio's class for the process)."""
    monkeypatch.setattr(GradioUploadFile, "write", GradioUploadFile.write)
    monkeypatch.setattr(GradioUploadFile, "seek", GradioUploadFile.seek)
    assert uploads.install(), f"starlette's UploadFile changed ({uploads.methods_fingerprint()})"
    hops = []

    async def run_in_threadpool(fn, *args):
        hops.append(fn.__name__)
        return fn(*args)

    monkeypatch.setattr(starlette.datastructures, "run_in_threadpool", run_in_threadpool)
    return hops


def write_chunks(chunks: list[bytes]) -> tuple[bytes, int]:
    """Feed ``chunks`` to an upload file as Gradio's parser does; the file's bytes and size."""
    async def feed(upload: GradioUploadFile) -> None:
        for chunk in chunks:
            await upload.write(chunk)
        await upload.seek(0)

    with tempfile.NamedTemporaryFile() as disk:
        upload = GradioUploadFile(disk, size=0, filename="p.jpg")
        asyncio.run(feed(upload))
        return disk.read(), upload.size


def test_chunks_are_written_in_the_event_loop_whole(installed):
    chunks = [bytes([n]) * 65536 for n in range(5)] + [b"tail"]
    data, size = write_chunks(chunks)
    assert data == b"".join(chunks) and size == len(data)
    assert installed == [], "no chunk and no seek went to the thread pool"
    assert GradioUploadFile.write is uploads.write and GradioUploadFile.seek is uploads.seek


def test_a_chunk_larger_than_the_limit_still_goes_to_the_thread_pool(installed, monkeypatch):
    monkeypatch.setattr(uploads, "INLINE_MAX", 1000)
    chunks = [b"a" * 1000, b"b" * 1001, b"c" * 10]
    data, size = write_chunks(chunks)
    assert data == b"".join(chunks) and size == 2011
    assert installed == ["write"]  # only the 1001-byte chunk


def test_another_starlette_keeps_its_own_methods(monkeypatch):
    monkeypatch.setattr(GradioUploadFile, "write", starlette.datastructures.UploadFile.write)
    monkeypatch.setattr(GradioUploadFile, "seek", starlette.datastructures.UploadFile.seek)
    monkeypatch.setattr(uploads, "STARLETTE_METHODS", "0" * 16)
    assert not uploads.install()
    assert GradioUploadFile.write is starlette.datastructures.UploadFile.write
    assert GradioUploadFile.seek is starlette.datastructures.UploadFile.seek
