"""Beyond one machine: embedding on a Ray cluster (``ray_pipeline``), a local Milvus for tests.

Nothing here is imported by the rest of the library; ``ray`` loads only when a Ray run starts.
"""

from __future__ import annotations

__all__ = ["index_folder_ray"]


def index_folder_ray(*args, **kwargs):
    """``SearchEngine.index_folder`` with the embedding done by Ray Data (see ``ray_pipeline``)."""
    from .ray_pipeline import index_folder_ray as run

    return run(*args, **kwargs)
