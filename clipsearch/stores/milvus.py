"""A store in Milvus: a server (or a cluster) holds the records, the vectors and the HNSW graph.

Chosen with ``--store milvus --milvus-uri URI``. ``URI`` is ``http://HOST:19530`` for a server,
or a local file ``PATH.db`` for milvus-lite (in-process, one process at a time; for tests and
trying things). A ``#NAME`` suffix names the collection (default ``clipsearch``). The local index
folder keeps only ``store.json`` (where the data lives), the writer's lock and a manifest.

Layout: collection ``NAME`` has one row per image, keyed by a 128-bit hash of the path's bytes,
with the vector (HNSW, inner product) and the metadata that filters run on *inside* the ANN
search: ``ancestors`` (hashes of every enclosing folder: a folder filter is one
``array_contains``, exact and free of LIKE wildcards) and ``sort_date`` (YYYYMMDDhhmmss as an
integer). Paths may hold any bytes: they are stored as text with the undecodable bytes (and ``%``)
escaped as ``%XX``, which round-trips exactly. Collection ``NAME_meta`` holds the stamp, the
generation, the folders and the last update time (milvus-lite keeps no collection description).

Consistency: reads the indexer relies on right after its own writes (``get``, ``file_states``,
``vector``, fingerprints, ``count``, generation) are Strong. Searches and ``info`` (for display)
are Bounded: they may miss the last few seconds of writes from *other* processes, in exchange for
not waiting on the newest timestamp (~0.2 s per Strong read on a 2.3 server); a store object that
wrote (or opened an index changed) within the last ``READ_YOUR_WRITES_SECONDS`` reads Strong, so
it always sees what it wrote.

Atomicity: Milvus has no multi-row transactions. A batch is applied new-data-first (upserts, then
deletes, then the generation), every row operation is idempotent, and the indexer re-scans, so a
crash mid-batch leaves a state that the next run converges from (a renamed file may briefly exist
under both paths; its old path is then removed as vanished).

This is the only module that imports pymilvus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from ..errors import ClipSearchError, IndexNotFound, ModelMismatch, StoreWriteError
from .atomic import atomic_write_text
from .base import SCHEMA_VERSION, ImageRecord, SearchFilter, WriteBatch, check_stamp
from .layout import DB_NAME, LITE_FILE, MANIFEST_NAME, POINTER_NAME

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "clipsearch"
M = 16
EF_CONSTRUCTION = 200
EF_IMAGE = 128
EF_TEXT = 512
MAX_TOPK = 16_384
MAX_PATH_CHARS = 16_384
MAX_DEPTH = 1_024
WRITE_CHUNK = 1_000  # rows per insert/upsert call (keeps gRPC messages small)
READ_CHUNK = 500
SCAN_ROWS = 5_000  # rows per range query when reading everything
READ_YOUR_WRITES_SECONDS = 10.0  # > Milvus's default Bounded staleness (5 s)
_FIELDS = ["path", "size", "mtime_ns", "fingerprint", "width", "height", "date_taken"]


class StoreUnavailable(ClipSearchError):
    """The Milvus server cannot be reached or refused a request."""


def split_uri(uri: str | None, folder: str | Path) -> tuple[str, str]:
    """(connection uri, collection name) from ``URI[#NAME]``; no uri means milvus-lite in ``folder``."""
    uri = uri or str(Path(folder) / LITE_FILE)
    base, _, name = uri.partition("#")
    if "://" not in base:  # a milvus-lite file: make it absolute so the pointer works from anywhere
        base = os.path.abspath(os.path.expanduser(base))
    return base, name or DEFAULT_COLLECTION


class _QuietLiteServer(logging.Filter):
    """milvus-lite serves in this process and logs pymilvus's probe of an RPC it lacks (harmless)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


logging.getLogger("grpc._server").addFilter(_QuietLiteServer())


class MilvusStore:
    """A ``VectorStore`` in a Milvus collection (plus a small meta collection)."""

    def __init__(self, folder: Path, client: MilvusClient, uri: str, name: str, stamp: dict[str, Any],
                 writable: bool) -> None:
        self.folder = folder
        self.uri = uri
        self.collection = name
        self._meta = f"{name}_meta"
        self._client = client
        self._stamp = stamp
        self._dim = int(stamp["dim"])
        self._writable = writable
        self._lock = threading.RLock()
        self._last_write = float("-inf")
        self._generation = 0  # the writer's count of committed batches (it is the only writer)
        self._dirty: set[str] = set()  # collections written since the last flush
        self.ef_image = EF_IMAGE
        self.ef_text = EF_TEXT

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, folder: str | Path, stamp: dict[str, Any] | None = None, *, create: bool = False,
             uri: str | None = None) -> MilvusStore:
        """Open the collection named by ``uri``; with ``create``, make it (``stamp`` required)."""
        folder = Path(folder)
        base, name = split_uri(uri, folder)
        if create and "://" not in base:
            Path(base).parent.mkdir(parents=True, exist_ok=True)
        client = _connect(base, create)
        try:
            have = _read_meta(client, f"{name}_meta", "stamp", strong=True)
            if have is None:
                if not create:
                    raise IndexNotFound(f"no index in Milvus at {base} (collection {name}): build one with "
                                        f"`python -m indexer FOLDER --store milvus --milvus-uri {base}#{name}`")
                if stamp is None:
                    raise ValueError("a new index needs the stamp of the model that fills it")
                have = {**stamp, "schema_version": SCHEMA_VERSION}
                _create_collections(client, name, int(stamp["dim"]), have)
            else:
                have = json.loads(have)
            if have.get("schema_version") != SCHEMA_VERSION:
                raise ModelMismatch(f"the index in {base}#{name} has schema version {have.get('schema_version')}, "
                                    f"this clipsearch reads version {SCHEMA_VERSION}")
            if stamp is not None:
                check_stamp(have, stamp, f"{base}#{name}")
        except BaseException:
            client.close()
            raise
        try:
            client.load_collection(name)
        except MilvusException as exc:
            client.close()
            raise StoreUnavailable(f"Milvus at {base} cannot load collection {name}: {exc}") from exc
        store = cls(folder, client, base, name, have, writable=create)
        meta = store._meta_values("generation", "changed")
        store._generation = int(meta.get("generation") or 0)
        last = meta.get("changed")
        if last:  # written moments ago (by another process, say): read Strong until Bounded sees it
            store._last_write = time.monotonic() - max(0.0, time.time() - float(last))
        try:
            store._remember_location(required=create)
        except StoreWriteError:
            store.close()
            raise
        if create:
            store._write_manifest()
        return store

    @staticmethod
    def read_stamp(folder: str | Path, uri: str | None = None) -> dict[str, Any]:
        """The stamp of the collection named by ``uri``, from its meta collection."""
        base, name = split_uri(uri, folder)
        client = _connect(base, False)
        try:
            stamp = _read_meta(client, f"{name}_meta", "stamp", strong=True)
        finally:
            client.close()
        if stamp is None:
            raise IndexNotFound(f"no index in Milvus at {base} (collection {name})")
        return json.loads(stamp)

    # --- reading ---------------------------------------------------------------------------
    @property
    def stamp(self) -> dict[str, Any]:
        return dict(self._stamp)

    def count(self, level: str = "Strong") -> int:
        rows = self._call(self._client.query, self.collection, filter="", output_fields=["count(*)"],
                          consistency_level=level)
        return int(rows[0]["count(*)"]) if rows else 0

    def generation(self) -> int:
        return int(self._meta_values("generation").get("generation") or 0)

    def stale(self) -> bool:
        """Never: every read goes to the live collection, so there is nothing to reload."""
        return False

    def refresh(self) -> bool:
        """Nothing to catch up with: every read goes to the live collection."""
        return False

    def info(self) -> dict[str, Any]:
        level = self._search_level()  # for display: a reader need not wait for the newest writes
        meta = self._meta_values("generation", "last_indexed", "folders", level=level)
        return {
            "count": self.count(level),
            "generation": int(meta.get("generation") or 0),
            "stamp": self.stamp,
            "last_indexed": float(meta["last_indexed"]) if meta.get("last_indexed") else None,
            "folders": json.loads(meta.get("folders") or "[]"),
            "location": f"{self.uri}#{self.collection}",
        }

    def get(self, path: str) -> ImageRecord | None:
        rows = self._get([path], _FIELDS)
        return _record(rows[0]) if rows else None

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        expr = f"array_contains(ancestors, {_folder_hash(os.path.abspath(folder))})" if folder else ""
        out = [_record(row) for row in self._scan(expr, _FIELDS)]
        if folder:
            inside = os.path.join(os.path.abspath(folder), "")
            out = [r for r in out if r.path.startswith(inside)]
        return iter(sorted(out, key=lambda r: os.fsencode(r.path)))

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, fingerprint) for every record: what a re-scan compares with."""
        return {_unescape(r["path"]): (int(r["size"]), int(r["mtime_ns"]), r["fingerprint"])
                for r in self._scan("", ["path", "size", "mtime_ns", "fingerprint"])}

    def vector(self, path: str) -> np.ndarray | None:
        rows = self._get([path], ["vector"])
        return np.asarray(rows[0]["vector"], np.float32) if rows else None

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        unique = sorted(set(fingerprints))
        for start in range(0, len(unique), READ_CHUNK):
            chunk = unique[start:start + READ_CHUNK]
            expr = "fingerprint in [" + ",".join(_literal(fp) for fp in chunk) + "]"
            for row in self._call(self._client.query, self.collection, filter=expr,
                                  output_fields=["fingerprint", "vector"], consistency_level="Strong"):
                out[row["fingerprint"]] = np.asarray(row["vector"], np.float32)
        return out

    def search(self, vector: np.ndarray, k: int, *, where: SearchFilter | None = None,
               hard: bool = False) -> list[tuple[ImageRecord, float]]:
        if k <= 0:
            return []
        k = min(k, MAX_TOPK)
        expr, inside = _filter_expression(where)
        ef = min(max(self.ef_text if hard else self.ef_image, k), 32_768)
        result = self._call(
            self._client.search, self.collection,
            data=[np.asarray(vector, np.float32).reshape(self._dim).tolist()], limit=k, filter=expr,
            output_fields=_FIELDS, search_params={"metric_type": "IP", "params": {"ef": ef}},
            consistency_level=self._search_level(),
        )
        hits = [(_record(hit["entity"]), float(hit["distance"])) for hit in result[0]]
        if inside:  # folder hashes could in theory collide: keep only true descendants
            hits = [h for h in hits if h[0].path.startswith(inside)]
        return hits

    # --- writing ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        """Apply a batch: upsert new rows first, then delete, then bump the generation."""
        self._require_writable()
        if not len(batch):
            return
        with self._lock:
            rows: dict[str, dict] = {}
            for record, vector in batch.put:
                rows[_key(record.path)] = _row(record, np.asarray(vector, np.float32).reshape(self._dim))
            moved_from = [old for old, _ in batch.rename]
            old_vectors = self._vectors_of(moved_from + [r.path for r in batch.update])
            for old, record in batch.rename:
                if old in old_vectors:
                    rows.setdefault(_key(record.path), _row(record, old_vectors[old]))
            for record in batch.update:
                if record.path in old_vectors:
                    rows.setdefault(_key(record.path), _row(record, old_vectors[record.path]))
            live = {_key(r.path) for r, _ in batch.put} | {_key(r.path) for _, r in batch.rename}
            dead = sorted({_key(p) for p in [*batch.delete, *moved_from]} - live)
            values = list(rows.values())
            try:
                for start in range(0, len(values), WRITE_CHUNK):
                    self._client.upsert(self.collection, values[start:start + WRITE_CHUNK])
                for start in range(0, len(dead), WRITE_CHUNK):
                    self._client.delete(self.collection, ids=dead[start:start + WRITE_CHUNK])
                self._last_write = time.monotonic()
                self._dirty.add(self.collection)
                self._set_meta(generation=str(self._generation + 1), last_indexed=str(time.time()))
                self._generation += 1
            except MilvusException as exc:
                raise StoreWriteError(f"could not write to Milvus at {self.uri}: {exc}") from exc

    def set_folders(self, folders: Iterable[str]) -> None:
        """Record which folders this index covers (shown in the app, used by re-index)."""
        self._require_writable()
        value = json.dumps(sorted(set(folders)))
        if self._meta_values("folders").get("folders") != value:  # re-runs mostly change nothing
            self._set_meta(folders=value)

    def save(self) -> None:
        """Flush what this object wrote: Milvus seals the segments, persists them and indexes them."""
        self._require_writable()
        for name in sorted(self._dirty):
            self._call(self._client.flush, name)
        if self._dirty:
            self._write_manifest()
        self._dirty.clear()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()

    def check(self) -> list[str]:
        """Consistency problems (a row whose key is not its path's); empty when all is well."""
        problems = []
        rows = list(self._scan("", ["id", "path"]))
        for row in rows:
            if row["id"] != _key(_unescape(row["path"])):
                problems.append(f"row {row['id']} is keyed under another path than {row['path']!r}")
        if len(rows) != self.count():
            problems.append(f"{len(rows)} rows scanned but count(*) says {self.count()}")
        return problems

    # --- helpers ---------------------------------------------------------------------------
    def _get(self, paths: list[str], fields: list[str]) -> list[dict]:
        out = []
        for start in range(0, len(paths), READ_CHUNK):
            keys = [_key(p) for p in paths[start:start + READ_CHUNK]]
            out += self._call(self._client.get, self.collection, ids=keys, output_fields=fields,
                              consistency_level="Strong")
        return out

    def _vectors_of(self, paths: list[str]) -> dict[str, np.ndarray]:
        rows = self._get(sorted(set(paths)), ["path", "vector"])
        return {_unescape(r["path"]): np.asarray(r["vector"], np.float32) for r in rows}

    def _scan(self, expr: str, fields: list[str]) -> Iterator[dict]:
        """Every row matching ``expr``, read in key ranges of at most ~``SCAN_ROWS`` rows each.

        (Not ``query_iterator``: milvus-lite answers limited queries in no key order, and pages by
        offset cost quadratic time; the keys are uniform hex hashes, so prefix ranges are even.)
        """
        digits = 0
        total = self.count()
        while total > SCAN_ROWS * 16 ** digits and digits < 4:
            digits += 1
        prefixes = [format(i, f"0{digits}x") for i in range(16 ** digits)] if digits else [""]
        for i, prefix in enumerate(prefixes):
            rng = f'id >= "{prefix}"' + (f' and id < "{prefixes[i + 1]}"' if i + 1 < len(prefixes) else "")
            yield from self._call(self._client.query, self.collection, filter=f"({rng})" + (
                f" and ({expr})" if expr else ""), output_fields=fields, consistency_level="Strong")

    def _search_level(self) -> str:
        """Bounded, or Strong while this object's own recent writes may not be visible yet."""
        return "Strong" if time.monotonic() - self._last_write < READ_YOUR_WRITES_SECONDS else "Bounded"

    def _meta_values(self, *keys: str, level: str = "Strong") -> dict[str, str]:
        rows = self._call(self._client.get, self._meta, ids=list(keys), output_fields=["key", "value"],
                          consistency_level=level)
        return {row["key"]: row["value"] for row in rows}

    def _set_meta(self, **values: str) -> None:
        """Upsert meta values, and ``changed``: when anything last changed (for the Strong window)."""
        values["changed"] = str(time.time())
        rows = [{"key": k, "value": v, "vector": [0.0, 0.0]} for k, v in values.items()]
        self._call(self._client.upsert, self._meta, rows)
        self._dirty.add(self._meta)
        self._last_write = time.monotonic()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MilvusException as exc:
            raise StoreUnavailable(f"Milvus at {self.uri} refused a request: {exc}") from exc

    def _remember_location(self, *, required: bool) -> None:
        """Write ``store.json`` in the index folder, so whatever opens the folder finds this index.

        (A re-index from the web app opens the folder without naming a store.) Only a new index
        requires it; a reader records it where the folder names no index yet, if it can.
        """
        pointer = self.folder / POINTER_NAME
        if not required and (pointer.exists() or (self.folder / DB_NAME).exists()):
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(pointer, json.dumps({"kind": "milvus", "uri": f"{self.uri}#{self.collection}"}))
        except OSError as exc:
            if required:
                raise StoreWriteError(f"could not write {pointer}: {exc}") from exc

    def _require_writable(self) -> None:
        if not self._writable:
            raise RuntimeError("this store was opened read-only")

    def _write_manifest(self) -> None:
        info = self.info()
        info.pop("location")
        info["uri"] = f"{self.uri}#{self.collection}"
        with contextlib.suppress(OSError):
            atomic_write_text(self.folder / MANIFEST_NAME, json.dumps(info, indent=2, sort_keys=True))


def _connect(uri: str, create: bool) -> MilvusClient:
    if not create and "://" not in uri and not os.path.exists(uri):  # do not make an empty lite file
        raise IndexNotFound(f"no index at {uri}: build one with `python -m indexer FOLDER --store milvus`")
    try:
        return MilvusClient(uri=uri)
    except MilvusException as exc:
        raise StoreUnavailable(f"cannot reach Milvus at {uri}: {exc}") from exc


def _create_collections(client: MilvusClient, name: str, dim: int, stamp: dict[str, Any]) -> None:
    """The image collection (HNSW over inner product) and the meta collection, stamp last."""
    meta = f"{name}_meta"
    if not client.has_collection(meta):
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("value", DataType.VARCHAR, max_length=65_535)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants one vector field
        index = client.prepare_index_params()
        index.add_index(field_name="vector", index_type="FLAT", metric_type="L2")
        client.create_collection(meta, schema=schema, index_params=index, consistency_level="Strong")
    if not client.has_collection(name):
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False,
                                      description=json.dumps(stamp)[:1000])
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=32)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("path", DataType.VARCHAR, max_length=MAX_PATH_CHARS)
        schema.add_field("folder", DataType.VARCHAR, max_length=MAX_PATH_CHARS)
        schema.add_field("ancestors", DataType.ARRAY, element_type=DataType.INT64, max_capacity=MAX_DEPTH)
        schema.add_field("sort_date", DataType.INT64)
        schema.add_field("date_taken", DataType.VARCHAR, max_length=32)
        schema.add_field("size", DataType.INT64)
        schema.add_field("mtime_ns", DataType.INT64)
        schema.add_field("fingerprint", DataType.VARCHAR, max_length=256)
        schema.add_field("width", DataType.INT64)
        schema.add_field("height", DataType.INT64)
        index = client.prepare_index_params()
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                        params={"M": M, "efConstruction": EF_CONSTRUCTION})
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Bounded")
    client.upsert(meta, [{"key": k, "value": v, "vector": [0.0, 0.0]} for k, v in
                         (("generation", "0"), ("folders", "[]"), ("stamp", json.dumps(stamp)))])


def _read_meta(client: MilvusClient, meta: str, key: str, *, strong: bool) -> str | None:
    try:
        if not client.has_collection(meta):
            return None
        client.load_collection(meta)  # a no-op when loaded; milvus-lite releases them between processes
        rows = client.get(meta, ids=[key], output_fields=["value"],
                          consistency_level="Strong" if strong else "Bounded")
    except MilvusException as exc:
        raise StoreUnavailable(f"Milvus refused a request: {exc}") from exc
    return rows[0]["value"] if rows else None


def _key(path: str) -> str:
    return hashlib.blake2b(os.fsencode(path), digest_size=16).hexdigest()


_ESCAPE = re.compile("[%\udc80-\udcff]")
_UNESCAPE = re.compile("%([0-9A-F]{2})")


def _escape(path: str) -> str:
    """Text Milvus accepts (valid UTF-8) for any path: undecodable bytes and ``%`` become ``%XX``."""
    text = os.fsencode(path).decode("utf-8", "surrogateescape")
    return _ESCAPE.sub(lambda m: "%%%02X" % (ord(m.group()) & 0xFF), text)


def _unescape(text: str) -> str:
    raw = _UNESCAPE.sub(lambda m: "%" if m.group(1) == "25" else chr(0xDC00 + int(m.group(1), 16)), text)
    return os.fsdecode(raw.encode("utf-8", "surrogateescape"))


def _folder_hash(folder: str) -> int:
    """63 bits of a folder's hash (non-negative: milvus-lite parses no negative literals)."""
    return int.from_bytes(hashlib.blake2b(os.fsencode(folder), digest_size=8).digest(), "little") >> 1


def _ancestors(path: str) -> list[int]:
    out, folder = [], os.path.dirname(path)
    while True:
        out.append(_folder_hash(folder))
        parent = os.path.dirname(folder)
        if parent == folder:
            return out[:MAX_DEPTH]
        folder = parent


def _date_number(iso: str, *, end: bool = False) -> int:
    """``2021-06-01T12:00:00`` -> 20210601120000; missing parts are the start (or end) of the day."""
    digits = re.sub(r"\D", "", iso)[:14]
    fill = "1231235959" if end else "0101000000"
    return int(digits + fill[len(digits) - 4:]) if len(digits) >= 4 else 0


def _sort_date(record: ImageRecord) -> int:
    if record.date_taken:
        return _date_number(record.date_taken)
    return _date_number(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.mtime_ns / 1e9)))


def _row(record: ImageRecord, vector: np.ndarray) -> dict[str, Any]:
    return {
        "id": _key(record.path), "vector": vector.tolist(), "path": _escape(record.path),
        "folder": _escape(record.folder), "ancestors": _ancestors(record.path),
        "sort_date": _sort_date(record), "date_taken": record.date_taken or "", "size": record.size,
        "mtime_ns": record.mtime_ns, "fingerprint": record.fingerprint, "width": record.width,
        "height": record.height,
    }


def _record(row: dict) -> ImageRecord:
    return ImageRecord(_unescape(row["path"]), int(row["size"]), int(row["mtime_ns"]), row["fingerprint"],
                       int(row["width"]), int(row["height"]), row["date_taken"] or None)


def _literal(text: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(text, ensure_ascii=False)


def _filter_expression(where: SearchFilter | None) -> tuple[str, str | None]:
    """The Milvus filter for a SearchFilter, and the folder prefix results must start with."""
    if where is None or where.is_empty():
        return "", None
    clauses, inside = [], None
    if where.folder:
        folder = os.path.abspath(where.folder)
        clauses.append(f"array_contains(ancestors, {_folder_hash(folder)})")
        inside = os.path.join(folder, "")
    if where.date_from:
        clauses.append(f"sort_date >= {_date_number(where.date_from)}")
    if where.date_to:
        clauses.append(f"sort_date <= {_date_number(where.date_to, end=True)}")
    return " and ".join(clauses), inside
