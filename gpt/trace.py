"""A full trace of one forward pass: every intermediate a learner may want to look at.

    from gpt import trace
    t = trace(model, idx)        # idx: (1, T) token ids, T <= block_size
    t.layers[0].weights          # (H, T, T): layer 0's attention after the mask and the softmax
    t.logit_lens[2]              # (T, V): what the model would predict after two layers

It listens at the model's hook points (gpt/hooks.py) during one ordinary forward, so it reads
exactly what the model computes, and nothing is recorded unless trace() is called. The logit
lens applies the final LayerNorm afresh to the stream after the embeddings and after each
layer, then the head: each row is what the model would predict if it stopped there.

The lecture's earlier stages (GPTConfig's switches) trace too: without LayerNorm its taps see
the stream as it is, without an MLP its taps are None. A bigram model has no blocks to trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .hooks import listening
from .modes import evaluation

# Each layer's taps, by the name they get in LayerTrace and the hook point they come from.
LAYER_TAPS = {
    "resid_in": "hook_resid_in",
    "ln1_out": "hook_ln1_out",
    "q": "attn.hook_q",
    "k": "attn.hook_k",
    "v": "attn.hook_v",
    "scores": "attn.hook_scores",
    "weights": "attn.hook_weights",
    "heads_out": "attn.hook_heads_out",
    "resid_mid": "hook_resid_mid",
    "ln2_out": "hook_ln2_out",
    "mlp_hidden": "mlp.hook_hidden",
    "resid_out": "hook_resid_out",
}


@dataclass(frozen=True)
class LayerTrace:
    """One block of one sequence, float32 on the CPU."""

    resid_in: torch.Tensor  # (T, C): the stream before attention
    ln1_out: torch.Tensor  # (T, C): what LayerNorm hands to attention
    q: torch.Tensor  # (H, T, hs)
    k: torch.Tensor  # (H, T, hs)
    v: torch.Tensor  # (H, T, hs)
    scores: torch.Tensor  # (H, T, T): q·kᵀ/√hs, before the causal mask
    weights: torch.Tensor  # (H, T, T): after the mask and the softmax
    heads_out: torch.Tensor  # (H, T, hs): weights @ v
    resid_mid: torch.Tensor  # (T, C): the stream after attention
    ln2_out: torch.Tensor | None  # (T, C): what LayerNorm hands to the MLP (None: a model without MLP)
    mlp_hidden: torch.Tensor | None  # (T, 4C): after the GELU (None: a model without MLP)
    resid_out: torch.Tensor  # (T, C): the stream after the MLP


@dataclass(frozen=True)
class Trace:
    token_emb: torch.Tensor  # (T, C): each token's embedding
    pos_emb: torch.Tensor  # (T, C): each position's embedding
    layers: list[LayerTrace]
    logit_lens: torch.Tensor  # (n_layer + 1, T, V): ln_f + head on the stream after the embeddings and each layer
    logits: torch.Tensor  # (T, V): the model's own logits


def _keep(store: dict, key: str):
    def listen(x: torch.Tensor) -> None:
        store[key] = x[0].detach().float().cpu().clone()  # batch of one; copied: the model may write into x later

    return listen


@torch.no_grad()
def trace(model, idx: torch.Tensor) -> Trace:
    """Run idx (1, T) through the model in evaluation mode and keep every intermediate."""
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.shape[0] != 1:
        raise ValueError("trace takes one sequence of token ids shaped (1, T).")
    if model.config.bigram:
        raise ValueError("A bigram model has no layers to trace: it reads the next token from a table row.")
    T = idx.shape[1]
    if not 1 <= T <= model.config.block_size:
        raise ValueError(f"trace needs 1 to {model.config.block_size} tokens (the context), got {T}.")
    stores = [{} for _ in model.blocks]
    listeners = {}
    for block, store in zip(model.blocks, stores):
        for name, path in LAYER_TAPS.items():
            if block.mlp is not None or not path.startswith(("mlp.", "hook_ln2")):  # no MLP: no taps around it
                listeners[block.get_submodule(path)] = _keep(store, name)
    with evaluation(model), listening(listeners):
        logits, _ = model(idx)  # (1, T, V)
    token_emb = model.tok_emb.weight[idx[0]].detach().float().cpu()  # (T, C)
    pos_emb = model.pos_emb.weight[:T].detach().float().cpu()  # (T, C)
    streams = [token_emb + pos_emb] + [store["resid_out"] for store in stores]  # n_layer + 1 x (T, C)
    ln_f, head = model.ln_f, model.lm_head

    def final_norm(s: torch.Tensor) -> torch.Tensor:  # (T, C); the identity in a model without LayerNorm
        if not isinstance(ln_f, nn.LayerNorm):
            return s
        return F.layer_norm(s, s.shape[-1:], ln_f.weight.float().cpu(), ln_f.bias.float().cpu(), ln_f.eps)

    lens = torch.stack(
        [F.linear(final_norm(s), head.weight.float().cpu()) for s in streams]
    )  # (n_layer + 1, T, V): ln_f applied afresh to each stream, then the head
    return Trace(
        token_emb=token_emb,
        pos_emb=pos_emb,
        layers=[LayerTrace(**{name: store.get(name) for name in LAYER_TAPS}) for store in stores],
        logit_lens=lens,
        logits=logits[0].detach().float().cpu(),
    )
