"""Turning next-token logits into a choice: temperature, top-k, top-p (nucleus).

- temperature divides the logits: below 1 sharpens the distribution, above 1 flattens it,
  and 0 means always take the most likely token (greedy).
- top-k keeps only the k most likely tokens.
- top-p keeps the smallest set of most likely tokens whose probabilities add up to p.
"""

from __future__ import annotations

import math

import torch

from .checks import is_number, is_whole


def check_sampling(temperature, top_k, top_p) -> None:
    """Raise ValueError, saying what to change, for settings that cannot be sampled with."""
    if not is_number(temperature):
        raise ValueError(f"temperature must be a number, got {temperature!r}.")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), got {temperature}.")
    if top_k is not None:
        if not is_whole(top_k):
            raise ValueError(f"top_k must be a whole number or None, got {top_k!r}.")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1 (or None for no limit), got {top_k}.")
    if top_p is not None:
        if not is_number(top_p):
            raise ValueError(f"top_p must be a number or None, got {top_p!r}.")
        if not (math.isfinite(top_p) and 0.0 < top_p <= 1.0):
            raise ValueError(f"top_p must be in (0, 1] (1 keeps every token), got {top_p}.")


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set the logits of tokens outside the top-k / top-p set to -inf. logits: (B, V)."""
    if top_k is not None and top_k < logits.size(-1):
        kth_best = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (B, V)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)  # (B, V)
        # Drop a token when the tokens before it already reach top_p; the best always stays.
        drop_sorted = (cumulative - sorted_logits.softmax(dim=-1)) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pick one next token per row of logits (B, V); returns (B, 1) token ids."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float()
    # Shift so the best logit is 0 before dividing: a tiny temperature then sends the others
    # to -inf instead of overflowing every logit to inf (which would make softmax NaN).
    logits = (logits - logits.max(dim=-1, keepdim=True).values) / temperature
    logits = filter_logits(logits, top_k, top_p)
    probs = logits.softmax(dim=-1)  # (B, V)
    if generator is not None and generator.device != probs.device:
        return torch.multinomial(probs.cpu(), 1, generator=generator).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator)
