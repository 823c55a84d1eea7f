"""Hook points: named taps on the model's activations, for looking inside without changing it.

In the spirit of TransformerLens: the model passes each interesting activation through a
HookPoint (`blocks.0.attn.hook_weights`, ...), which hands it unchanged to whoever listens.
Nobody listens while the model trains, so a tap costs one call that returns its input. The
views (attention maps, gpt/trace.py's full trace) listen inside a `with` block that always
removes its listeners, even when the forward raises.

An experiment that changes the model's computation (switching heads off, gpt/ablation.py) is
an editor instead: a function that returns what flows on in place of the activation, attached
the same way, inside a `with` block (`editing`). Listeners see the edited activation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn as nn


class HookPoint(nn.Module):
    """Identity on an activation, which listeners may read but never change (only an editor,
    attached with `editing`, replaces it). A listener that keeps the tensor copies it: a listener
    must not rely on the tensor staying as it was after the forward returns (a later in-place
    operation, or a caller's, could change it)."""

    def __init__(self):
        super().__init__()
        self.listeners: list[Callable[[torch.Tensor], None]] = []
        # Functions activation -> its replacement, applied in order before the listeners read it.
        self.editors: list[Callable[[torch.Tensor], torch.Tensor]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for change in self.editors:  # written out, not self.edit(x): a tap stays one call when idle
            x = change(x)
        for listen in self.listeners:
            listen(x)
        return x

    def edit(self, x: torch.Tensor) -> torch.Tensor:
        """x as the editors leave it (x itself when there are none). The KV cache's lean forward
        (gpt/kv_cache.py), which does not call the modules, calls this at the same place."""
        for change in self.editors:
            x = change(x)
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
def editing(editors: dict[HookPoint, Callable[[torch.Tensor], torch.Tensor]]) -> Iterator[None]:
    """Attach editors (activation -> its replacement) to hook points for the length of the block;
    always detach them, so the model computes as before once the block ends."""
    attached = []
    try:
        for point, change in editors.items():
            point.editors.append(change)
            attached.append((point, change))
        yield
    finally:
        for point, change in attached:
            point.editors.remove(change)


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """`with capture_attention(model) as maps:` — after a forward in the block, maps holds each
    layer's attention weights, (B, n_head, T, T), in layer order. Listening makes attention take
    its explicit path, the only one that writes the weights out."""
    maps: list[torch.Tensor] = []
    with listening({block.attn.hook_weights: maps.append for block in model.blocks}):
        yield maps
