"""The surprise strip: a text as token chips, each coloured by how surprised the model was
to see it, with the model's top guesses in its tooltip.

Input comes from gpt.token_surprise: per token i >= 1 its surprise -log p in nats and the
model's likeliest tokens there. The caller decodes token ids to strings (viz knows no
tokenizer); the tooltips are in the language lang, from locales. Everything from the text is
HTML-escaped.
"""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

import numpy as np
from plotly.colors import get_colorscale, sample_colorscale, unlabel_rgb

from locales import text

from .arrays import to_float32
from .tokens import visible

SURPRISE_COLORSCALE = "YlOrRd"  # sequential: pale yellow (expected) to dark red (surprising)
_SCALE = get_colorscale(SURPRISE_COLORSCALE)  # looked up once: by name it costs ~1 ms a token
MAX_CHIP_CHARS = 24  # as the attention view's token chips



def _color(fraction: float) -> tuple[str, str]:
    """(background, text colour) for a surprise at `fraction` of the scale, in [0, 1]."""
    background = sample_colorscale(_SCALE, [fraction])[0]  # "rgb(r, g, b)"
    r, g, b = unlabel_rgb(background)
    luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255  # dark text on light chips, and back
    return background, "#111" if luminance > 0.55 else "#fff"


def surprise_strip(
    pieces: Sequence[str],
    losses: Any,
    guesses: Sequence[Sequence[tuple[str, float]]] | None = None,
    max_surprise: float | None = None,
    lang: str = "en",
) -> str:
    """HTML for the strip: one <span class="tok"> per token, in a <div class="tokens surprise-strip">.

    pieces: the N token strings; losses: (N - 1,) surprise of tokens 1..N-1 in nats;
    guesses: for tokens 1..N-1, the model's (piece, probability) guesses, likeliest first.
    max_surprise: the surprise drawn darkest (default: the largest in this text; pass
    log(vocab_size), a uniform guess's surprise, to compare texts on one scale).
    """
    values = to_float32(losses).reshape(-1)  # (N - 1,)
    if len(pieces) == 0 or values.size != len(pieces) - 1:
        raise ValueError(f"surprise_strip: {len(pieces)} tokens need {max(len(pieces) - 1, 0)} surprises "
                         f"(none for the first token), got {values.size}")
    if guesses is not None and len(guesses) != values.size:
        raise ValueError(f"surprise_strip: got guesses for {len(guesses)} tokens, expected {values.size}")
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("surprise_strip: surprises are -log p, numbers >= 0 (inf allowed)")
    finite = values[np.isfinite(values)]
    top = max_surprise if max_surprise is not None else float(finite.max(initial=0.0))
    top = max(top, 1e-6)
    first_token = text("viz.surprise.first", lang)
    chips = [f'<span class="tok" title="{html.escape(first_token)}">{html.escape(visible(pieces[0], MAX_CHIP_CHARS))}</span>']
    for i, loss in enumerate(values.tolist()):
        background, ink = _color(min(loss / top, 1.0))
        lines = [text("viz.surprise.header", lang, surprise=loss, probability=math.exp(-loss))]
        if guesses is not None:
            lines.append(text("viz.surprise.guesses", lang))
            lines += [
                text("viz.surprise.guess", lang, piece=visible(p, MAX_CHIP_CHARS), probability=q) for p, q in guesses[i]
            ]
        chips.append(
            f'<span class="tok" style="background: {background}; color: {ink}" data-surprise="{loss:.4f}" '
            f'title="{html.escape(chr(10).join(lines))}">{html.escape(visible(pieces[i + 1], MAX_CHIP_CHARS))}</span>'
        )
    return f'<div class="tokens surprise-strip">{"".join(chips)}</div>'
