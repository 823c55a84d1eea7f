"""What the attention heads look at: token pieces, attention weights, and their figures.

Attention weights come from the model's explicit attention path (return_attention=True),
computed in eval mode without gradients, so looking never changes the model.
"""

from __future__ import annotations

import html

import torch

from gpt.checks import parse_int, parse_text
from gpt.errors import Phrase, UserError
from gpt.modes import evaluation
from gpt.tokenizer import token_pieces as gpt_token_pieces
from locales import error_text, text
from viz import head_grid, layers_overview, single_head
from viz.tokens import visible

from . import limits, threads
from .sessions import ModelHandle


def token_pieces(tokenizer, ids: list[int]) -> list[str]:
    """Each token as text, the way the tokenizer split it; a BPE piece of a character shows its bytes (‹C3›)."""
    return [piece.text for piece in gpt_token_pieces(tokenizer, ids)]


def attention_maps(model, ids: list[int]) -> torch.Tensor:
    """Attention weights of every layer and head for one sequence: (n_layer, n_head, T, T), float32 on the CPU."""
    with evaluation(model), torch.inference_mode():
        idx = torch.tensor([ids], dtype=torch.long, device=model.device)
        _, _, maps = model(idx, return_attention=True)  # (n_layer, 1, n_head, T, T)
    return maps[:, 0].float().cpu()


def view_limit(handle: ModelHandle) -> int:
    return min(handle.config.block_size, limits.MAX_ATTENTION_TOKENS)


def encode(handle: ModelHandle, text) -> list[int]:
    """The text's token ids, cut to what the views show: the model's context (at most
    MAX_ATTENTION_TOKENS). A model never attends across more than its context anyway."""
    text = parse_text("text", text, 20_000, "attention.text_empty", "attention.text_too_long")
    ids = handle.tokenizer.encode(text)
    if not ids:
        raise UserError("attention.no_tokens")
    return ids[: view_limit(handle)]


def check_layer(handle: ModelHandle, layer) -> int:
    n = handle.config.n_layer
    return parse_int("layer", layer, 0, n - 1, hint=Phrase("attention.layer_hint", {"count": n, "last": n - 1}))


def check_head(handle: ModelHandle, head) -> int:
    n = handle.config.n_head
    return parse_int("head", head, 0, n - 1, hint=Phrase("attention.head_hint", {"count": n, "last": n - 1}))


def _maps(handle: ModelHandle, text) -> tuple[torch.Tensor, list[str], list[str]]:
    """The maps of every layer and head, each token's label, and the character each token is
    only a byte piece of ("" where it holds whole characters)."""
    ids = encode(handle, text)
    with threads.inference():
        maps = attention_maps(handle.model, ids)
    pieces = gpt_token_pieces(handle.tokenizer, ids)
    return maps, [p.text for p in pieces], [p.part_of for p in pieces]


def grid_figure(handle: ModelHandle, sentence, layer, width_px: int | None = None, lang: str = "en"):
    """One heatmap per head of one layer (what /attention returns); width_px: the figure's width, if known."""
    layer = check_layer(handle, layer)
    maps, pieces, parts = _maps(handle, sentence)
    return head_grid(maps[layer], pieces, layer, width_px=width_px, lang=lang, parts=parts)


def head_figure(handle: ModelHandle, sentence, layer, head, width_px: int | None = None, lang: str = "en"):
    layer, head = check_layer(handle, layer), check_head(handle, head)
    maps, pieces, parts = _maps(handle, sentence)
    return single_head(maps[layer, head], pieces, layer, head, width_px=width_px, lang=lang, parts=parts)


def overview_figure(handle: ModelHandle, sentence, lang: str = "en"):
    maps, pieces, _ = _maps(handle, sentence)
    return layers_overview(maps, pieces, lang=lang)


def probe_figure(
    layer_maps: torch.Tensor, pieces: list[str], layer: int, step: int, width_px: int | None = None, lang: str = "en"
):
    """The training probe: every head of one layer, titled with the step it was taken at."""
    fig = head_grid(layer_maps, pieces, layer, width_px=width_px, lang=lang)
    fig.update_layout(title_text=text("attention.probe.title", lang, layer=layer, step=step))
    return fig


def note_html(error, lang: str = "en") -> str:
    """A message in the tokens area, where a view that could not be drawn says why (error: the
    exception, written in lang)."""
    return f'<div class="tokens note">{html.escape(error_text(error, lang))}</div>'


def tokens_html(handle: ModelHandle, sentence, lang: str = "en") -> str:
    """The text as the tokenizer splits it: one chip per token, whitespace made visible."""
    ids = encode(handle, sentence)
    total = len(handle.tokenizer.encode(sentence))
    cut = total > len(ids)
    note = text("attention.tokens.cut", lang, shown=len(ids), total=total, context=handle.config.block_size) if cut else ""
    chips = []
    for i, (t, piece) in enumerate(zip(ids, gpt_token_pieces(handle.tokenizer, ids))):
        title = text("attention.tokens.chip", lang, position=i, id=t)
        if piece.part_of:
            title += text("attention.tokens.piece_of", lang, char=piece.part_of)
        chips.append(f'<span class="tok" title="{html.escape(title)}">{html.escape(visible(piece.text, max_chars=24))}</span>')
    count = text("attention.tokens.one", lang) if len(ids) == 1 else text("attention.tokens.many", lang, count=len(ids))
    return f'<div class="tokens"><span class="tok-count">{html.escape(count + note)}:</span> {"".join(chips)}</div>'
