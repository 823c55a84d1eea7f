"""The key/value cache: generation's fast path through the model.

While a sequence fits in the context, a token's key and value in every layer never change once
computed (a token only attends to itself and the past). So generation computes them once,
keeps them here, and runs only the new token through the model: one position per layer instead
of the whole window.

The forward below is the model's own forward (gpt/model.py) in evaluation mode (no dropout), for a few new
positions, written with plain functions on the model's weights: the same operations on the same
weights, so the logits agree with the full forward's to float rounding and generation picks the
same tokens (tests/test_kv_cache.py, tests/test_generation.py). It is written out because, at one position, the work per layer is a handful of tiny matrix-vector
products and Python's module machinery around them cost as much as the arithmetic: this path
ran a 4-layer, 128-wide step in 0.48 ms against the modules' 0.71 ms (2-core EPYC, bench/).

The weights it reads come as a DecodeWeights: by default the model's own tensors (the `exact`
precision, float32, the same tokens as the plain loop), or bfloat16 copies that another module
builds and multiplies its own way (the `bf16` precision, gpt/fast_weights.py). Either way the
residual stream, LayerNorm, attention, the cache and the logits stay in the stream's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# CPU threads for a one-position step. Its products are matrix-vector, tens of microseconds
# each: splitting them across threads costs more in waking and syncing than it saves, and a
# second thread that another process is using stalls every op. On the 2-core EPYC one thread
# decoded at 1,911 tok/s against 1,640 with two (4 layers x 128) and 173 against 164 (6 x 384)
# (bench/RESULTS.md); on a quiet machine the two were within noise of each other.
DECODE_THREADS = 1


@contextmanager
def decode_threads(device: torch.device):
    """Run a one-position step on DECODE_THREADS CPU threads, then give the caller back its
    own count. torch's count belongs to the OS thread, so no other thread is affected."""
    before = torch.get_num_threads()
    if device.type != "cpu" or before <= DECODE_THREADS:
        yield
        return
    torch.set_num_threads(DECODE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def linear_gelu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The MLP's widening product and its GELU."""
    return F.gelu(F.linear(x, weight, bias))


@dataclass(frozen=True)
class DecodeWeights:
    """What a decode step reads, looked up once: at one position per step, even nn.Module's
    attribute lookups are a visible share of the time."""

    # Per block: ln_1 weight, bias; qkv weight, bias; attn proj weight, bias; ln_2 weight, bias;
    # mlp fc weight, bias; mlp proj weight, bias. None where the model has no such part.
    layers: tuple[tuple[torch.Tensor, ...], ...]
    final: tuple[torch.Tensor | None, ...]  # tok_emb, pos_emb, ln_f weight, ln_f bias (or None), lm_head weight
    # The blocks' products, (x, weight, bias) -> x @ weight.T + bias, and the MLP's first one
    # followed by its GELU. The weight is whatever this bundle holds (for `bf16`, a bf16 copy in
    # the layout its multiply wants); the result may be in another dtype than the stream's
    # (`bf16` returns bf16: adding it to the float32 stream promotes it). The final LayerNorm and
    # the logits always use F.linear on the stream's dtype.
    linear: Callable = F.linear
    linear_gelu: Callable = linear_gelu
    dtype: torch.dtype = torch.float32  # the residual stream's, and the cached keys' and values'


def layer_norm_weights(module) -> tuple:
    """A LayerNorm's gain and bias; (None, None) for a stage of the lecture without LayerNorm."""
    return (module.weight, module.bias) if isinstance(module, nn.LayerNorm) else (None, None)


def model_weights(model) -> DecodeWeights:
    """The model's own tensors (the `exact` precision): nothing is copied. A part the model does
    not have (LayerNorm, the MLP: gpt/ladder.py's earlier stages) is None."""
    layers = tuple(
        (
            *layer_norm_weights(b.ln_1), b.attn.qkv.weight, b.attn.qkv.bias, b.attn.proj.weight, b.attn.proj.bias,
            *layer_norm_weights(b.ln_2),
            *((b.mlp.fc.weight, b.mlp.fc.bias, b.mlp.proj.weight, b.mlp.proj.bias) if b.mlp is not None else (None,) * 4),
        )
        for b in model.blocks
    )
    final = (model.tok_emb.weight, model.pos_emb.weight, *layer_norm_weights(model.ln_f), model.lm_head.weight)
    return DecodeWeights(layers, final, dtype=model.tok_emb.weight.dtype)


class KVCache:
    """Keys and values of every layer for the first `length` positions of B sequences."""

    def __init__(self, model, batch: int, weights: DecodeWeights | None = None):
        cfg = model.config
        if cfg.bigram:
            raise ValueError("A bigram model has no keys or values to cache: it reads the next token's logits from a table.")
        self.residual = cfg.residual
        self.n_embd, self.n_head, self.head_size = cfg.n_embd, cfg.n_head, cfg.head_size
        self.block_size = cfg.block_size
        self.weights = weights if weights is not None else model_weights(model)
        ref = model.tok_emb.weight
        shape = (batch, cfg.n_head, cfg.block_size, cfg.head_size)
        self.keys = [ref.new_empty(shape, dtype=self.weights.dtype) for _ in range(cfg.n_layer)]  # each (B, nh, block, hs)
        self.values = [ref.new_empty(shape, dtype=self.weights.dtype) for _ in range(cfg.n_layer)]
        self.length = 0  # positions filled
        self.layers, self.final = self.weights.layers, self.weights.final
        # Each layer's tap on the heads' outputs: its editors (heads switched off, gpt/ablation.py)
        # apply here too, so generation sees the model the full forward would.
        self.heads_out = tuple(b.attn.hook_heads_out for b in model.blocks)

    def reset(self) -> None:
        """Forget every position (the buffers are reused)."""
        self.length = 0

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Run the new tokens idx (B, T) at positions length.., store their keys and values,
        and return the next-token logits of the last one, (B, vocab_size)."""
        B, T = idx.shape
        start, end = self.length, self.length + T
        if end > self.block_size:
            raise ValueError(f"The cache holds {self.block_size} positions; {end} were asked for.")
        if T > 1 and start > 0:
            raise ValueError("Several new tokens at once are only supported for the prompt, at position 0.")
        C, nh, hs = self.n_embd, self.n_head, self.head_size
        tok_emb, pos_emb, ln_f_weight, ln_f_bias, lm_head = self.final
        linear, linear_gelu, residual = self.weights.linear, self.weights.linear_gelu, self.residual
        # Rows are (sequence, position) pairs: 2-D all the way, so each linear is one addmm.
        x = (F.embedding(idx, tok_emb) + pos_emb[start:end]).view(B * T, C)  # (B*T, C)
        last_layer = len(self.layers) - 1
        for i, (layer, keys, values, heads_out) in enumerate(zip(self.layers, self.keys, self.values, self.heads_out)):
            ln_1_w, ln_1_b, qkv_w, qkv_b, attn_proj_w, attn_proj_b, ln_2_w, ln_2_b, fc_w, fc_b, mlp_proj_w, mlp_proj_b = layer
            h = x if ln_1_w is None else F.layer_norm(x, (C,), ln_1_w, ln_1_b)
            q, k, v = linear(h, qkv_w, qkv_b).view(B, T, 3, nh, hs).permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, nh, T, hs)
            keys.narrow(2, start, T).copy_(k)  # (copy_ converts to the cache's dtype if need be)
            values.narrow(2, start, T).copy_(v)
            q = q.to(keys.dtype)  # the same tensor unless `bf16` computed it in bf16
            if i == last_layer and T > 1:
                # Only the last position's output is read from the last layer: every position
                # has given its key and value, but only the last one asks (query) and goes on.
                q = q[:, :, -1:]  # (B, nh, 1, hs)
                x = x.view(B, T, C)[:, -1]  # (B, C)
            # Several queries (a prompt, at position 0) attend causally, the usual triangle;
            # a single query, the newest position, may look at every cached key.
            rows = q.shape[2]
            y = F.scaled_dot_product_attention(q, keys.narrow(2, 0, end), values.narrow(2, 0, end), is_causal=rows > 1)
            if heads_out.editors:  # (B, nh, rows, hs), as the module's hook_heads_out sees it
                y = heads_out.edit(y)
            y = y.transpose(1, 2).reshape(B * rows, C)  # (B*rows, C): heads side by side
            attended = linear(y, attn_proj_w, attn_proj_b)
            # The residual connection adds to the stream; without it (an earlier stage of the
            # lecture) the part's output replaces the stream, in the stream's dtype.
            x = x + attended if residual else attended.to(x.dtype)
            if fc_w is not None:
                h = x if ln_2_w is None else F.layer_norm(x, (C,), ln_2_w, ln_2_b)
                computed = linear(linear_gelu(h, fc_w, fc_b), mlp_proj_w, mlp_proj_b)
                x = x + computed if residual else computed.to(x.dtype)
        self.length = end
        last = x.view(B, -1, C)[:, -1]  # (B, C)
        if ln_f_weight is not None:
            last = F.layer_norm(last, (C,), ln_f_weight, ln_f_bias)
        return F.linear(last, lm_head)  # (B, vocab_size)

