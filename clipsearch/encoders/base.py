"""The Encoder protocol: what the engine needs from a model.

An encoder turns pictures and texts into float32, unit-length vectors of one dimension. Work is
split in two so the indexer can overlap it: ``prepare`` (decode-side, thread-safe, CPU only)
turns a PIL image into the model's input, and ``embed_prepared`` runs the model on a batch.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class Encoder(Protocol):
    """A model that embeds images and texts into one space."""

    @property
    def dim(self) -> int:
        """Length of every vector."""

    @property
    def input_size(self) -> int:
        """Side in pixels the model looks at; images are decoded at no less than this."""

    @property
    def stamp(self) -> dict[str, Any]:
        """What identifies this model and its preprocessing, recorded in every index."""

    @property
    def batch_size(self) -> int:
        """A good batch size for this device."""

    def prepare(self, image: Image.Image) -> Any:
        """Preprocess one RGB image into the model's input (thread-safe)."""

    def embed_prepared(self, batch: list[Any]) -> np.ndarray:
        """Embed prepared inputs: float32, shape (n, dim), unit length."""

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """Embed RGB images: float32, shape (n, dim), unit length."""

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Embed texts: float32, shape (n, dim), unit length."""


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
