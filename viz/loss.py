"""Training and validation loss over steps.

Train loss is logged every step and is noisy, so it is a plain line; val
loss is measured rarely, so its points get markers to show where the real
measurements are.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import to_float32
from .layout import base_layout, show_empty


def _series(steps: Sequence[int], losses: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps int64, losses float32), checked to be the same length."""
    x = np.asarray(steps, dtype=np.int64).reshape(-1)  # (N,)
    y = to_float32(losses).reshape(-1)  # (N,)
    if x.shape != y.shape:
        raise ValueError(f"loss_curve: {name} has {x.size} steps but {y.size} losses")
    return x, y


def loss_curve(
    train_steps: Sequence[int],
    train_losses: Any,
    val_steps: Sequence[int],
    val_losses: Any,
    lang: str = "en",
) -> go.Figure:
    """Line chart of train and val cross-entropy against step.

    With no data yet it still returns a figure with labelled axes and a
    hint, so the UI shows a sensible placeholder before training starts.
    """
    tx, ty = _series(train_steps, train_losses, "train")
    vx, vy = _series(val_steps, val_losses, "val")
    traces = [
        go.Scatter(
            x=tx, y=ty, name=text("viz.loss.train", lang), mode="lines", line=dict(width=1.5),
            hovertemplate=text("viz.loss.train_hover", lang) + "<extra></extra>",
        ),
        go.Scatter(
            x=vx, y=vy, name=text("viz.loss.val", lang), mode="lines+markers", line=dict(width=2),
            marker=dict(size=6),
            hovertemplate=text("viz.loss.val_hover", lang) + "<extra></extra>",
        ),
    ]
    layout = base_layout(text("viz.loss.title", lang), height=360, margin=dict(t=70))
    layout["xaxis"] = dict(title=dict(text=text("viz.loss.step", lang)), rangemode="tozero")
    layout["yaxis"] = dict(title=dict(text=text("viz.loss.y_axis", lang)))
    # Horizontal legend above the plot, right-aligned so it clears the title.
    layout["legend"] = dict(orientation="h", x=1.0, xanchor="right", y=1.02, yanchor="bottom")
    layout["hovermode"] = "x unified"
    if tx.size == 0 and vx.size == 0:
        show_empty(layout, text("viz.loss.empty", lang))
    return go.Figure(data=traces, layout=layout)
