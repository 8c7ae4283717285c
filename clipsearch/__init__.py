"""clipsearch: search your own photos by meaning.

The public API::

    from clipsearch import SearchEngine, Settings, ModelSpec

    engine = SearchEngine.for_writing(Settings(index_dir="~/photos-index", model=ModelSpec("demo")))
    report = engine.index_folder("~/Pictures")
    for hit in engine.search_text("a dog on a beach", k=10):
        print(hit.score, hit.path)
"""

from .config import DEFAULT_MODEL, DEFAULT_PRETRAINED, ModelSpec, Settings
from .engine import SearchEngine, SearchResult
from .errors import (
    ClipSearchError,
    DeviceUnavailable,
    IndexLocked,
    IndexNotFound,
    IndexUnusable,
    InvalidQuery,
    ModelMismatch,
    ModelUnavailable,
    StoreMismatch,
    StoreWriteError,
    UnreadableImage,
)
from .pipeline import IndexProgress, IndexReport
from .query import QueryTerm, parse_query
from .region import Region, parse_region
from .stores import ImageRecord, SearchFilter, iso_day, sort_date
from .textpass import TextProgress, TextReport
from .videopass import VideoProgress, VideoReport
from .videos import MomentResult, clock

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL", "DEFAULT_PRETRAINED", "ClipSearchError", "DeviceUnavailable", "ImageRecord",
    "IndexLocked", "IndexNotFound", "IndexProgress", "IndexUnusable", "IndexReport", "InvalidQuery", "ModelMismatch",
    "ModelSpec", "ModelUnavailable", "QueryTerm", "Region", "SearchEngine", "SearchFilter",
    "MomentResult", "SearchResult", "Settings", "StoreMismatch", "StoreWriteError", "TextProgress", "TextReport",
    "UnreadableImage", "VideoProgress", "VideoReport", "clock", "iso_day", "parse_query", "parse_region", "sort_date",
]
