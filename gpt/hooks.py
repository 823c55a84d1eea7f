"""Hook points: named taps on the model's activations, for looking inside without changing it.

In the spirit of TransformerLens: the model passes each interesting activation through a
HookPoint (`blocks.0.attn.hook_weights`, ...), which hands it unchanged to whoever listens.
Nobody listens while the model trains, so a tap costs one call that returns its input. The
views (attention maps, gpt/trace.py's full trace) listen inside a `with` block that always
removes its listeners, even when the forward raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn as nn


class HookPoint(nn.Module):
    """Identity on an activation, which listeners may read but never change. A listener that keeps
    the tensor copies it: the model may write into it later (the causal mask goes into the scores
    in place)."""

    def __init__(self):
        super().__init__()
        self.listeners: list[Callable[[torch.Tensor], None]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for listen in self.listeners:
            listen(x)
        return x


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Every hook point of the model, by its path (`blocks.1.attn.hook_weights`)."""
    return {name: module for name, module in model.named_modules() if isinstance(module, HookPoint)}


@contextmanager
def listening(listeners: dict[HookPoint, Callable[[torch.Tensor], None]]) -> Iterator[None]:
    """Attach listeners to hook points for the length of the block; always detach them."""
    attached = []
    try:
        for point, listen in listeners.items():
            point.listeners.append(listen)
            attached.append((point, listen))
        yield
    finally:
        for point, listen in attached:
            point.listeners.remove(listen)


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """`with capture_attention(model) as maps:` — after a forward in the block, maps holds each
    layer's attention weights, (B, n_head, T, T), in layer order. Listening makes attention take
    its explicit path, the only one that writes the weights out."""
    maps: list[torch.Tensor] = []
    with listening({block.attn.hook_weights: maps.append for block in model.blocks}):
        yield maps
