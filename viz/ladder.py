"""The lecture's ladder: every stage's validation curve on one plot, and its table.

Each stage trains for the same time, so the curves share one axis: seconds since the stage
started. The colours run along one scale, from the first stage to the last, so the ladder reads
as a progression. The table is an escaped HTML string (CSS below, given to its gr.HTML).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from locales import text

from .layout import base_layout, show_empty

CSS = """
.ladder-wrap { overflow-x: auto; max-width: 100%; }
table.ladder { border-collapse: collapse; border: 0; font-size: 0.9em; width: 100%; }
table.ladder th, table.ladder td { padding: 4px 6px; border: 0; border-bottom: 1px solid var(--border-color-primary);
  text-align: left; vertical-align: top; }
table.ladder th { font-weight: 600; }
table.ladder td.num, table.ladder th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.ladder td.num { white-space: nowrap; }
table.ladder td .idea { display: block; color: var(--body-text-color-subdued); font-size: 0.85em; }
table.ladder tr.running td { color: var(--body-text-color-subdued); }
.ladder-note { color: var(--body-text-color-subdued); font-size: 0.85em; margin-top: 6px; }
/* A phone keeps the columns to compare: the stage, its steps, its loss and the lecture's. */
@media (max-width: 640px) {
  table.ladder { font-size: 0.82em; }
  table.ladder th, table.ladder td { padding: 3px 4px; }
  table.ladder .wide { display: none; }
}
"""


@dataclass(frozen=True)
class Curve:
    """One stage's validation curve."""

    label: str  # "1. bigram", in the page's language
    seconds: Sequence[float]  # at each evaluation, since the stage started
    val_losses: Sequence[float]
    steps: Sequence[int]  # at each evaluation (shown on hover)


@dataclass(frozen=True)
class Row:
    """One stage of the table, every cell already in the page's language (None: not yet known)."""

    label: str
    idea: str
    parameters: int
    steps: int | None
    seconds: float | None
    val_loss: float | None
    lecture: str  # the lecture's figure, as it reports it ("≈2.49")
    stopped: bool = False


def stage_colors(count: int) -> list[str]:
    """count colours along Viridis, stopping short of its pale yellow end (unreadable on white)."""
    if count <= 1:
        return sample_colorscale("Viridis", [0.0])
    return sample_colorscale("Viridis", list(np.linspace(0.0, 0.85, count)))


def ladder_curves(curves: Sequence[Curve], total_stages: int, lang: str = "en") -> go.Figure:
    """Validation loss against seconds, a line per stage (total_stages fixes the colours, so a
    stage keeps its colour while the later ones have not run yet)."""
    colors = stage_colors(max(total_stages, len(curves)))
    traces = []
    for curve, color in zip(curves, colors):
        x = np.asarray(curve.seconds, dtype=np.float64).reshape(-1)  # (N,)
        y = np.asarray(curve.val_losses, dtype=np.float64).reshape(-1)  # (N,)
        steps = np.asarray(curve.steps, dtype=np.int64).reshape(-1)  # (N,)
        if not x.shape == y.shape == steps.shape:
            raise ValueError(f"ladder_curves: {curve.label} has {x.size} times, {y.size} losses and {steps.size} steps")
        traces.append(
            go.Scatter(
                x=x, y=y, customdata=steps, name=curve.label, mode="lines+markers",
                line=dict(width=2, color=color), marker=dict(size=5, color=color),
                hovertemplate=text("viz.ladder.hover", lang) + "<extra></extra>",
            )
        )
    layout = base_layout(text("viz.ladder.title", lang), height=420, margin=dict(t=50, b=40))
    layout["xaxis"] = dict(title=dict(text=text("viz.ladder.x_axis", lang)), rangemode="tozero")
    layout["yaxis"] = dict(title=dict(text=text("viz.loss.y_axis", lang)))
    # Below the plot: seven names side by side would cover a phone's plot area.
    layout["legend"] = dict(orientation="h", x=0.0, xanchor="left", y=-0.18, yanchor="top")
    layout["margin"]["b"] = 120
    layout["height"] = 480
    if not traces:
        show_empty(layout, text("viz.ladder.empty", lang))
    return go.Figure(data=traces, layout=layout)


def ladder_table(rows: Sequence[Row], note: str, lang: str = "en") -> str:
    """The stages as an HTML table: ours beside the lecture's validation loss, then a note."""
    t = lambda key, **params: html.escape(text("viz.ladder." + key, lang, **params))  # noqa: E731
    head = (
        f"<tr><th>{t('stage')}</th><th class='num wide'>{t('parameters')}</th><th class='num'>{t('steps')}</th>"
        f"<th class='num wide'>{t('seconds')}</th><th class='num'>{t('val_loss')}</th><th class='num'>{t('lecture')}</th></tr>"
    )
    body = []
    for row in rows:
        steps = "—" if row.steps is None else f"{row.steps:,}"
        seconds = "—" if row.seconds is None else f"{row.seconds:.1f}"
        val = "—" if row.val_loss is None else f"{row.val_loss:.3f}"
        if row.stopped:
            val += " " + t("stopped")
        running = " class='running'" if row.seconds is None else ""
        body.append(
            f"<tr{running}><td class='stage'>{html.escape(row.label)}<span class='idea'>{html.escape(row.idea)}</span></td>"
            f"<td class='num wide'>{row.parameters:,}</td><td class='num'>{steps}</td><td class='num wide'>{seconds}</td>"
            f"<td class='num'>{val}</td><td class='num'>{html.escape(row.lecture)}</td></tr>"
        )
    return (
        f"<div class='ladder-wrap'><table class='ladder'><thead>{head}</thead><tbody>{''.join(body)}</tbody></table></div>"
        f"<div class='ladder-note'>{html.escape(note)}</div>"
    )
