"""Dropout with a cheaper random mask on the CPU.

Dropout zeroes each activation with probability p while training and scales the survivors by
1 / (1 - p), so the expected value of every activation is unchanged (at evaluation nothing is
dropped and nothing scaled).

On the CPU, torch draws the keep/drop decision of every element with a separate Bernoulli
sample. For the lecture's full model that is ~33 million draws per step and it cost ~30% of a
bf16 training step (2-core EPYC, bench/). Here one 64-bit random integer supplies four 16-bit
uniform numbers, and an element is dropped when its number falls below p: 3-4x less time for the
mask. The price is that p is rounded to a multiple of 1/65536 (0.2 becomes 0.199997); the
survivors are scaled by 1 / (1 - that p), so expectations stay exact.

Elsewhere (CUDA, MPS) torch's own fused dropout is already fast and is used as is. The model
(gpt/model.py) uses torch's nn.Dropout, as the lecture does; the trainer swaps this one in
while it trains on the CPU (`fast_dropout`).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn as nn
import torch.nn.functional as F

_LEVELS = 1 << 16  # a 16-bit uniform number takes one of 65536 values


def random_keep_mask(shape: torch.Size | tuple, p: float) -> tuple[torch.Tensor, float]:
    """A boolean mask that keeps each element with probability 1 - p (p rounded to 1/65536),
    and the probability of dropping that the mask really uses."""
    numel = 1
    for size in shape:
        numel *= size
    words = (numel + 3) // 4  # four 16-bit numbers per 64-bit word
    bits = torch.empty(words, dtype=torch.int64).random_(-(2**63), None)  # every bit uniform
    uniform16 = bits.view(torch.int16)[:numel].view(shape)  # uniform over -32768 .. 32767
    dropped_levels = round(p * _LEVELS)
    keep = uniform16 >= dropped_levels - _LEVELS // 2  # True with probability 1 - dropped/65536
    return keep, dropped_levels / _LEVELS


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Like F.dropout(x, p, training), with the cheaper mask when x lives on the CPU."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return F.dropout(x, p, training)
    keep, p_used = random_keep_mask(x.shape, p)
    if p_used == 0.0:  # p below 1/131072 rounds to "never drop"
        return x
    if p_used == 1.0:  # p above 1 - 1/131072 rounds to "always drop"
        return torch.zeros_like(x)
    # 0 or 1/(1-p) per element, in x's dtype; autograd keeps it to scale the gradient the same way.
    # Read as bytes first: torch 2.13's CPU bool -> bf16 conversion has no vectorized kernel, and
    # took 3.7 ms for an attention layer's 3.1M weights against 0.33 ms from uint8 (2-core EPYC).
    scale = keep.view(torch.uint8).to(x.dtype).mul_(1.0 / (1.0 - p_used))
    return x * scale


class FastDropout(nn.Dropout):
    """nn.Dropout with the cheaper CPU mask (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)


@contextmanager
def fast_dropout(model: nn.Module):
    """While the block runs, the model's nn.Dropout modules use the cheaper mask, where it pays:
    on the CPU, with p > 0. The model's code keeps torch's nn.Dropout; the trainer swaps this in
    (and a benchmark's plain reference does not)."""
    on_cpu = next(model.parameters()).device.type == "cpu"
    swapped = [m for m in model.modules() if on_cpu and type(m) is nn.Dropout and m.p > 0]
    for module in swapped:
        module.__class__ = FastDropout
    try:
        yield model
    finally:
        for module in swapped:
            module.__class__ = nn.Dropout
