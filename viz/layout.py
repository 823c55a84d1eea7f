"""Shared look of every Mirador figure.

One place for sizes, fonts and colours so all plots read the same on a laptop
and on a phone: width always follows the container (autosize), only the
height is fixed, and margins stay small because phone screens are narrow.
"""

from __future__ import annotations

from locales import text

ATTENTION_COLORSCALE = "Viridis"  # perceptually uniform, readable when printed grey
# Differences: a red-blue diverging scale, white at 0. Plotly's "RdBu" runs from red (low) to
# blue (high); reversed, attention gained is red and attention lost is blue.
DIVERGING_COLORSCALE = "RdBu_r"
FONT_SIZE = 12
TICK_FONT_SIZE = 9


def base_layout(title: str, height: int, margin: dict | None = None) -> dict:
    """Layout dict with the common settings; callers add axes on top."""
    m = dict(l=50, r=20, t=60, b=40)
    if margin:
        m.update(margin)
    return dict(
        title=dict(text=title, x=0.0, xanchor="left", font=dict(size=FONT_SIZE + 3)),
        autosize=True,
        height=int(height),
        margin=m,
        font=dict(size=FONT_SIZE),
        template="plotly_white",
    )


def empty_note(message: str) -> dict:
    """The grey centred line a figure shows while it has nothing to plot yet."""
    return dict(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font=dict(size=FONT_SIZE + 4, color="grey"),
    )


def show_empty(layout: dict, message: str) -> None:
    """Make a one-plot layout an empty figure: unit axes (not Plotly's default -1..6) and the note."""
    layout["xaxis"]["range"] = [0, 1]
    layout["yaxis"]["range"] = [0, 1]
    layout["annotations"] = [empty_note(message)]


def attention_coloraxis(lang: str = "en") -> dict:
    """One colour axis fixed to 0..1 so every head is on the same scale."""
    return dict(
        colorscale=ATTENTION_COLORSCALE,
        cmin=0.0,
        cmax=1.0,
        colorbar=dict(title=dict(text=text("viz.attention.weight", lang)), thickness=12, len=0.8),
    )


def diverging_coloraxis(limit: float, lang: str = "en") -> dict:
    """A colour axis for differences: centred on 0, from -limit to +limit, so that equal
    gains and losses get equally strong colours."""
    return dict(
        colorscale=DIVERGING_COLORSCALE,
        cmid=0.0,
        cmin=-float(limit),
        cmax=float(limit),
        colorbar=dict(title=dict(text=text("viz.attention.change", lang)), thickness=12, len=0.8),
    )
