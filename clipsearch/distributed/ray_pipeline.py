"""Distributed embedding with Ray Data: ``python -m indexer FOLDER --embedder ray [--ray-address ADDR]``.

The local ``IndexingPipeline`` still scans, diffs, detects moves and duplicates and commits in batches;
only the new or changed files go to Ray, through the pipeline's ``FileEmbedder`` parameter (``engine.index_folder(..., embedder=...)``):

    paths ──> decode tasks ──────────────────> embed actors ──────────> driver
              read, hash, decode (draft),      one model per GPU        classify, commit
              encoder.prepare (CPU tasks)      (or per CPU slot)        to the store in batches

Decode tasks run ``decoding.inspect_file``, the same code as the local decode threads, so a bad
file is a skipped file, never a failed job, and files whose content the store already has are
hashed but not decoded. Actors get fractional CPUs so that they never take every CPU slot and
starve the decode tasks. The same code runs on a laptop (``ray.init()``) and on a cluster
(``ray.init(address=...)``); on a cluster the photo folders must be visible at the same paths on
every node (a shared file system), and clipsearch installed on every node.

Prepared model inputs and items travel between processes pickled, as Ray itself ships Python
objects; nothing pickled is ever stored.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import ModelSpec
from ..decoding import inspect_file
from ..errors import UnreadableImage
from ..images import FileStat
from ..reports import IndexProgress, IndexReport

if TYPE_CHECKING:
    from ..engine import SearchEngine

log = logging.getLogger(__name__)

DECODE_BATCH = 8  # files per decode-task call
ACTOR_CPUS = 0.5  # logical CPUs an embedding actor reserves on a CPU-only cluster
_CACHE: dict[Any, Any] = {}  # per worker process: encoders and the reusable-fingerprint set


class RayEmbedder:
    """A ``FileEmbedder`` that decodes in Ray tasks and embeds in a pool of Ray actors.

    ``address`` is handed to ``ray.init`` (None: a local Ray, or the one already initialized);
    ``actors`` overrides the pool size (default: one per GPU, else one per 4 CPUs);
    ``init_kwargs`` go to ``ray.init`` as they are (``_temp_dir``, ``num_cpus``, ...).
    """

    def __init__(self, spec: ModelSpec, *, address: str | None = None, batch_size: int | None = None,
                 actors: int | None = None, max_pixels: int | None = None,
                 init_kwargs: dict[str, Any] | None = None) -> None:
        self.spec = spec
        self.address = address
        self.batch_size = batch_size
        self.actors = actors
        self.max_pixels = max_pixels
        self.init_kwargs = dict(init_kwargs or {})

    def embed_files(self, files: list[FileStat], reusable: set[str]) -> Iterator[Any]:
        """Items (``decoding.inspect_file`` results) with ``vector`` set, in completion order."""
        import ray

        owned = not ray.is_initialized()
        if owned:
            defaults = {} if self.address else {"include_dashboard": False}
            ray.init(address=self.address, **{**defaults, **self.init_kwargs})
        try:
            yield from self._run(ray, files, reusable)
        finally:
            if owned:
                ray.shutdown()

    def _run(self, ray, files: list[FileStat], reusable: set[str]) -> Iterator[Any]:
        from ray.data import ActorPoolStrategy, DataContext

        DataContext.get_current().enable_progress_bars = False  # the indexer reports progress
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), float(resources.get("CPU", 1))
        actors = self.actors or (gpus if gpus else max(1, int(cpus // 4)))
        actor_spec = self.spec if gpus else replace(self.spec, device="cpu", threads=self.spec.threads or 1)
        batch = self.batch_size or (64 if gpus else 32)
        log.info("ray: %d files, %d embedding actors (%s), batch %d", len(files), actors,
                 f"{gpus} GPUs" if gpus else f"{cpus:g} CPUs", batch)
        rows = [{"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns, "ino": f.ino, "ctime_ns": f.ctime_ns}
                for f in files]
        dataset = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // DECODE_BATCH, 1000)))
        dataset = dataset.map_batches(
            decode_batch, batch_size=DECODE_BATCH, batch_format="pandas", num_cpus=1,
            fn_kwargs={"spec": self.spec, "reusable": [ray.put(frozenset(reusable))],
                       "max_pixels": self.max_pixels},
        )
        dataset = dataset.map_batches(
            EmbedActor, fn_constructor_kwargs={"spec": actor_spec}, batch_size=batch, batch_format="pandas",
            compute=ActorPoolStrategy(size=actors), num_gpus=1 if gpus else 0,
            num_cpus=1 if gpus else ACTOR_CPUS,
        )
        for frame in dataset.iter_batches(batch_size=None, batch_format="pandas"):
            for blob, reason, detail in zip(frame["item"], frame["reason"], frame["detail"]):
                item = pickle.loads(blob)
                if reason:
                    item.error = UnreadableImage(item.stat.path, reason, detail)
                yield item


def decode_batch(frame, *, spec: ModelSpec, reusable: list, max_pixels: int | None):
    """Ray task: read, hash and decode a few files into pickled items (the model input inside)."""
    import pandas as pd
    import ray

    encoder = _cached(("prepare", spec), lambda: _load(replace(spec, device="cpu", precision="fp32", threads=1)))
    known = _cached(("reusable", reusable[0].hex()), lambda: ray.get(reusable[0]))
    out = {"item": [], "embed": [], "reason": [], "detail": []}
    for path, size, mtime_ns, ino, ctime_ns in zip(frame["path"], frame["size"], frame["mtime_ns"], frame["ino"],
                                                   frame["ctime_ns"]):
        stat = FileStat(str(path), int(size), int(mtime_ns), int(ino), int(ctime_ns))
        item = inspect_file(stat, known, encoder, max_pixels)
        error, item.error = item.error, None  # the exception's own pickling loses its fields
        out["reason"].append(error.reason if error else "")
        out["detail"].append(error.detail if error else "")
        out["embed"].append(item.prepared is not None)
        out["item"].append(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
    return pd.DataFrame(out)


class EmbedActor:
    """Ray actor: holds one model and embeds the decoded items of each batch."""

    def __init__(self, spec: ModelSpec) -> None:
        self.encoder = _load(spec)

    def __call__(self, frame):
        todo = [i for i, flag in enumerate(frame["embed"]) if flag]
        if not todo:
            return frame
        items = [pickle.loads(frame["item"].iloc[i]) for i in todo]
        vectors = self.encoder.embed_prepared([item.prepared for item in items])
        blobs = list(frame["item"])
        for i, item, vector in zip(todo, items, vectors):
            item.prepared, item.vector = None, np.asarray(vector, np.float32)
            blobs[i] = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        frame = frame.copy()
        frame["item"] = blobs
        frame["embed"] = False
        return frame


def ray_embedder(engine: SearchEngine, *, address: str | None = None, batch_size: int | None = None,
                 actors: int | None = None, init_kwargs: dict[str, Any] | None = None) -> RayEmbedder:
    """A ``RayEmbedder`` that runs ``engine``'s model with its settings (batch size, pixel limit)."""
    spec = getattr(engine.encoder, "spec", None) or engine.settings.model
    return RayEmbedder(spec, address=address, batch_size=batch_size or engine.settings.batch_size,
                       actors=actors, max_pixels=engine.settings.max_pixels, init_kwargs=init_kwargs)


def index_folder_ray(
    engine: SearchEngine,
    folders: str | Path | Iterable[str | Path],
    *,
    address: str | None = None,
    dry_run: bool = False,
    progress: Callable[[IndexProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int | None = None,
    actors: int | None = None,
    init_kwargs: dict[str, Any] | None = None,
) -> IndexReport:
    """``engine.index_folder`` with a ``RayEmbedder``: the one indexing path, embedding on Ray."""
    embedder = ray_embedder(engine, address=address, batch_size=batch_size, actors=actors,
                            init_kwargs=init_kwargs)
    return engine.index_folder(folders, dry_run=dry_run, progress=progress, should_stop=should_stop,
                               batch_size=batch_size, embedder=embedder)


def _cached(key: Any, make: Callable[[], Any]) -> Any:
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def _load(spec: ModelSpec):
    from ..encoders import load_encoder

    return load_encoder(spec).load()
