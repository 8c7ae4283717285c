"""The CPU towers with packed matmul weights (clipsearch.encoders.packed): the same vectors as the
plain towers, and the plain towers whenever packing cannot be trusted."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from clipsearch.config import ModelSpec
from clipsearch.demo import random_scene, render_scene
from clipsearch.encoders import openclip, packed, packed_text
from clipsearch.encoders.openclip import OpenClipEncoder
from testsupport.models import fresh_encoder

# The least cosine between two computations of one vector that differ only in how a kernel groups its
# sums (texts laid end to end or padded; a packed or a plain tower's matmuls). In bf16 that rounding
# depends on the CPU: on an Intel Xeon with AMX, 0.99996 (an AMD EPYC's AVX-512 BF16 gave over 0.99999).
ROUNDING_FLOOR = {torch.float32: 0.99999, torch.bfloat16: 0.9999}
TEXTS = ["a red circle", "a photo of two dogs on a beach at night", "x", "a yellow triangle on a gray background"]


def scenes(n: int = 3, size: int = 240):
    rng = random.Random(3)
    return [render_scene(random_scene(rng), size, rng) for _ in range(n)]


def embed(spec: ModelSpec, monkeypatch, *, pack: bool):
    """Text and image vectors of a freshly loaded model (the same random weights every time),
    packed or plain, and its loaded state."""
    with fresh_encoder(spec, monkeypatch, packed=pack) as encoder:
        return encoder.embed_texts(TEXTS), encoder.embed_images(scenes()), encoder._state()


@pytest.mark.parametrize("precision", [None, "fp32"])
def test_packed_towers_give_the_plain_towers_vectors(monkeypatch, precision):
    """ViT-B-32 (random weights, the same for both): packed text vectors equal the plain ones,
    image vectors agree to bf16's rounding; both towers were packed (and the text tower compiled)."""
    spec = ModelSpec(name="ViT-B-32", pretrained=None, precision=precision)
    fast_texts, fast_images, state = embed(spec, monkeypatch, pack=True)
    assert isinstance(state.encode_text, torch.jit.ScriptModule)
    assert isinstance(state.model.transformer, packed.PackedTransformer)
    assert isinstance(state.model.visual.transformer, torch.jit.ScriptModule)
    assert isinstance(state.model.visual.conv1, packed.PackedPatches)
    assert isinstance(state.encode_pixels, torch.jit.ScriptModule)  # the whole image tower, one graph
    plain_texts, plain_images, state = embed(spec, monkeypatch, pack=False)
    assert not isinstance(state.model.transformer, packed.PackedTransformer)
    assert type(state.model.visual.conv1) is torch.nn.Conv2d
    assert not isinstance(state.encode_pixels, torch.jit.ScriptModule)
    np.testing.assert_allclose(fast_texts, plain_texts, atol=2e-3)
    assert np.sum(fast_images * plain_images, axis=1).min() > 0.999


@pytest.mark.parametrize("precision", [None, "fp32"])
def test_texts_of_other_lengths_laid_end_to_end_give_the_padded_towers_vectors(monkeypatch, precision):
    """The compiled text tower lays a batch's texts end to end (``FlatText``): each text's vector is
    the one the same tower computes with the batch padded to its longest text, in any order."""
    spec = ModelSpec(name="ViT-B-32", pretrained=None, precision=precision)
    texts = ["red", "a photo of two dogs on a beach at night", "a red circle", "x", "blue", "a red circle"]
    with fresh_encoder(spec, monkeypatch, packed=True) as encoder:
        state = encoder._state()
        assert state.encode_text.original_name == "FlatText"
        padded = packed_text.PackedText(state.model, state.model.transformer)  # the same packed weights
        for batch in (texts, texts[::-1], texts[1:3], ["blue", "x"]):
            tokens = state.tokenizer(batch)
            with torch.inference_mode():
                flat, want = state.encode_text(tokens).float(), padded(tokens).float()
            assert flat.shape == want.shape
            assert torch.nn.functional.cosine_similarity(flat, want, dim=-1).min() > ROUNDING_FLOOR[state.dtype]
        alone = np.concatenate([encoder.embed_texts([text]) for text in texts])
        np.testing.assert_allclose(encoder.embed_texts(texts), alone, atol=2e-3)


def test_the_demo_models_text_tower_is_packed_and_agrees(monkeypatch):
    fast_texts, fast_images, state = embed(ModelSpec(name="demo"), monkeypatch, pack=True)
    assert isinstance(state.encode_text, torch.jit.ScriptModule)
    plain_texts, plain_images, _ = embed(ModelSpec(name="demo"), monkeypatch, pack=False)
    assert np.sum(fast_texts * plain_texts, axis=1).min() > 0.999
    np.testing.assert_allclose(fast_images, plain_images, atol=1e-2)


def test_without_the_kernels_the_towers_stay_plain(monkeypatch):
    """A torch without oneDNN's packing (or a CPU it refuses): the plain towers, the same vectors."""
    def missing(*args):
        raise RuntimeError("mkldnn is not available")

    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", missing, raising=False)
    monkeypatch.setattr(openclip, "_LOADED", {})
    encoder = OpenClipEncoder(ModelSpec(name="demo")).load()
    state = encoder._state()
    assert not isinstance(state.encode_text, torch.jit.ScriptModule)
    assert not isinstance(state.model.transformer, packed.PackedTransformer)
    vectors = encoder.embed_texts(TEXTS)
    assert vectors.shape == (len(TEXTS), encoder.dim) and np.isfinite(vectors).all()


def test_a_packed_tower_that_disagrees_is_not_used(monkeypatch):
    """The text tower disagrees after its plain weights went as they were packed (the demo's image
    tower is a ResNet, never packed): the model is built again, plain, and gives the vectors the
    packed one gives."""
    agreement = packed.AGREEMENT
    monkeypatch.setattr(packed, "AGREEMENT", 1.5)  # no cosine reaches it
    monkeypatch.setattr(openclip, "_LOADED", {})
    encoder = OpenClipEncoder(ModelSpec(name="demo")).load()
    state = encoder._state()
    assert not isinstance(state.encode_text, torch.jit.ScriptModule)
    assert not isinstance(state.model.transformer, packed.PackedTransformer)
    assert not packed.released(state.model)
    plain = encoder.embed_texts(TEXTS), encoder.embed_images(scenes())
    monkeypatch.setattr(packed, "AGREEMENT", agreement)
    monkeypatch.setattr(openclip, "_LOADED", {})
    encoder = OpenClipEncoder(ModelSpec(name="demo")).load()
    assert isinstance(encoder._state().encode_text, torch.jit.ScriptModule)  # packed this time
    packed_texts = encoder.embed_texts(TEXTS)
    np.testing.assert_allclose(plain[0], packed_texts, atol=1e-4 if encoder._state().dtype == torch.float32 else 4e-3)
    assert np.sum(plain[0] * packed_texts, axis=1).min() > ROUNDING_FLOOR[encoder._state().dtype]
    np.testing.assert_allclose(plain[1], encoder.embed_images(scenes()), atol=2e-3)


def test_packing_with_release_drops_each_plain_blocks_weights_and_computes_the_same():
    """Loading packs with ``release``: each plain block's matmul weights go as its packed block is
    made (a tower's weights are not held twice), and the packed tower computes what it did."""
    from open_clip.transformer import Transformer

    torch.manual_seed(3)
    tower = Transformer(width=64, layers=3, heads=4, batch_first=True).eval()
    x = torch.randn(2, 7, 64)

    class Owner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tower

    owner = Owner()
    with torch.inference_mode():
        want = tower(x)
        assert packed.pack_tower(owner, "transformer", release=True)
        torch.testing.assert_close(owner.transformer(x), want, atol=1e-4, rtol=1e-4)
    assert packed.released(tower) and not packed.released(owner)
    assert all(block.mlp.c_fc.weight.numel() == 0 and block.attn.in_proj_weight.numel() == 0 for block in tower.resblocks)


def test_only_the_standard_block_is_packed():
    """Anything but open_clip's plain block (another attention, a cross-attention block, another
    MLP) is left as it is; so is a model whose text tower is not causal."""
    from open_clip.transformer import Transformer

    tower = Transformer(width=32, layers=2, heads=4, batch_first=True).eval()
    assert packed.packable(tower)
    tower.resblocks[1].mlp.add_module("extra", torch.nn.Identity())
    assert not packed.packable(tower)
    assert not packed.pack_tower(torch.nn.Module(), "transformer")

    class Owner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = Transformer(width=32, layers=1, heads=4, batch_first=True).eval()
            self.transformer.resblocks[0].add_module("ln_1_kv", torch.nn.LayerNorm(32))

    owner = Owner()
    before = owner.transformer
    assert not packed.pack_tower(owner, "transformer") and owner.transformer is before
    assert not packed_text.textable(torch.nn.Module())


def test_a_packed_transformer_computes_the_plain_one(monkeypatch):
    """A small standard tower, fp32, with and without a causal mask."""
    from open_clip.transformer import Transformer

    torch.manual_seed(1)
    tower = Transformer(width=64, layers=3, heads=4, batch_first=True).eval()
    x = torch.randn(3, 9, 64)
    mask = torch.full((9, 9), float("-inf")).triu_(1)
    with torch.inference_mode():
        fast = packed.PackedTransformer(tower)
        for m in (None, mask):
            torch.testing.assert_close(fast(x, m), tower(x, attn_mask=m), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("bias", [False, True])
def test_packed_patches_compute_the_patch_convolution(bias):
    """A ViT's patch embedding as one packed matmul: the convolution's output, fp32, also for an
    image whose sides are not whole patches (the convolution leaves the rest out)."""
    torch.manual_seed(2)
    conv = torch.nn.Conv2d(3, 48, kernel_size=16, stride=16, bias=bias).eval()
    with torch.inference_mode():
        fast = packed.PackedPatches(conv)
        for shape in [(2, 3, 64, 64), (1, 3, 70, 50)]:
            x = torch.randn(*shape)
            torch.testing.assert_close(fast(x), conv(x), atol=1e-4, rtol=1e-4)


def test_only_a_plain_patch_convolution_is_packed():
    class Visual(torch.nn.Module):
        def __init__(self, conv):
            super().__init__()
            self.conv1 = conv

    for odd in [torch.nn.Conv2d(3, 8, 4, stride=2), torch.nn.Conv2d(3, 8, 4, stride=4, padding=1),
                torch.nn.Conv2d(3, 8, 4, stride=4, groups=1, dilation=2), torch.nn.Conv2d(3, 8, (4, 2), stride=(4, 2))]:
        visual = Visual(odd)
        assert not packed.pack_patches(visual) and visual.conv1 is odd
    assert not packed.pack_patches(torch.nn.Module())
    visual = Visual(torch.nn.Conv2d(3, 8, 4, stride=4, bias=False))
    assert packed.pack_patches(visual) and isinstance(visual.conv1, packed.PackedPatches)


def small_vit(**options):
    from open_clip.transformer import VisionTransformer

    torch.manual_seed(4)
    return VisionTransformer(image_size=32, patch_size=8, width=32, layers=2, heads=4, mlp_ratio=4.0,
                             output_dim=16, **options).eval()


def test_the_compiled_image_tower_computes_the_vit_it_replaces():
    """Prepared pixels, as a list, to the ViT's own features (fp32), in one compiled graph."""
    visual = small_vit()
    assert packed.pack_tower(visual, "transformer") and packed.pack_patches(visual)
    tower = packed.packed_image(visual, 32, torch.float32)
    assert isinstance(tower, torch.jit.ScriptModule)
    pixels = torch.randn(3, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(tower(list(pixels)), visual(pixels), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(tower([pixels[1]]), visual(pixels[1:2]), atol=1e-5, rtol=1e-5)


def test_only_a_standard_packed_vit_is_compiled_whole(monkeypatch):
    """Another pooling, an attentional pooler, patch dropout, or a tower not packed first: None;
    and none where the compiled tower would disagree with the plain one."""
    for options in [{"pool_type": "avg"}, {"attentional_pool": True, "attn_pooler_heads": 4}, {"patch_dropout": 0.5},
                    {"final_ln_after_pool": True}]:
        visual = small_vit(**options)
        packed.pack_tower(visual, "transformer")
        packed.pack_patches(visual)
        assert packed.packed_image(visual, 32, torch.float32) is None, options
    assert packed.packed_image(small_vit(), 32, torch.float32) is None  # its patches and blocks not packed
    visual = small_vit()
    assert packed.pack_tower(visual, "transformer") and packed.pack_patches(visual)
    monkeypatch.setattr(packed, "AGREEMENT", 1.5)  # no cosine reaches it
    assert packed.packed_image(visual, 32, torch.float32) is None
