"""What every head does over training: one small panel per metric, one line per head.

The metrics are gpt.head_metrics' four numbers (normalised entropy, and the shares of
attention on the previous token, the first token and the token itself), all in [0, 1], so
every panel has the same y range and panels can be compared at a glance. A head keeps its
colour in every panel, and clicking its legend entry hides it in all of them.

Its text is in the language lang ("en", "es"), from locales.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from locales import text

from .arrays import to_float32
from .attention import NARROW_PX
from .grid import cell_axes, cell_title, grid_cells
from .layout import base_layout, empty_note

PANELS = ("entropy", "previous", "first", "itself")  # gpt.head_metrics' names, each titled in locales
HEAD_COLORS = qualitative.Dark24  # 24 distinct colours, readable on white; more heads cycle
N_COLS = 2  # panels side by side; one under another on a narrow screen (a phone), where two titles collide


def _metric_arrays(steps: Sequence[int], metrics: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(steps int64 (S,), {name: float32 (S, L, H)}), checked to agree."""
    x = np.asarray(steps, dtype=np.int64).reshape(-1)  # (S,)
    if not metrics:
        raise ValueError("head_metrics_figure: no metrics to draw.")
    arrays = {name: to_float32(values) for name, values in metrics.items()}
    shapes = {arr.shape for arr in arrays.values()}
    shape = next(iter(shapes))
    if len(shapes) != 1 or len(shape) != 3 or shape[0] != x.size:
        raise ValueError(
            f"head_metrics_figure: every metric must be (snapshots, layers, heads) with {x.size} snapshots "
            f"(one per step); got shapes {sorted(shapes)}"
        )
    return x, arrays


def head_metrics_figure(
    steps: Sequence[int],
    metrics: Mapping[str, Any],
    lang: str = "en",
    width_px: int | None = None,
) -> go.Figure:
    """Small multiples of head metrics against training step.

    steps: (S,) the snapshot steps; metrics: name -> (S, n_layer, n_head) tensor or array, in
    panel order, e.g. gpt.head_metrics(timeline.maps).as_dict(); a panel is titled from locales
    (an unknown metric by its name). width_px: the figure's width, when the page told it.
    """
    x, arrays = _metric_arrays(steps, metrics)
    titles = {name: text(f"viz.metrics.{name}", lang) for name in PANELS}
    x_title, head_name = text("viz.metrics.step", lang), text("viz.metrics.head", lang)
    n_layer, n_head = next(iter(arrays.values())).shape[1:]
    narrow = width_px is not None and width_px < NARROW_PX
    n_cols = 1 if narrow else min(N_COLS, len(arrays))
    n_rows = -(-len(arrays) // n_cols)
    per_line = 2 if narrow else 8  # heads in a line of the legend, about
    row_px, v_gap_px, legend_px = 210, 50, 30 * (1 + n_layer * n_head // per_line)
    plot_px = n_rows * row_px + (n_rows - 1) * v_gap_px
    cells = grid_cells(len(arrays), n_cols, plot_px, h_gap=0.08, v_gap_px=v_gap_px)
    layout = base_layout(text("viz.metrics.title", lang), height=plot_px + 130 + legend_px, margin=dict(t=80, b=50 + legend_px))
    layout["hovermode"] = "closest"
    # Below the plots, clear of the step axis title (the container's bottom edge, in pixels).
    layout["legend"] = dict(orientation="h", x=0.0, yref="container", y=0.0, yanchor="bottom")
    annotations, traces = [], []
    for panel, (cell, (name, values)) in enumerate(zip(cells, arrays.items())):
        panel_title = titles.get(name, name)
        bottom_row = panel + n_cols >= len(arrays)  # the steps are the same in every panel
        layout.update(cell_axes(
            cell,
            dict(title=dict(text=x_title if bottom_row else ""), zeroline=False),
            dict(range=[-0.03, 1.03], zeroline=False),  # every metric is in [0, 1]
        ))
        annotations.append(cell_title(cell, panel_title))
        for layer in range(n_layer):
            for head in range(n_head):
                label = head_name.format(layer=layer, head=head)
                color = HEAD_COLORS[(layer * n_head + head) % len(HEAD_COLORS)]
                traces.append(go.Scatter(
                    x=x, y=values[:, layer, head],  # (S,)
                    name=label, legendgroup=label, showlegend=panel == 0,
                    mode="lines+markers", line=dict(color=color, width=1.5), marker=dict(size=4),
                    xaxis=cell.xref, yaxis=cell.yref,
                    hovertemplate=f"{label}<br>{x_title} %{{x}}<br>{panel_title}: %{{y:.3f}}<extra></extra>",
                ))
    if x.size == 0:
        annotations.append(empty_note(text("viz.metrics.empty", lang)))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)
