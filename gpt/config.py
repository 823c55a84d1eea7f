"""The shape of a GPT, checked when it is built.

Every bound here is one the app can actually serve: a config outside them is refused
with a message saying what to change, before a single tensor is allocated.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .checks import is_number, whole_in
from .errors import UserError

# Bounds the app can serve on a 2-core CPU as well as on a GPU. They are generous for a
# teaching model (the lecture's largest is 6 layers x 384 wide, 10.8M parameters).
MAX_N_LAYER = 24
MAX_N_HEAD = 32
MAX_N_EMBD = 1536
MAX_BLOCK_SIZE = 2048
MAX_VOCAB_SIZE = 65_536
MAX_PARAMETERS = 200_000_000
DROPOUT_BELOW = 1.0  # dropout is in [0, DROPOUT_BELOW): at 1 nothing would reach the next layer
# The switches of the lecture's stages (gpt/ladder.py), and their value in the full model.
FULL_MODEL_SWITCHES = {"residual": True, "layer_norm": True, "mlp": True, "bigram": False}


@dataclass(frozen=True)
class GPTConfig:
    """Hyperparameters of the decoder-only transformer (the article's names)."""

    vocab_size: int = 65  # distinct tokens: 65 characters for tiny Shakespeare
    block_size: int = 64  # context length: the most tokens the model looks back at
    n_layer: int = 4  # transformer blocks stacked on the residual stream
    n_head: int = 4  # attention heads per block; each looks at n_embd // n_head dims
    n_embd: int = 128  # width of the residual stream (embedding size)
    dropout: float = 0.0  # probability of zeroing activations while training
    # The lecture builds the model up in stages (gpt/ladder.py); these switches give each stage's
    # model. The defaults are the full model, and a checkpoint without them is one.
    residual: bool = True  # each block adds to the stream (x + f(x)); off: it replaces it (f(x))
    layer_norm: bool = True  # LayerNorm before attention, before the MLP and before the head
    mlp: bool = True  # the feed-forward network in each block
    bigram: bool = False  # the first stage: logits read from a table by the current token alone

    def __post_init__(self) -> None:
        whole_in("vocab_size", self.vocab_size, 1, MAX_VOCAB_SIZE)
        whole_in("block_size", self.block_size, 1, MAX_BLOCK_SIZE)
        whole_in("n_layer", self.n_layer, 1, MAX_N_LAYER)
        whole_in("n_head", self.n_head, 1, MAX_N_HEAD)
        whole_in("n_embd", self.n_embd, 1, MAX_N_EMBD)
        if self.n_embd % self.n_head != 0:
            suggested = self.n_head * max(1, round(self.n_embd / self.n_head))
            raise UserError("config.n_embd_divisible", n_embd=self.n_embd, n_head=self.n_head, suggested=suggested)
        if not is_number(self.dropout):
            raise UserError("check.number_in", name="dropout", range=f"[0, {DROPOUT_BELOW:g})", value=self.dropout)
        if not (math.isfinite(self.dropout) and 0.0 <= self.dropout < DROPOUT_BELOW):
            raise UserError("check.in", name="dropout", range=f"[0, {DROPOUT_BELOW:g})", value=self.dropout)
        for switch in FULL_MODEL_SWITCHES:
            if not isinstance(getattr(self, switch), bool):
                raise UserError("check.bool", name=switch, value=getattr(self, switch))
        if self.num_parameters > MAX_PARAMETERS:
            raise UserError("config.too_many_parameters", count=self.num_parameters, limit=MAX_PARAMETERS)

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def changed_switches(self) -> tuple[str, ...]:
        """The switches set away from the full model (empty for the full GPT): an earlier stage
        of the lecture. Exporting to GPT-2 and the Learn tab's walk-through need the full model."""
        return tuple(name for name, full in FULL_MODEL_SWITCHES.items() if getattr(self, name) != full)

    @property
    def num_parameters(self) -> int:
        """Parameter count, computed from the shape alone (the LM head is tied to the embedding)."""
        if self.bigram:
            return self.vocab_size * self.vocab_size  # the table: a row of logits per token
        c = self.n_embd
        embeddings = self.vocab_size * c + self.block_size * c
        attention = c * 3 * c + 3 * c + c * c + c
        mlp = (c * 4 * c + 4 * c + 4 * c * c + c) if self.mlp else 0
        layer_norms = 2 * (2 * c) if self.layer_norm else 0
        per_block = attention + mlp + layer_norms
        return embeddings + self.n_layer * per_block + (2 * c if self.layer_norm else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GPTConfig":
        if not isinstance(data, dict):
            raise UserError("config.not_object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise UserError("config.unknown_fields", fields=sorted(unknown))
        return cls(**data)
