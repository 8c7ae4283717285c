"""The VectorStore protocol and the records it keeps.

A store holds, for every indexed image, its record (path, size, mtime, fingerprint, size in pixels,
date taken) and its unit vector, and answers nearest-neighbour queries by inner product. Writes come
in batches that are applied atomically: after a crash the store is as it was after some batch.
"""

from __future__ import annotations

import calendar
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

SCHEMA_VERSION = 1
# What must match between an index's stamp and the model opening it.
STAMP_KEYS = ("model", "pretrained", "checkpoint_sha256", "dim", "image_size", "preprocess")


@dataclass(frozen=True)
class ImageRecord:
    """What the index knows about one image file."""

    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    width: int
    height: int
    date_taken: str | None = None  # ISO 8601, from EXIF

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)


@dataclass(frozen=True)
class SearchFilter:
    """Restricts a search: a folder subtree and/or a date range (inclusive, ISO dates).

    The date is the EXIF date taken where the file has one, else its modification time. Dates are
    checked here (``iso_day``), since they are compared as text: "2020/01/01", "yesterday" or
    "2020-02-30" would otherwise filter silently wrong. ``ValueError`` says which is wrong.
    """

    folder: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            try:
                object.__setattr__(self, name, iso_day(getattr(self, name), end=name == "date_to"))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"the date range is empty: {self.date_from} is after {self.date_to}")

    def is_empty(self) -> bool:
        return not (self.folder or self.date_from or self.date_to)


def iso_day(value: str | date | None, end: bool = False) -> str | None:
    """A day as ISO text (``2024-07-31``), None for none; ``ValueError`` saying so for anything else.

    A year (``2019``) or a month (``2019-06``) is its first day, or with ``end`` its last: what
    "since 2019" and "until 2019-06" mean. Only these forms, as documented: Python's own ISO reading
    also takes ``20190214`` and weeks (``2019-W07`` as its Monday), which filtered silently.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):  # a datetime too: its day
        return date(value.year, value.month, value.day).isoformat()
    text = str(value).strip()
    period = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", text)
    try:
        if period is None:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        year, month = int(period.group(1)), int(period.group(2) or (12 if end else 1))
        day = calendar.monthrange(year, month)[1] if end else 1
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not a date like 2024-07-31 (or a month, 2024-07, or a year, 2024)") from None


def sort_date(record: Any) -> str:
    """A photo's date as the date filter and the date sort see it: its EXIF date taken, else its
    file's local modification time (ISO text); ``record``: an ``ImageRecord`` or a search result."""
    if record.date_taken:
        return record.date_taken
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.mtime_ns / 1e9))


@dataclass
class WriteBatch:
    """One atomic change to a store.

    ``put``: new or changed files with their new vectors. ``rename``: (old path, new record) pairs
    that keep their vector. ``update``: same path and content (or picture: its metadata alone
    changed), fresher metadata (mtime, date taken).
    ``delete``: paths to forget. ``file_ids``: (path, inode, ctime_ns) of the files on disk that
    records hold, for a store that keeps them (``file_ids()``); applied after the rest, and not
    counted in ``len``: a batch of these alone changes no photo. ``pictures``: (fingerprint,
    picture fingerprint) pairs of contents read, for a store that keeps them (``pictures()``).
    """

    put: list[tuple[ImageRecord, np.ndarray]] = field(default_factory=list)
    rename: list[tuple[str, ImageRecord]] = field(default_factory=list)
    update: list[ImageRecord] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    file_ids: list[tuple[str, int, int]] = field(default_factory=list)
    pictures: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.put) + len(self.rename) + len(self.update) + len(self.delete)


@runtime_checkable
class VectorStore(Protocol):
    """Records + vectors + nearest-neighbour search, stamped with the model that made them.

    Everything the engine, the indexing pipeline and the front ends call on a store is declared
    here; a new store implements this, ``open`` and ``read_stamp``, and passes tests/contract.
    A store may also keep, beside each record, the inode and ctime of the file it was read from
    (``file_ids()``: path -> (ino, ctime_ns), and ``WriteBatch.file_ids``), as the hnsw store does:
    then a file replaced by another of the same size and modification time is read again. And
    the fingerprint of each content's picture (``pictures()``: fingerprint -> picture, and
    ``WriteBatch.pictures``): then a file whose metadata alone changed keeps its vector.
    """

    folder: Path  # the local index folder (lock, manifest; never scanned for pictures)

    @property
    def stamp(self) -> dict[str, Any]:
        """What built this index (model, weights, dim, preprocessing, schema version)."""

    def count(self) -> int:
        """How many images are indexed."""

    def generation(self) -> int:
        """A number that grows with every committed batch (cheap; for reload checks)."""

    def info(self) -> dict[str, Any]:
        """Count, stamp, last indexed time and the like, for display."""

    def get(self, path: str) -> ImageRecord | None:
        """The record of one path, if indexed."""

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        """Every record (under ``folder`` when given)."""

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, fingerprint) for every record: what a re-scan compares with."""

    def vector(self, path: str) -> np.ndarray | None:
        """The stored vector of one path, if indexed."""

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        """A stored vector for each fingerprint the store already has."""

    def write(self, batch: WriteBatch) -> None:
        """Apply a batch atomically."""

    def set_folders(self, folders: Iterable[str], left_out: Iterable[str] = ()) -> None:
        """Record which folders this index covers (shown in the app, used by a re-index), and the
        folders inside them that runs leave out (``info()["left_out"]``: removed by name)."""

    def search(
        self, vector: np.ndarray, k: int, *, where: SearchFilter | None = None, text_like: bool = False
    ) -> list[tuple[ImageRecord, float]]:
        """The ``k`` nearest records by inner product, best first, with score = similarity.

        ``text_like`` marks out-of-distribution queries (text vectors) that need a wider search.
        """

    def stale(self) -> bool:
        """True when the index on disk has moved past what this object shows."""

    def refresh(self) -> bool:
        """Catch up with what other processes committed, in place and safely beside searches.

        True when what searches see changed. Whatever it replaces inside is released once the
        last search using it ends.
        """

    def save(self) -> None:
        """Make everything written so far fast to open (snapshot the ANN index)."""

    def close(self) -> None:
        """Release files and memory."""

    def check(self) -> list[str]:
        """Consistency problems inside the store (for tests and tools); empty when all is well."""


def check_stamp(have: dict[str, Any], want: dict[str, Any], where: object) -> None:
    """Raise ``ModelMismatch`` when an index's stamp and a model's stamp differ."""
    from ..errors import ModelMismatch

    diffs = stamp_differences(have, want)
    if diffs:
        raise ModelMismatch(
            f"the index in {where} was built with another model (" + "; ".join(diffs)
            + "). Use the model it was built with, or index into another folder."
        )


def stamp_differences(have: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """The stamp keys whose values differ, as readable ``key: have != want`` strings."""
    out = []
    for key in STAMP_KEYS:
        if have.get(key) != want.get(key):
            out.append(f"{key}: index has {have.get(key)!r}, model has {want.get(key)!r}")
    return out
