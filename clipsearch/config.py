"""Settings: the only place that reads environment variables.

Every front end (indexer, web app, scripts) builds one ``Settings`` and hands it to the library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
DEMO_MODEL = "demo"
INDEX_ENV = "CLIPSEARCH_INDEX"
CACHE_ENV = "CLIPSEARCH_CACHE"
HUB_OFFLINE_ENV = "HF_HUB_OFFLINE"


def default_index_dir(read_env: bool = True) -> Path:
    """The per-user index folder: ``$CLIPSEARCH_INDEX``, else (or with ``read_env`` False, for a
    help text that names the variable first) the platform's user data folder."""
    if read_env and (folder := _env_folder(INDEX_ENV)):
        return folder
    import platformdirs

    return Path(platformdirs.user_data_dir("clipsearch", appauthor=False)) / "index"


def default_cache_dir() -> Path:
    """Where thumbnails and other caches go: ``$CLIPSEARCH_CACHE``, else the user cache folder."""
    if folder := _env_folder(CACHE_ENV):
        return folder
    import platformdirs

    return Path(platformdirs.user_cache_dir("clipsearch", appauthor=False))


def _env_folder(variable: str) -> Path | None:
    """The folder an environment variable names, or None where it is unset or blank: a blank one
    (``CLIPSEARCH_INDEX=" "``, a script's slip) is no folder name, as ``--index " "`` is none."""
    value = os.environ.get(variable, "")
    return Path(value).expanduser() if value.strip() else None


def hub_offline() -> bool:
    """Whether the Hugging Face hub is told to stay offline (``$HF_HUB_OFFLINE``, as the hub reads it).

    huggingface_hub obeys the variable itself; the library only reads it to explain a failed load.
    """
    return os.environ.get(HUB_OFFLINE_ENV, "").strip().upper() in ("1", "ON", "YES", "TRUE")


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: an open_clip name + pretrained tag, ``hf-hub:...``, a checkpoint, or demo."""

    name: str = DEFAULT_MODEL
    pretrained: str | None = DEFAULT_PRETRAINED
    weights: Path | None = None  # a local checkpoint file; overrides ``pretrained``
    device: str | None = None  # None: cuda, then mps, then cpu
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    threads: int | None = None  # torch threads on CPU; None: all cores

    @classmethod
    def from_stamp(cls, stamp: dict, **overrides) -> ModelSpec:
        """The spec that rebuilds the model recorded in an index's stamp."""
        weights = stamp.get("weights")
        spec = cls(
            name=stamp["model"],
            pretrained=stamp.get("pretrained"),
            weights=Path(weights) if weights else None,
        )
        return replace(spec, **overrides)


@dataclass(frozen=True)
class Settings:
    """Everything a front end can choose; defaults are what a user gets with no flags."""

    index_dir: Path = field(default_factory=default_index_dir)
    cache_dir: Path = field(default_factory=default_cache_dir)
    model: ModelSpec = field(default_factory=ModelSpec)
    batch_size: int | None = None  # None: sized for the device
    workers: int | None = None  # decode threads; None: sized for the machine
    file_timeout: float = 60.0  # seconds one file may take to decode before it is skipped
    max_pixels: int = 300_000_000  # decompression-bomb limit (250 MP phone photos pass)
    max_query_bytes: int | None = None  # a query picture's size limit; None: an indexed file's (1 GiB)
    store: str = "hnsw"  # a new index's store: hnsw (local folder) | milvus; an existing one keeps its own
    store_uri: str | None = None  # Milvus: http://HOST:19530[#COLLECTION] or FILE.db (milvus-lite)

    def __post_init__(self) -> None:
        # "~/photos-index" is the home folder's, as a command line reads it (it made a folder named "~" here)
        for name in ("index_dir", "cache_dir"):
            if isinstance(folder := getattr(self, name), (str, Path)):
                object.__setattr__(self, name, type(folder)(os.path.expanduser(folder)))
