"""Attention maps as heatmaps: per head, one head large, and all layers.

Convention everywhere: rows are query positions (the token doing the
looking), columns are key positions (the token looked at).  The model is
causal, so the upper triangle is zero.  Query 0 is drawn at the top, like
reading the text top to bottom.

All heatmaps share one colour axis fixed to 0..1, so a bright cell means the
same weight in every head and layer and heads can be compared by eye. The
difference of two snapshots (`head_grid_diff`) uses a diverging scale
centred on 0 instead, symmetric so that equal gains and losses look alike.

Every function takes lang ("en", "es"): titles, axis titles and hover text come from locales.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import attention_array
from .grid import Cell, cell_axes, cell_title, grid_cells, paper_text
from .layout import TICK_FONT_SIZE, attention_coloraxis, base_layout, diverging_coloraxis
from .tokens import token_labels

MAX_LABELLED_TOKENS = 48  # above this, without a known width, tick labels overlap into a smear
MAX_GRID_COLS = 4
MIN_CELL_PX = 130  # a head's map is at least this wide: two per row on a phone
MIN_LABEL_PX = 11  # a tick label per this many pixels at most, or they overlap
NARROW_PX = 600  # below this width (a phone), tighter margins and the colour bar below the maps

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


def _heatmap(
    z: np.ndarray, labels: list[str], cell: Cell | None, name: str, hover: str, notes: list[str] | None = None
) -> go.Heatmap:
    """One (T, T) attention map; labels on both axes so hover names tokens. notes: what to add to
    each token's name in the hover (the character a BPE byte piece belongs to), or None."""
    extra = {}
    if notes is not None:
        # The hover templates name the query as %{y} and the key as %{x}: each gets its note.
        extra["customdata"] = [[[notes[i], notes[j]] for j in range(len(notes))] for i in range(len(notes))]
        hover = hover.replace("%{y}", "%{y}%{customdata[0]}", 1).replace("%{x}", "%{x}%{customdata[1]}", 1)
    trace = go.Heatmap(
        z=z,  # (T_query, T_key) float32
        x=labels,  # key positions
        y=labels,  # query positions
        coloraxis="coloraxis",
        hovertemplate=hover + f"<extra>{name}</extra>",
        **extra,
    )
    if cell is not None:
        trace.xaxis, trace.yaxis = cell.xref, cell.yref
    return trace


def _notes(parts: Sequence[str] | None, lang: str) -> list[str] | None:
    """parts: for each token, the character it holds only a piece of ("" for whole characters).
    None when no token is such a piece: the hover then needs no notes (and the figure no data for them)."""
    if not parts or not any(parts):
        return None
    return [text("attention.tokens.piece_of", lang, char=part) if part else "" for part in parts]


def head_grid(
    attn: Any,
    pieces: Sequence[str],
    layer: int,
    width_px: int | None = None,
    lang: str = "en",
    parts: Sequence[str] | None = None,
) -> go.Figure:
    """Every head of one layer side by side, at most 4 per row (fewer on a narrow screen).

    attn: (n_head, T, T) tensor or array; pieces: the T token strings; width_px: the width the
    figure will have, when the page told it (the maps are then square); parts: for each token,
    the character it is a byte piece of ("" if none), named in the hover.
    """
    arr = attention_array(attn, pieces, ndim=3, name="head_grid")  # (H, T, T)
    title = text("viz.attention.grid_title", lang, layer=layer)
    hover = text("viz.attention.hover", lang)
    return _grid(
        arr, pieces, title, attention_coloraxis(lang), text("viz.attention.head", lang), hover, width_px, _notes(parts, lang)
    )


def head_grid_diff(
    diff: Any,
    pieces: Sequence[str],
    layer: int,
    width_px: int | None = None,
    lang: str = "en",
) -> go.Figure:
    """How every head of one layer changed between two snapshots, laid out like head_grid.

    diff: (n_head, T, T), later minus earlier (gpt.snapshot_diff(a, b)[layer]); red where
    the later snapshot attends more, blue where less, white where nothing moved.
    """
    arr = attention_array(diff, pieces, ndim=3, name="head_grid_diff")  # (H, T, T)
    if not np.isfinite(arr).all():
        raise ValueError("head_grid_diff: the difference has non-finite values; compare two finite snapshots.")
    limit = max(float(np.abs(arr).max(initial=0.0)), DIFF_MIN_RANGE)
    coloraxis = diverging_coloraxis(limit, lang)
    title, hover = text("viz.attention.diff_title", lang, layer=layer), text("viz.attention.diff_hover", lang)
    return _grid(arr, pieces, title, coloraxis, text("viz.attention.head", lang), hover, width_px)


def _sides(show_labels: bool, width_px: int | None) -> tuple[int, int]:
    """(left, right) margins of a grid: the query labels' room, and the colour bar's (which goes
    below the maps on a narrow screen)."""
    narrow = width_px is not None and width_px < NARROW_PX
    return (60 if narrow else 100) if show_labels else 20, 10 if narrow else 70


def grid_columns(n_head: int, width_px: int | None, show_labels: bool = True) -> int:
    """Heads per row: at most MAX_GRID_COLS, and on a narrow screen as many as keep each map at
    least MIN_CELL_PX wide (a phone shows two, not four strips)."""
    if width_px is None:
        return min(MAX_GRID_COLS, max(n_head, 1))
    left, right = _sides(show_labels, width_px)
    fits = (width_px - left - right) // MIN_CELL_PX
    return int(min(MAX_GRID_COLS, max(n_head, 1), max(fits, 1)))


def _grid(
    arr: np.ndarray,
    pieces: Sequence[str],
    title: str,
    coloraxis: dict,
    head_title: str,
    hover: str,
    width_px=None,
    notes: list[str] | None = None,
) -> go.Figure:
    """The heads of arr (H, T, T) in a grid, one colour axis. With the figure's width known, every
    map is square; without it, 240 px tall (square at a laptop's width)."""
    n_head, t = arr.shape[0], arr.shape[1]
    labels = token_labels(list(pieces))
    # With the width known, Plotly thins the labels to what fits (nticks below); without it, many
    # labels would overlap into a smear.
    show = t <= MAX_LABELLED_TOKENS or width_px is not None
    n_cols = grid_columns(n_head, width_px, show)
    n_rows = -(-n_head // n_cols)
    left, right = _sides(show, width_px)
    narrow = width_px is not None and width_px < NARROW_PX
    if width_px is None:
        row_px = 240
    else:  # square maps: a row is as tall as a map is wide
        row_px = max(int((width_px - left - right) / n_cols * (1 - 0.03 * (n_cols - 1))), 60)
    v_gap_px = 34
    top, bottom = 80, (100 if show else 30) + (70 if narrow else 0)
    plot_px = n_rows * row_px + (n_rows - 1) * v_gap_px
    cells = grid_cells(n_head, n_cols, plot_px, h_gap=0.03, v_gap_px=v_gap_px)

    layout = base_layout(title, height=top + bottom + plot_px, margin=dict(l=left, r=right, t=top, b=bottom))
    if narrow:  # the colour bar under the maps, not beside them
        # Below the bottom row's token labels (written upwards, up to ~70 px tall), not over them.
        below = -((70 if show else 0) + 8) / plot_px
        coloraxis = dict(coloraxis, colorbar=dict(coloraxis["colorbar"], orientation="h", y=below, yanchor="top", len=1.0))
    layout["coloraxis"] = coloraxis
    ticks = max(2, row_px // MIN_LABEL_PX)  # Plotly thins the labels to this many: they stay readable
    annotations, traces = [], []
    for h, cell in enumerate(cells):
        # Labels only on the outer edge of the grid: the tokens are the same
        # in every head, so repeating them would only eat space.
        lowest_in_col = h + n_cols >= n_head
        x_axis, y_axis = _axis(show and lowest_in_col), _axis(show and cell.col == 0, reverse=True)
        square = dict(scaleanchor=cell.xref, scaleratio=1, constrain="domain")  # a T x T map stays square
        layout.update(cell_axes(cell, dict(x_axis, nticks=ticks, constrain="domain"), dict(y_axis, nticks=ticks, **square)))
        name = head_title.format(head=h)
        annotations.append(cell_title(cell, name))
        traces.append(_heatmap(arr[h], labels, cell, name, hover, notes))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)


def single_head(
    attn_2d: Any,
    pieces: Sequence[str],
    layer: int,
    head: int,
    width_px: int | None = None,
    lang: str = "en",
    parts: Sequence[str] | None = None,
) -> go.Figure:
    """One head as a large map with token labels on both axes.

    attn_2d: (T, T). With the figure's width known the map is square; without it, its height
    grows with T so labels keep a readable spacing. Plotly thins the labels if they do not fit.
    """
    arr = attention_array(attn_2d, pieces, ndim=2, name="single_head")  # (T, T)
    t = arr.shape[0]
    labels = token_labels(list(pieces))
    narrow = width_px is not None and width_px < NARROW_PX
    margin = dict(l=70, r=10, t=60, b=130) if narrow else dict(l=110, r=20, t=60, b=110)
    if width_px is None:
        height = int(np.clip(200 + 14 * t, 450, 2400))
    else:  # square: the map's height is its width
        height = int(max(width_px - margin["l"] - margin["r"] - (0 if narrow else 60), 150) + margin["t"] + margin["b"])
    layout = base_layout(text("viz.attention.single_title", lang, layer=layer, head=head), height=height, margin=margin)
    layout["coloraxis"] = attention_coloraxis(lang)
    if narrow:
        layout["coloraxis"]["colorbar"].update(orientation="h", y=-0.35, yanchor="top", len=1.0)
    layout["xaxis"] = dict(_axis(True), title=dict(text=text("viz.attention.key_axis", lang)))
    layout["xaxis"]["constrain"] = "domain"
    layout["yaxis"] = dict(
        _axis(True, reverse=True),
        title=dict(text=text("viz.attention.query_axis", lang)),
        scaleanchor="x",
        scaleratio=1,
        constrain="domain",
    )
    name = text("viz.attention.layer_head", lang, layer=layer, head=head)
    hover = text("viz.attention.hover", lang)
    return go.Figure(data=[_heatmap(arr, labels, None, name, hover, _notes(parts, lang))], layout=layout)


def layers_overview(attn: Any, pieces: Sequence[str], lang: str = "en") -> go.Figure:
    """Thumbnails of every head in every layer: rows = layers, cols = heads.

    attn: (n_layer, n_head, T, T).  No tick labels (thumbnails are too small);
    hovering a cell still names the query and key tokens.
    """
    arr = attention_array(attn, pieces, ndim=4, name="layers_overview")  # (L, H, T, T)
    n_layer, n_head = arr.shape[0], arr.shape[1]
    labels = token_labels(list(pieces))

    row_px, v_gap_px = 110, 8
    top, bottom = 90, 20
    row_titles = [text("viz.attention.layer_short", lang, layer=layer) for layer in range(n_layer)]
    left = 14 + 7 * max(len(t) for t in row_titles)  # room for the layers' names, at 11 px
    plot_px = n_layer * row_px + (n_layer - 1) * v_gap_px
    cells = grid_cells(n_layer * n_head, max(n_head, 1), plot_px, h_gap=0.01, v_gap_px=v_gap_px)

    layout = base_layout(
        text("viz.attention.overview_title", lang),
        height=top + bottom + plot_px,
        margin=dict(l=left, r=20, t=top, b=bottom),
    )
    layout["coloraxis"] = attention_coloraxis(lang)
    hover = text("viz.attention.hover", lang)
    annotations, traces = [], []
    for k, cell in enumerate(cells):
        layer, head = cell.row, cell.col
        layout.update(cell_axes(cell, _axis(False), _axis(False, reverse=True)))
        if layer == 0:
            annotations.append(cell_title(cell, text("viz.attention.head_short", lang, head=head)))
        if head == 0:
            annotations.append(_row_title(cell, row_titles[layer]))
        name = text("viz.attention.layer_head", lang, layer=layer, head=head)
        traces.append(_heatmap(arr[layer, head], labels, cell, name, hover))
    layout["annotations"] = annotations
    return go.Figure(data=traces, layout=layout)


def _row_title(cell: Cell, text: str) -> dict:
    """Layer name placed in the left margin, centred on the row."""
    y = (cell.y_domain[0] + cell.y_domain[1]) / 2
    return paper_text(text, cell.x_domain[0], y, xanchor="right", yanchor="middle", xshift=-6)
