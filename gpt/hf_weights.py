"""Our weights in GPT-2's layout (Hugging Face's GPT2LMHeadModel), and back.

The architectures are the same: learned positions, pre-LayerNorm blocks, one fused q|k|v
projection with heads side by side, a 4x MLP, a final LayerNorm and a head tied to the
token embedding. Only the names differ, and the layout of the linear layers: GPT-2 keeps
them as `Conv1D`, which stores the weight as (in, out) where `nn.Linear` stores (out, in).

A BPE model has one more difference. Mirador keeps only the GPT-2 tokens its training text
used (plus the 256 bytes and <|endoftext|>); GPT-2's tokenizer numbers all 50,257, so the
exported embedding has a row for every GPT-2 id. What goes in the rows of the ids we never
trained (`never_winning_rows`)?

They must never be predicted, and should take no probability from the tokens we trained, so
that the exported model's softmax is Mirador's. GPT-2's head has no bias and is the embedding
(tied), so a row wins or loses only through its dot product with ln_f's output
y = gamma * n + beta. LayerNorm's normalised n always sums to zero, so a row w with
w_i = c / gamma_i gives every input the same logit:
    w . y = c * sum(n_i) + c * sum(beta_i / gamma_i) = c * S.
The best trained logit never falls below the mean trained logit, which |n| <= sqrt(C) bounds
from below; c puts c * S MARGIN under that bound. Every unused id then has the same logit, at
least 30 below the best token's, for every input: never predicted, and all of them together
take under 5e-9 of the probability.

Weighed against the alternatives:
- zero rows, or copies of trained rows, can win, and ~38k untrained ids near logit 0 would
  take real probability from the trained tokens;
- an untied head (tie_word_embeddings=False) would leave the input rows free, but training
  further in transformers would then move the head and the embedding apart, and the model
  could no longer come back to Mirador, whose head is the embedding;
- `suppress_tokens` in the generation config covers `generate()` only, not the logits.
The price is the input side. Tied, the input embedding of an unused id is that same row
c / gamma, large (hundreds to thousands, against ~1 for trained rows) and mostly along the
all-ones direction that every LayerNorm subtracts. GPT-2's tokenizer produces these ids for
words the training text never had, where Mirador spells the word out in byte tokens; no single
vector could stand for those bytes, and with this one every unknown word is the same unknown
token. For exact results keep prompts to the training text's words (or use Mirador).

The constant is checked against float32 rounding and needs ln_f's bias: a model that never
trained (beta = 0, so S = 0) is refused with a message. Training further in transformers
moves gamma, so the logit is then only nearly constant, but the loss's gradient pushes these
never-seen ids down (in a trial, 100 AdamW steps at lr 1e-3 kept them 35 below).
"""

from __future__ import annotations

import math

import torch

# The logit of an untrained id sits this far below the best trained token's: e^-30 ~ 1e-13, so
# even 50,000 of them take under 5e-9 of the probability (float32 resolves 6e-8 near 1).
MARGIN = 30.0
# Our names -> GPT-2's (inside GPT2Model, the part of GPT2LMHeadModel called "transformer").
# A block is "blocks.{i}." here and "h.{i}." there; ln_1, ln_2 and ln_f keep their names.
OUTSIDE_BLOCKS = (("tok_emb.", "wte."), ("pos_emb.", "wpe."))
INSIDE_BLOCK = (
    ("attn.qkv.", "attn.c_attn."),
    ("attn.proj.", "attn.c_proj."),
    ("mlp.fc.", "mlp.c_fc."),
    ("mlp.proj.", "mlp.c_proj."),
)
TIED_HEAD = "lm_head.weight"  # the same tensor as tok_emb.weight


def _is_conv1d(gpt2_name: str, tensor: torch.Tensor) -> bool:
    """Every matrix inside a block is a linear layer (embeddings live outside the blocks)."""
    return gpt2_name.startswith("h.") and gpt2_name.endswith(".weight") and tensor.dim() == 2


def _swap_prefix(name: str, pairs) -> str:
    for old, new in pairs:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def gpt2_name(name: str) -> str:
    first, _, rest = name.partition(".")
    if first == "blocks":
        layer, _, inside = rest.partition(".")
        return f"h.{layer}.{_swap_prefix(inside, INSIDE_BLOCK)}"
    return _swap_prefix(name, OUTSIDE_BLOCKS)


def mirador_name(name: str) -> str:
    first, _, rest = name.partition(".")
    if first == "h":
        layer, _, inside = rest.partition(".")
        return f"blocks.{layer}.{_swap_prefix(inside, [(b, a) for a, b in INSIDE_BLOCK])}"
    return _swap_prefix(name, [(b, a) for a, b in OUTSIDE_BLOCKS])


def to_gpt2(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GPT state dict in GPT2Model's names and layout (without the tied head)."""
    out = {}
    for name, tensor in state_dict.items():
        if name == TIED_HEAD:
            continue
        theirs = gpt2_name(name)
        tensor = tensor.detach().to("cpu", torch.float32)
        out[theirs] = (tensor.t() if _is_conv1d(theirs, tensor) else tensor).contiguous()
    return out


def from_gpt2(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """GPT2Model tensors (no "transformer." prefix) in our names and layout, head tied."""
    out = {}
    for theirs, tensor in tensors.items():
        tensor = tensor.to(torch.float32)
        out[mirador_name(theirs)] = (tensor.t() if _is_conv1d(theirs, tensor) else tensor).contiguous()
    if "tok_emb.weight" in out:
        out[TIED_HEAD] = out["tok_emb.weight"]
    return out


def never_winning_rows(embedding: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The row (C,) whose logit, for every input, is at least MARGIN below the best logit of the
    rows of embedding (K, C), behind a LayerNorm with weight gamma and bias beta (C,).
    ValueError when float32 cannot hold that constant (see the module docstring)."""
    e, g, b = (t.detach().double() for t in (embedding, gamma, beta))
    C = g.numel()
    if (g.abs() < 1e-6).any():
        raise ValueError(
            "A gain of the final LayerNorm is ~0, so no row can give GPT-2's unused token ids a constant "
            "logit: train the model further before exporting it."
        )
    # The best logit is at least the mean logit, mean(e) . y, and |n| <= sqrt(C) for LayerNorm's
    # normalised output, so the best logit never falls below -floor:
    mean = e.mean(dim=0)  # (C,)
    floor = float((mean * g).norm() * math.sqrt(C) + (mean @ b).abs())
    target = -(floor + MARGIN)  # the constant logit of every unused id
    S = float((b / g).sum())
    c = target / S if S else math.inf
    # float32 rounding of row . y, whose terms are c * (n_i + beta_i / gamma_i): C * 2^-24 * sum |terms|
    rounding = C * 2.0**-24 * abs(c) * (C + float((b / g).abs().sum()))
    if rounding > MARGIN / 2:  # also when S = 0 (c infinite)
        raise ValueError(
            "The final LayerNorm's bias is too close to zero (an untrained model?) to give GPT-2's unused "
            "token ids a logit that never wins in float32: train the model for some steps, then export it."
        )
    return (c / g).float()  # (C,)


def expand_vocabulary(state_dict: dict[str, torch.Tensor], gpt2_ids, gpt2_vocab_size: int) -> dict[str, torch.Tensor]:
    """A BPE model's GPT2Model tensors with wte grown to every GPT-2 id: our row k at GPT-2
    id gpt2_ids[k], the never-winning row at all the others."""
    compact = state_dict["wte.weight"]  # (K, C)
    ids = torch.as_tensor(gpt2_ids, dtype=torch.long)
    wte = torch.empty(gpt2_vocab_size, compact.shape[1])  # (50257, C)
    if len(ids) < gpt2_vocab_size:
        wte[:] = never_winning_rows(compact, state_dict["ln_f.weight"], state_dict["ln_f.bias"])
    wte[ids] = compact
    return {**state_dict, "wte.weight": wte}
