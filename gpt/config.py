"""The shape of a GPT, checked when it is built.

Every bound here is one the app can actually serve: a config outside them is refused
with a message saying what to change, before a single tensor is allocated.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# Bounds the app can serve on a 2-core CPU as well as on a GPU. They are generous for a
# teaching model (the lecture's largest is 6 layers x 384 wide, 10.8M parameters).
MAX_N_LAYER = 24
MAX_N_HEAD = 32
MAX_N_EMBD = 1536
MAX_BLOCK_SIZE = 2048
MAX_VOCAB_SIZE = 65_536
MAX_PARAMETERS = 200_000_000


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}.")
    if value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}: choose a smaller {name}.")


@dataclass(frozen=True)
class GPTConfig:
    """Hyperparameters of the decoder-only transformer (the article's names)."""

    vocab_size: int = 65  # distinct tokens: 65 characters for tiny Shakespeare
    block_size: int = 64  # context length: the most tokens the model looks back at
    n_layer: int = 4  # transformer blocks stacked on the residual stream
    n_head: int = 4  # attention heads per block; each looks at n_embd // n_head dims
    n_embd: int = 128  # width of the residual stream (embedding size)
    dropout: float = 0.0  # probability of zeroing activations while training

    def __post_init__(self) -> None:
        _check_int("vocab_size", self.vocab_size, 1, MAX_VOCAB_SIZE)
        _check_int("block_size", self.block_size, 1, MAX_BLOCK_SIZE)
        _check_int("n_layer", self.n_layer, 1, MAX_N_LAYER)
        _check_int("n_head", self.n_head, 1, MAX_N_HEAD)
        _check_int("n_embd", self.n_embd, 1, MAX_N_EMBD)
        if self.n_embd % self.n_head != 0:
            raise ValueError(
                f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head}) so every head "
                f"gets the same width: try n_embd={self.n_head * max(1, round(self.n_embd / self.n_head))}."
            )
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}.")
        if not (math.isfinite(self.dropout) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}.")
        if self.num_parameters > MAX_PARAMETERS:
            raise ValueError(
                f"This shape has {self.num_parameters:,} parameters, over the limit of "
                f"{MAX_PARAMETERS:,}: lower n_layer, n_embd or vocab_size."
            )

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def num_parameters(self) -> int:
        """Parameter count, computed from the shape alone (the LM head is tied to the embedding)."""
        c = self.n_embd
        embeddings = self.vocab_size * c + self.block_size * c
        attention = c * 3 * c + 3 * c + c * c + c
        mlp = c * 4 * c + 4 * c + 4 * c * c + c
        layer_norms = 2 * (2 * c)
        per_block = attention + mlp + layer_norms
        return embeddings + self.n_layer * per_block + 2 * c

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GPTConfig":
        if not isinstance(data, dict):
            raise ValueError("A model config must be a JSON object.")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown model config fields: {sorted(unknown)}.")
        return cls(**data)
