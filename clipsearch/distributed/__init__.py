"""Beyond one machine: embedding on a Ray cluster (``ray_pipeline``).

Nothing here is imported by the rest of the library; ``ray`` loads only when a Ray run starts.
Use it as the embedder of the one indexing path::

    engine.index_folder(folders, embedder=ray_embedder(engine, address="auto"))
"""

from __future__ import annotations

__all__ = ["index_folder_ray", "ray_embedder"]


def ray_embedder(engine, **options):
    """A ``RayEmbedder`` for ``engine``'s model and settings (see ``ray_pipeline.ray_embedder``)."""
    from .ray_pipeline import ray_embedder as make

    return make(engine, **options)


def index_folder_ray(*args, **kwargs):
    """``SearchEngine.index_folder`` with the embedding done by Ray Data (see ``ray_pipeline``)."""
    from .ray_pipeline import index_folder_ray as run

    return run(*args, **kwargs)
