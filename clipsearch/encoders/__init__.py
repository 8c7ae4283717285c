"""Encoders: the protocol, and a registry (data) from a model spec to an encoder.

Adding an encoder is one file that implements ``Encoder`` (``base.py``), one entry in
``ENCODERS`` and the shared contract tests (``tests/contract/test_encoder_contract.py``)
passing. Every model today, the demo model included, is an open_clip model (the default
entry).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..config import ModelSpec
from .base import Encoder, normalize

# kind -> "module:Class"; the class takes a ModelSpec and has ``load()`` returning the loaded encoder.
ENCODERS: dict[str, str] = {
    "open_clip": "clipsearch.encoders.openclip:OpenClipEncoder",
}
DEFAULT_ENCODER = "open_clip"


def encoder_class(kind: str = DEFAULT_ENCODER) -> type:
    """The class registered for ``kind`` (imported now: this is when torch loads)."""
    try:
        module, _, name = ENCODERS[kind].partition(":")
    except KeyError:
        raise ValueError(f"unknown encoder {kind!r}; known: {', '.join(sorted(ENCODERS))}") from None
    return getattr(importlib.import_module(module), name)


class LazyEncoder:
    """An encoder that imports its framework and loads its model only when first used.

    Importing torch alone takes seconds; a re-index that finds nothing new never pays it.
    """

    def __init__(self, spec: ModelSpec, kind: str = DEFAULT_ENCODER) -> None:
        if kind not in ENCODERS:
            raise ValueError(f"unknown encoder {kind!r}; known: {', '.join(sorted(ENCODERS))}")
        self.spec = spec
        self.kind = kind
        self._real: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._real is not None

    def load(self) -> Encoder:
        """Load now and return the real encoder."""
        if self._real is None:
            with self._lock:
                if self._real is None:
                    self._real = encoder_class(self.kind)(self.spec).load()
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("spec", "kind", "_real", "_lock"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def load_encoder(spec: ModelSpec, kind: str = DEFAULT_ENCODER) -> Encoder:
    """The encoder for a model spec, from the registry; it loads lazily, on first use."""
    return LazyEncoder(spec, kind)


__all__ = ["DEFAULT_ENCODER", "ENCODERS", "Encoder", "LazyEncoder", "encoder_class", "load_encoder", "normalize"]
