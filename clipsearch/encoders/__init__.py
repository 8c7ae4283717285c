"""Encoders: the protocol, and a registry from a model spec to an encoder."""

from __future__ import annotations

import threading
from typing import Any

from ..config import ModelSpec
from .base import Encoder, normalize


class LazyEncoder:
    """An encoder that imports its framework and loads its model only when first used.

    Importing torch alone takes seconds; a re-index that finds nothing new never pays it.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
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
                    from .openclip import OpenClipEncoder

                    self._real = OpenClipEncoder(self.spec).load()
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("spec", "_real", "_lock"):
            raise AttributeError(name)
        return getattr(self.load(), name)


def load_encoder(spec: ModelSpec) -> Encoder:
    """The encoder for a model spec. Only open_clip exists today; it loads lazily."""
    return LazyEncoder(spec)


__all__ = ["Encoder", "LazyEncoder", "load_encoder", "normalize"]
