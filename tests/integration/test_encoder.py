"""The open_clip encoder with real models: the demo model, and ViT-B-32 with random weights."""

from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import pytest

from clipsearch.config import ModelSpec
from clipsearch.demo import demo_checkpoint_path, random_scene, render_scene, write_demo_model_config
from clipsearch.encoders.openclip import OpenClipEncoder, encode_text_truncated
from clipsearch.errors import ModelUnavailable
from testsupport.models import fresh_encoder


def scenes(n: int = 8, size: int = 96):
    rng = random.Random(7)
    return [render_scene(random_scene(rng), size, rng) for _ in range(n)]


@pytest.fixture(scope="module")
def demo():
    return OpenClipEncoder(ModelSpec(name="demo")).load()


def test_vectors_are_float32_unit_length(demo):
    images = demo.embed_images(scenes(4))
    texts = demo.embed_texts(["a red circle", "a blue star and a yellow square"])
    for vectors, n in ((images, 4), (texts, 2)):
        assert vectors.dtype == np.float32 and vectors.shape == (n, demo.dim)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert demo.stamp["model"] == "demo" and demo.stamp["checkpoint_sha256"]


def test_model_loads_once_per_process(demo):
    again = OpenClipEncoder(ModelSpec(name="demo"))
    assert again._state() is demo._state()


def test_loading_the_demo_model_leaves_no_temporary_files(tmp_path, monkeypatch):
    import tempfile

    import open_clip

    from clipsearch.encoders import openclip

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name, checkpoint, identity = openclip._resolve(ModelSpec(name="demo"))
    assert name in open_clip.list_models() and checkpoint and identity["checkpoint_sha256"]
    assert list(tmp_path.glob("clipsearch-demo-*")) == []


def plain_state(spec: ModelSpec, monkeypatch):
    """A model loaded as it is, its towers not packed (clipsearch.encoders.packed), which a test
    may convert to another precision."""
    with fresh_encoder(spec, monkeypatch, packed=False) as encoder:
        return encoder._state()


def test_truncated_text_encoding_is_exact(monkeypatch):
    import torch

    state = plain_state(ModelSpec(name="demo", precision="fp32"), monkeypatch)
    tokens = state.tokenizer(["a red circle", "a green cross on a white background"])
    with torch.inference_mode():
        full = state.model.encode_text(tokens)
        short = encode_text_truncated(state.model, tokens)
    assert torch.allclose(full, short, atol=1e-5)


@pytest.mark.parametrize("name", ["demo", "ViT-B-32"])
def test_bf16_and_fp32_embeddings_agree(name, monkeypatch):
    """The same weights in bf16 and fp32 give the same vectors (cosine >= 0.99)."""
    from clipsearch.encoders.openclip import bf16_agreement, cpu_has_native_bf16

    spec = ModelSpec(name=name, pretrained=None, precision="fp32")
    state = plain_state(spec, monkeypatch)
    agreement = bf16_agreement(state.model, state.preprocess, state.tokenizer,
                               images=scenes(6, size=256), texts=["a red circle", "a photo of a dog"])
    assert agreement >= 0.99
    auto = OpenClipEncoder(ModelSpec(name=name, pretrained=None))
    expected = "bfloat16" if cpu_has_native_bf16() else "float32"
    assert auto.precision == expected
    assert auto.stamp == OpenClipEncoder(spec).stamp  # precision is not part of what the index records


def test_a_model_that_needs_a_package_not_installed_says_which():
    """open_clip's multilingual models (queries in other languages) tokenize with `transformers`."""
    import importlib.util

    if importlib.util.find_spec("transformers") is not None:
        pytest.skip("transformers is installed here")
    with pytest.raises(ModelUnavailable) as info:
        OpenClipEncoder(ModelSpec(name="xlm-roberta-base-ViT-B-32", pretrained=None)).load()  # no download
    assert info.value.package == "transformers"
    assert str(info.value) == ("model xlm-roberta-base-ViT-B-32 needs the Python package "
                               "`transformers`, which is not installed here: `pip install transformers` in "
                               "this environment, then run again")


def test_a_pretrained_model_that_needs_a_package_says_which_before_any_download():
    """open_clip downloads a checkpoint before it builds the towers that need `transformers`: asked
    for a multilingual model's weights, offline the error blamed them, and online a gigabyte came
    down before the missing package was said (README: "the indexer says so when it is missing")."""
    import importlib.util

    if importlib.util.find_spec("transformers") is not None:
        pytest.skip("transformers is installed here")
    spec = ModelSpec(name="xlm-roberta-base-ViT-B-32", pretrained="laion5b_s13b_b90k")
    with pytest.raises(ModelUnavailable) as info:
        OpenClipEncoder(spec).load()  # HF_HUB_OFFLINE=1 (conftest): a download would fail, not happen
    assert info.value.package == "transformers"
    assert "`pip install transformers`" in str(info.value)


def test_missing_weights_offline_give_one_clear_error():
    spec = ModelSpec(name="ViT-B-32", pretrained="laion2b_s34b_b79k")
    with pytest.raises(ModelUnavailable) as info:
        OpenClipEncoder(spec).load()
    text = str(info.value)
    assert "ViT-B-32" in text and "laion2b_s34b_b79k" in text
    assert "cache folder" in text and "checkpoint file" in text and "demo model" in text
    assert "--" not in text  # the library's terms; the command line adds its flags (test_indexer_cli)


def test_unknown_model_and_missing_checkpoint_are_clear():
    with pytest.raises(ModelUnavailable, match="cannot load model"):
        OpenClipEncoder(ModelSpec(name="No-Such-Model", pretrained=None)).load()
    with pytest.raises(ModelUnavailable, match="checkpoint file not found"):
        OpenClipEncoder(ModelSpec(name="ViT-B-32", weights="/nonexistent/model.safetensors")).load()


def test_local_checkpoint_file_and_local_dir_load(demo, tmp_path):
    weights = tmp_path / "my-demo.safetensors"
    shutil.copy(demo_checkpoint_path(), weights)
    # the demo architecture is registered with open_clip once the demo model has loaded
    from_file = OpenClipEncoder(ModelSpec(name="clipsearch-demo", weights=weights))
    assert from_file.stamp["checkpoint_sha256"] == demo.stamp["checkpoint_sha256"]
    images = scenes(3)
    np.testing.assert_allclose(from_file.embed_images(images), demo.embed_images(images), atol=2e-2)
    # local-dir: an open_clip_config.json with model_cfg (+ preprocess_cfg) and the weights
    folder = tmp_path / "local"
    folder.mkdir()
    cfg = json.loads(write_demo_model_config(tmp_path / "cfg").read_text())
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": {}}))
    shutil.copy(demo_checkpoint_path(), folder / "open_clip_model.safetensors")
    local = OpenClipEncoder(ModelSpec(name=f"local-dir:{folder}", pretrained=None))
    assert local.dim == demo.dim
    np.testing.assert_allclose(local.embed_texts(["a red circle"]), demo.embed_texts(["a red circle"]), atol=2e-2)


def test_a_busy_model_runs_on_one_core_with_the_same_answers(demo):
    """``share_cores(True)`` (the batcher, with several callers waiting) runs the model on one
    torch thread; ``share_cores(False)`` on as many as it had; the vectors do not change; and a
    thread count the caller set itself is left alone."""
    import torch

    texts = ["a red circle", "a blue square on a white background"]
    pictures = scenes(2)
    all_cores = torch.get_num_threads()
    demo.share_cores(False)
    alone = demo.embed_texts(texts), demo.embed_images(pictures)
    assert torch.get_num_threads() == all_cores
    demo.share_cores(True)
    try:
        shared = demo.embed_texts(texts), demo.embed_images(pictures)
        assert torch.get_num_threads() == 1
    finally:
        demo.share_cores(False)
    demo.embed_texts(texts)
    assert torch.get_num_threads() == all_cores
    for a, b in zip(alone, shared):
        np.testing.assert_allclose(a, b, atol=2e-2)
    torch.set_num_threads(1)
    try:
        demo.embed_texts(texts)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(all_cores)


def test_a_model_that_fails_the_bf16_check_stays_exactly_fp32(monkeypatch):
    """The check converts the model to bf16 in place; when bf16 is refused, the weights are the
    fp32 ones again (built anew), not fp32 copies of rounded bf16 weights."""
    from clipsearch.encoders import openclip

    if not openclip.cpu_has_native_bf16():
        pytest.skip("the bf16 check only runs on CPUs with native bf16")
    monkeypatch.setattr(openclip, "BF16_AGREEMENT", 1.01)  # no model can pass
    monkeypatch.setattr(openclip, "_LOADED", {})
    refused = OpenClipEncoder(ModelSpec(name="demo"))
    assert refused.precision == "float32"
    plain = OpenClipEncoder(ModelSpec(name="demo", precision="fp32"))
    texts = ["a red circle", "a blue square"]
    np.testing.assert_array_equal(refused.embed_texts(texts), plain.embed_texts(texts))
    np.testing.assert_array_equal(refused.embed_images(scenes(2)), plain.embed_images(scenes(2)))


def test_texts_beside_a_picture_call_get_the_same_vectors_on_a_side_thread_of_one_core(demo):
    """``embed_texts_beside`` (the batcher's side thread) gives what ``embed_texts`` gives; it may
    run only while torch's loops are on one thread (``side_ready``), and making the side thread
    leaves the model thread's count as it was."""
    import torch

    from clipsearch.batching import ModelThread
    from clipsearch.encoders.side import side_lane

    model = ModelThread("model-for-test")
    before = model.call(torch.get_num_threads)
    side = side_lane(demo, model)
    if (os.cpu_count() or 1) < 2:
        assert side is None
        return
    assert side is not None and model.call(torch.get_num_threads) == before
    texts = ["a red circle", "a blue square on a white background"]
    np.testing.assert_allclose(side.call(demo.embed_texts_beside, texts), demo.embed_texts(texts), atol=1e-6)
    demo.share_cores(True)
    try:
        demo.embed_texts(texts)  # a call on one core: torch's loops on one thread
        assert torch.get_num_threads() == 1 and demo.side_ready()
    finally:
        demo.share_cores(False)
    demo.embed_texts(texts)  # alone again: on every core, and nothing may run beside it
    assert torch.get_num_threads() == before and demo.side_ready() == (before == 1)
