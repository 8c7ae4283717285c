"""A store in Milvus: a server (or a cluster) holds the records, the vectors and the HNSW graph.

Chosen with ``--store milvus --milvus-uri URI``. ``URI`` is ``http://HOST:19530`` for a server,
or a local file ``PATH.db`` for milvus-lite (in-process, one process at a time; for tests and
trying things). A ``#NAME`` suffix names the collection (default ``clipsearch``). The local index
folder keeps only ``store.json`` (where the data lives), the writer's lock and a manifest.

Layout of the rows: see ``milvus_rows``.

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
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException

from ..errors import ClipSearchError, IndexNotFound, ModelMismatch, StoreWriteError
from . import milvus_rows as rows_of
from .atomic import atomic_write_text
from .base import SCHEMA_VERSION, ImageRecord, SearchFilter, WriteBatch, check_stamp
from .layout import DB_NAME, MANIFEST_NAME, POINTER_NAME, make_folder

M = 16
EF_CONSTRUCTION = 200
EF_IMAGE = 128
EF_TEXT = 512
MAX_TOPK = 16_384
WRITE_CHUNK = 1_000  # rows per insert/upsert call (keeps gRPC messages small)
READ_CHUNK = 500
SCAN_ROWS = 5_000  # rows per range query when reading everything
READ_YOUR_WRITES_SECONDS = 10.0  # > Milvus's default Bounded staleness (5 s)


class StoreUnavailable(ClipSearchError):
    """The Milvus server cannot be reached or refused a request."""


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
        base, name = rows_of.split_uri(uri, folder)
        if create and "://" not in base:  # a Milvus Lite file (--milvus-uri), wherever it was named
            make_folder(Path(base).parent, f"the folder of the Milvus file {base}", StoreWriteError)
        client = _connect(base, create)
        try:
            have = _read_meta(client, f"{name}_meta", "stamp", strong=True)
            if have is None:
                if not create:
                    raise IndexNotFound(f"no index in Milvus at {base} (collection {name})", location=folder,
                                        uri=f"{base}#{name}")
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
        base, name = rows_of.split_uri(uri, folder)
        client = _connect(base, False)
        try:
            stamp = _read_meta(client, f"{name}_meta", "stamp", strong=True)
        finally:
            client.close()
        if stamp is None:
            raise IndexNotFound(f"no index in Milvus at {base} (collection {name})", location=folder,
                                uri=f"{base}#{name}")
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
        meta = self._meta_values("generation", "last_indexed", "last_checked", "folders", "left_out", level=level)
        return {
            "count": self.count(level),
            "generation": int(meta.get("generation") or 0),
            "stamp": self.stamp,
            "last_indexed": float(meta["last_indexed"]) if meta.get("last_indexed") else None,
            "last_checked": float(meta["last_checked"]) if meta.get("last_checked") else None,
            "folders": json.loads(meta.get("folders") or "[]"), "left_out": json.loads(meta.get("left_out") or "[]"),
            "location": f"{self.uri}#{self.collection}",
        }

    def get(self, path: str) -> ImageRecord | None:
        rows = self._get([path], rows_of.FIELDS)
        return rows_of.to_record(rows[0]) if rows else None

    def records(self, folder: str | None = None) -> Iterator[ImageRecord]:
        expr, inside = rows_of.filter_expression(SearchFilter(folder=folder) if folder else None)
        out = [r for r in map(rows_of.to_record, self._scan(expr, rows_of.FIELDS)) if r.path.startswith(inside or "")]
        return iter(sorted(out, key=lambda r: os.fsencode(r.path)))

    def file_states(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, fingerprint) for every record: what a re-scan compares with."""
        return {rows_of.unescape_path(r["path"]): (int(r["size"]), int(r["mtime_ns"]), r["fingerprint"])
                for r in self._scan("", ["path", "size", "mtime_ns", "fingerprint"])}

    def vector(self, path: str) -> np.ndarray | None:
        rows = self._get([path], ["vector"])
        return np.asarray(rows[0]["vector"], np.float32) if rows else None

    def vectors_by_fingerprint(self, fingerprints: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        unique = sorted(set(fingerprints))
        for start in range(0, len(unique), READ_CHUNK):
            chunk = unique[start:start + READ_CHUNK]
            expr = "fingerprint in [" + ",".join(rows_of.literal(fp) for fp in chunk) + "]"
            for row in self._call(self._client.query, self.collection, filter=expr,
                                  output_fields=["fingerprint", "vector"], consistency_level="Strong"):
                out[row["fingerprint"]] = np.asarray(row["vector"], np.float32)
        return out

    def search(self, vector: np.ndarray, k: int, *, where: SearchFilter | None = None,
               text_like: bool = False) -> list[tuple[ImageRecord, float]]:
        if k <= 0:
            return []
        k = min(k, MAX_TOPK)
        expr, inside = rows_of.filter_expression(where)
        ef = min(max(self.ef_text if text_like else self.ef_image, k), 32_768)
        result = self._call(
            self._client.search, self.collection,
            data=[np.asarray(vector, np.float32).reshape(self._dim).tolist()], limit=k, filter=expr,
            output_fields=rows_of.FIELDS, search_params={"metric_type": "IP", "params": {"ef": ef}},
            consistency_level=self._search_level(),
        )
        hits = [(rows_of.to_record(hit["entity"]), float(hit["distance"])) for hit in result[0]]
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
            moved_from = [old for old, _ in batch.rename]
            old_vectors = self._vectors_of(moved_from + [r.path for r in batch.update])
            values, dead = rows_of.batch_rows(batch, self._dim, old_vectors)
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

    def set_folders(self, folders: Iterable[str], left_out: Iterable[str] = ()) -> None:
        """Record which folders this index covers (shown in the app, used by re-index), those left out, and when."""
        self._require_writable()
        self._set_meta(folders=json.dumps(sorted(set(folders))), left_out=json.dumps(sorted(set(left_out))),
                       last_checked=str(time.time()))

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
            if row["id"] != rows_of.row_key(rows_of.unescape_path(row["path"])):
                problems.append(f"row {row['id']} is keyed under another path than {row['path']!r}")
        if len(rows) != self.count():
            problems.append(f"{len(rows)} rows scanned but count(*) says {self.count()}")
        return problems

    # --- helpers ---------------------------------------------------------------------------
    def _get(self, paths: list[str], fields: list[str]) -> list[dict]:
        out = []
        for start in range(0, len(paths), READ_CHUNK):
            keys = [rows_of.row_key(p) for p in paths[start:start + READ_CHUNK]]
            out += self._call(self._client.get, self.collection, ids=keys, output_fields=fields,
                              consistency_level="Strong")
        return out

    def _vectors_of(self, paths: list[str]) -> dict[str, np.ndarray]:
        rows = self._get(sorted(set(paths)), ["path", "vector"])
        return {rows_of.unescape_path(r["path"]): np.asarray(r["vector"], np.float32) for r in rows}

    def _scan(self, expr: str, fields: list[str]) -> Iterator[dict]:
        """Every row matching ``expr``, read in key ranges of at most ~``SCAN_ROWS`` rows each."""
        for rng in rows_of.key_ranges(self.count(), SCAN_ROWS):
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
        self._call(self._client.upsert, self._meta, rows_of.meta_rows(values))
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
        raise IndexNotFound(f"no Milvus index at {uri}", uri=uri)
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
        for field, kind, options in rows_of.image_fields(dim):
            if "element_type" in options:
                options = {**options, "element_type": getattr(DataType, options["element_type"])}
            schema.add_field(field, getattr(DataType, kind), **options)
        index = client.prepare_index_params()
        index.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                        params={"M": M, "efConstruction": EF_CONSTRUCTION})
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Bounded")
    client.upsert(meta, rows_of.meta_rows({"generation": "0", "folders": "[]", "stamp": json.dumps(stamp)}))


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
