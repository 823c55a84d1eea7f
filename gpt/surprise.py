"""How surprised the model is by each token of a text, and what it expected there instead.

The surprise of token i (i >= 1) is -log p(ids[i] | context), in nats, where the context is
everything before it that fits in the model's window: ids[max(0, i - block_size) : i]. That is
exactly what the model saw in training and sees when it generates.

Computing it exactly and cheaply:
- tokens 1..block_size: their contexts are all prefixes of the first window, so one forward
  of ids[:block_size] predicts them all (a causal model's position p sees tokens 0..p);
- each later token i needs the window ids[i - block_size : i] with its first token at
  position 0. Position embeddings are learned per absolute position, so a window that starts
  elsewhere puts every token at another position: windows cannot share work, and only the
  last position of each is used. These windows (one per token) are run in batches, through
  `GPT.last_logits`, which applies the language-model head to the last position only.
Everything runs in evaluation mode (no dropout) under inference mode; the model's mode is
restored afterwards.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .checks import whole_at_least
from .modes import evaluation

WINDOW_TOKENS = 4096  # tokens per batch of windows past the first: bounds the memory of one forward


class Surprise(NamedTuple):
    """Row i - 1 describes token i (token 0 has no context to be predicted from)."""

    losses: torch.Tensor  # (N - 1,) float32: -log p(ids[i] | context), nats
    top_ids: torch.Tensor  # (N - 1, k) int64: the k likeliest tokens at position i, likeliest first
    top_probs: torch.Tensor  # (N - 1, k) float32: their probabilities


def _check_ids(ids, vocab_size: int) -> torch.Tensor:
    ids = torch.as_tensor(ids)
    if ids.dim() != 1 or ids.numel() == 0 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"ids must be a non-empty list or 1-D tensor of token ids, got shape {tuple(ids.shape)}.")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"Token id {low if low < 0 else high} is outside the vocabulary (0 to {vocab_size - 1}).")
    return ids.long()


def _next_token_logits(model, ids: torch.Tensor):
    """Yield (first target index, logits (n, vocab)) chunks predicting ids[1:], in order."""
    block_size, n = model.config.block_size, ids.numel()
    first = ids[: min(n - 1, block_size)].view(1, -1)  # (1, T)
    if first.numel():
        logits, _ = model(first)  # (1, T, V): position p predicts token p + 1
        yield 1, logits[0]
    if n - 1 > block_size:
        windows = ids[1 : n - 1].unfold(0, block_size, 1)  # (n - 1 - block_size, block_size): window of token block_size + 1 + w
        per_batch = max(1, WINDOW_TOKENS // block_size)
        for start in range(0, windows.shape[0], per_batch):
            yield block_size + 1 + start, model.last_logits(windows[start : start + per_batch])  # (b, V)


def token_surprise(model, ids, k: int = 5) -> Surprise:
    """Every token's surprise and the model's k likeliest guesses for it, in one pass."""
    whole_at_least("k", k, 0)
    device = model.device
    ids = _check_ids(ids, model.config.vocab_size).to(device)  # (N,)
    k = min(k, model.config.vocab_size)
    losses, top_ids, top_probs = [], [], []
    with evaluation(model), torch.inference_mode():
        for start, logits in _next_token_logits(model, ids):
            log_probs = logits.float().log_softmax(-1)  # (n, V)
            targets = ids[start : start + log_probs.shape[0]]  # (n,)
            losses.append(-log_probs.gather(1, targets.view(-1, 1)).view(-1))  # (n,)
            best = log_probs.topk(k, dim=-1)  # (n, k), likeliest first
            top_ids.append(best.indices)
            top_probs.append(best.values.exp())
    if not losses:  # a single token: nothing to predict
        return Surprise(torch.zeros(0), torch.zeros(0, k, dtype=torch.long), torch.zeros(0, k))
    return Surprise(torch.cat(losses).cpu(), torch.cat(top_ids).cpu(), torch.cat(top_probs).cpu())


def token_losses(model, ids) -> torch.Tensor:
    """-log p(ids[i] | ids[max(0, i - block_size) : i]) for i = 1..N-1: (N - 1,) float32, nats."""
    return token_surprise(model, ids, k=0).losses


def top_guesses(model, ids, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's k likeliest tokens at each position i = 1..N-1 (same context as token_losses):
    ids (N - 1, k) int64 and probabilities (N - 1, k) float32, likeliest first."""
    result = token_surprise(model, ids, k)
    return result.top_ids, result.top_probs
