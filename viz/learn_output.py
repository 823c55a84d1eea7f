"""The Learn tab's figures of what comes out of the model: the next token's probabilities (from
one token, from the sentence, and through temperature, top-k and top-p), the surprise at each
real next token, and what dropout does to a vector.

Plain numbers and labels in, a Plotly figure out, every word in the page's language.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import to_float32
from .learn_layout import columns, dimension_title, diverging, frame, is_narrow, panel_title, plain_axis, token_axis
from .tokens import make_unique, token_labels, visible

BLUE, GREY, RED = "#4C78A8", "#BAB0AC", "#E45756"


def _tr(lang: str):
    return lambda key, **params: text("learn.fig." + key, lang, **params)


def bigram_figure(
    pieces: Sequence[str], alone: Any, context: Any, last: str, lang: str, width_px: int | None = None
) -> go.Figure:
    """The likeliest next tokens, (K,) each: predicted from the last token alone and from the whole sentence."""
    t_ = _tr(lang)
    labels = make_unique([visible(p) for p in pieces])
    names = [t_("bigram.alone", token=visible(last)), t_("bigram.context")]
    layout = frame(
        t_("bigram.title", token=visible(last)),
        130 + 34 * max(len(labels), 1),
        width_px,
        left=70,
        top=80,
        bottom=50,
        legend=names,
    )
    layout["xaxis"] = plain_axis(title=dict(text=t_("probability")), tickformat=".0%", rangemode="tozero")
    layout["yaxis"] = dict(plain_axis(), type="category", autorange="reversed", tickfont=dict(size=12))
    layout["barmode"] = "group"
    layout["legend"]["y"] = 1.02
    hover = "%{y}: %{x:.1%}<extra></extra>"
    data = [
        go.Bar(x=to_float32(probs), y=labels, orientation="h", name=name, marker=dict(color=color), hovertemplate=hover)
        for probs, name, color in zip((alone, context), names, (GREY, BLUE))
    ]
    return go.Figure(data=data, layout=layout)


def sampling_figure(
    pieces: Sequence[str], stages: Sequence[Any], titles: Sequence[str], lang: str, width_px: int | None = None
) -> go.Figure:
    """The same tokens through each stage, one panel per stage: stages are (K + 1,) probabilities,
    the K tokens of pieces and, last, every other token of the vocabulary together."""
    t_ = _tr(lang)
    labels = make_unique([visible(p) for p in pieces]) + [t_("sampling.others")]
    n = len(stages)
    n_cols = columns(n, width_px, 170)
    n_rows = -(-n // n_cols)
    panel_px, gap = 28 + 18 * len(labels), 60
    top, bottom = 60, 30
    plot = n_rows * panel_px + (n_rows - 1) * gap
    layout = frame(t_("sampling.title"), top + bottom + plot, width_px, left=70, right=20, top=top, bottom=bottom)
    layout["showlegend"] = False
    h_gap = 0.06
    cell_w = (1 - (n_cols - 1) * h_gap) / n_cols
    data, notes = [], []
    for i, (probs, title) in enumerate(zip(stages, titles)):
        row, col = divmod(i, n_cols)
        xd = [col * (cell_w + h_gap), col * (cell_w + h_gap) + cell_w]
        y1 = 1 - row * (panel_px + gap) / plot
        yd = [max(y1 - panel_px / plot, 0.0), y1]
        suffix = "" if i == 0 else str(i + 1)
        p = to_float32(probs).reshape(-1)
        layout["xaxis" + suffix] = dict(plain_axis(tickformat=".0%"), range=[0, 1.05], domain=xd, anchor="y" + suffix)
        layout["yaxis" + suffix] = dict(
            plain_axis(showticklabels=col == 0, tickfont=dict(size=12)),  # the tokens: readable, not tick-sized
            type="category",
            autorange="reversed",
            domain=yd,
            anchor="x" + suffix,
        )
        colors = [BLUE] * (len(labels) - 1) + [GREY]
        data.append(
            go.Bar(
                x=p,
                y=labels,
                orientation="h",
                marker=dict(color=colors),
                xaxis="x" + suffix,
                yaxis="y" + suffix,
                text=[f"{v:.0%}" if v >= 0.005 else ("0" if v == 0 else "<1%") for v in p],
                textposition="outside",
                cliponaxis=False,
                textfont=dict(size=9),
                hovertemplate="%{y}: %{x:.2%}<extra>" + title + "</extra>",
            )
        )
        notes.append(panel_title(xd, y1 + 4 / plot, title))
    layout["annotations"] = notes
    return go.Figure(data=data, layout=layout)


def surprise_figure(
    pieces: Sequence[str],
    surprise: Any,
    probs: Any,
    loss: float,
    uniform: float,
    lang: str,
    width_px: int | None = None,
) -> go.Figure:
    """The surprise −ln p at each real next token, (T-1,) for tokens 1..T-1 of pieces, with their
    mean (the loss) and ln V (a uniform guess's loss) as lines."""
    t_ = _tr(lang)
    labels = token_labels(list(pieces))[1:]
    s, p = to_float32(surprise).reshape(-1), to_float32(probs).reshape(-1)
    lines = [
        (loss, t_("surprise.loss", value=f"{loss:.2f}"), RED, "solid"),
        (uniform, t_("surprise.uniform", value=f"{uniform:.2f}"), "#555", "dash"),
    ]
    legend = [t_("surprise.bars")] + [name for _, name, _, _ in lines]
    layout = frame(t_("surprise.title"), 340, width_px, left=50, top=70, bottom=90, legend=legend)
    layout["xaxis"] = token_axis(labels, width_px, tickangle=-60)
    layout["yaxis"] = plain_axis(title=dict(text=t_("surprise.axis")), rangemode="tozero")
    data = [
        go.Bar(
            x=labels,
            y=s,
            customdata=p,
            marker=dict(color=BLUE),
            name=t_("surprise.bars"),
            hovertemplate=t_("surprise.hover") + "<extra></extra>",
        )
    ]
    for value, name, color, dash in lines:
        data.append(
            go.Scatter(
                x=[labels[0], labels[-1]],
                y=[value, value],
                mode="lines",
                name=name,
                line=dict(color=color, dash=dash, width=2),
                hoverinfo="name",
            )
        )
    return go.Figure(data=data, layout=layout)


def dropout_figure(
    vector: Any, dropped: Any, p: float, token_label: str, lang: str, width_px: int | None = None, note: str = ""
) -> go.Figure:
    """One token's vector (C,) as evaluation sees it, and after one draw of dropout in training (C,);
    note: a remark added to the title."""
    t_ = _tr(lang)
    x, y = to_float32(vector).reshape(-1), to_float32(dropped).reshape(-1)
    zeroed = int(((y == 0) & (x != 0)).sum())
    narrow = is_narrow(width_px)
    bottom = 90 if narrow else 50
    title = t_("dropout.title", token=token_label, p=f"{p:g}", zeroed=zeroed, total=x.size, scale=f"{1 / (1 - p):.2f}")
    title += f" ({note})" if note else ""
    layout = frame(title, 200 + bottom, width_px, left=10, right=60, top=80, bottom=bottom)
    layout["coloraxis"] = diverging(max(float(np.abs(y).max(initial=0.0)), 1e-6), t_("value"), width_px)
    layout["xaxis"] = dict(plain_axis(showticklabels=False), domain=[0, 1], anchor="y")
    layout["yaxis"] = dict(plain_axis(showticklabels=False), domain=[0.6, 1.0], anchor="x")
    layout["xaxis2"] = dict(
        plain_axis(showticklabels=False), domain=[0, 1], anchor="y2", title=dimension_title(t_("dimension"), width_px)
    )
    layout["yaxis2"] = dict(plain_axis(showticklabels=False), domain=[0.0, 0.4], anchor="x2")
    hover = t_("dimension") + " %{x}: %{z:.3f}<extra></extra>"
    data = [
        go.Heatmap(z=x[None, :], coloraxis="coloraxis", xaxis="x", yaxis="y", hovertemplate=hover),
        go.Heatmap(z=y[None, :], coloraxis="coloraxis", xaxis="x2", yaxis="y2", hovertemplate=hover),
    ]
    plot = 200 - 80
    layout["annotations"] = [
        panel_title([0, 1], 1.0 + 4 / plot, t_("dropout.eval")),
        panel_title([0, 1], 0.4 + 4 / plot, t_("dropout.train", p=f"{p:g}")),
    ]
    return go.Figure(data=data, layout=layout)
