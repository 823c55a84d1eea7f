"""A decoder-only GPT, built the way the article builds it.

Token embeddings plus learned position embeddings feed a stack of blocks. Each block is
pre-LayerNorm causal multi-head self-attention followed by a 4x MLP with GELU, both added
to the residual stream. A final LayerNorm and a language-model head (tied to the token
embedding) turn the stream into next-token logits at every position.

Attention has two paths:
- the fast path, `scaled_dot_product_attention`, for training and generation;
- the explicit path, softmax(QK^T / sqrt(d)) V written out, used only when the attention
  weights are asked for (the heatmaps), so training never pays for materialising them.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import GPTConfig
from .dropout import Dropout, dropout
from .generation import generate, stream


class CausalSelfAttention(nn.Module):
    """Every head asks (query) and offers (key, value); a token only sees itself and the past."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.head_size = config.head_size
        self.dropout = config.dropout
        # One matrix computes queries, keys and values of all heads at once.
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)  # mixes the heads back into the stream
        self.resid_dropout = Dropout(config.dropout)

    def split_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        shape = (B, T, self.n_head, self.head_size)
        q = q.view(shape).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(shape).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(shape).transpose(1, 2)  # (B, nh, T, hs)
        return q, k, v

    def merge_heads(self, y: torch.Tensor) -> torch.Tensor:
        B, nh, T, hs = y.shape
        y = y.transpose(1, 2).reshape(B, T, nh * hs)  # (B, T, C): heads side by side
        return self.resid_dropout(self.proj(y))

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        q, k, v = self.split_heads(x)
        dropout_p = self.dropout if self.training else 0.0
        # CPU bf16 is the exception to "SDPA is fast": its CPU kernel in bf16 ran 1.5x (384 wide)
        # to 3.5x (128 wide) slower than these explicit bf16 matmuls (bench/, 2-core EPYC).
        explicit = return_attention or (q.dtype == torch.bfloat16 and q.device.type == "cpu")
        if not explicit:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            return self.merge_heads(y), None  # y: (B, nh, T, hs)
        T = x.shape[1]
        # Scaling q rather than the scores: the same product, on a tensor T/hs times smaller.
        scores = (q * (1.0 / math.sqrt(self.head_size))) @ k.transpose(-2, -1)  # (B, nh, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(diagonal=1)  # (T, T)
        scores.masked_fill_(future, float("-inf"))  # a query never sees later keys
        weights = scores.softmax(dim=-1)  # (B, nh, T, T): each row sums to 1
        y = dropout(weights, dropout_p, self.training) @ v  # (B, nh, T, hs)
        return self.merge_heads(y), weights if return_attention else None


class MLP(nn.Module):
    """Per-token computation: widen 4x, GELU, project back."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x))))


class Block(nn.Module):
    """Communication (attention) then computation (MLP), each on a normalised copy of the stream."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        attended, weights = self.attn(self.ln_1(x), return_attention)
        x = x + attended  # residual connection
        x = x + self.mlp(self.ln_2(x))
        return x, weights


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError("GPT expects a GPTConfig.")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying: the same matrix reads tokens in and writes logits out.
        self.lm_head.weight = self.tok_emb.weight
        self.apply(self._init_weights)
        # Each block adds two projections to the residual stream; scaling their init keeps the
        # stream's variance from growing with depth (GPT-2's recipe).
        for name, param in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weights count once

    def _embed(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        T = idx.shape[1]
        positions = self.pos_emb.weight[start : start + T]  # (T, C)
        return self.drop(self.tok_emb(idx) + positions)  # (B, T, C)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, return_attention: bool = False):
        """idx: (B, T) token ids. Returns logits for every position, (B, T, vocab_size), and the
        cross-entropy loss against targets (or None); with return_attention=True also the
        attention weights of every layer, (n_layer, B, n_head, T, T)."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got {tuple(idx.shape)}.")
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(
                f"Sequence of {T} tokens is longer than the context of {self.config.block_size}: "
                "crop it to the last block_size tokens."
            )
        x = self._embed(idx)
        maps = []
        for block in self.blocks:
            x, weights = block(x, return_attention)
            maps.append(weights)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        if return_attention:
            return logits, loss, torch.stack(maps)  # (n_layer, B, nh, T, T)
        return logits, loss

    def last_logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits of the last position only, (B, vocab_size): generation needs nothing else."""
        x = self._embed(idx)
        for block in self.blocks:
            x, _ = block(x)
        return self.lm_head(self.ln_f(x[:, -1]))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None, precision="exact"):
        """Continue idx (B, T) by max_new_tokens tokens; returns (B, T + max_new_tokens).
        precision: "exact" (float32) or "fast" (bf16 weights where they pay; gpt/generation.py)."""
        return generate(self, idx, max_new_tokens, temperature, top_k, top_p, generator, precision=precision)

    def generate_stream(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None, precision="exact"):
        """Yield the new tokens one step at a time, each (B, 1)."""
        return stream(self, idx, max_new_tokens, temperature, top_k, top_p, generator, precision=precision)
