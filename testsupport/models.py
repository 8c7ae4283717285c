"""Real open_clip encoders loaded anew for one test, their CPU towers packed or left plain."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from clipsearch.config import ModelSpec
from clipsearch.encoders import openclip


@contextmanager
def fresh_encoder(spec: ModelSpec, monkeypatch: pytest.MonkeyPatch, *, packed: bool = True,
                  ) -> Iterator[openclip.OpenClipEncoder]:
    """An encoder whose model loads anew inside the block, beside the process's shared ones (the
    same random weights every time: the seed is fixed), its towers packed as the product packs
    them, or left plain (``clipsearch.encoders.packed``). Its loaded state (``_state()``) stays
    usable after the block; its methods load the model again there."""
    with monkeypatch.context() as patch:
        patch.setattr(openclip, "_LOADED", {})
        if not packed:
            patch.setattr(openclip, "packed_text", lambda *args, **kwargs: None)
            patch.setattr(openclip, "pack_tower", lambda *args, **kwargs: False)
        torch.manual_seed(0)
        yield openclip.OpenClipEncoder(spec)
