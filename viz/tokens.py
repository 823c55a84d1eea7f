"""Readable, unique labels for token pieces.

Plotly treats axis labels as *categories*: two identical labels collapse into
one row/column, which would silently corrupt an attention map for text such as
"the the the".  Whitespace pieces are also invisible on an axis.  So every
label here is made visible (whitespace replaced by a glyph) and unique.
"""

from __future__ import annotations

# Glyphs chosen so that a piece made only of whitespace still shows something.
_WHITESPACE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}

MAX_PIECE_CHARS = 12


def visible(piece: str, max_chars: int = MAX_PIECE_CHARS) -> str:
    """Return `piece` with whitespace made visible and long text truncated.

    Truncation keeps labels short enough for a phone screen; the ellipsis
    tells the reader the piece was longer.
    """
    text = "".join(_WHITESPACE.get(ch, ch) for ch in piece)
    if len(text) > max_chars:
        text = text[: max_chars - 1] + "…"
    return text if text else "∅"  # an empty piece would be an empty tick


def make_unique(labels: list[str]) -> list[str]:
    """Append "·2", "·3", ... to repeated labels so Plotly keeps them apart.

    The first occurrence keeps its plain text, so the common case (no
    repeats) is unchanged.
    """
    seen: set[str] = set()
    out: list[str] = []
    for label in labels:
        candidate, n = label, 1
        while candidate in seen:
            n += 1
            candidate = f"{label}·{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def token_labels(pieces: list[str]) -> list[str]:
    """Labels "i:piece" for a sequence of token pieces, one per position.

    The position prefix makes every label unique (repeated tokens stay
    separate categories) and tells the reader where the token sits.
    """
    return [f"{i}:{visible(p)}" for i, p in enumerate(pieces)]
