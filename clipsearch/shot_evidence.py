"""Whether two candidate photos are one shot: the evidence beyond their CLIP vectors.

``duplicates`` finds candidates by CLIP vector and asks ``Evidence.similarity`` about each pair:
1.0 for the same bytes (an exact copy, even of a flat picture, which has no pixel signature);
0.0 for two names of one file (a symlink and its target, two hard links: deleting the "extra"
one frees nothing, or breaks the link) and, where the index reads words, for two photos that each
hold words of their own (two receipts of one shop, two screenshots of one app: one layout at the
signature's coarse scale); else the cosine of their pixel signatures (``pixels.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .pixels import similarity
from .stores.base import ImageRecord

WordsOf = Callable[[list[str]], dict[str, frozenset[str]]]  # fingerprints -> the words read in each
FileIds = dict[str, "tuple[int, int] | None"]  # path -> (device, inode) of its file, None if unreadable
MIN_OWN_WORDS = 2  # words each photo must hold that the other lacks (misreads aside), to set it apart
OWN_SHARE = 1 / 8  # ... and at least this share of the smaller set of words (a page of small print)


@dataclass
class Evidence:
    """What tells two candidate photos apart beyond their CLIP vectors.

    ``signatures``: pixel signatures by path. ``files``: each path's file on disk
    (``file_identities``), where two names of one file must not match. ``words``: the words read
    in each content, by fingerprint (``TextIndex.words_of``), where the index reads them.
    """

    signatures: dict[str, np.ndarray]
    files: FileIds | None = None
    words: dict[str, frozenset[str]] | None = None

    def similarity(self, a: ImageRecord, b: ImageRecord) -> float:
        """How alike two photos are: 0.0 for two names of one file or for different words, 1.0
        for the same bytes (an exact copy, even of a flat picture), else their pixels' cosine."""
        file = self.files.get(a.path) if self.files is not None else None
        if file is not None and file == self.files.get(b.path):
            return 0.0
        if a.fingerprint and a.fingerprint == b.fingerprint:
            return 1.0
        if self.words is not None and _words_differ(self.words.get(a.fingerprint), self.words.get(b.fingerprint)):
            return 0.0
        return pixel_similarity(self.signatures.get(a.path), self.signatures.get(b.path))


def _words_differ(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    """Each photo holds words of its own that the other lacks: two receipts of one shop share its
    name and "TOTAL", but each has its own items. A copy reads the same words, or fewer, or
    misreads some ("mi1k" for "milk": one edit away), which are not its own."""
    if not a or not b:
        return False
    only_a, only_b = a - b, b - a
    own = min(sum(not any(_one_edit(w, v) for v in only_b) for w in only_a),
              sum(not any(_one_edit(w, v) for v in only_a) for w in only_b))
    return own >= max(MIN_OWN_WORDS, OWN_SHARE * min(len(a), len(b)))


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by changing, adding or removing one character."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long)) if x != y), len(short))
    return short[i:] == long[i + 1:]


def file_identities(records: Iterable[ImageRecord], remembered: Mapping[str, tuple[int, int]] | None = None) -> FileIds:
    """Each record's file on disk as (device, inode), links followed. Two paths with one identity
    are one file: a symlink and its target, or two hard links. Where the path cannot be looked at
    now (its folder missing: an unplugged disk), the file it reached when last scanned, as
    ``remembered`` (``file_links.load``) keeps it for a linked name; else None."""
    out: FileIds = {}
    for record in records:
        try:
            st = os.stat(record.path)
            out[record.path] = (st.st_dev, st.st_ino)
        except OSError:
            out[record.path] = (remembered or {}).get(record.path)
    return out


def pixel_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """How alike two pixel signatures are (``pixels.similarity``); 0 when either is missing or flat."""
    if a is None or b is None:
        return 0.0
    return similarity(a, b)
