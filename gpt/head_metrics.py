"""What an attention head does, in four numbers, and a name for it when one pattern dominates.

For a head's attention map a (T, T) (row i: how query i spreads its attention over keys 0..i):
- entropy: how spread out a row is, normalised by the most it can be. Row i has i + 1 keys,
  so its entropy is at most log(i + 1); entropy / log(i + 1) is 0 for a row on one key and 1
  for a uniform row, whatever its length, so rows of different lengths can be averaged;
- previous: the weight on key i - 1, the token just before;
- first: the weight on key 0, the first token (a "sink" many heads park attention on);
- itself: the weight on key i, the query's own token.
Each is averaged over the rows i >= 2, the rows where the first token, the previous token and
the token itself are three different keys: in row 1 the previous token is the first token,
and row 0 has only itself, so they would count one pattern as another.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# A head gets a position tag when that key holds at least this share of its attention on
# average. Above one half no other pattern can hold as much; 0.6 leaves a margin, so a head
# split about evenly between two patterns is left untagged instead of flipping between them.
PATTERN_SHARE = 0.6
# A head is "broad" when its rows are nearly uniform over what they can see. A row with
# PATTERN_SHARE on one key stays below 0.9 (at most ~0.87, on the 3-key row; less on longer
# rows), so the two kinds of tag seldom compete; when they do, the position tag wins.
BROAD_ENTROPY = 0.9

PREVIOUS_TOKEN, FIRST_TOKEN, SELF, BROAD = "previous-token", "first-token", "self", "broad"
MIN_TOKENS = 3  # the first row with three different keys is row 2


@dataclass(frozen=True)
class HeadMetrics:
    """One value per head; each tensor is (..., n_head) float32, every value in [0, 1]."""

    entropy: torch.Tensor  # mean row entropy / log(keys in the row)
    previous: torch.Tensor  # mean weight on the previous token
    first: torch.Tensor  # mean weight on the first token
    itself: torch.Tensor  # mean weight on the query's own token

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {"entropy": self.entropy, "previous": self.previous, "first": self.first, "itself": self.itself}


def head_metrics(maps: torch.Tensor) -> HeadMetrics:
    """The four numbers of every head in maps (..., n_head, T, T), T >= 3: e.g. one layer
    (n_head, T, T), a model (n_layer, n_head, T, T) or a timeline (S, n_layer, n_head, T, T)."""
    if not isinstance(maps, torch.Tensor) or maps.dim() < 3 or maps.shape[-1] != maps.shape[-2]:
        shape = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
        raise ValueError(f"head_metrics needs attention maps shaped (..., n_head, T, T), got {shape}.")
    T = maps.shape[-1]
    if T < MIN_TOKENS:
        raise ValueError(f"head_metrics needs a probe of at least {MIN_TOKENS} tokens, got {T}: use a longer sentence.")
    a = maps.detach().float()  # (..., H, T, T)
    rows = a[..., 2:, :]  # (..., H, T-2, T): rows i >= 2
    keys = torch.arange(3, T + 1, device=a.device, dtype=torch.float32)  # (T-2,): row i sees i + 1 keys
    entropy = -torch.special.xlogy(rows, rows).sum(-1) / keys.log()  # (..., H, T-2); 0 log 0 = 0
    previous = a.diagonal(offset=-1, dim1=-2, dim2=-1)[..., 1:]  # (..., H, T-2): a[i, i-1], i >= 2
    itself = a.diagonal(dim1=-2, dim2=-1)[..., 2:]  # (..., H, T-2): a[i, i]
    first = rows[..., 0]  # (..., H, T-2): a[i, 0]
    return HeadMetrics(*(x.mean(-1) for x in (entropy, previous, first, itself)))  # each (..., H)


def tag_heads(metrics: HeadMetrics) -> list:
    """A tag per head, nested like the metrics' leading shape (a list of n_head for one layer):
    "previous-token", "first-token" or "self" when that key holds at least PATTERN_SHARE of the
    attention, else "broad" when the normalised entropy is at least BROAD_ENTROPY, else None."""
    shares = torch.stack([metrics.previous, metrics.first, metrics.itself], dim=-1)  # (..., H, 3)
    best, which = shares.max(dim=-1)  # (..., H)
    names = (PREVIOUS_TOKEN, FIRST_TOKEN, SELF)
    codes = torch.where(best >= PATTERN_SHARE, which, torch.where(metrics.entropy >= BROAD_ENTROPY, 3, -1))
    return _names(codes.tolist(), names + (BROAD,))


def _names(codes, names):
    if isinstance(codes, list):
        return [_names(c, names) for c in codes]
    return names[codes] if codes >= 0 else None
