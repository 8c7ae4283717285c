"""Which pictures decode in a time their size bounds, so that a time limit needs no thread of its own.

``images.load_image`` with a ``timeout`` decodes on a daemon thread it can abandon: a hostile or
hung file (a network disk that stops answering, a progressive JPEG of thousands of scans, a codec's
endless loop) cannot hold the caller. That thread costs little alone, but under load it is several
hand-overs of the interpreter lock between threads (the thread's start, its result), each of which
waits for the threads holding it to let go: on 2 cores with two busy Python threads beside it, a
1024x768 JPEG query picture took a median 36 ms through the thread against 10 ms decoded where it
was asked for (p99 185 against 81; ``benchmarks/bench_query_decode.py``, the machine otherwise
busy, load average 6.6). Every picture uploaded through the web app's call API went through it.
In the served app under ``bench_load.py``'s mixed load (8 clients, a third uploads) the change was
level, though: call API 1.00-1.01x the throughput and 0.95-1.01x the p99 of the build before it
(two rounds each, a quiet machine): its request threads hold the lock less than the benchmark's
busy threads do. What it keeps is one way for every query picture, and the REST route, which
decoded uploads with no time limit at all, under one.

A picture already in memory (no disk to hang on) whose decoder's work its size bounds, needs no
such guard: a baseline (sequential Huffman) JPEG, decoded in one pass over its data, at most the
pixels its header states (checked against the limit before any is decoded); and a PNG, inflated
until the pixels its header states are filled. Those two, the formats nearly every query picture
comes in, are decoded where they are asked for; every other picture, and any file still to be
read, keeps the thread. ``INLINE_BYTES`` caps what is decoded so: reading a header of a million
tiny segments costs time too.
"""

from __future__ import annotations

import os

INLINE_BYTES = 20 << 20  # a 50 MP camera's JPEG fits
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SEQUENTIAL = frozenset({0xC0, 0xC1})  # baseline and extended sequential DCT, Huffman coded
START_OF_SCAN = 0xDA
STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # markers without a length: TEM, RSTn, SOI
MAX_SEGMENTS = 1024  # segments before the frame: a camera writes a dozen


def bounded(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` is a picture whose decoding its size bounds: a PNG, or a baseline JPEG
    (its frame header says so before its first scan), of at most ``INLINE_BYTES``."""
    if len(data) > INLINE_BYTES:
        return False
    if data[:8] == PNG_MAGIC:
        return True
    return data[:3] == JPEG_MAGIC and _jpeg_frame(data) in SEQUENTIAL


def _jpeg_frame(data: bytes | bytearray | memoryview) -> int | None:
    """The marker of a JPEG's frame header (SOFn), read over the segments before it; None where
    there is none before the first scan, the data is cut short or malformed, or it takes more than
    ``MAX_SEGMENTS`` segments to reach."""
    at, end = 2, len(data)
    for _ in range(MAX_SEGMENTS):
        if at + 2 > end or data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # DHT, JPG and DAC are no frames
            return marker
        if marker == START_OF_SCAN:
            return None
        if marker in STANDALONE:
            at += 2
            continue
        if at + 4 > end:
            return None
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None


def read_if_bounded(path: str) -> bytes | str:
    """A file's bytes where ``bounded``, else its path, to be read (and decoded) under a time limit.
    Only for a file on a local disk that cannot hang its reader: an upload the web server wrote.
    A file that does not begin as a JPEG or a PNG is not read on (its reader reads it once)."""
    try:
        if os.path.getsize(path) > INLINE_BYTES:
            return path
        with open(path, "rb") as file:
            head = file.read(len(PNG_MAGIC))
            if not (head == PNG_MAGIC or head.startswith(JPEG_MAGIC)):
                return path
            data = head + file.read(INLINE_BYTES + 1 - len(head))
    except OSError:
        return path  # said as the picture's reader says it
    return data if bounded(data) else path
