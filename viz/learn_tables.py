"""The Learn tab's parts that are text rather than plots: a sentence cut into tokens, a row of
numbers, and the logit lens's table. Escaped HTML strings, styled by CSS (below) that the tab
gives its HTML components; every word in the page's language.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from locales import text

from .tokens import visible

CSS = """
.learn-cards { display: flex; flex-wrap: wrap; gap: 12px; }
.learn-card { flex: 1 1 300px; min-width: 0; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 8px 10px; }
.learn-card h4 { margin: 0 0 4px; font-size: 1em; }
.learn-card .sub { color: var(--body-text-color-subdued); font-size: 0.85em; margin-bottom: 6px; }
.learn-stats { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.9em; margin: 4px 0 8px; }
.learn-stats b { font-variant-numeric: tabular-nums; }
.learn-chips { line-height: 1.2; font-family: var(--font-mono); font-size: 0.9em; display: flex;
  flex-wrap: wrap; gap: 4px 3px; }
.learn-chips .tok { display: inline-flex; flex-direction: column; align-items: center; padding: 1px 4px;
  border-radius: 4px; background: var(--color-accent-soft); border: 1px solid var(--border-color-accent-subdued);
  white-space: pre; }
.learn-chips .tok.byte { background: #fde2c4; border-color: #e8a25a; }
.learn-chips .tok.unknown { background: #f6d0d0; border-color: #d46a6a; }
.learn-chips .tok small { font-size: 0.7em; color: var(--body-text-color-subdued); }
.learn-note { color: var(--body-text-color-subdued); font-size: 0.9em; }
.learn-table-wrap { overflow-x: auto; max-width: 100%; }
table.learn-lens { border-collapse: collapse; font-size: 0.9em; width: 100%; }
table.learn-lens th, table.learn-lens td { padding: 3px 5px; border-bottom: 1px solid var(--border-color-primary);
  text-align: left; white-space: nowrap; }
table.learn-lens th:first-child, table.learn-lens td:first-child, table.learn-lens th:last-child { white-space: normal; }
@media (max-width: 640px) { table.learn-lens { font-size: 0.8em; } table.learn-lens td .p { display: block; margin: 0; } }
table.learn-lens td.tok { font-family: var(--font-mono); }
table.learn-lens td .p { color: var(--body-text-color-subdued); font-size: 0.85em; margin-left: 3px; }
table.learn-lens .hit { background: #d9f2d9; }
table.learn-lens tr.final td { font-weight: 600; }
"""


def _tr(lang: str):
    return lambda key, **params: text("learn.fig." + key, lang, **params)


@dataclass(frozen=True)
class Chip:
    """One token as a chip: its text, its id (None when the vocabulary lacks it) and, for a BPE
    piece of a character, the character it belongs to."""

    text: str
    id: int | None
    part_of: str = ""


def chips_html(chips: Sequence[Chip], lang: str) -> str:
    t_ = _tr(lang)
    out = []
    for chip in chips:
        label = html.escape(visible(chip.text, max_chars=24))
        if chip.id is None:
            title, kind, number = t_("tokens.unknown", char=chip.text), " unknown", "?"
        elif chip.part_of:
            title, kind, number = t_("tokens.piece_of", id=chip.id, char=chip.part_of), " byte", str(chip.id)
        else:
            title, kind, number = t_("tokens.id", id=chip.id), "", str(chip.id)
        out.append(f'<span class="tok{kind}" title="{html.escape(title)}">{label}<small>{number}</small></span>')
    return f'<div class="learn-chips">{"".join(out)}</div>'


def stats_html(items: Sequence[tuple[str, str]]) -> str:
    """A row of (label, value) pairs."""
    cells = "".join(f"<span>{html.escape(label)}: <b>{html.escape(value)}</b></span>" for label, value in items)
    return f'<div class="learn-stats">{cells}</div>'


def card_html(title: str, subtitle: str, body: str) -> str:
    return f'<div class="learn-card"><h4>{html.escape(title)}</h4><div class="sub">{html.escape(subtitle)}</div>{body}</div>'


def cards_html(cards: Sequence[str], note: str = "") -> str:
    tail = f'<p class="learn-note">{html.escape(note)}</p>' if note else ""
    return f'<div class="learn-cards">{"".join(cards)}</div>{tail}'


@dataclass(frozen=True)
class LensRow:
    """One row of the logit lens: where in the model, its likeliest tokens, and the real next token's odds."""

    stage: str
    top: Sequence[tuple[str, float]]  # (token, probability), likeliest first
    target: tuple[float, int] | None = None  # the real next token's (probability, rank from 1), if there is one


def logit_lens_html(rows: Sequence[LensRow], target_token: str | None, lang: str) -> str:
    """The logit lens as a table: a row per stage, the likeliest tokens in order; the real next
    token is shaded where it appears, and its probability and rank close each row."""
    t_ = _tr(lang)
    k = max((len(r.top) for r in rows), default=0)
    head = [t_("lens.stage")] + [t_("lens.rank", n=i + 1) for i in range(k)]
    if target_token is not None:
        head.append(t_("lens.target", token=visible(target_token)))
    lines = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cells = [f"<td>{html.escape(row.stage)}</td>"]
        for token, prob in row.top:
            hit = " hit" if target_token is not None and token == target_token else ""
            cells.append(f'<td class="tok{hit}">{html.escape(visible(token))}<span class="p">{prob:.0%}</span></td>')
        if target_token is not None and row.target is not None:
            prob, rank = row.target
            cells.append(f"<td>{prob:.1%} <span class='p'>(#{rank})</span></td>")
        final = ' class="final"' if i == len(rows) - 1 else ""
        lines.append(f"<tr{final}>" + "".join(cells) + "</tr>")
    return f'<div class="learn-table-wrap"><table class="learn-lens">{"".join(lines)}</table></div>'


def note_html(message: str) -> str:
    return f'<p class="learn-note">{html.escape(message)}</p>' if message else ""
