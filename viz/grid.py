"""A grid of subplots built by hand from axis domains.

`plotly.subplots.make_subplots` validates and builds far more than needed and
gets slow for the layers x heads overview (dozens of cells).  Here each cell
is just an (x axis, y axis) pair with a paper-space domain, which is all a
heatmap grid needs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One subplot: its trace axis refs ("x3", "y3") and paper domain."""

    row: int
    col: int
    xref: str
    yref: str
    x_domain: tuple[float, float]
    y_domain: tuple[float, float]

    @property
    def x_layout_key(self) -> str:  # "x3" -> "xaxis3"
        return "xaxis" + self.xref[1:]

    @property
    def y_layout_key(self) -> str:
        return "yaxis" + self.yref[1:]


def grid_cells(
    n_cells: int,
    n_cols: int,
    plot_height_px: float,
    h_gap: float = 0.03,
    v_gap_px: float = 30.0,
) -> list[Cell]:
    """Cells laid out row-major, row 0 at the top.

    The vertical gap is given in pixels (converted using the plot height) so
    that room for subplot titles does not shrink as rows are added.
    """
    n_rows = -(-n_cells // n_cols)
    v_gap = min(v_gap_px / max(plot_height_px, 1.0), 0.3)
    width = (1.0 - (n_cols - 1) * h_gap) / n_cols
    height = (1.0 - (n_rows - 1) * v_gap) / n_rows
    cells = []
    for k in range(n_cells):
        row, col = divmod(k, n_cols)
        x0 = col * (width + h_gap)
        y1 = 1.0 - row * (height + v_gap)
        suffix = "" if k == 0 else str(k + 1)
        cells.append(
            Cell(
                row=row,
                col=col,
                xref="x" + suffix,
                yref="y" + suffix,
                x_domain=(x0, min(x0 + width, 1.0)),
                y_domain=(max(y1 - height, 0.0), y1),
            )
        )
    return cells


def cell_axes(cell: Cell, x: dict, y: dict) -> dict:
    """Layout entries for one cell's axes, anchored to each other."""
    return {
        cell.x_layout_key: dict(x, domain=list(cell.x_domain), anchor=cell.yref),
        cell.y_layout_key: dict(y, domain=list(cell.y_domain), anchor=cell.xref),
    }


def paper_text(text: str, x: float, y: float, xanchor: str, yanchor: str, size: int = 11, **extra) -> dict:
    """A text annotation at (x, y) in paper space (0..1 over the plot area, the frame of the
    domains above): how a grid titles its cells, rows and panels."""
    return dict(
        text=text,
        x=x,
        y=y,
        xref="paper",
        yref="paper",
        xanchor=xanchor,
        yanchor=yanchor,
        showarrow=False,
        font=dict(size=size),
        **extra,
    )


def cell_title(cell: Cell, text: str) -> dict:
    """A small title annotation centred just above the cell."""
    x = (cell.x_domain[0] + cell.x_domain[1]) / 2
    return paper_text(text, x, cell.y_domain[1], xanchor="center", yanchor="bottom")
