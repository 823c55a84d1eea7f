"""The model's next-token distribution as a horizontal bar chart.

Horizontal bars leave room for the token text on the left and read well on
a narrow phone screen; the most likely token is put at the top.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import to_float32
from .layout import base_layout
from .tokens import make_unique, visible


def next_token_bars(pieces: Sequence[str], probs: Any, top_k: int | None = 20, lang: str = "en") -> go.Figure:
    """Bars for candidate next tokens, sorted most likely first.

    pieces: candidate token strings; probs: their probabilities, same length
    (any order).  Only the `top_k` most likely are drawn (None = all) so a
    full-vocabulary distribution still gives a small figure.
    """
    p = to_float32(probs).reshape(-1)  # (V,)
    if len(pieces) != p.size:
        raise ValueError(
            f"next_token_bars: got {len(pieces)} pieces but {p.size} probabilities"
        )
    order = np.argsort(-p, kind="stable")  # most likely first
    if top_k is not None:
        order = order[:top_k]
    p = p[order]  # (K,)
    # Distinct tokens can look alike once escaped or truncated (e.g. several
    # byte tokens decoding to "\ufffd"); Plotly would merge equal labels.
    labels = make_unique([visible(pieces[i]) for i in order])

    trace = go.Bar(
        x=p,
        y=labels,
        orientation="h",
        marker=dict(color="#4C78A8"),
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    )
    x_max = float(min(1.0, max(p.max() * 1.1, 0.05))) if p.size else 1.0
    layout = base_layout(
        text("viz.next.title", lang),
        height=120 + 26 * max(len(labels), 1),
        margin=dict(l=110, t=50),
    )
    layout["xaxis"] = dict(title=dict(text=text("viz.next.x_axis", lang)), range=[0, x_max], tickformat=".0%")
    # Reversed category axis: first (most likely) label at the top.
    layout["yaxis"] = dict(type="category", autorange="reversed", tickfont=dict(size=12))
    layout["bargap"] = 0.25
    return go.Figure(data=[trace], layout=layout)
