"""Which heads copy: previous-token, duplicate-token and induction heads, found by where they look.

An induction head completes a pattern it has seen: at "... A B ... A" it looks at the B that
followed the earlier A, and the model predicts B. It needs a previous-token head in an earlier
layer (Olsson et al., 2022, "In-context learning and induction heads"). The test text that shows
it is a random sequence followed by itself (`repeated_tokens`): the first copy cannot be
predicted, the second can, but only by a model that looks back at the first.

A head's score for a pattern is the share of its attention on the pattern's cells: for its map
A (T, T) and a pattern P (T, T) of 0s and 1s, Σ(A⊙P) / ΣA, summed over the query rows that have
at least one pattern cell. This is TransformerLens' head detector (`detect_head`, error measure
"mul") with one change: it sums over every row, so a perfect induction head scores only the
share of rows that can show induction (about one half on a repeated sequence); summing over the
rows where the pattern exists gives it 1.0, and a head that looks evenly at every key scores
the share of keys that are pattern cells. As TransformerLens does for a list of sequences, the
score is the mean of each sequence's score (over the sequences with at least one such row).

The patterns come from token equality, one per sequence of the batch, not from a fixed diagonal:
a character vocabulary repeats characters by chance, and those repeats are duplicates too.
- previous-token: key i - 1 for query i (the sub-diagonal; every row but the first);
- duplicate-token: the keys j < i holding the same token as the query, idx[j] == idx[i];
- induction: the keys right after those, j + 1 for every j < i with idx[j] == idx[i]. The key
  j + 1 is at most i, so causality never hides it. When the token just before the query is the
  same as the query (j = i - 1), the cell is the query itself, and it counts, as in
  TransformerLens: the token that followed an earlier copy of "A" is then the current "A".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import whole_at_least
from .hooks import capture_attention
from .modes import evaluation

PATTERNS = ("previous_token", "duplicate_token", "induction")


def repeated_tokens(vocab_size: int, seq_len: int, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, 2 * seq_len) int64 ids: each row a uniformly random sequence of seq_len ids in
    [0, vocab_size), followed by itself."""
    whole_at_least("vocab_size", vocab_size, 1)
    whole_at_least("seq_len", seq_len, 1)
    whole_at_least("batch", batch, 1)
    first = torch.randint(vocab_size, (batch, seq_len), generator=generator, dtype=torch.long)  # (B, L)
    return torch.cat([first, first], dim=1)  # (B, 2L)


def detection_patterns(idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three patterns for token ids idx (B, T), each a (B, T, T) bool: [b, i, j] is True
    when query i of sequence b should look at key j."""
    check_ids(idx)
    T = idx.shape[1]
    earlier = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril(diagonal=-1)  # (T, T): j < i
    same = idx[:, :, None] == idx[:, None, :]  # (B, T, T): idx[i] == idx[j]
    duplicate = same & earlier  # (B, T, T)
    # Key j + 1 for each duplicate key j: shift the columns right by one. The last column has
    # nowhere to go (a duplicate at j = i - 1 lands on the diagonal, which stays); column 0 is empty.
    induction = F.pad(duplicate[:, :, :-1], (1, 0))  # (B, T, T)
    previous = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril(-1).triu(-1)  # (T, T): j == i - 1
    return {
        "previous_token": previous.expand_as(same),
        "duplicate_token": duplicate,
        "induction": induction,
    }


def pattern_scores(maps: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each head's score for each pattern: maps (..., B, n_head, T, T) are attention weights on
    the token ids idx (B, T) (a model's, (n_layer, B, n_head, T, T), gives (n_layer, n_head)).
    Returns name -> (..., n_head) float32 in [0, 1]; 0 where no row of any sequence has the
    pattern (a text without a repeated token has no duplicate or induction cells)."""
    check_ids(idx)
    B, T = idx.shape
    if not isinstance(maps, torch.Tensor) or maps.dim() < 4 or maps.shape[-4] != B or maps.shape[-2:] != (T, T):
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"maps must have shape (..., {B}, n_head, {T}, {T}) for ids of shape ({B}, {T}), got {shape}.")
    a = maps.detach().float()  # (..., B, H, T, T)
    scores = {}
    for name, pattern in detection_patterns(idx.to(a.device)).items():
        cells = pattern[:, None].float()  # (B, 1, T, T)
        rows = pattern.any(-1)[:, None, :, None].float()  # (B, 1, T, 1): rows with a pattern cell
        on_pattern = (a * cells).sum((-2, -1))  # (..., B, H)
        attention = (a * rows).sum((-2, -1))  # (..., B, H): the attention in those rows
        has_rows = pattern.any((-2, -1)).float()[:, None]  # (B, 1)
        per_sequence = on_pattern / attention.clamp_min(1e-12)  # (..., B, H)
        counted = has_rows.sum()
        if counted == 0:
            scores[name] = per_sequence.new_zeros(per_sequence.shape[:-2] + per_sequence.shape[-1:])
        else:
            scores[name] = ((per_sequence * has_rows).sum(-2) / counted).clamp(0.0, 1.0)  # (..., H)
    return scores


def head_detection(model, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every head's previous-token, duplicate-token and induction score on the ids idx (B, T),
    in evaluation mode: name -> (n_layer, n_head) float32 in [0, 1]. For induction heads, give
    repeated sequences (`repeated_tokens`)."""
    check_attention_model(model)
    check_ids(idx, model.config.vocab_size)
    with torch.no_grad(), evaluation(model), capture_attention(model) as maps:
        model(idx.to(model.device))
    return {name: score.cpu() for name, score in pattern_scores(torch.stack(maps), idx).items()}  # each (n_layer, H)


def in_context_gain(model, idx: torch.Tensor) -> float:
    """Mean loss on the first copy of repeated sequences minus the mean loss on the second copy,
    in nats: what the model gains from having read the text once. idx (B, 2L), each row a
    sequence of L ids followed by itself (`repeated_tokens`), 2L <= block_size.

    Which positions count: in each copy, the predictions of its tokens 1..L-1 from what comes
    before them (positions 0..L-2 predicting tokens 1..L-1 of the first copy, positions
    L..2L-2 predicting tokens L+1..2L-1). Both halves predict the very same tokens, so the only
    difference is whether the first copy is in view. The first token of each copy is left
    out: nothing announces that the repeat starts."""
    check_ids(idx, model.config.vocab_size)
    T = idx.shape[1]
    L = T // 2
    if T % 2 or L < 2:
        raise ValueError(
            f"in_context_gain needs sequences of at least 2 tokens followed by themselves, shape "
            f"(batch, 2 * seq_len); got shape {tuple(idx.shape)}. Build them with gpt.repeated_tokens."
        )
    if not torch.equal(idx[:, :L], idx[:, L:]):
        raise ValueError(
            "in_context_gain needs each row to be a sequence followed by itself, and these rows' two "
            "halves differ. Build them with gpt.repeated_tokens."
        )
    idx = idx.to(model.device)
    with torch.no_grad(), evaluation(model):
        logits, _ = model(idx)  # (B, 2L, V)
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), idx[:, 1:], reduction="none")  # (B, 2L-1)
    first = losses[:, : L - 1]  # positions 0..L-2
    second = losses[:, L : 2 * L - 1]  # positions L..2L-2
    return (first.mean() - second.mean()).item()


def check_attention_model(model) -> None:
    """ValueError for a model without attention (the bigram table)."""
    if model.config.bigram:
        raise ValueError(
            "A bigram model has no attention heads: each token predicts the next from itself alone. "
            "Train or load a GPT (with at least one layer) to find or switch off heads."
        )


def check_ids(idx, vocab_size: int | None = None) -> None:
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2 or idx.dtype not in (torch.int64, torch.int32):
        what = f"a {idx.dtype} tensor of shape {tuple(idx.shape)}" if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"Token ids must be an integer tensor of shape (batch, time), got {what}.")
    if idx.numel() == 0:
        raise ValueError("Token ids are empty: give at least one sequence of at least one token.")
    if vocab_size is not None:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"Token id {bad} is outside the vocabulary (0 to {vocab_size - 1}).")
