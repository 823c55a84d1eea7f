"""Attention maps as heatmaps: per head, one head large, and all layers.

Convention everywhere: rows are query positions (the token doing the
looking), columns are key positions (the token looked at).  The model is
causal, so the upper triangle is zero.  Query 0 is drawn at the top, like
reading the text top to bottom.

All heatmaps share one colour axis fixed to 0..1, so a bright cell means the
same weight in every head and layer and heads can be compared by eye. The
difference of two snapshots (`head_grid_diff`) uses a diverging scale
centred on 0 instead, symmetric so that equal gains and losses look alike.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from .arrays import attention_array
from .grid import Cell, cell_axes, cell_title, grid_cells
from .layout import TICK_FONT_SIZE, attention_coloraxis, base_layout, diverging_coloraxis
from .tokens import token_labels

MAX_LABELLED_TOKENS = 48  # above this, tick labels overlap into a smear
MAX_GRID_COLS = 4

_HOVER = "query %{y} → key %{x}<br>weight %{z:.3f}"
DIFF_HOVER = "query %{y} → key %{x}<br>change %{z:+.3f}"
# The colour scale of a difference spans at least ±DIFF_MIN_RANGE: snapshots are float16
# (steps of ~5e-4), and a scale stretched to such rounding would paint noise as change.
DIFF_MIN_RANGE = 0.05


def _axis(show_labels: bool, reverse: bool = False) -> dict:
    """Category axis for token labels; y is reversed so query 0 is on top."""
    axis = dict(
        type="category",
        showgrid=False,
        zeroline=False,
        ticks="",
        showticklabels=show_labels,
        tickfont=dict(size=TICK_FONT_SIZE),
    )
    if reverse:
        axis["autorange"] = "reversed"
    return axis


def _heatmap(z: np.ndarray, labels: list[str], cell: Cell | None, name: str, hover: str = _HOVER) -> go.Heatmap:
    """One (T, T) attention map; labels on both axes so hover names tokens."""
    trace = go.Heatmap(
        z=z,  # (T_query, T_key) float32
        x=labels,  # key positions
        y=labels,  # query positions
        coloraxis="coloraxis",
        hovertemplate=hover + f"<extra>{name}</extra>",
    )
    if cell is not None:
        trace.xaxis, trace.yaxis = cell.xref, cell.yref
    return trace


def head_grid(attn: Any, pieces: Sequence[str], layer: int) -> go.Figure:
    """Every head of one layer side by side, at most 4 per row.

    attn: (n_head, T, T) tensor or array; pieces: the T token strings.
    """
    arr = attention_array(attn, pieces, ndim=3, name="head_grid")  # (H, T, T)
    title = f"Layer {layer} attention, one map per head"
    return _grid(arr, pieces, title, attention_coloraxis(), "head {head}", _HOVER)


def head_grid_diff(
    diff: Any,
    pieces: Sequence[str],
    layer: int,
    title: str = "Layer {layer}: change in attention",
    colorbar_title: str = "change",
    head_title: str = "head {head}",
    hover: str = DIFF_HOVER,
) -> go.Figure:
    """How every head of one layer changed between two snapshots, laid out like head_grid.

    diff: (n_head, T, T), later minus earlier (gpt.snapshot_diff(a, b)[layer]); red where
    the later snapshot attends more, blue where less, white where nothing moved. The text
    arguments are there for translations: title is formatted with layer=, head_title with
    head=, and hover is a Plotly hover template (%{x} key, %{y} query, %{z} change).
    """
    arr = attention_array(diff, pieces, ndim=3, name="head_grid_diff")  # (H, T, T)
    if not np.isfinite(arr).all():
        raise ValueError("head_grid_diff: the difference has non-finite values; compare two finite snapshots.")
    limit = max(float(np.abs(arr).max(initial=0.0)), DIFF_MIN_RANGE)
    coloraxis = diverging_coloraxis(limit, colorbar_title)
    return _grid(arr, pieces, title.format(layer=layer), coloraxis, head_title, hover)


def _grid(arr: np.ndarray, pieces: Sequence[str], title: str, coloraxis: dict, head_title: str, hover: str) -> go.Figure:
    """The heads of arr (H, T, T) in a grid of at most MAX_GRID_COLS columns, one colour axis."""
    n_head, t = arr.shape[0], arr.shape[1]
    labels = token_labels(list(pieces))
    show = t <= MAX_LABELLED_TOKENS

    n_cols = min(MAX_GRID_COLS, max(n_head, 1))
    n_rows = -(-n_head // n_cols)
    row_px, v_gap_px = 240, 34
    top, bottom = 80, (100 if show else 30)
    plot_px = n_rows * row_px + (n_rows - 1) * v_gap_px
    cells = grid_cells(n_head, n_cols, plot_px, h_gap=0.03, v_gap_px=v_gap_px)

    layout = base_layout(
        title,
        height=top + bottom + plot_px,
        margin=dict(l=(100 if show else 20), r=20, t=top, b=bottom),
    )
    layout["coloraxis"] = coloraxis
    annotations, traces = [], []
    for h, cell in enumerate(cells):
        # Labels only on the outer edge of the grid: the tokens are the same
        # in every head, so repeating them would only eat space.
        lowest_in_col = h + n_cols >= n_head
        layout.update(cell_axes(cell, _axis(show and lowest_in_col), _axis(show and cell.col == 0, reverse=True)))
        name = head_title.format(head=h)
        annotations.append(cell_title(cell, name))
        traces.append(_heatmap(arr[h], labels, cell, name, hover))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)


def single_head(attn_2d: Any, pieces: Sequence[str], layer: int, head: int) -> go.Figure:
    """One head as a large map with token labels on both axes.

    attn_2d: (T, T).  Height grows with T so labels keep a readable spacing;
    Plotly thins the labels itself if they still do not fit.
    """
    arr = attention_array(attn_2d, pieces, ndim=2, name="single_head")  # (T, T)
    t = arr.shape[0]
    labels = token_labels(list(pieces))
    height = int(np.clip(200 + 14 * t, 450, 2400))
    layout = base_layout(
        f"Layer {layer}, head {head} attention",
        height=height,
        margin=dict(l=110, r=20, t=60, b=110),
    )
    layout["coloraxis"] = attention_coloraxis()
    layout["xaxis"] = dict(_axis(True), title=dict(text="key (attended to)"))
    layout["yaxis"] = dict(_axis(True, reverse=True), title=dict(text="query (attending)"))
    return go.Figure(data=[_heatmap(arr, labels, None, f"L{layer} H{head}")], layout=layout)


def layers_overview(attn: Any, pieces: Sequence[str]) -> go.Figure:
    """Thumbnails of every head in every layer: rows = layers, cols = heads.

    attn: (n_layer, n_head, T, T).  No tick labels (thumbnails are too small);
    hovering a cell still names the query and key tokens.
    """
    arr = attention_array(attn, pieces, ndim=4, name="layers_overview")  # (L, H, T, T)
    n_layer, n_head = arr.shape[0], arr.shape[1]
    labels = token_labels(list(pieces))

    row_px, v_gap_px = 110, 8
    top, bottom = 90, 20
    plot_px = n_layer * row_px + (n_layer - 1) * v_gap_px
    cells = grid_cells(n_layer * n_head, max(n_head, 1), plot_px, h_gap=0.01, v_gap_px=v_gap_px)

    layout = base_layout(
        "All layers and heads",
        height=top + bottom + plot_px,
        margin=dict(l=40, r=20, t=top, b=bottom),
    )
    layout["coloraxis"] = attention_coloraxis()
    annotations, traces = [], []
    for k, cell in enumerate(cells):
        layer, head = cell.row, cell.col
        layout.update(cell_axes(cell, _axis(False), _axis(False, reverse=True)))
        if layer == 0:
            annotations.append(cell_title(cell, f"H{head}"))
        if head == 0:
            annotations.append(_row_title(cell, f"L{layer}"))
        traces.append(_heatmap(arr[layer, head], labels, cell, f"L{layer} H{head}"))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)


def _row_title(cell: Cell, text: str) -> dict:
    """Layer name placed in the left margin, centred on the row."""
    return dict(
        text=text,
        x=cell.x_domain[0],
        y=(cell.y_domain[0] + cell.y_domain[1]) / 2,
        xref="paper",
        yref="paper",
        xanchor="right",
        yanchor="middle",
        xshift=-6,
        showarrow=False,
        font=dict(size=11),
    )
