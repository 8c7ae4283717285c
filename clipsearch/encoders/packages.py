"""The Python packages an open_clip model's towers need beyond open_clip's own, asked before its
weights download: open_clip downloads a pretrained checkpoint (a gigabyte for a multilingual
model) and only then builds the towers, which is where it finds a package missing."""

from __future__ import annotations

import importlib.util
from typing import Any

# (the config's tower, the key that names a model of another library, the package that reads it)
_NEEDS = (("text_cfg", "hf_model_name", "transformers"), ("vision_cfg", "timm_model_name", "timm"))


def missing_package(config: dict[str, Any] | None) -> str | None:
    """The first package a model of this open_clip ``config`` needs that is not installed, or None
    (a config open_clip does not know, an ``hf-hub:`` model's, is ``None``: nothing to ask)."""
    for tower, key, package in _NEEDS:
        if ((config or {}).get(tower) or {}).get(key) and importlib.util.find_spec(package) is None:
            return package
    return None


def needs_timm(config: dict[str, Any] | None) -> bool:
    """Whether a model of this open_clip ``config`` may have an image tower of timm's: one named in
    it, or a config open_clip does not know before it loads the model (an ``hf-hub:`` or
    ``local-dir:`` model's, ``None``)."""
    return config is None or bool((config.get("vision_cfg") or {}).get("timm_model_name"))
