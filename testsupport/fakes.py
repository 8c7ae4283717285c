"""A fake encoder for unit tests of the code around the model: milliseconds, no torch.

Its image vector is a fixed random projection of the picture's 8x8 colour thumbnail; its text
vector is built from the words (so "red" and a red picture are not related: only use it where
meaning does not matter).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from PIL import Image

from clipsearch.encoders.base import normalize


class FakeEncoder:
    """Implements the Encoder protocol deterministically and fast."""

    def __init__(self, dim: int = 32, name: str = "fake", batch_size: int = 8) -> None:
        self._dim = dim
        self._projection = np.random.default_rng(0).standard_normal((8 * 8 * 3, dim)).astype(np.float32)
        self.name = name
        self._batch_size = batch_size
        self.images_embedded = 0
        self.largest_batch = 0

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def input_size(self) -> int:
        return 32

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def stamp(self) -> dict[str, Any]:
        return {"model": self.name, "pretrained": None, "dim": self._dim, "image_size": 32,
                "preprocess": {"size": [8, 8]}}

    def prepare(self, image: Image.Image) -> np.ndarray:
        small = image.convert("RGB").resize((8, 8), Image.BILINEAR)
        return (np.asarray(small, np.float32) / 255.0 - 0.5).reshape(-1)

    def embed_prepared(self, batch: list[np.ndarray]) -> np.ndarray:
        self.images_embedded += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        if not batch:
            return np.zeros((0, self._dim), np.float32)
        return normalize(np.stack(batch) @ self._projection)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        return self.embed_prepared([self.prepare(i) for i in images])

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out.append(np.random.default_rng(seed).standard_normal(self._dim))
        return normalize(np.array(out, np.float32))
