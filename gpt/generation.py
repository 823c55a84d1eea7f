"""Autoregressive generation with a key/value cache.

The rule every path here keeps: the next token is what the model would predict from the
last block_size tokens, recomputed from scratch. A cache only makes that faster.

While the whole sequence fits in the context, keys and values of earlier tokens never
change, so they are computed once and cached; each new token costs one position. Once the
sequence is longer than block_size, the window slides: every token moves to a new absolute
position, so its learned position embedding, and with it every cached key and value, changes.
A sliding cache would then be wrong; we recompute the window (through the cache's lean
forward, gpt/kv_cache.py), asking only for the last position's logits.

precision="exact" (the default) computes in the model's own float32 weights: the same tokens as
the plain loop. precision="bf16" reads bfloat16 copies of the weights within the window, where
a step is one position and the weights' bytes set its speed (gpt/fast_weights.py: where they
pay, and the quality they keep); past the window it recomputes exactly, in float32. Sampling
always happens in float32 on the logits.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from .checks import whole_at_least
from .fast_weights import check_precision, decode_precision, fast_weights
from .kv_cache import KVCache, decode_threads
from .modes import evaluation
from .sampling import check_sampling, sample_next

# The sequence is allocated whole before the first token (8 bytes per token per row): this many
# new tokens is 80 MB a row, and hours of generation even for the smallest model.
MAX_NEW_TOKENS = 10_000_000


def check_prompt(idx, vocab_size: int, max_new_tokens) -> None:
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
        raise ValueError("The prompt must be a tensor of token ids shaped (batch, time).")
    if idx.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"Token ids must be integers, got {idx.dtype}.")
    if idx.shape[0] < 1 or idx.shape[1] < 1:
        raise ValueError("The prompt is empty: give at least one token to continue from.")
    low, high = int(idx.min()), int(idx.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"Token id {bad} is outside the vocabulary (0 to {vocab_size - 1}).")
    whole_at_least("max_new_tokens", max_new_tokens, 0)
    if max_new_tokens > MAX_NEW_TOKENS:
        raise ValueError(
            f"max_new_tokens must be at most {MAX_NEW_TOKENS:,}, got {max_new_tokens:,}: ask for fewer tokens "
            "(the whole sequence is allocated before the first one)."
        )


def stream(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    precision: str = "exact",
) -> Iterator[torch.Tensor]:
    """Yield max_new_tokens new tokens, each (B, 1), one step at a time.

    use_cache=False recomputes the cropped context for every token (the plain reference, always
    exact). precision: "exact" or "bf16" (see the module's docstring).
    Validation happens on the call, not at the first next().
    """
    check_prompt(idx, model.config.vocab_size, max_new_tokens)
    check_sampling(temperature, top_k, top_p)
    check_precision(precision)
    # A bigram model reads its next token's logits from a table row: there is nothing to cache.
    use_cache = use_cache and not model.config.bigram
    # A prompt already past the window starts with the exact recompute: no fast step to take.
    fast = use_cache and idx.shape[1] <= model.config.block_size and decode_precision(model, precision) == "bf16"
    return _stream(model, idx.long(), max_new_tokens, temperature, top_k, top_p, generator, use_cache, fast)


def _module_last_logits(model, window: torch.Tensor) -> torch.Tensor:
    """The model's own forward in eval mode (no dropout), leaving its train/eval mode as it was.
    The cache's forward needs no such switch: it is written for evaluation only."""
    with evaluation(model):
        return model.last_logits(window)


def _stream(model, idx, max_new_tokens, temperature, top_k, top_p, generator, use_cache, fast):
    block_size = model.config.block_size
    device = model.device
    # Every token of the sequence, preallocated: the window is a view into it, never a copy.
    tokens = torch.empty(idx.shape[0], idx.shape[1] + max_new_tokens, dtype=torch.long, device=device)
    tokens[:, : idx.shape[1]] = idx
    length = idx.shape[1]
    # fast: the weights are taken (built if need be) once, here, and kept to the end.
    cache = KVCache(model, idx.shape[0], fast_weights(model) if fast else None) if use_cache else None
    for _ in range(max_new_tokens):
        # Inference mode only while computing, never across a yield: the caller's code between
        # two tokens runs with its own autograd settings.
        with torch.inference_mode():
            if cache is None:
                logits = _module_last_logits(model, tokens[:, max(0, length - block_size) : length])  # (B, V)
            elif length <= block_size and cache.length == length - 1:
                with decode_threads(device):  # one position: matrix-vector products
                    logits = cache.forward(tokens[:, cache.length : length])  # (B, V)
            elif length <= block_size:
                logits = cache.forward(tokens[:, cache.length : length])  # (B, V): the prompt
            else:
                # The window slid: every token sits at a new position, so its keys and values
                # are recomputed, through the cache's lean forward, in float32 (exact).
                if fast:
                    cache, fast = KVCache(model, idx.shape[0]), False
                cache.reset()
                logits = cache.forward(tokens[:, length - block_size : length])  # (B, V)
            next_token = sample_next(logits, temperature, top_k, top_p, generator)  # (B, 1)
            tokens[:, length : length + 1] = next_token
        length += 1
        yield next_token.clone()


def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None, use_cache=True, precision="exact"):
    """The prompt followed by max_new_tokens sampled tokens, (B, T + max_new_tokens)."""
    new_tokens = list(stream(model, idx, max_new_tokens, temperature, top_k, top_p, generator, use_cache, precision))
    return torch.cat([idx.to(model.device).long(), *new_tokens], dim=1)
