"""Encoders: the protocol, and a registry from a model spec to an encoder."""

from __future__ import annotations

from ..config import ModelSpec
from .base import Encoder, normalize


def load_encoder(spec: ModelSpec) -> Encoder:
    """The encoder for a model spec. Only open_clip exists today; it imports torch lazily."""
    from .openclip import OpenClipEncoder

    return OpenClipEncoder(spec)


__all__ = ["Encoder", "load_encoder", "normalize"]
