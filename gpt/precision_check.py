"""Does the `bf16` precision keep the model's predictions? The quality rule and its measure.

Teacher-forced: the true text goes in, and at every position two paths predict the next token,
the exact model (its own float32 forward) and the fast decode path exactly as generation runs
it (bf16 weight copies through the KV cache, one position per step). Two numbers:
- top-1 agreement: the share of positions where both rank the same token first;
- mean |delta log p(target)|: how far, on average, the log-probability of the true next token
  moves (natural log; 0.01 is a 1% change in that probability).
The rule (tests/test_fast_precision.py on the bundled model, bench/generation.py on it and on a
trained 6x384 model): over 2,000 validation tokens, agreement >= 99% and mean |delta| <= 0.01.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .fast_weights import fast_weights
from .kv_cache import KVCache

RULE_TOKENS = 2000
MIN_TOP1_AGREEMENT = 0.99
MAX_MEAN_ABS_DLOGP = 0.01


@dataclass(frozen=True)
class FastAgreement:
    tokens: int  # positions compared
    top1_agreement: float  # share of positions whose likeliest next token is the same
    mean_abs_dlogp: float  # mean |log p_fast(target) - log p_exact(target)|

    @property
    def meets_rule(self) -> bool:
        return self.top1_agreement >= MIN_TOP1_AGREEMENT and self.mean_abs_dlogp <= MAX_MEAN_ABS_DLOGP


def fast_agreement(model, ids: torch.Tensor, tokens: int = RULE_TOKENS) -> FastAgreement:
    """Compare exact and fast on the first `tokens` predictions of ids (1-D token ids), cut
    into consecutive windows of block_size tokens, all windows run side by side as a batch.
    The model must be in float32 (the exact side is its forward)."""
    if model.tok_emb.weight.dtype != torch.float32:
        raise ValueError(f"The exact side is the float32 model; this one is in {model.tok_emb.weight.dtype}: call model.float() first.")
    T = model.config.block_size
    windows = math.ceil(tokens / T)
    if ids.dim() != 1 or ids.numel() < windows * T + 1:
        raise ValueError(f"Need a 1-D tensor of at least {windows * T + 1} token ids for {tokens} predictions, got shape {tuple(ids.shape)}.")
    chunk = ids[: windows * T + 1].long().to(model.device)
    x = chunk[:-1].view(windows, T)  # (W, T): each row a window of the text
    y = chunk[1:].view(windows, T)  # (W, T): the true next tokens
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            exact = model(x)[0].float()  # (W, T, V)
            cache = KVCache(model, windows, fast_weights(model))
            fast = torch.stack([cache.forward(x[:, t : t + 1]) for t in range(T)], dim=1).float()  # (W, T, V)
    finally:
        model.train(was_training)
    exact, fast, y = exact.flatten(0, 1)[:tokens], fast.flatten(0, 1)[:tokens], y.flatten()[:tokens]  # (N, V), (N, V), (N,)
    agree = (exact.argmax(-1) == fast.argmax(-1)).float().mean().item()
    logp_exact = exact.log_softmax(-1).gather(1, y[:, None])  # (N, 1)
    logp_fast = fast.log_softmax(-1).gather(1, y[:, None])  # (N, 1)
    return FastAgreement(tokens, agree, (logp_fast - logp_exact).abs().mean().item())
