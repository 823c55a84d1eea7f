"""Plotly figures for Mirador, from plain tensors, arrays and lists.

This package knows nothing about training, the UI or the model code: every
function takes numbers and token strings and returns a `go.Figure`.
"""

from .attention import head_grid, layers_overview, single_head
from .loss import loss_curve
from .probabilities import next_token_bars
from .tokens import token_labels

__all__ = [
    "head_grid",
    "layers_overview",
    "loss_curve",
    "next_token_bars",
    "single_head",
    "token_labels",
]
