"""The Learn tab's attention figures: one head step by step, then every head of a layer.

Each function takes the numbers of one head (or layer) and the tokens' labels, already cut to
the sentence the page shows, and the page's language for every word it writes. Rows are the
token that asks (the query), columns the tokens it looks at (the keys), as in the Attention tab.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import to_float32
from .grid import cell_axes, cell_title, grid_cells
from .learn_layout import (
    columns,
    dimension_title,
    diverging,
    frame,
    is_narrow,
    panel_title,
    plain_axis,
    row_outline,
    sequential,
    token_axis,
)
from .tokens import token_labels

ROW_PX = 7  # a token's row in a (T, head size) map
MAX_SUM_ROWS = 6  # keys drawn one by one in the weighted sum; the rest are summed into the output


def _tr(lang: str):
    return lambda key, **params: text("learn.fig." + key, lang, **params)


def _limit(*arrays: np.ndarray) -> float:
    return max(float(np.abs(a).max(initial=0.0)) for a in arrays)


def qkv_figure(
    q: Any, k: Any, v: Any, pieces: Sequence[str], query: int, lang: str, width_px: int | None = None
) -> go.Figure:
    """The query of one token above every key, and every value beside them: q (hs,), k and v (T, hs)."""
    t_ = _tr(lang)
    q, k, v = to_float32(q).reshape(1, -1), to_float32(k), to_float32(v)  # (1, hs), (T, hs), (T, hs)
    labels = token_labels(list(pieces))
    rows_px = int(np.clip(ROW_PX * len(labels), 120, 440))
    top, strip_px, gap_px, bottom = 56, 24, 40, 70 if is_narrow(width_px) else 40
    height = top + strip_px + gap_px + rows_px + bottom
    plot = strip_px + gap_px + rows_px
    strip_low = 1 - strip_px / plot  # paper y of the query strip's bottom
    rows_top = rows_px / plot
    left, right = [0.0, 0.47], [0.53, 1.0]
    layout = frame(t_("qkv.title", token=labels[query]), height, width_px, left=70, right=60, top=top, bottom=bottom)
    layout["coloraxis"] = diverging(_limit(q, k, v), t_("value"), width_px)
    dims = plain_axis(showticklabels=False, title=dimension_title(t_("dimension"), width_px))
    layout["xaxis"] = dict(plain_axis(showticklabels=False), domain=left, anchor="y")  # the query's strip: no title
    layout["yaxis"] = dict(plain_axis(showticklabels=True), domain=[strip_low, 1.0], anchor="x", type="category")
    layout["xaxis2"] = dict(dims, domain=left, anchor="y2")
    layout["yaxis2"] = dict(token_axis(labels, rows_px, autorange="reversed"), domain=[0.0, rows_top], anchor="x2")
    layout["xaxis3"] = dict(dims, domain=right, anchor="y3")
    layout["yaxis3"] = dict(
        token_axis(labels, rows_px, autorange="reversed", showticklabels=False), domain=[0.0, rows_top], anchor="x3"
    )
    layout["annotations"] = [
        panel_title(left, 1.0 + 4 / plot, t_("qkv.query", token=labels[query])),
        panel_title(left, rows_top + 4 / plot, t_("qkv.keys")),
        panel_title(right, rows_top + 4 / plot, t_("qkv.values")),
    ]
    hover = t_("qkv.hover")
    data = [
        go.Heatmap(z=q, y=["q"], coloraxis="coloraxis", hovertemplate=hover + "<extra>q</extra>", xaxis="x", yaxis="y"),
        go.Heatmap(
            z=k, y=labels, coloraxis="coloraxis", hovertemplate=hover + "<extra>K</extra>", xaxis="x2", yaxis="y2"
        ),
        go.Heatmap(
            z=v, y=labels, coloraxis="coloraxis", hovertemplate=hover + "<extra>V</extra>", xaxis="x3", yaxis="y3"
        ),
    ]
    return go.Figure(data=data, layout=layout)


def scores_figure(scores: Any, pieces: Sequence[str], query: int, lang: str, width_px: int | None = None) -> go.Figure:
    """The head's scores q·kᵀ/√d (T, T) before the causal mask, and after it (the future blank):
    side by side on a laptop, one above the other on a phone; the chosen query's row outlined."""
    t_ = _tr(lang)
    raw = to_float32(scores)  # (T, T)
    T = raw.shape[0]
    masked = np.where(np.triu(np.ones((T, T), dtype=bool), k=1), np.nan, raw)  # the future: -inf, drawn blank
    labels = token_labels(list(pieces))
    stacked = is_narrow(width_px)
    width = width_px or 640
    left_px, right_px = (44, 10) if stacked else (70, 70)
    side_px = (width - left_px - right_px) if stacked else (width - left_px - right_px) * 0.46
    side_px = int(np.clip(side_px, 120, 520))
    top, bottom, gap = 56, 90 if stacked else 50, 70 if stacked else 40
    height = top + bottom + (2 * side_px + gap if stacked else side_px)
    layout = frame(
        t_("scores.title", token=labels[query]), height, width_px, left=left_px, right=right_px, top=top, bottom=bottom
    )
    layout["coloraxis"] = diverging(
        _limit(raw[np.isfinite(raw)]) if np.isfinite(raw).any() else 1.0, t_("score"), width_px
    )
    if stacked:
        plot = 2 * side_px + gap
        domains = [([0, 1], [(side_px + gap) / plot, 1.0]), ([0, 1], [0.0, side_px / plot])]
    else:
        domains = [([0.0, 0.46], [0, 1]), ([0.54, 1.0], [0, 1])]
    names = [t_("scores.before"), t_("scores.after")]
    hover = t_("scores.hover")
    data, notes, shapes = [], [], []
    for i, ((xd, yd), z, name) in enumerate(zip(domains, [raw, masked], names)):
        suffix = "" if i == 0 else "2"
        layout["xaxis" + suffix] = token_axis(labels, side_px, domain=xd, anchor="y" + suffix, constrain="domain")
        layout["yaxis" + suffix] = token_axis(
            labels, side_px, domain=yd, anchor="x" + suffix, autorange="reversed", showticklabels=(i == 0 or stacked)
        )
        data.append(
            go.Heatmap(
                z=z,
                x=labels,
                y=labels,
                coloraxis="coloraxis",
                hoverongaps=False,
                hovertemplate=hover + f"<extra>{name}</extra>",
                xaxis="x" + suffix,
                yaxis="y" + suffix,
            )
        )
        notes.append(panel_title(xd, yd[1] + 0.01, name))
        shapes.append(row_outline("x" + suffix, "y" + suffix, query, T, color="#111", width=2))
    layout["annotations"] = notes
    layout["shapes"] = shapes
    layout["plot_bgcolor"] = "#e6e6e6"  # masked cells show this grey: −∞
    return go.Figure(data=data, layout=layout)


def softmax_figure(
    scores: Any, weights: Any, pieces: Sequence[str], lang: str, width_px: int | None = None
) -> go.Figure:
    """The query's row after the mask: its scores for the keys it may see (q+1,) and their softmax,
    the weights (q+1,), as bars over those keys."""
    t_ = _tr(lang)
    s, w = to_float32(scores).reshape(-1), to_float32(weights).reshape(-1)  # (t+1,)
    labels = token_labels(list(pieces))[: w.size]
    layout = frame(
        t_("softmax.title", total=f"{float(w.sum()):.3f}"), 300, width_px, left=50, right=20, top=56, bottom=80
    )
    layout["xaxis"] = token_axis(labels, width_px, tickangle=-60)
    layout["yaxis"] = plain_axis(title=dict(text=t_("weight")), range=[0, max(float(w.max(initial=0.0)) * 1.1, 0.05)])
    bars = go.Bar(
        x=labels,
        y=w,
        customdata=s,
        marker=dict(color="#4C78A8"),
        hovertemplate=t_("softmax.hover") + "<extra></extra>",
        name=t_("weight"),
    )
    return go.Figure(data=[bars], layout=layout)


def weighted_sum_figure(
    weights: Any, values: Any, output: Any, pieces: Sequence[str], query: int, lang: str, width_px: int | None = None
) -> go.Figure:
    """The head's output for the query as a blend: weight × value of the keys that weigh most
    (MAX_SUM_ROWS of them), then their sum over every key, the output (hs,)."""
    t_ = _tr(lang)
    w, v, out = (
        to_float32(weights).reshape(-1),
        to_float32(values),
        to_float32(output).reshape(-1),
    )  # (t+1,), (t+1, hs), (hs,)
    labels = token_labels(list(pieces))
    # The keys that weigh most (at least 1%, and the heaviest one however light), in the text's order.
    heaviest = np.argsort(-w, kind="stable")[:MAX_SUM_ROWS].tolist()
    top_keys = sorted(j for i, j in enumerate(heaviest) if i == 0 or w[j] >= 0.01)
    rows = [w[j] * v[j] for j in top_keys] + [out]
    names = [t_("sum.row", weight=f"{w[j]:.2f}", token=labels[j]) for j in top_keys]
    rest = w.size - len(top_keys)
    names.append(t_("sum.output_rest", n=rest) if rest else t_("sum.output"))
    z = np.stack(rows)  # (rows, hs)
    height = 110 + 30 * len(rows) + (40 if is_narrow(width_px) else 0)
    layout = frame(
        t_("sum.title", token=labels[query]),
        height,
        width_px,
        left=150 if not is_narrow(width_px) else 120,
        right=60,
        top=56,
        bottom=40 + (40 if is_narrow(width_px) else 0),
    )
    layout["coloraxis"] = diverging(_limit(z), t_("value"), width_px)
    layout["xaxis"] = plain_axis(showticklabels=False, title=dimension_title(t_("dimension"), width_px))
    layout["yaxis"] = dict(plain_axis(), type="category", autorange="reversed", tickfont=dict(size=10))
    heat = go.Heatmap(
        z=z,
        y=names,
        coloraxis="coloraxis",
        hovertemplate="%{y}<br>" + t_("dimension") + " %{x}: %{z:.3f}<extra></extra>",
    )
    line = dict(
        type="line",
        xref="paper",
        yref="y",
        x0=0,
        x1=1,
        y0=len(rows) - 1.5,
        y1=len(rows) - 1.5,
        line=dict(color="#111", width=2),
    )
    layout["shapes"] = [line]
    return go.Figure(data=[heat], layout=layout)


def heads_figure(
    weights: Any, pieces: Sequence[str], query: int, layer: int, lang: str, width_px: int | None = None
) -> go.Figure:
    """Every head of one layer, (H, T, T), as small square maps side by side, the query's row outlined."""
    t_ = _tr(lang)
    arr = to_float32(weights)  # (H, T, T)
    n_head, T = arr.shape[0], arr.shape[1]
    labels = token_labels(list(pieces))
    width = width_px or 640
    n_cols = columns(n_head, width_px, 150)
    left, right = (44, 10) if is_narrow(width_px) else (70, 70)
    cell_px = int(np.clip((width - left - right) / n_cols * 0.94, 90, 420))
    n_rows = -(-n_head // n_cols)
    gap, top, bottom = 34, 60, (110 if is_narrow(width_px) else 60)
    plot = n_rows * cell_px + (n_rows - 1) * gap
    cells = grid_cells(n_head, n_cols, plot, h_gap=0.04, v_gap_px=gap)
    layout = frame(
        t_("heads.title", layer=layer), top + bottom + plot, width_px, left=left, right=right, top=top, bottom=bottom
    )
    layout["coloraxis"] = sequential(0.0, 1.0, t_("weight"), width_px)
    traces, notes, shapes = [], [], []
    hover = t_("heads.hover")
    for h, cell in enumerate(cells):
        bottom_row = h + n_cols >= n_head
        x = token_axis(labels, cell_px, showticklabels=bottom_row, constrain="domain")
        y = token_axis(
            labels,
            cell_px,
            showticklabels=cell.col == 0,
            autorange="reversed",
            scaleanchor=cell.xref,
            scaleratio=1,
            constrain="domain",
        )
        layout.update(cell_axes(cell, x, y))
        name = t_("heads.head", head=h)
        notes.append(cell_title(cell, name))
        traces.append(
            go.Heatmap(
                z=arr[h],
                x=labels,
                y=labels,
                coloraxis="coloraxis",
                xaxis=cell.xref,
                yaxis=cell.yref,
                hovertemplate=hover + f"<extra>{name}</extra>",
            )
        )
        shapes.append(row_outline(cell.xref, cell.yref, query, T, color="#ff4d4d", width=1.5))
    layout["annotations"] = notes
    layout["shapes"] = shapes
    return go.Figure(data=traces, layout=layout)


def projection_figure(
    heads_out: Any, projected: Any, query_label: str, lang: str, width_px: int | None = None
) -> go.Figure:
    """For one token: every head's output laid side by side (H, hs) -> (C,), then the output
    projection of that vector (C,): what attention adds to the residual stream."""
    t_ = _tr(lang)
    heads = to_float32(heads_out)  # (H, hs)
    n_head, hs = heads.shape
    concat, proj = heads.reshape(-1), to_float32(projected).reshape(-1)  # (C,), (C,)
    narrow = is_narrow(width_px)
    bottom = 90 if narrow else 50
    layout = frame(
        t_("proj.title", token=query_label), 200 + bottom, width_px, left=10, right=60, top=70, bottom=bottom
    )
    layout["coloraxis"] = diverging(_limit(concat, proj), t_("value"), width_px)
    dims = plain_axis(showticklabels=False)
    layout["xaxis"] = dict(dims, domain=[0, 1], anchor="y")
    layout["yaxis"] = dict(plain_axis(showticklabels=False), domain=[0.62, 1.0], anchor="x")
    layout["xaxis2"] = dict(dims, domain=[0, 1], anchor="y2", title=dimension_title(t_("dimension"), width_px))
    layout["yaxis2"] = dict(plain_axis(showticklabels=False), domain=[0.0, 0.38], anchor="x2")
    head_of = np.repeat(np.arange(n_head), hs)[None, :]  # which head each dimension came from
    data = [
        go.Heatmap(
            z=concat[None, :],
            customdata=head_of,
            coloraxis="coloraxis",
            xaxis="x",
            yaxis="y",
            hovertemplate=t_("proj.hover_head") + "<extra></extra>",
        ),
        go.Heatmap(
            z=proj[None, :],
            coloraxis="coloraxis",
            xaxis="x2",
            yaxis="y2",
            hovertemplate=t_("dimension") + " %{x}: %{z:.3f}<extra></extra>",
        ),
    ]
    # A line between heads, and each head's number above its slice.
    shapes = [
        dict(
            type="line",
            xref="x",
            yref="paper",
            x0=h * hs - 0.5,
            x1=h * hs - 0.5,
            y0=0.62,
            y1=1.0,
            line=dict(color="#111", width=2),
        )
        for h in range(1, n_head)
    ]
    plot = 200 - 70  # the panels' height in pixels
    notes = [
        panel_title([0, 1], 1.0 + 18 / plot, t_("proj.concat", n=n_head)),
        panel_title([0, 1], 0.38 + 4 / plot, t_("proj.projected")),
    ]
    if n_head <= 12:
        notes += [
            dict(
                text=t_("heads.head_short", head=h),
                x=h * hs + hs / 2 - 0.5,
                y=1.0,
                xref="x",
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=10),
            )
            for h in range(n_head)
        ]
    layout["shapes"], layout["annotations"] = shapes, notes
    return go.Figure(data=data, layout=layout)
