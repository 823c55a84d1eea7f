"""Token ids to training batches.

The model learns to predict token t+1 from tokens ..t, so a batch is B random windows of
block_size + 1 tokens: the first block_size are the input x, the last block_size the
targets y (x shifted by one).

One optimizer step may learn from more windows than one forward pass holds: grad_accum
micro-batches in a row, on each of world_size processes (gpt/distributed.py). `step_batches`
defines that step's data once for all of them: the starts of all
batch_size x grad_accum x world_size windows (the global batch) are drawn at once from a
generator seeded the same on every process, and each process takes its own share. So the
global batch depends only on the seed, the step and its size, never on how it is divided:
2 processes with batch_size 8, 1 process with batch_size 16, and 1 process with batch_size 8
and grad_accum 2 learn from the very same windows.
"""

from __future__ import annotations

import torch

from .errors import UserError


def split_ids(ids, block_size: int, val_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split token ids into train and validation (the last val_fraction), as int64 tensors.

    The training part always keeps at least one full window; the validation part may be
    empty when the text is barely longer than one block (then there is no val loss).
    """
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = ids.numel()
    if n < block_size + 1:
        raise UserError("data.too_short", count=n, needed=block_size + 1)
    n_val = int(n * val_fraction)
    n_val = min(n_val, n - (block_size + 1))
    if n_val < 2:  # too short to form even one (input, target) pair
        n_val = 0
    return ids[: n - n_val], ids[n - n_val :]


def get_batch(data: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator):
    """B random windows from data: x and y, both (B, T), T = block_size (fewer if data is short)."""
    return step_batches(data, block_size, batch_size, generator)[0]


def step_batches(
    data: torch.Tensor,
    block_size: int,
    batch_size: int,
    generator: torch.Generator,
    grad_accum: int = 1,
    rank: int = 0,
    world_size: int = 1,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """This process's grad_accum micro-batches (x, y), each (B, T), of one optimizer step.

    The global batch's window starts are drawn in one call, (world_size, grad_accum, B), and
    process `rank` takes row `rank`: its micro-batch k is windows [(rank * grad_accum + k) * B,
    ... + B) of the global batch. With the defaults it is one batch, drawn as get_batch draws it."""
    T = min(block_size, data.numel() - 1)
    windows = data.unfold(0, T + 1, 1)  # (N - T, T + 1): a view, nothing copied
    starts = torch.randint(windows.shape[0], (world_size, grad_accum, batch_size), generator=generator)
    mine = windows[starts[rank].to(data.device)]  # (grad_accum, B, T + 1)
    return [(batch[:, :-1], batch[:, 1:]) for batch in mine]


def text_snippet(text: str, chars: int = 80) -> str:
    """A readable piece of a text, for a checkpoint to remember what it was trained on ("example"
    in its meta): from the first line with words, about `chars` long, cut after a whole word."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip()), 0)
    body = "".join(lines[start:])[: chars + 20]
    if len(body) > chars:
        cut = body.rfind(" ", chars // 2, chars)
        body = body[: cut if cut > 0 else chars]
    return body.rstrip() or text[:chars]
