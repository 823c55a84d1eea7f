"""Plotly figures for Mirador, from plain tensors, arrays and lists.

This package knows nothing about training, the UI or the model code: every
function takes numbers and token strings and returns a `go.Figure` (the
surprise strip, token chips rather than a plot, returns an HTML string).
"""

from .attention import head_grid, head_grid_diff, layers_overview, single_head
from .head_metrics import head_metrics_figure
from .loss import loss_curve
from .probabilities import next_token_bars
from .surprise import surprise_strip
from .tokens import token_labels

__all__ = [
    "head_grid",
    "head_grid_diff",
    "head_metrics_figure",
    "layers_overview",
    "loss_curve",
    "next_token_bars",
    "single_head",
    "surprise_strip",
    "token_labels",
]
