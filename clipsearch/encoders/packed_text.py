"""A CLIP text tower computed only over its texts' own tokens.

CLIP's text tower is causal and pooled at the end-of-text token, so the padding after it never
influences a text's vector: ``PackedText`` stops at the batch's last end-of-text token (3-10x
cheaper for short queries than open_clip's 77 tokens). Texts of other lengths in one batch were
still padded to the longest: a ten-token query and its three one-word terms were 40
rows of the tower's matmuls for 19 tokens. ``FlatText``, the compiled tower (``packed_text``),
runs the matmuls, norms and MLPs over the texts' own tokens laid end to end, and only the
attention padded again, each text from its first position, so that every token attends to what
it attended to padded: each text's vector is the padded tower's (bit for bit on this machine's
bf16 and fp32 kernels; a test holds them to a cosine of 0.99999). Measured with ViT-B-32 (bf16,
one thread): six queries of ten tokens and eight one-word terms (two composite queries' terms)
26.8 -> 18.5 ms, one query and its three terms 9.2 -> 6.4 ms, fp32 46.0 -> 29.6 and 15.7 -> 10.1
ms; a batch of one length the same (one query 4.07 -> 4.12 ms).
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .imports import open_clip
from .packed import PackedBlock, PackedTransformer, _compiled, _detached, _if_agreeing, _linear, packable


class PackedText(nn.Module):
    """A CLIP text tower, tokens to features: ``encode_text`` computed only up to the batch's last
    end-of-text token (the tower is causal: the padding after it never influences it, so dropping
    it is exact and 3-10x cheaper for short queries). Over a ``PackedTransformer`` it is compiled
    (``packed_text``); over the model's own transformer it is the plain tower's way
    (``encode_text_truncated``)."""

    def __init__(self, model: nn.Module, transformer: nn.Module) -> None:
        super().__init__()
        self.token_embedding = model.token_embedding
        self.positional_embedding = model.positional_embedding.detach()
        self.transformer = transformer
        self.cast_dtype = transformer.get_cast_dtype()
        self.ln_final = model.ln_final
        self.register_buffer("attn_mask", model.attn_mask, persistent=False)
        self.eos = model.text_eos_id if model.text_pool_type == "eos" else -1
        projection = model.text_projection
        if isinstance(projection, nn.Linear):
            self.projection = projection.weight.detach().t()
            self.projection_bias = _detached(projection.bias)
        else:
            self.projection = projection.detach()
            self.projection_bias = None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        ends = _ends(tokens, self.eos)
        length = int(ends.max()) + 1
        tokens = tokens[:, :length]
        cast = self.cast_dtype
        x = self.token_embedding(tokens).to(cast) + self.positional_embedding[:length].to(cast)
        x = self.ln_final(self.transformer(x, self.attn_mask[:length, :length]))
        x = x[torch.arange(x.shape[0], device=x.device), ends] @ self.projection  # open_clip's text_global_pool
        if self.projection_bias is not None:
            x = x + self.projection_bias
        return x


class FlatBlock(nn.Module):
    """A ``PackedBlock`` (its weights, not copies) over a batch's tokens laid end to end: rows
    ``where`` of the padded (``batch``, ``length``) layout, padded again only for the attention."""

    def __init__(self, block: PackedBlock) -> None:
        super().__init__()
        self.heads = block.heads
        self.ln_1, self.ln_2, self.ls_1, self.ls_2, self.act = block.ln_1, block.ln_2, block.ls_1, block.ls_2, block.act
        self.qkv_w, self.qkv_b, self.out_w, self.out_b = block.qkv_w, block.qkv_b, block.out_w, block.out_b
        self.fc_w, self.fc_b, self.proj_w, self.proj_b = block.fc_w, block.fc_b, block.proj_w, block.proj_b

    def forward(self, x: torch.Tensor, where: torch.Tensor, batch: int, length: int, mask: torch.Tensor) -> torch.Tensor:
        width, padded = x.shape[1], x.shape[0] < batch * length
        qkv = _linear(self.ln_1(x), self.qkv_w, self.qkv_b)
        if padded:
            qkv = qkv.new_zeros(batch * length, 3 * width).index_copy_(0, where, qkv)
        qkv = qkv.reshape(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        attended = attended.transpose(1, 2).reshape(batch * length, width)
        if padded:
            attended = attended.index_select(0, where)
        x = x + self.ls_1(_linear(attended, self.out_w, self.out_b))
        hidden = self.act(_linear(self.ln_2(x), self.fc_w, self.fc_b))
        return x + self.ls_2(_linear(hidden, self.proj_w, self.proj_b))


class FlatText(PackedText):
    """``PackedText`` over a ``PackedTransformer``, its texts' tokens laid end to end (``FlatBlock``):
    the padding of a batch's shorter texts is never computed but in the attention."""

    def __init__(self, model: nn.Module, transformer: PackedTransformer) -> None:
        super().__init__(model, transformer)
        self.blocks = nn.ModuleList(FlatBlock(block) for block in transformer.resblocks)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        ends = _ends(tokens, self.eos)
        batch, length = tokens.shape[0], int(ends.max()) + 1
        inside = torch.arange(length, device=tokens.device).unsqueeze(0) <= ends.unsqueeze(1)
        where = torch.nonzero(inside.reshape(-1)).squeeze(1)  # each token's row in the padded layout
        cast = self.cast_dtype
        x = (self.token_embedding(tokens[:, :length].reshape(-1)[where]).to(cast)
             + self.positional_embedding[where % length].to(cast))
        mask = self.attn_mask[:length, :length].to(cast)
        for block in self.blocks:
            x = block(x, where, batch, length, mask)
        x = self.ln_final(x)[torch.cumsum(ends + 1, 0) - 1] @ self.projection  # each text's end-of-text token
        if self.projection_bias is not None:
            x = x + self.projection_bias
        return x


def encode_text_truncated(model, tokens: torch.Tensor) -> torch.Tensor:
    """``model.encode_text`` computed only up to the last end-of-text token of the batch, by the
    model's own (plain) transformer: ``PackedText`` run as it is. Other text towers run in full."""
    if not truncatable(model) or model.text_projection is None:
        return model.encode_text(tokens)
    return PackedText(model, model.transformer)(tokens)


def truncatable(model: nn.Module) -> bool:
    """Whether a model's text tower is CLIP's: causal, pooled at the end-of-text token. CLIP's
    text tower is causal, so the padding after the end-of-text token never influences it:
    dropping it is exact and 3-10x cheaper for short queries."""
    pool = getattr(model, "text_pool_type", None)
    return (
        isinstance(model, open_clip.CLIP)
        and getattr(model, "attn_mask", None) is not None
        and (pool == "argmax" or (pool == "eos" and getattr(model, "text_eos_id", None) is not None))
    )


def _ends(tokens: torch.Tensor, eos: int) -> torch.Tensor:
    """Each row's end-of-text position: its highest token (CLIP's tokenizer), or token ``eos``."""
    return tokens.argmax(dim=-1) if eos < 0 else (tokens == eos).int().argmax(dim=-1)


def packed_text(model: nn.Module, probe: torch.Tensor, reference: Callable[[torch.Tensor], torch.Tensor],
                release: bool = False):
    """The text tower of an open_clip ``CLIP`` as one compiled ``FlatText`` (its weights packed,
    ``model.transformer`` replaced by the packed one), or None when it cannot be: ``probe`` tokens
    must come out of it as they do of ``reference`` (the plain tower). ``release``: the plain
    weights go as they are packed (``packed.released``).

    Compiled with TorchScript, which runs the whole tower without Python's interpreter lock:
    torch lets go of the lock inside each operation and must take it back after, and a Python
    thread busy next to it (another request's search) made every one of a plain tower's 200
    operations wait for it: one batch of texts went from 17 ms to a second.
    """
    if not textable(model):
        return None

    def build():
        want = reference(probe).float()
        transformer = PackedTransformer(model.transformer, release)
        tower = _compiled(FlatText(model, transformer))
        return (tower, transformer), want, tower(probe).float()

    built = _if_agreeing("text tower", build)
    if built is None:
        return None
    model.transformer = built[1]  # the plain weights go: the packed ones replace them
    return built[0]


def textable(model: nn.Module) -> bool:
    """Whether ``PackedText`` reproduces a model's text tower: CLIP's (``truncatable``), with a
    standard transformer, projected by a matrix or a linear layer."""
    projection = getattr(model, "text_projection", None)
    return (
        truncatable(model)
        and isinstance(getattr(model, "token_embedding", None), nn.Embedding)
        and (isinstance(projection, nn.Linear) or isinstance(projection, torch.Tensor))
        and packable(getattr(model, "transformer", None))
    )
