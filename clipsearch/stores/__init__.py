"""Vector stores: the protocol and the registry of implementations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import ImageRecord, SearchFilter, VectorStore, WriteBatch


def open_store(
    location: str | Path, stamp: dict[str, Any] | None = None, *, create: bool = False, kind: str = "hnsw"
) -> VectorStore:
    """Open (or with ``create``, make) a store of the given kind at ``location``."""
    if kind == "hnsw":
        from .hnsw import HnswStore

        return HnswStore.open(location, stamp, create=create)
    raise ValueError(f"unknown store kind {kind!r}; known: hnsw")


def read_stamp(location: str | Path, kind: str = "hnsw") -> dict[str, Any]:
    """The stamp of an existing index, without loading its vectors (``IndexNotFound`` if none)."""
    if kind == "hnsw":
        from .hnsw import HnswStore

        return HnswStore.read_stamp(location)
    raise ValueError(f"unknown store kind {kind!r}; known: hnsw")


__all__ = ["ImageRecord", "SearchFilter", "VectorStore", "WriteBatch", "open_store", "read_stamp"]
