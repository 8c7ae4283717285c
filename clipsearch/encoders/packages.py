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
