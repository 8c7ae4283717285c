"""Which package an open_clip model's config needs beyond open_clip, asked before any download."""

from __future__ import annotations

import importlib.util

from clipsearch.encoders import packages
from clipsearch.encoders.packages import missing_package

HF_TEXT = {"embed_dim": 512, "vision_cfg": {"width": 768}, "text_cfg": {"hf_model_name": "xlm-roberta-base"}}
TIMM_VISION = {"embed_dim": 512, "vision_cfg": {"timm_model_name": "convnext_base"}, "text_cfg": {"width": 512}}
PLAIN = {"embed_dim": 512, "vision_cfg": {"width": 768}, "text_cfg": {"width": 512}}


def test_a_config_names_the_package_its_tower_needs_when_it_is_not_installed(monkeypatch):
    installed: set[str] = set()
    monkeypatch.setattr(packages.importlib.util, "find_spec",
                        lambda name: object() if name in installed else None)
    assert missing_package(HF_TEXT) == "transformers"
    assert missing_package(TIMM_VISION) == "timm"
    assert missing_package(PLAIN) is None
    assert missing_package(None) is None  # an hf-hub: model's config is not open_clip's to read
    installed.update({"transformers", "timm"})
    assert missing_package(HF_TEXT) is None
    assert missing_package(TIMM_VISION) is None


def test_the_real_finder_is_asked():
    assert missing_package(HF_TEXT) == (None if importlib.util.find_spec("transformers") else "transformers")
