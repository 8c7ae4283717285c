"""Vector stores: the protocol and the registry of implementations.

An index folder remembers which store holds its data: a Milvus index leaves ``store.json``
there (kind and URI), so anything that opens the folder (the web app, a re-index) finds the
right store without being told. Like the model, an existing index keeps its store.

Adding a store: one module with a class that has ``open`` and ``read_stamp`` like ``HnswStore``
and satisfies ``VectorStore``, one entry in ``REGISTRY``, and the contract tests passing.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from ..errors import IndexUnusable, StoreMismatch
from .base import ImageRecord, SearchFilter, VectorStore, WriteBatch, iso_day, sort_date
from .layout import DB_NAME, POINTER_NAME

# kind -> "module:class", imported only when used (Milvus pulls in pymilvus and gRPC).
REGISTRY: dict[str, str] = {
    "hnsw": "clipsearch.stores.hnsw:HnswStore",
    "milvus": "clipsearch.stores.milvus:MilvusStore",
}
KINDS = tuple(REGISTRY)
DEFAULT_KIND = "hnsw"


def store_class(kind: str) -> Any:
    """The class that implements store ``kind``."""
    module, _, name = REGISTRY[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def open_store(
    location: str | Path, stamp: dict[str, Any] | None = None, *, create: bool = False,
    kind: str | None = None, uri: str | None = None,
) -> VectorStore:
    """Open (or with ``create``, make) a store at ``location`` (the local index folder).

    ``kind`` and ``uri`` (the Milvus URI) choose the store of a new index; an existing one keeps
    its own, recorded in the folder.
    """
    kind, uri = resolve_kind(location, kind, uri)
    return store_class(kind).open(location, stamp, create=create, uri=uri)


def read_stamp(location: str | Path, kind: str | None = None, uri: str | None = None) -> dict[str, Any]:
    """The stamp of an existing index, without loading its vectors (``IndexNotFound`` if none)."""
    kind, uri = resolve_kind(location, kind, uri)
    return store_class(kind).read_stamp(location, uri)


def resolve_kind(location: str | Path, kind: str | None, uri: str | None) -> tuple[str, str | None]:
    """The store kind and URI for an index folder: what it records, else what was asked.

    ``hnsw`` is the default, so asking for it never overrides a recorded Milvus index; asking for
    Milvus where a local hnsw index already lives, or for another Milvus URI than the recorded
    one, is an error rather than a silently different index.
    """
    if kind is not None and kind not in REGISTRY:
        raise ValueError(f"unknown store kind {kind!r}; known: {', '.join(KINDS)}")
    folder = Path(location)
    if folder.exists() and not folder.is_dir():
        raise IndexUnusable(f"{folder} is a file, not an index folder")
    pointer = folder / POINTER_NAME
    if pointer.is_file():
        recorded = json.loads(pointer.read_text(encoding="utf-8"))
        if kind == "milvus" and uri and not _same_uri(uri, recorded.get("uri")):
            raise StoreMismatch(f"the index in {folder} lives in Milvus at {recorded.get('uri')}, not {uri}",
                                recorded="milvus")
        return recorded["kind"], recorded.get("uri")
    if kind == "milvus" and (folder / DB_NAME).exists():
        raise StoreMismatch(f"the index in {folder} is a local hnsw index, not a Milvus one", recorded="hnsw")
    return kind or DEFAULT_KIND, uri


def _same_uri(asked: str, recorded: str | None) -> bool:
    from .milvus_rows import split_uri

    return recorded is not None and split_uri(asked, ".") == split_uri(recorded, ".")


def __getattr__(name: str) -> Any:
    """``HnswStore`` and ``MilvusStore`` by name, imported on first use."""
    for kind, target in REGISTRY.items():
        if target.endswith(":" + name):
            return store_class(kind)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "KINDS", "REGISTRY", "HnswStore", "ImageRecord", "SearchFilter", "VectorStore", "WriteBatch",
    "iso_day", "open_store", "read_stamp", "resolve_kind", "sort_date", "store_class",
]
