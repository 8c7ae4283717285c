"""How the Milvus store lays out a row: path keys and escapes, folder hashes, dates as numbers, filters.

Collection ``NAME`` has one row per image, keyed by a 128-bit hash of the path's bytes, with the
vector (HNSW, inner product) and the metadata that filters run on *inside* the ANN search:
``ancestors`` (hashes of every enclosing folder: a folder filter is one ``array_contains``, exact
and free of LIKE wildcards) and ``sort_date`` (YYYYMMDDhhmmss as an integer). Paths may hold any
bytes: they are stored as text with the undecodable bytes (and ``%``) escaped as ``%XX``, which
round-trips exactly. Collection ``NAME_meta`` holds the stamp, the generation, the folders and the
last update time (milvus-lite keeps no collection description).

Pure functions, no pymilvus: the store (``milvus.py``) talks to Milvus, this module encodes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from .base import ImageRecord, SearchFilter, WriteBatch
from .layout import LITE_FILE

DEFAULT_COLLECTION = "clipsearch"
MAX_PATH_CHARS = 16_384
MAX_DEPTH = 1_024
FIELDS = ["path", "size", "mtime_ns", "fingerprint", "width", "height", "date_taken"]


def split_uri(uri: str | None, folder: str | Path) -> tuple[str, str]:
    """(connection uri, collection name) from ``URI[#NAME]``; no uri means milvus-lite in ``folder``."""
    uri = uri or str(Path(folder) / LITE_FILE)
    base, _, name = uri.partition("#")
    if "://" not in base:  # a milvus-lite file: make it absolute so the pointer works from anywhere
        base = os.path.abspath(os.path.expanduser(base))
    return base, name or DEFAULT_COLLECTION


def row_key(path: str) -> str:
    return hashlib.blake2b(os.fsencode(path), digest_size=16).hexdigest()


ESCAPE_RE = re.compile("[%\udc80-\udcff]")
UNESCAPE_RE = re.compile("%([0-9A-F]{2})")


def escape_path(path: str) -> str:
    """Text Milvus accepts (valid UTF-8) for any path: undecodable bytes and ``%`` become ``%XX``."""
    text = os.fsencode(path).decode("utf-8", "surrogateescape")
    return ESCAPE_RE.sub(lambda m: "%%%02X" % (ord(m.group()) & 0xFF), text)


def unescape_path(text: str) -> str:
    raw = UNESCAPE_RE.sub(lambda m: "%" if m.group(1) == "25" else chr(0xDC00 + int(m.group(1), 16)), text)
    return os.fsdecode(raw.encode("utf-8", "surrogateescape"))


def folder_hash(folder: str) -> int:
    """63 bits of a folder's hash (non-negative: milvus-lite parses no negative literals)."""
    return int.from_bytes(hashlib.blake2b(os.fsencode(folder), digest_size=8).digest(), "little") >> 1


def ancestors(path: str) -> list[int]:
    out, folder = [], os.path.dirname(path)
    while True:
        out.append(folder_hash(folder))
        parent = os.path.dirname(folder)
        if parent == folder:
            return out[:MAX_DEPTH]
        folder = parent


def date_number(iso: str, *, end: bool = False) -> int:
    """``2021-06-01T12:00:00`` -> 20210601120000; missing parts are the start (or end) of the day."""
    digits = re.sub(r"\D", "", iso)[:14]
    fill = "1231235959" if end else "0101000000"
    return int(digits + fill[len(digits) - 4:]) if len(digits) >= 4 else 0


def sort_date_number(record: ImageRecord) -> int:
    if record.date_taken:
        return date_number(record.date_taken)
    return date_number(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.mtime_ns / 1e9)))


def to_row(record: ImageRecord, vector: np.ndarray) -> dict[str, Any]:
    return {
        "id": row_key(record.path), "vector": vector.tolist(), "path": escape_path(record.path),
        "folder": escape_path(record.folder), "ancestors": ancestors(record.path),
        "sort_date": sort_date_number(record), "date_taken": record.date_taken or "", "size": record.size,
        "mtime_ns": record.mtime_ns, "fingerprint": record.fingerprint, "width": record.width,
        "height": record.height,
    }


def to_record(row: dict) -> ImageRecord:
    return ImageRecord(unescape_path(row["path"]), int(row["size"]), int(row["mtime_ns"]), row["fingerprint"],
                       int(row["width"]), int(row["height"]), row["date_taken"] or None)


def literal(text: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(text, ensure_ascii=False)


def filter_expression(where: SearchFilter | None) -> tuple[str, str | None]:
    """The Milvus filter for a SearchFilter, and the folder prefix results must start with."""
    if where is None or where.is_empty():
        return "", None
    clauses, inside = [], None
    if where.folder:
        folder = os.path.abspath(where.folder)
        clauses.append(f"array_contains(ancestors, {folder_hash(folder)})")
        inside = os.path.join(folder, "")
    if where.date_from:
        clauses.append(f"sort_date >= {date_number(where.date_from)}")
    if where.date_to:
        clauses.append(f"sort_date <= {date_number(where.date_to, end=True)}")
    return " and ".join(clauses), inside


def image_fields(dim: int) -> list[tuple[str, str, dict[str, Any]]]:
    """The image collection's fields: (name, pymilvus DataType name, options)."""
    return [
        ("id", "VARCHAR", {"is_primary": True, "max_length": 32}),
        ("vector", "FLOAT_VECTOR", {"dim": dim}),
        ("path", "VARCHAR", {"max_length": MAX_PATH_CHARS}),
        ("folder", "VARCHAR", {"max_length": MAX_PATH_CHARS}),
        ("ancestors", "ARRAY", {"element_type": "INT64", "max_capacity": MAX_DEPTH}),
        ("sort_date", "INT64", {}),
        ("date_taken", "VARCHAR", {"max_length": 32}),
        ("size", "INT64", {}),
        ("mtime_ns", "INT64", {}),
        ("fingerprint", "VARCHAR", {"max_length": 256}),
        ("width", "INT64", {}),
        ("height", "INT64", {}),
    ]


def batch_rows(batch: WriteBatch, dim: int, old_vectors: dict[str, np.ndarray]) -> tuple[list[dict], list[str]]:
    """The rows a batch upserts and the keys it deletes (renames and updates keep their old vector)."""
    rows: dict[str, dict] = {}
    for record, vector in batch.put:
        rows[row_key(record.path)] = to_row(record, np.asarray(vector, np.float32).reshape(dim))
    for old, record in batch.rename:
        if old in old_vectors:
            rows.setdefault(row_key(record.path), to_row(record, old_vectors[old]))
    for record in batch.update:
        if record.path in old_vectors:
            rows.setdefault(row_key(record.path), to_row(record, old_vectors[record.path]))
    live = {row_key(r.path) for r, _ in batch.put} | {row_key(r.path) for _, r in batch.rename}
    dead = sorted({row_key(p) for p in [*batch.delete, *(old for old, _ in batch.rename)]} - live)
    return list(rows.values()), dead


def key_ranges(total: int, per_range: int) -> list[str]:
    """Filters that split the keys (uniform hex hashes) into ranges of about ``per_range`` rows.

    (Not ``query_iterator``: milvus-lite answers limited queries in no key order, and pages by
    offset cost quadratic time; the keys are uniform hex hashes, so prefix ranges are even.)
    """
    digits = 0
    while total > per_range * 16 ** digits and digits < 4:
        digits += 1
    prefixes = [format(i, f"0{digits}x") for i in range(16 ** digits)] if digits else [""]
    return [f'id >= "{prefix}"' + (f' and id < "{prefixes[i + 1]}"' if i + 1 < len(prefixes) else "")
            for i, prefix in enumerate(prefixes)]


def meta_rows(values: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of the meta collection (Milvus wants a vector in every row: a 2-d zero)."""
    return [{"key": k, "value": v, "vector": [0.0, 0.0]} for k, v in values.items()]
