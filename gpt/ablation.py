"""Switching heads off: what the model does without them.

To ablate a head is to remove what it adds to the stream and watch what changes. A head's output
is its weighted sum of values, (T, hs) per sequence; the heads' outputs sit side by side and the
attention's output projection mixes them into the stream. Ablation replaces the chosen heads'
outputs just before that projection (the `hook_heads_out` tap of each CausalSelfAttention),
through a hook-point editor (gpt/hooks.py) that is attached only inside `with ablate(...)`:
- "zero": the output becomes 0. The projection then adds only its bias for that head's share,
  so with every head of a layer off, the attention adds exactly the projection's bias.
- "mean": the output becomes its mean over the batch, position by position (TransformerLens'
  and ARENA's mean ablation: the same forward's batch, each position averaged separately,
  since what a head writes at position 3 differs in kind from what it writes at 30). The head
  then carries what it says about any text, not what it says about this one. On a single
  sequence the mean is the sequence itself and nothing changes: mean ablation needs a batch.

Generation goes through the key/value cache's lean forward (gpt/kv_cache.py), which calls the
same tap's editors at the same place, so `with ablate(model, heads): model.generate(...)`
generates with those heads off, cached or not. Enter the block before generation starts: keys
and values cached before it were computed with every head on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from .checks import is_whole
from .head_detection import check_attention_model, check_ids
from .hooks import editing
from .modes import evaluation

MODES = ("zero", "mean")


def check_heads(model, heads) -> list[tuple[int, int]]:
    """heads as a sorted list of distinct (layer, head) pairs; ValueError naming the valid range."""
    check_attention_model(model)
    n_layer, n_head = model.config.n_layer, model.config.n_head
    valid = f"layers 0 to {n_layer - 1}, heads 0 to {n_head - 1}"
    if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) and not isinstance(heads, (set, frozenset)):
        raise ValueError(f"heads must be a list of (layer, head) pairs ({valid}), got {type(heads).__name__}.")
    if len(heads) == 0:
        raise ValueError(f"No heads to switch off: give at least one (layer, head) pair ({valid}).")
    pairs = set()
    for pair in heads:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(is_whole(x) for x in pair):
            raise ValueError(f"Each head is a (layer, head) pair of whole numbers ({valid}), got {pair!r}.")
        layer, head = int(pair[0]), int(pair[1])
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise ValueError(f"Head ({layer}, {head}) is not in this model: it has {valid}.")
        pairs.add((layer, head))
    return sorted(pairs)


def head_editor(heads: list[int], n_head: int, mode: str):
    """The function that replaces the outputs of `heads` (indices in one layer) in y (B, nh, T, hs).
    It builds a new tensor, never writes into y: autograd may still need y as it was."""
    off = torch.zeros(n_head, dtype=torch.bool)
    off[heads] = True

    def change(y: torch.Tensor) -> torch.Tensor:
        mask = off.to(y.device)[None, :, None, None]  # (1, nh, 1, 1)
        if mode == "zero":
            return y.masked_fill(mask, 0.0)  # (B, nh, T, hs)
        return torch.where(mask, y.mean(dim=0, keepdim=True), y)  # (B, nh, T, hs): batch mean per position

    return change


@contextmanager
def ablate(model, heads, mode: str = "zero") -> Iterator[None]:
    """`with ablate(model, [(layer, head), ...], mode="zero"):` every forward (and generation) in
    the block runs with those heads' outputs removed ("zero") or replaced by their batch mean
    ("mean"); the model is as before when the block ends, however it ends."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'zero' or 'mean', got {mode!r}.")
    pairs = check_heads(model, heads)
    by_layer: dict[int, list[int]] = {}
    for layer, head in pairs:
        by_layer.setdefault(layer, []).append(head)
    editors = {
        model.blocks[layer].attn.hook_heads_out: head_editor(layer_heads, model.config.n_head, mode)
        for layer, layer_heads in by_layer.items()
    }
    with editing(editors):
        yield


def ablation_effects(model, idx: torch.Tensor, targets: torch.Tensor, mode: str = "zero") -> torch.Tensor:
    """(n_layer, n_head) float32: how much the mean loss on idx (B, T) against targets (B, T)
    rises when each head alone is ablated (negative: the model does better without it). In
    evaluation mode, one forward per head plus one without ablation."""
    check_attention_model(model)
    check_ids(idx, model.config.vocab_size)
    check_ids(targets, model.config.vocab_size)
    if targets.shape != idx.shape:
        raise ValueError(f"targets must have the shape of idx, {tuple(idx.shape)}, got {tuple(targets.shape)}.")
    if mode not in MODES:
        raise ValueError(f"mode must be 'zero' or 'mean', got {mode!r}.")
    idx, targets = idx.to(model.device), targets.to(model.device)
    cfg = model.config
    effects = torch.zeros(cfg.n_layer, cfg.n_head)
    with torch.no_grad(), evaluation(model):
        base = mean_loss(model, idx, targets)
        for layer in range(cfg.n_layer):
            for head in range(cfg.n_head):
                with ablate(model, [(layer, head)], mode):
                    effects[layer, head] = mean_loss(model, idx, targets) - base
    return effects


def mean_loss(model, idx: torch.Tensor, targets: torch.Tensor) -> float:
    _, loss = model(idx, targets)
    return loss.item()
