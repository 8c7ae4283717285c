"""The Encoder contract: every encoder (the registry's, and the fake of the unit tests) must pass these.

What the engine, the pipeline and the stores rely on: float32 unit vectors of ``dim``, a stamp that
names the model and its dimension, a batch that agrees with its items one by one, and
``prepare`` + ``embed_prepared`` equal to ``embed_images``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from clipsearch.config import ModelSpec
from clipsearch.encoders import ENCODERS, Encoder, load_encoder
from testsupport.fakes import FakeEncoder
from testsupport.imagefactory import photo

TEXTS = ["a red circle", "a blue star on a white background", "two green squares"]


@pytest.fixture(scope="module", params=["demo", "fake"])
def encoder(request) -> Encoder:
    if request.param == "fake":
        return FakeEncoder()
    # The registry's encoder with the bundled demo model, in fp32 so that batch and single agree.
    return load_encoder(ModelSpec(name="demo", pretrained=None, device="cpu", precision="fp32")).load()


def pictures(n: int = 3) -> list[Image.Image]:
    return [photo(160 + 16 * i, 120 + 8 * i, seed=i).convert("RGB") for i in range(n)]


def assert_unit_float32(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.dtype == np.float32 and vectors.shape == (n, dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_it_is_an_encoder_with_sizes(encoder):
    assert isinstance(encoder, Encoder)
    assert isinstance(encoder.dim, int) and encoder.dim > 0
    assert isinstance(encoder.input_size, int) and encoder.input_size > 0
    assert isinstance(encoder.batch_size, int) and encoder.batch_size > 0


def test_stamp_names_the_model_and_its_dimension(encoder):
    stamp = encoder.stamp
    assert stamp["model"] and stamp["dim"] == encoder.dim
    assert json.loads(json.dumps(stamp)) == stamp  # stored in every index as JSON
    assert encoder.stamp == stamp  # stable


def test_images_and_texts_are_float32_unit_vectors(encoder):
    assert_unit_float32(encoder.embed_images(pictures()), 3, encoder.dim)
    assert_unit_float32(encoder.embed_texts(TEXTS), len(TEXTS), encoder.dim)


def test_a_batch_agrees_with_its_items_one_by_one(encoder):
    images = pictures()
    batch = encoder.embed_images(images)
    single = np.concatenate([encoder.embed_images([image]) for image in images])
    np.testing.assert_allclose(batch, single, atol=1e-4)
    texts = encoder.embed_texts(TEXTS)
    np.testing.assert_allclose(texts, np.concatenate([encoder.embed_texts([t]) for t in TEXTS]), atol=1e-4)


def test_prepare_then_embed_prepared_equals_embed_images(encoder):
    images = pictures()
    prepared = encoder.embed_prepared([encoder.prepare(image) for image in images])
    np.testing.assert_allclose(prepared, encoder.embed_images(images), atol=1e-5)


def test_the_same_input_gives_the_same_vector(encoder):
    image = pictures(1)
    np.testing.assert_array_equal(encoder.embed_images(image), encoder.embed_images(image))
    np.testing.assert_array_equal(encoder.embed_texts(TEXTS[:1]), encoder.embed_texts(TEXTS[:1]))


def test_different_inputs_give_different_vectors(encoder):
    vectors = encoder.embed_texts(TEXTS)
    assert float(vectors[0] @ vectors[1]) < 0.9999


def test_the_registry_is_data_and_refuses_unknown_kinds():
    assert "open_clip" in ENCODERS
    with pytest.raises(ValueError, match="unknown encoder"):
        load_encoder(ModelSpec(name="demo"), kind="no-such-encoder")
