"""What the Learn tab's figures share: their frame on a laptop and on a phone, panels placed by
hand, token axes, colour axes and the outline of the chosen row.

Every figure of the Learn tab is small and sits in a column of known width (when the page
reported it): on a narrow screen margins shrink, colour bars go under the plot and token
labels are thinned so that none overlaps.
"""

from __future__ import annotations

from typing import Sequence

from .attention import MIN_LABEL_PX, NARROW_PX
from .grid import paper_text
from .layout import DIVERGING_COLORSCALE, TICK_FONT_SIZE, base_layout

LAPTOP_PX = 640  # a figure's width when the page did not say


def is_narrow(width_px: int | None) -> bool:
    return width_px is not None and width_px < NARROW_PX


TITLE_LINE_PX = 20  # a line of a figure's title
TITLE_CHAR_PX = 8  # about the width of one character of a title


def wrap(title: str, width_px: int | None) -> list[str]:
    """The title's lines: Plotly never wraps a title, and one wider than the figure is cut off."""
    most = max(((width_px or LAPTOP_PX) - 16) // TITLE_CHAR_PX, 12)
    lines, line = [], ""
    for word in title.split(" "):
        if line and len(line) + 1 + len(word) > most:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


LEGEND_ROW_PX = 22


def legend_rows(names: Sequence[str], width_px: int | None) -> int:
    """How many rows a horizontal legend of these entries takes (Plotly wraps it to the width)."""
    room, rows, used = (width_px or LAPTOP_PX) - 20, 1, 0
    for name in names:
        item = 50 + 7 * len(name)  # the symbol, the gap and the text
        if used and used + item > room:
            rows, used = rows + 1, 0
        used += item
    return rows


def frame(
    title: str,
    height: int,
    width_px: int | None,
    left: int = 50,
    right: int = 20,
    top: int = 50,
    bottom: int = 40,
    legend: Sequence[str] = (),
) -> dict:
    """base_layout with margins for this width: a phone gets tighter sides, and a title that would
    not fit on one line is wrapped (the figure grows by the extra lines). The title sits at the very
    top; `top` is the room above the plot for it, one row of legend and any panel titles; a legend
    (its entries' names) that wraps to more rows gets the room for them too."""
    if is_narrow(width_px):
        left, right = min(left, 44), min(right, 10)
    lines = wrap(title, width_px)
    extra = TITLE_LINE_PX * (len(lines) - 1) + LEGEND_ROW_PX * (legend_rows(legend, width_px) - 1 if legend else 0)
    height += extra
    layout = base_layout("<br>".join(lines), height, margin=dict(l=left, r=right, t=top + extra, b=bottom))
    # Plotly places a title of several lines by its first line (the others flow below it), and
    # yanchor="top" cuts that line in half: so the first line's bottom is put a line below the top.
    layout["title"].update(y=1 - (6 + TITLE_LINE_PX) / height, yref="container", yanchor="bottom")
    layout["legend"] = dict(orientation="h", x=0, y=1.0, yanchor="bottom", font=dict(size=11))
    return layout


def token_axis(labels: Sequence[str], width_px: int | None, span: float = 1.0, **extra) -> dict:
    """A category axis of token labels, thinned to what fits in `span` of the figure's width."""
    room = (width_px or LAPTOP_PX) * span
    step = max(1, -(-len(labels) * MIN_LABEL_PX // max(int(room), 1)))
    axis = dict(
        type="category",
        tickmode="array",
        tickvals=list(labels[::step]),
        ticktext=list(labels[::step]),
        tickfont=dict(size=TICK_FONT_SIZE),
        showgrid=False,
        zeroline=False,
    )
    return {**axis, **extra}


def plain_axis(**extra) -> dict:
    return {**dict(showgrid=False, zeroline=False, tickfont=dict(size=TICK_FONT_SIZE)), **extra}


def dimension_title(text: str, width_px: int | None) -> dict:
    """The title of an axis of vector dimensions: on a phone the colour bar takes its place."""
    return dict(text="" if is_narrow(width_px) else text, font=dict(size=11))


def diverging(limit: float, title: str, width_px: int | None, length: float = 0.8) -> dict:
    """A colour axis centred on 0 (blue below, red above), its bar below the plot on a phone."""
    limit = max(float(limit), 1e-6)
    bar = dict(title=dict(text=title, side="right"), thickness=10, len=length)
    if is_narrow(width_px):
        bar.update(orientation="h", y=-0.12, yanchor="top", len=1.0, title=dict(text=title, side="top"))
    return dict(colorscale=DIVERGING_COLORSCALE, cmid=0.0, cmin=-limit, cmax=limit, colorbar=bar)


def sequential(low: float, high: float, title: str, width_px: int | None, colorscale: str = "Viridis") -> dict:
    bar = dict(title=dict(text=title, side="right"), thickness=10, len=0.8)
    if is_narrow(width_px):
        bar.update(orientation="h", y=-0.12, yanchor="top", len=1.0, title=dict(text=title, side="top"))
    return dict(colorscale=colorscale, cmin=float(low), cmax=float(max(high, low + 1e-6)), colorbar=bar)


def panel_title(x_domain: Sequence[float], y_top: float, text: str) -> dict:
    """A small title just above a panel, left-aligned on it."""
    return paper_text(text, x_domain[0], y_top, xanchor="left", yanchor="bottom", size=12)


def row_outline(xref: str, yref: str, row: int, n_columns: int, color: str, width: float) -> dict:
    """A frame around one row of a (rows, n_columns) map drawn on axes xref, yref: the chosen
    query's row in a map of attention scores or weights."""
    return dict(
        type="rect",
        xref=xref,
        yref=yref,
        x0=-0.5,
        x1=n_columns - 0.5,
        y0=row - 0.5,
        y1=row + 0.5,
        line=dict(color=color, width=width),
        fillcolor="rgba(0,0,0,0)",
    )


def columns(n: int, width_px: int | None, min_px: int) -> int:
    """How many panels of at least min_px fit side by side (at most n)."""
    return max(1, min(n, (width_px or LAPTOP_PX) // min_px))
