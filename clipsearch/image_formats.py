"""Which files are pictures, and the codecs beyond Pillow's own that read them; and which are videos, by
name alone (no PyAV here: ``video_frames`` reads them).

HEIC/HEIF (phones) through pillow_heif where it is installed; AVIF through Pillow's own codec
(its wheels carry libavif from 11.3 on); camera RAW files through LibRaw (``camera_raw``).
"""

from __future__ import annotations

import os

from PIL import features

from . import camera_raw

try:  # HEIC/HEIF from phones, on every platform
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - optional dependency
    HEIF_SUPPORTED = False
# AVIF (Android phones, the web): Pillow's own from 11.3 on (its wheels carry libavif)
AVIF_SUPPORTED = "avif" in features.modules and bool(features.check_module("avif"))
NO_AVIF = "AVIF needs Pillow 11.3 or later, with AVIF (pip install -U pillow)"

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff",
                              ".heic", ".heif", ".avif"}) | camera_raw.RAW_EXTENSIONS
VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".3gp", ".mts", ".m2ts", ".mpg",
                              ".mpeg", ".wmv"})


def is_video_name(name: str) -> bool:
    """True when a file name has one of the supported video extensions (any case)."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
