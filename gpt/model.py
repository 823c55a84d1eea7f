"""A decoder-only GPT, built the way the article builds it.

Token embeddings plus learned position embeddings feed a stack of blocks. Each block lets the
tokens talk to each other (causal multi-head self-attention), then lets each token think on its
own (a feed-forward network), both on a LayerNorm'd copy of the residual stream and both added
back to it. A final LayerNorm and a language-model head turn the stream into next-token logits
at every position.

Lecture map: where this code departs from the lecture's (Karpathy, "Let's build GPT", and the
article that follows it), and why.
- One fused qkv projection instead of a ModuleList of heads, each with its own key, query and
  value Linear: the same arithmetic (each head's q, k, v are a slice of the fused output;
  tests/test_lecture_form.py builds the lecture's form, loads these weights into it and gets the
  same outputs) in one matrix multiply instead of 3 * n_head small ones.
- q, k and v have biases (the lecture's heads use bias=False), as GPT-2 does.
- Attention is scaled by 1/sqrt(head_size): the lecture's first version divided by sqrt(n_embd).
- GELU instead of ReLU in the feed-forward network (GPT-2's choice: smooth near zero).
- Weight tying: the head reuses the token embedding's matrix (GPT-2; vocab * n_embd fewer
  parameters, and a token's input and output vectors live in one space).
- Dropout on the embeddings too, besides the lecture's on the attention weights and on what
  attention and the feed-forward network add to the stream (GPT-2).
- GPT-2's initialisation: weights N(0, 0.02), and the two projections that write into the
  residual stream scaled by 1/sqrt(2 * n_layer), so the stream does not grow with depth.

The lecture builds this model up one idea at a time; GPTConfig's switches (residual, layer_norm,
mlp, bigram) give each earlier stage's model from the same code (gpt/ladder.py trains them all).
Switched off, a LayerNorm becomes the identity, a block without its MLP is attention alone, a
block without residual connections replaces the stream instead of adding to it, and the bigram
model is a table of logits with no blocks at all.

The `hook_*` modules are taps for looking inside (gpt/hooks.py): each passes its activation on
unchanged. They let gpt/trace.py and the attention views read q, k, v, scores, weights and the
residual stream without a second copy of this arithmetic.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import GPTConfig
from .errors import UserError
from .generation import generate, stream
from .hooks import HookPoint, capture_attention


def fused_attention_pays(q: torch.Tensor) -> bool:
    """Whether PyTorch's fused attention (scaled_dot_product_attention) is the faster path.

    It is, everywhere but one place: in bfloat16 on the CPU its kernel ran 1.5x (384 wide) to
    3.5x (128 wide) slower than the explicit bf16 matmuls below (bench/, 2-core EPYC). CPU
    training in bf16 (gpt/mixed_precision.py) therefore takes the explicit path."""
    return not (q.dtype == torch.bfloat16 and q.device.type == "cpu")


class CausalSelfAttention(nn.Module):
    """Every head asks (query) and offers (key, value); a token only sees itself and the past."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.head_size = config.head_size
        # One matrix computes the queries, keys and values of all heads at once.
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)  # mixes the heads back into the stream
        self.attn_dropout = nn.Dropout(config.dropout)  # on the attention weights
        self.resid_dropout = nn.Dropout(config.dropout)  # on what attention adds to the stream
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()  # (B, nh, T, hs)
        self.hook_scores = HookPoint()  # (B, nh, T, T): q·kᵀ/√hs, before the mask
        self.hook_weights = HookPoint()  # (B, nh, T, T): after the mask and the softmax
        self.hook_heads_out = HookPoint()  # (B, nh, T, hs): weights @ v

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        heads = (B, T, self.n_head, self.head_size)
        q = self.hook_q(q.view(heads).transpose(1, 2))  # (B, nh, T, hs)
        k = self.hook_k(k.view(heads).transpose(1, 2))  # (B, nh, T, hs)
        v = self.hook_v(v.view(heads).transpose(1, 2))  # (B, nh, T, hs)
        if self.inspected() or not fused_attention_pays(q):
            y = self.attend(q, k, v)
        else:
            y = self.attend_fused(q, k, v)
        y = self.hook_heads_out(y)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): the heads side by side
        return self.resid_dropout(self.proj(y))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The definition: softmax(q kᵀ / √hs, with the future masked out) v."""
        T = q.shape[-2]
        # Scaling q rather than the scores: the same product, on a tensor T/hs times smaller.
        scores = self.hook_scores((q * (1.0 / math.sqrt(self.head_size))) @ k.transpose(-2, -1))  # (B, nh, T, T)
        # The causal mask as a table: 0 for the past and the token itself, -inf above the diagonal.
        # Adding it sets the scores of later keys to -inf, like the lecture's masked_fill(tril == 0,
        # -inf), as one addition: 3x cheaper in bf16 on the CPU, and its gradient passes unchanged.
        future = scores.new_full((T, T), float("-inf")).triu(diagonal=1)  # (T, T)
        scores = scores + future  # a query never sees later keys
        weights = self.hook_weights(scores.softmax(dim=-1))  # (B, nh, T, T): each row sums to 1
        return self.attn_dropout(weights) @ v  # (B, nh, T, hs)

    def attend_fused(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The same, fused by PyTorch: the (T, T) weights are never written out."""
        dropout_p = self.attn_dropout.p if self.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)  # (B, nh, T, hs)

    def inspected(self) -> bool:
        """Someone listens to the scores, weights or heads' outputs: only the definition has them."""
        return any(p.listeners for p in (self.hook_scores, self.hook_weights, self.hook_heads_out))


class MLP(nn.Module):
    """Per-token computation: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)
        self.hook_hidden = HookPoint()  # (B, T, 4C): after the GELU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.hook_hidden(F.gelu(self.fc(x)))  # (B, T, 4C)
        return self.dropout(self.proj(hidden))  # (B, T, C)


class Block(nn.Module):
    """Communication (attention) then computation (MLP), each on a normalised copy of the stream.

    The lecture's earlier stages (gpt/ladder.py) are this block with parts switched off in the
    config: no LayerNorm, no MLP, or no residual connection (each part then replaces the stream
    instead of adding to it)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd) if config.layer_norm else nn.Identity()
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd) if config.layer_norm else nn.Identity()
        self.mlp = MLP(config) if config.mlp else None
        self.residual = config.residual
        self.hook_resid_in, self.hook_resid_mid, self.hook_resid_out = HookPoint(), HookPoint(), HookPoint()  # (B, T, C)
        self.hook_ln1_out, self.hook_ln2_out = HookPoint(), HookPoint()  # (B, T, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_in(x)  # (B, T, C)
        attended = self.attn(self.hook_ln1_out(self.ln_1(x)))
        x = self.hook_resid_mid(x + attended if self.residual else attended)  # the residual connection
        if self.mlp is not None:
            computed = self.mlp(self.hook_ln2_out(self.ln_2(x)))
            x = x + computed if self.residual else computed
        return self.hook_resid_out(x)


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError("GPT expects a GPTConfig.")
        self.config = config
        if config.bigram:
            self._init_bigram(config)
            return
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd) if config.layer_norm else nn.Identity()
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying: the same matrix reads tokens in and writes logits out.
        self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        # Each block adds two projections to the residual stream; scaling their init keeps the
        # stream's variance from growing with depth (GPT-2's recipe).
        for name, param in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_bigram(self, config: GPTConfig) -> None:
        """The lecture's first model: a (V, V) table whose row for the current token holds the
        logits of the next one. No positions, no attention: each token alone predicts the next."""
        self.tok_emb = nn.Embedding(config.vocab_size, config.vocab_size)  # (V, V): the table
        self.pos_emb = None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList()
        self.ln_f = nn.Identity()
        self.lm_head = nn.Identity()  # the table's row is already the logits
        nn.init.normal_(self.tok_emb.weight, mean=0.0, std=0.02)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        """Where the weights are (every stage of the model has a token table)."""
        return self.tok_emb.weight.device

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weights count once

    def residual_stream(self, idx: torch.Tensor) -> torch.Tensor:
        """The residual stream after the last block, (B, T, C), for token ids idx (B, T)."""
        T = idx.shape[1]
        x = self.tok_emb(idx)  # (B, T, C): what
        if self.pos_emb is not None:
            x = x + self.pos_emb.weight[:T]  # and where
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, return_attention: bool = False):
        """idx: (B, T) token ids. Returns logits for every position, (B, T, vocab_size), and the
        cross-entropy loss against targets (or None); with return_attention=True also the
        attention weights of every layer, (n_layer, B, n_head, T, T)."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}.")
        if idx.shape[1] > self.config.block_size:
            raise ValueError(
                f"Sequence of {idx.shape[1]} tokens is longer than the context of {self.config.block_size}: "
                "crop it to the last block_size tokens."
            )
        if return_attention:
            if self.config.bigram:
                raise UserError("model.bigram_attention")
            with capture_attention(self) as maps:
                logits, loss = self(idx, targets)
            return logits, loss, torch.stack(maps)  # (n_layer, B, nh, T, T)
        logits = self.lm_head(self.ln_f(self.residual_stream(idx)))  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss

    def last_logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits of the last position only, (B, vocab_size): generation needs nothing else."""
        return self.lm_head(self.ln_f(self.residual_stream(idx)[:, -1]))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None, precision="exact"):
        """Continue idx (B, T) by max_new_tokens tokens; returns (B, T + max_new_tokens).
        precision: "exact" (float32) or "bf16" (bf16 weights where they pay; gpt/generation.py)."""
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, generator, precision=precision)

    def generate_stream(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None, precision="exact"):
        """Yield the new tokens one step at a time, each (B, 1)."""
        return stream(self, idx, max_new_tokens, temperature, top_k, top_p, generator, precision=precision)
