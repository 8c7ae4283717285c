"""A CLIP tower's matmuls with their weights laid out for the CPU once, at load, not on every call.

On a CPU, torch's ``nn.Linear`` hands each product to oneDNN (bf16) or MKL (fp32), which first
rearranges the weight matrix into the blocked layout its kernels read. With a text query's ten or
so tokens that rearranging costs about as much as the product itself, on every call. Packing each
weight once (``torch.ops.mkldnn._reorder_linear_weight``, what torch's own compiler does when it
freezes a model for inference) removes it. Measured on ViT-B-32's text tower (bf16, 2-core CPU,
one thread): one query 12.9 -> 9.0 ms, eight in one batch 24.9 -> 16.0 ms; on two threads 9.4 ->
5.9 ms. The text embeddings came out bit for bit the same; one image took 25 -> 18 ms. A ViT's
patch embedding, a convolution, is packed the same way as a matmul over the patches
(``PackedPatches``): one image on one core 30.2 -> 28.0 ms, three 46.8 -> 44.0 ms. The whole
image tower then runs as one compiled graph (``PackedImage``), as the text tower does: with one
busy Python thread on the other core, one image took 90 ms there with the tower's ~20 operations
around its transformer run from Python (each waits for the interpreter lock after it), 31 ms as
one graph.

Only open_clip's standard block is packed (``ResidualAttentionBlock``: ``nn.MultiheadAttention``
with one packed input projection, batch first, a ``c_fc``/``gelu``/``c_proj`` MLP); a tower with
anything else runs as it is. ``pack_tower`` checks the packed tower against the plain one on a
probe input before it replaces it, so a torch or a CPU without these kernels, or one that
computes differently, keeps the plain tower. The packed weights replace the plain ones: memory
stays the same. Made with ``release``, each block's plain weights go as soon as its packed ones are
made, so that loading holds one block's weights twice, not a tower's: ViT-B-32 in fp32 peaked
425 MB higher while both towers were packed (1.83 GB against 1.40 unpacked). A tower that then
cannot be used leaves its plain weights empty (``released``): the caller builds the model again.
The text tower around its transformer is in ``packed_text``.
"""

import logging
import warnings
from collections.abc import Callable
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)

AGREEMENT = 0.999  # the lowest cosine between a packed and a plain tower's output token
PROBE_TOKENS = 12
_UNAVAILABLE = (RuntimeError, AttributeError, NotImplementedError, TypeError, ValueError, torch.jit.Error)


class PackedBlock(nn.Module):
    """One ``ResidualAttentionBlock`` computed with packed weights (the same arithmetic)."""

    qkv_b: Optional[torch.Tensor]
    out_b: Optional[torch.Tensor]
    fc_b: Optional[torch.Tensor]
    proj_b: Optional[torch.Tensor]

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        attn = block.attn
        self.heads = attn.num_heads
        self.ln_1, self.ln_2, self.ls_1, self.ls_2 = block.ln_1, block.ln_2, block.ls_1, block.ls_2
        self.act = block.mlp.gelu
        qkv, out, fc, proj = _matmul_weights(block)
        self.qkv_w, self.qkv_b = _pack(qkv, attn.in_proj_bias)
        self.out_w, self.out_b = _pack(out, attn.out_proj.bias)
        self.fc_w, self.fc_b = _pack(fc, block.mlp.c_fc.bias)
        self.proj_w, self.proj_b = _pack(proj, block.mlp.c_proj.bias)

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        batch, tokens, width = x.shape[0], x.shape[1], x.shape[2]
        rows = batch * tokens
        qkv = _linear(self.ln_1(x).reshape(rows, width), self.qkv_w, self.qkv_b)
        qkv = qkv.reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        mask: Optional[torch.Tensor] = None
        if attn_mask is not None:
            mask = attn_mask.to(x.dtype)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        attended = attended.transpose(1, 2).reshape(rows, width)
        x = x + self.ls_1(_linear(attended, self.out_w, self.out_b).reshape(batch, tokens, width))
        hidden = self.act(_linear(self.ln_2(x).reshape(rows, width), self.fc_w, self.fc_b))
        return x + self.ls_2(_linear(hidden, self.proj_w, self.proj_b).reshape(batch, tokens, width))


class PackedPatches(nn.Module):
    """A ViT's patch embedding, a convolution whose kernel is its stride (``conv1``), as one
    matmul with a packed weight over the image's patches: the same products. As a convolution,
    oneDNN rearranged its weight on every call (1.3 ms of a 30 ms image on one core)."""

    bias: Optional[torch.Tensor]

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.patch = int(conv.kernel_size[0])
        self.width = int(conv.out_channels)
        self.weight, self.bias = _pack(conv.weight.detach().reshape(conv.out_channels, -1), conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, p = x.shape[0], x.shape[1], self.patch
        rows, columns = x.shape[2] // p, x.shape[3] // p  # a convolution leaves out a partial patch
        patches = x[:, :, : rows * p, : columns * p].reshape(batch, channels, rows, p, columns, p)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(batch * rows * columns, channels * p * p)
        out = _linear(patches, self.weight, self.bias)
        return out.reshape(batch, rows, columns, self.width).permute(0, 3, 1, 2)  # as the convolution's


class PackedImage(nn.Module):
    """An open_clip ``VisionTransformer`` with packed patches and transformer, prepared pixels to
    features, as one graph (``packed_image``): the stack of the batch, the class token and
    positions, the transformer, the class token's final norm and projection, in float32."""

    proj: Optional[torch.Tensor]

    def __init__(self, visual: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.patches, self.transformer = visual.conv1, visual.transformer
        self.class_embedding = visual.class_embedding.detach()
        self.positional_embedding = visual.positional_embedding.detach()
        self.ln_pre, self.ln_post = visual.ln_pre, visual.ln_post
        self.proj = _detached(visual.proj)
        self.dtype = dtype

    def forward(self, batch: list[torch.Tensor]) -> torch.Tensor:
        x = self.patches(torch.stack(batch).to(self.dtype))
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        first = self.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1).to(x.dtype)
        x = torch.cat([first, x], dim=1) + self.positional_embedding.to(x.dtype)
        pooled = self.ln_post(self.transformer(self.ln_pre(x)))[:, 0]
        proj = self.proj
        if proj is not None:
            pooled = pooled @ proj
        return pooled.float()


class PackedTransformer(nn.Module):
    """An open_clip ``Transformer`` (batch first) whose blocks are ``PackedBlock``."""

    def __init__(self, transformer: nn.Module, release: bool = False) -> None:
        super().__init__()
        self.width = transformer.width
        self.cast_dtype = transformer.get_cast_dtype()
        self.resblocks = nn.ModuleList()
        for block in transformer.resblocks:
            self.resblocks.append(PackedBlock(block))
            if release:  # the plain block's matmul weights, now packed, go at once
                _release(block)

    def get_cast_dtype(self) -> torch.dtype:
        return self.cast_dtype

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, attn_mask)
        return x


def pack_tower(owner: nn.Module, attribute: str, release: bool = False) -> bool:
    """Replace ``owner.<attribute>`` (an open_clip ``Transformer`` without a mask, the image
    tower's) by its packed, compiled form when it has the standard shape and computes what the
    plain one does on a probe; True when it did. ``release``: the plain weights go as they are
    packed (where it returns False, see ``released``)."""
    transformer = getattr(owner, attribute, None)
    if not packable(transformer):
        return False

    def build():
        weight = transformer.resblocks[0].mlp.c_fc.weight
        probe = torch.randn(2, PROBE_TOKENS, transformer.width, generator=torch.Generator().manual_seed(0))
        probe = probe.to(weight.device, weight.dtype)
        want = transformer(probe).float()
        packed = _compiled(PackedTransformer(transformer, release))
        return packed, want.flatten(0, 1), packed(probe).float().flatten(0, 1)

    packed = _if_agreeing(attribute, build)
    if packed is not None:
        setattr(owner, attribute, packed)
    return packed is not None


def pack_patches(visual: nn.Module) -> bool:
    """Replace a ViT's patch embedding (``visual.conv1``) by ``PackedPatches`` when it is a plain
    patch convolution and computes what the convolution does on a probe image; True when it did."""
    conv = getattr(visual, "conv1", None)
    if not (type(conv) is nn.Conv2d and conv.kernel_size == conv.stride and conv.kernel_size[0] == conv.kernel_size[1]
            and conv.padding == (0, 0) and conv.dilation == (1, 1) and conv.groups == 1):
        return False

    def build():
        size = conv.kernel_size[0] * 3
        generator = torch.Generator().manual_seed(0)
        probe = torch.randn(2, conv.in_channels, size, size, generator=generator).to(conv.weight.device, conv.weight.dtype)
        want = conv(probe).float().flatten(2).transpose(1, 2).flatten(0, 1)
        packed = PackedPatches(conv)
        return packed, want, packed(probe).float().flatten(2).transpose(1, 2).flatten(0, 1)

    packed = _if_agreeing("patch embedding", build)
    if packed is not None:
        visual.conv1 = packed
    return packed is not None


def packed_image(visual: nn.Module, size: int, dtype: torch.dtype):
    """The image tower as one compiled ``PackedImage``, or None when it cannot be: open_clip's
    standard ViT (class token pooled after its norm, no attentional pooling, no patch dropout)
    whose patches and transformer are packed (``pack_patches``, ``pack_tower``), computing what
    ``visual`` does on two probe images of ``size`` pixels."""
    if not (type(visual).__name__ == "VisionTransformer" and isinstance(getattr(visual, "conv1", None), PackedPatches)
            and isinstance(getattr(visual, "transformer", None), torch.jit.ScriptModule)
            and getattr(visual, "attn_pool", 1) is None and getattr(visual, "pool_type", "") == "tok"
            and getattr(visual, "final_ln_after_pool", True) is False
            and isinstance(getattr(visual, "patch_dropout", None), nn.Identity)
            and isinstance(getattr(visual, "class_embedding", None), torch.Tensor)):
        return None

    def build():
        probe = list(torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0)))
        want = visual(torch.stack(probe).to(dtype)).float()
        tower = _compiled(PackedImage(visual, dtype))
        return tower, want, tower(probe)

    return _if_agreeing("image tower around its transformer", build)


def packable(transformer: nn.Module | None) -> bool:
    """Whether a tower is the standard open_clip transformer ``PackedTransformer`` reproduces."""
    blocks = getattr(transformer, "resblocks", None)
    if blocks is None or len(blocks) == 0 or not getattr(transformer, "batch_first", False):
        return False
    if getattr(transformer, "grad_checkpointing", False) or not hasattr(transformer, "get_cast_dtype"):
        return False
    return all(_standard_block(block) for block in blocks)


def _standard_block(block: nn.Module) -> bool:
    attn = getattr(block, "attn", None)
    mlp = getattr(block, "mlp", None)
    return (
        type(block).__name__ == "ResidualAttentionBlock"
        and not hasattr(block, "ln_1_kv")
        and type(attn) is nn.MultiheadAttention
        and attn.batch_first
        and attn._qkv_same_embed_dim
        and attn.bias_k is None
        and not attn.add_zero_attn
        and attn.dropout == 0
        and isinstance(mlp, nn.Sequential)
        and list(mlp._modules) == ["c_fc", "gelu", "c_proj"]
        and type(mlp.c_fc) is nn.Linear
        and type(mlp.c_proj) is nn.Linear
    )


def _if_agreeing(what: str, build: Callable[[], tuple[Any, torch.Tensor, torch.Tensor]]) -> Any:
    """What ``build()`` builds when its output agrees with the plain one's on a probe: ``build``
    returns (what it built, the plain output, the built one's), rows compared by cosine
    (``AGREEMENT``). None, and the plain ``what`` kept (logged), when building or running it
    raised (no such kernels in this torch, or a tower that differs) or it disagreed."""
    try:
        with torch.inference_mode():
            built, want, got = build()
            agreement = _cosine(want, got)
    except _UNAVAILABLE as exc:
        log.info("plain %s: it cannot be packed here (%s)", what, exc)
        return None
    if agreement < AGREEMENT:
        log.info("plain %s: the packed one disagreed (cosine %.4f)", what, agreement)
        return None
    return built


def _cosine(want: torch.Tensor, got: torch.Tensor) -> float:
    """The lowest cosine between matching rows (-1 when the shapes differ or a value is not finite)."""
    if got.shape != want.shape or not torch.isfinite(got).all():
        return -1.0
    return float(F.cosine_similarity(want, got, dim=-1).min())


def _compiled(module: nn.Module) -> nn.Module:
    """``module`` compiled by TorchScript (its graph runs without the interpreter lock). torch
    calls TorchScript deprecated, but it is the one way here to run a graph without compiling C++."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.script(module.eval())


def _matmul_weights(block: nn.Module) -> tuple[nn.Parameter, ...]:
    """A plain block's four matmul weights, the ones ``PackedBlock`` packs: attention's input and
    output projections, the MLP's two layers."""
    return block.attn.in_proj_weight, block.attn.out_proj.weight, block.mlp.c_fc.weight, block.mlp.c_proj.weight


def _release(block: nn.Module) -> None:
    """Empty a plain block's matmul weights, now packed (the rest is shared with its packed block)."""
    for weight in _matmul_weights(block):
        weight.data = torch.empty(0, dtype=weight.dtype)


def released(model: nn.Module) -> bool:
    """Whether a tower packed with ``release`` was left plain with its weights gone: it cannot compute."""
    return any(parameter.numel() == 0 for parameter in model.parameters())


def _detached(tensor: torch.Tensor | None) -> torch.Tensor | None:
    return tensor.detach() if tensor is not None else None


def _pack(weight: torch.Tensor, bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), None), _detached(bias)


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """``x @ weight.T + bias`` for 2-D ``x``, with a packed weight."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
