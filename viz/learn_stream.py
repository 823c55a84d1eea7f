"""The Learn tab's figures of what flows between the blocks: embeddings and positions, the
feed-forward network's hidden units, the residual stream's size and LayerNorm's effect.

Plain numbers and labels in, a Plotly figure out, every word in the page's language.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from locales import text

from .arrays import to_float32
from .learn_layout import diverging, frame, is_narrow, panel_title, plain_axis, sequential, token_axis
from .tokens import token_labels, visible

SENTENCE_COLOR = "#E45756"
VOCAB_COLOR = "rgba(76, 120, 168, 0.45)"


def _tr(lang: str):
    return lambda key, **params: text("learn.fig." + key, lang, **params)


def embedding_figure(
    xy: Any,
    pieces: Sequence[str],
    ids: Sequence[int],
    in_sentence: Sequence[bool],
    explained: Sequence[float],
    lang: str,
    width_px: int | None = None,
) -> go.Figure:
    """Token embeddings projected on their first two principal components: xy (N, 2), one row per
    token drawn; the sentence's tokens in colour and labelled, the others grey (hover names each)."""
    t_ = _tr(lang)
    xy = to_float32(xy)
    mine = np.asarray(in_sentence, dtype=bool)
    names = [f"{visible(p)} (id {i})" for p, i in zip(pieces, ids)]
    height = int(np.clip((width_px or 640) * 0.8, 300, 480))
    legend = [t_("embed.vocabulary"), t_("embed.sentence")]
    layout = frame(t_("embed.title"), height, width_px, left=50, right=20, top=70, bottom=50, legend=legend)
    layout["xaxis"] = plain_axis(title=dict(text=t_("embed.axis", n=1, share=f"{explained[0]:.0%}")), zeroline=True)
    layout["yaxis"] = plain_axis(title=dict(text=t_("embed.axis", n=2, share=f"{explained[1]:.0%}")), zeroline=True)

    def points(which: np.ndarray, name: str, size: int, color: str, **extra) -> go.Scatter:
        """The tokens where `which` is true, each named in the hover."""
        return go.Scatter(
            x=xy[which, 0],
            y=xy[which, 1],
            name=name,
            marker=dict(size=size, color=color),
            hovertext=[n for n, w in zip(names, which) if w],
            hovertemplate="%{hovertext}<extra></extra>",
            **extra,
        )

    data = [
        points(~mine, t_("embed.vocabulary"), 6, VOCAB_COLOR, mode="markers"),
        points(
            mine,
            t_("embed.sentence"),
            9,
            SENTENCE_COLOR,
            mode="markers+text",
            text=[visible(p) for p, m in zip(pieces, mine) if m],  # the sentence's tokens are labelled
            textposition="top center",
            textfont=dict(size=11),
        ),
    ]
    return go.Figure(data=data, layout=layout)


def positions_figure(similarity: Any, lang: str, width_px: int | None = None) -> go.Figure:
    """Cosine similarity of the position embeddings, (T, T): how alike position i and j look."""
    t_ = _tr(lang)
    sim = to_float32(similarity)
    T = sim.shape[0]
    narrow = is_narrow(width_px)
    left, right, top, bottom = (44, 10, 60, 110) if narrow else (60, 80, 60, 50)
    side = int(np.clip((width_px or 640) - left - right, 140, 420))
    layout = frame(t_("positions.title"), side + top + bottom, width_px, left=left, right=right, top=top, bottom=bottom)
    layout["coloraxis"] = diverging(1.0, t_("positions.cosine"), width_px)
    axis = plain_axis(title=dict(text=t_("positions.axis"), font=dict(size=11)), constrain="domain")
    layout["xaxis"] = dict(axis, range=[-0.5, T - 0.5])
    layout["yaxis"] = dict(axis, autorange="reversed", scaleanchor="x", scaleratio=1)
    heat = go.Heatmap(z=sim, coloraxis="coloraxis", hovertemplate=t_("positions.hover") + "<extra></extra>")
    return go.Figure(data=[heat], layout=layout)


def _gelu(x: np.ndarray) -> np.ndarray:
    return np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x], dtype=np.float32)


def gelu_figure(
    pre: Any, post: Any, n_embd: int, token_label: str, lang: str, width_px: int | None = None
) -> go.Figure:
    """The GELU as a curve, and one token's hidden units on it: pre (4C,) before, post (4C,) after."""
    t_ = _tr(lang)
    pre, post = to_float32(pre).reshape(-1), to_float32(post).reshape(-1)
    low, high = min(float(pre.min(initial=0.0)), -3.0) - 0.3, max(float(pre.max(initial=0.0)), 3.0) + 0.3
    curve = np.linspace(low, high, 160, dtype=np.float32)
    title = t_("gelu.title", token=token_label, wide=pre.size, narrow=n_embd)
    legend = [t_("gelu.curve"), t_("gelu.units", n=pre.size)]
    layout = frame(title, 340, width_px, left=50, top=70, bottom=50, legend=legend)
    layout["xaxis"] = plain_axis(title=dict(text=t_("gelu.before")), zeroline=True)
    layout["yaxis"] = plain_axis(title=dict(text=t_("gelu.after")), zeroline=True)
    data = [
        go.Scatter(
            x=curve, y=_gelu(curve), mode="lines", name=t_("gelu.curve"), line=dict(color="#888", width=2), hoverinfo="skip"
        ),
        go.Scatter(
            x=pre,
            y=post,
            mode="markers",
            name=t_("gelu.units", n=pre.size),
            customdata=np.arange(pre.size),
            marker=dict(size=5, color="#4C78A8", opacity=0.6),
            hovertemplate=t_("gelu.hover") + "<extra></extra>",
        ),
    ]
    return go.Figure(data=data, layout=layout)


def units_figure(
    activations: Any, units: Sequence[int], pieces: Sequence[str], layer: int, lang: str, width_px: int | None = None
) -> go.Figure:
    """The hidden units that fire most in one layer, (K, T): how strongly each fires on each token."""
    t_ = _tr(lang)
    acts = to_float32(activations)  # (K, T)
    labels = token_labels(list(pieces))
    rows = [t_("units.unit", unit=u) for u in units]
    narrow = is_narrow(width_px)
    bottom = 120 if narrow else 80
    height = 70 + bottom + 22 * len(rows)
    layout = frame(t_("units.title", layer=layer), height, width_px, left=70, right=60, top=60, bottom=bottom)
    layout["coloraxis"] = sequential(
        min(float(acts.min(initial=0.0)), 0.0), float(acts.max(initial=1.0)), t_("units.activation"), width_px
    )
    if narrow:
        layout["coloraxis"]["colorbar"]["y"] = -0.5
    layout["xaxis"] = token_axis(labels, width_px, tickangle=-60)
    layout["yaxis"] = dict(plain_axis(), type="category", autorange="reversed")
    heat = go.Heatmap(
        z=acts, x=labels, y=rows, coloraxis="coloraxis", hovertemplate=t_("units.hover") + "<extra></extra>"
    )
    return go.Figure(data=[heat], layout=layout)


def stream_norm_figure(
    stages: Sequence[str],
    mean_norm: Sequence[float],
    token_norm: Sequence[float],
    token_label: str,
    lang: str,
    width_px: int | None = None,
) -> go.Figure:
    """The residual stream's size (its vector norm) after each step: averaged over the tokens, and for one token."""
    t_ = _tr(lang)
    legend = [t_("norm.mean"), t_("norm.token", token=token_label)]
    layout = frame(t_("norm.title"), 340, width_px, left=50, top=70, bottom=90, legend=legend)
    layout["xaxis"] = dict(plain_axis(tickangle=-45), type="category")
    layout["yaxis"] = plain_axis(title=dict(text="‖x‖"), rangemode="tozero")
    data = [
        go.Scatter(
            x=list(stages),
            y=to_float32(mean_norm),
            mode="lines+markers",
            name=t_("norm.mean"),
            line=dict(color="#4C78A8"),
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        ),
        go.Scatter(
            x=list(stages),
            y=to_float32(token_norm),
            mode="lines+markers",
            name=t_("norm.token", token=token_label),
            line=dict(color=SENTENCE_COLOR, dash="dot"),
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        ),
    ]
    return go.Figure(data=data, layout=layout)


def layernorm_figure(
    names: Sequence[str],
    mean_before: Any,
    mean_after: Any,
    std_before: Any,
    std_after: Any,
    lang: str,
    width_px: int | None = None,
) -> go.Figure:
    """Each LayerNorm's input and output, averaged over the tokens: the mean and the spread (standard
    deviation) across the features. Two panels: side by side on a laptop, stacked on a phone."""
    t_ = _tr(lang)
    stacked = is_narrow(width_px)
    names = list(names)
    panel_px = 230
    top, bottom, gap = 100, 90, 110
    height = top + bottom + (2 * panel_px + gap if stacked else panel_px)
    legend = [t_("ln.before"), t_("ln.after")]
    layout = frame(t_("ln.title"), height, width_px, left=50, top=top, bottom=bottom, legend=legend)
    plot = 2 * panel_px + gap if stacked else panel_px
    if stacked:
        domains = [([0, 1], [(panel_px + gap) / plot, 1.0]), ([0, 1], [0, panel_px / plot])]
    else:
        domains = [([0, 0.46], [0, 1]), ([0.54, 1], [0, 1])]
    colors = {"before": "#BAB0AC", "after": "#4C78A8"}
    words = {"before": t_("ln.before"), "after": t_("ln.after")}
    data, notes = [], []
    panels = [(t_("ln.mean"), mean_before, mean_after), (t_("ln.spread"), std_before, std_after)]
    for i, ((xd, yd), (title, before, after)) in enumerate(zip(domains, panels)):
        suffix = "" if i == 0 else "2"
        layout["xaxis" + suffix] = dict(plain_axis(tickangle=-45), type="category", domain=xd, anchor="y" + suffix)
        layout["yaxis" + suffix] = dict(plain_axis(zeroline=True), domain=yd, anchor="x" + suffix)
        for key, values in (("before", before), ("after", after)):
            data.append(
                go.Bar(
                    x=names,
                    y=to_float32(values),
                    name=words[key],
                    marker=dict(color=colors[key]),
                    legendgroup=key,
                    showlegend=i == 0,
                    xaxis="x" + suffix,
                    yaxis="y" + suffix,
                    hovertemplate="%{x}: %{y:.3f}<extra>" + words[key] + "</extra>",
                )
            )
        notes.append(panel_title(xd, yd[1] + 4 / plot, title))
    layout["annotations"] = notes
    layout["barmode"] = "group"
    layout["legend"]["y"] = 1 + 30 / plot  # above the panels' titles
    return go.Figure(data=data, layout=layout)
