"""The Learn tab's logic: every figure of the page from ONE trace of the user's sentence.

    sentence = read(handle, "To be, or not to be")          # tokens, cut to what the page shows
    out = views(handle, references(corpus), "To be...", Controls(), "es", Client())
    out["softmax"]                                            # a Plotly figure, in Spanish

The model runs once per call, through gpt.trace (evaluation mode, no gradients: looking never
changes the model); each section then reads the trace's tensors. Two small extras: the model
run on each token alone (the bigram view, section 2, a batch of one-token sequences) and a
few lines of arithmetic with the model's own layers (the MLP's widening before its GELU, the
output projection). Sections that depend on the chosen layer, head and token (4 to 8, and
dropout in 10) and on the sampling sliders (9) can be drawn alone: see VIEWS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gpt import trace as trace_forward
from gpt.checks import parse_text
from gpt.errors import UserError
from gpt.modes import evaluation
from gpt.sampling import filter_logits
from gpt.tokenizer import BPETokenizer, CharTokenizer, token_label, token_pieces
from locales import text
from viz.learn_attention import (
    heads_figure,
    projection_figure,
    qkv_figure,
    scores_figure,
    softmax_figure,
    weighted_sum_figure,
)
from viz.learn_output import bigram_figure, dropout_figure, sampling_figure, surprise_figure
from viz.learn_stream import (
    embedding_figure,
    gelu_figure,
    layernorm_figure,
    positions_figure,
    stream_norm_figure,
    units_figure,
)
from viz.learn_tables import Chip, LensRow, card_html, cards_html, chips_html, logit_lens_html, stats_html
from viz.tokens import visible

from . import limits, threads
from .clients import Client, plot_width
from .generation import parse_sampling
from .sessions import ModelHandle

VIEW_TOKENS = 64  # the page looks at the first this many tokens (and never past the context)
CHIPS_SHOWN = 96  # tokens drawn as chips in section 1, per tokenizer
SPANISH_EXAMPLE = "¿Qué año tiene el niño?"  # what byte-level BPE does to Spanish (section 1)
GPT2_VOCAB = 50_257
BIGRAM_TOP = 6  # likeliest tokens from each of the two predictions in section 2
MAX_EMBEDDING_POINTS = 1_000  # a BPE vocabulary's embeddings drawn: the first ids and the sentence's
UNITS_TOP = 12  # hidden units in section 6
LENS_TOP = 5  # tokens per layer in the logit lens
SAMPLING_TOP = 12  # tokens drawn through the sampling stages
DROPOUT_EXAMPLE = 0.2  # the p shown for a model trained without dropout

# Every view of the page, by name, and the share of the row each figure gets on a wide screen.
WIDTH_SHARES = {
    "bigram": 0.5,
    "embeddings": 0.5,
    "positions": 0.5,
    "qkv": 1.0,
    "scores": 1.0,
    "softmax": 0.5,
    "weighted_sum": 0.5,
    "heads": 1.0,
    "projection": 1.0,
    "gelu": 0.5,
    "units": 0.5,
    "stream_norm": 0.5,
    "layernorm": 0.5,
    "sampling": 1.0,
    "surprise": 0.5,
    "dropout": 0.5,
}
SENTENCE_VIEWS = ("note", "tokens", "bigram", "bigram_stats", "embeddings", "positions", "surprise")
FOCUS_VIEWS = (
    "qkv",
    "scores",
    "softmax",
    "weighted_sum",
    "heads",
    "projection",
    "gelu",
    "units",
    "stream_norm",
    "layernorm",
    "logit_lens",
    "dropout",
)
SAMPLING_VIEWS = ("sampling",)
VIEWS = SENTENCE_VIEWS + FOCUS_VIEWS + SAMPLING_VIEWS


def tr(lang: str):
    return lambda key, **params: text("learn.fig." + key, lang, **params)


# --- the sentence --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    text: str
    ids: list[int]  # the tokens the page looks at: the first view_limit() of the sentence's
    labels: list[str]  # each token as a person reads it (a BPE piece of a character as its bytes, ‹C3›)
    total: int  # tokens in the whole sentence


def view_limit(handle: ModelHandle) -> int:
    return min(handle.config.block_size, VIEW_TOKENS)


def read(handle: ModelHandle, sentence) -> Sentence:
    """The sentence's tokens, cut to what the page looks at; ValueError if the model cannot read it."""
    sentence = parse_text("sentence", sentence, limits.MAX_PROMPT_CHARS, "learn.sentence_empty", "learn.sentence_too_long")
    ids = handle.tokenizer.encode(sentence)
    if not ids:
        raise UserError("learn.no_tokens")
    shown = ids[: view_limit(handle)]
    labels = [piece.text for piece in token_pieces(handle.tokenizer, shown)]
    return Sentence(sentence, shown, labels, len(ids))


def cut_note(handle: ModelHandle, sentence: Sentence, lang: str) -> str:
    """What the page says when it looks at only part of the sentence ("" when it sees it all)."""
    if sentence.total <= len(sentence.ids):
        return ""
    key = "learn.note.cut_context" if handle.config.block_size <= VIEW_TOKENS else "learn.note.cut_view"
    return text(key, lang, shown=len(sentence.ids), total=sentence.total, context=handle.config.block_size)


def run_trace(handle: ModelHandle, sentence: Sentence):
    with threads.inference():
        idx = torch.tensor([sentence.ids], dtype=torch.long, device=handle.device)
        return trace_forward(handle.model, idx)


@dataclass(frozen=True)
class Controls:
    """What the page's controls chose; layer, head and position are clamped to the model and the
    sentence (position None: the last token), the sampling settings are checked as Generate's are."""

    layer: int = 0
    head: int = 0
    position: int | None = None
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 1.0


@dataclass(frozen=True)
class Focus:
    layer: int
    head: int
    position: int


def _clamp(value, count: int, default: int) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = default
    return min(max(value, 0), count - 1)


def focus(handle: ModelHandle, sentence: Sentence, controls: Controls) -> Focus:
    c, last = handle.config, len(sentence.ids) - 1
    position = last if controls.position is None else _clamp(controls.position, last + 1, last)
    return Focus(_clamp(controls.layer, c.n_layer, 0), _clamp(controls.head, c.n_head, 0), position)


# --- 1. text to tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """A char and a BPE tokenizer fitted to the app's bundled text: the other kind of tokenizer
    than the model's own, for comparison (built once: BPE reads the whole text)."""

    char: CharTokenizer
    bpe: BPETokenizer
    gpt2_example: BPETokenizer  # the Spanish example's tokens as GPT-2's full vocabulary has them


def references(corpus: str) -> References:
    return References(
        CharTokenizer.from_text(corpus), BPETokenizer.from_text(corpus), BPETokenizer.from_text(SPANISH_EXAMPLE)
    )


def chips(tokenizer, sentence: str, gpt2_ids: bool = False) -> tuple[list[Chip], int]:
    """The first CHIPS_SHOWN tokens of sentence as chips, and how many tokens it has. A character
    a char vocabulary lacks becomes a chip without an id. gpt2_ids: label BPE tokens with GPT-2's
    own ids rather than the compact vocabulary's."""
    if tokenizer.kind == "char":
        found = [tokenizer.chars.find(ch) for ch in sentence[:CHIPS_SHOWN]]
        return [Chip(ch, i if i >= 0 else None) for ch, i in zip(sentence, found)], len(sentence)
    ids = tokenizer.encode(sentence)
    shown = ids[:CHIPS_SHOWN]
    labels = [int(tokenizer.gpt2_ids[i]) for i in shown] if gpt2_ids else shown
    return [Chip(p.text, i, p.part_of) for p, i in zip(token_pieces(tokenizer, shown), labels)], len(ids)


def tokens_view(handle: ModelHandle, refs: References, sentence: Sentence, lang: str) -> str:
    """Section 1: the sentence cut by char and by BPE, side by side, with what each costs; then
    the Spanish example, whose "¿", "é" and "ñ" a byte-level BPE may spell in bytes."""
    t_ = tr(lang)
    n_embd = handle.config.n_embd
    cards = []
    for kind in ("char", "bpe"):
        own = handle.tokenizer.kind == kind
        tokenizer = handle.tokenizer if own else getattr(refs, kind)
        shown, total = chips(tokenizer, sentence.text)
        unknown = sum(c.id is None for c in shown)
        stats = [
            (t_("tokens.vocab"), f"{tokenizer.vocab_size:,}"),
            (t_("tokens.length"), f"{total:,}"),
            (
                t_("tokens.embedding"),
                t_("tokens.params", v=f"{tokenizer.vocab_size:,}", c=n_embd, n=f"{tokenizer.vocab_size * n_embd:,}"),
            ),
            (t_("tokens.head"), t_("tokens.tied")),
        ]
        body = stats_html(stats) + chips_html(shown, lang)
        if total > len(shown):
            body += f'<p class="learn-note">{t_("tokens.more", n=total - len(shown))}</p>'
        if unknown:
            body += f'<p class="learn-note">{t_("tokens.unknown_note", n=unknown)}</p>'
        cards.append(card_html(kind, t_("tokens.own") if own else t_("tokens.reference"), body))
    example = []
    for name, tokenizer, gpt2 in (
        (t_("tokens.example_char"), handle.tokenizer if handle.tokenizer.kind == "char" else refs.char, False),
        (t_("tokens.example_bpe"), handle.tokenizer if handle.tokenizer.kind == "bpe" else refs.bpe, False),
        (t_("tokens.example_gpt2", n=f"{GPT2_VOCAB:,}"), refs.gpt2_example, True),
    ):
        shown, total = chips(tokenizer, SPANISH_EXAMPLE, gpt2)
        example.append(f'<div class="sub">{name} · {t_("tokens.count", n=total)}</div>' + chips_html(shown, lang))
    cards.append(
        card_html(t_("tokens.example_title", sentence=SPANISH_EXAMPLE), t_("tokens.example_sub"), "".join(example))
    )
    return cards_html(cards)


# --- 2. the bigram baseline ----------------------------------------------------------------


def alone_logits(handle: ModelHandle, sentence: Sentence) -> torch.Tensor:
    """What the model predicts after each token when it sees that token alone: (T, V)."""
    model = handle.model
    with threads.inference(), evaluation(model), torch.inference_mode():
        ids = torch.tensor(sentence.ids, dtype=torch.long, device=handle.device)
        idx = ids.view(-1, 1)  # (T, 1): T sequences of one token
        logits, _ = model(idx)  # (T, 1, V)
    return logits[:, 0].float().cpu()


def mean_loss(logits: torch.Tensor, ids: list[int]) -> float | None:
    """Mean cross-entropy of logits (T, V) predicting each next token of ids; None for one token."""
    if len(ids) < 2:
        return None
    return F.cross_entropy(logits[:-1], torch.tensor(ids[1:])).item()


def bigram_view(handle: ModelHandle, sentence: Sentence, traced, lang: str, width_px):
    t_ = tr(lang)
    alone = alone_logits(handle, sentence)
    p_alone, p_context = alone[-1].softmax(-1), traced.logits[-1].softmax(-1)  # (V,) each
    k = min(BIGRAM_TOP, p_context.numel())
    both = p_context.topk(k).indices.tolist() + p_alone.topk(k).indices.tolist()
    candidates = list(dict.fromkeys(both))  # the whole sentence's likeliest first, each token once
    labels = [token_label(handle.tokenizer, i) for i in candidates]
    figure = bigram_figure(labels, p_alone[candidates], p_context[candidates], sentence.labels[-1], lang, width_px)
    V = handle.config.vocab_size
    stats = [(t_("bigram.uniform"), f"ln {V:,} = {math.log(V):.2f}")]
    alone_loss, context_loss = mean_loss(alone, sentence.ids), mean_loss(traced.logits, sentence.ids)
    if alone_loss is None:
        note = f'<p class="learn-note">{t_("bigram.one_token")}</p>'
    else:
        stats += [(t_("bigram.alone_loss"), f"{alone_loss:.2f}"), (t_("bigram.context_loss"), f"{context_loss:.2f}")]
        note = f'<p class="learn-note">{t_("bigram.units")}</p>'
    return figure, stats_html(stats) + note


# --- 3. embeddings and positions -----------------------------------------------------------


def principal_components(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the rows centred, the two leading principal directions (C, 2), their shares of the variance (2,))."""
    centred = matrix - matrix.mean(dim=0, keepdim=True)  # (N, C)
    covariance = centred.T @ centred / max(matrix.shape[0] - 1, 1)  # (C, C)
    values, vectors = torch.linalg.eigh(covariance)  # ascending
    share = values.flip(0).clamp(min=0) / values.clamp(min=0).sum().clamp(min=1e-12)
    return centred, vectors[:, [-1, -2]], share[:2]


def cosine_similarity(rows: torch.Tensor) -> torch.Tensor:
    unit = F.normalize(rows, dim=-1)  # (T, C)
    return unit @ unit.T  # (T, T)


def embedding_views(handle: ModelHandle, sentence: Sentence, traced, lang: str, widths):
    table = handle.model.tok_emb.weight.detach().float().cpu()  # (V, C)
    centred, directions, share = principal_components(table)
    V = table.shape[0]
    points = list(range(min(V, MAX_EMBEDDING_POINTS)))
    points += sorted(set(sentence.ids) - set(points))
    xy = centred[points] @ directions  # (N, 2)
    mine = set(sentence.ids)
    labels = [token_label(handle.tokenizer, i) for i in points]
    scatter = embedding_figure(
        xy, labels, points, [i in mine for i in points], share.tolist(), lang, widths("embeddings")
    )
    positions = positions_figure(cosine_similarity(traced.pos_emb), lang, widths("positions"))
    return scatter, positions


# --- 4 and 5. attention --------------------------------------------------------------------


def attention_views(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str, widths) -> dict:
    """Section 4 (one head, step by step) and section 5 (every head; concatenation and projection)."""
    layer, h, t = traced.layers[at.layer], at.head, at.position
    labels = sentence.labels
    heads_t = layer.heads_out[:, t]  # (H, hs): each head's output for the chosen token
    proj = handle.model.blocks[at.layer].attn.proj
    with threads.inference(), torch.inference_mode():
        concat = heads_t.reshape(-1).to(proj.weight.device, proj.weight.dtype)  # (C,): the heads side by side
        projected = proj(concat).float().cpu()  # (C,): what attention adds to the stream
    name = visible(labels[t])
    return {
        "qkv": qkv_figure(layer.q[h, t], layer.k[h], layer.v[h], labels, t, lang, widths("qkv")),
        "scores": scores_figure(layer.scores[h], labels, t, lang, widths("scores")),
        "softmax": softmax_figure(
            layer.scores[h, t, : t + 1], layer.weights[h, t, : t + 1], labels, lang, widths("softmax")
        ),
        "weighted_sum": weighted_sum_figure(
            layer.weights[h, t, : t + 1],
            layer.v[h, : t + 1],
            layer.heads_out[h, t],
            labels,
            t,
            lang,
            widths("weighted_sum"),
        ),
        "heads": heads_figure(layer.weights, labels, t, at.layer, lang, widths("heads")),
        "projection": projection_figure(heads_t, projected, name, lang, widths("projection")),
    }


# --- 6. feed-forward -----------------------------------------------------------------------


def top_units(hidden: torch.Tensor, k: int = UNITS_TOP) -> list[int]:
    """The hidden units (columns of hidden (T, 4C)) with the largest activation on any token, strongest first."""
    peak = hidden.max(dim=0).values  # (4C,)
    return peak.topk(min(k, peak.numel())).indices.tolist()


def feed_forward_views(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str, widths):
    layer, t = traced.layers[at.layer], at.position
    fc = handle.model.blocks[at.layer].mlp.fc
    with threads.inference(), torch.inference_mode():
        normed = layer.ln2_out[t].to(fc.weight.device, fc.weight.dtype)  # (C,): what the MLP reads
        pre = fc(normed).float().cpu()  # (4C,): widened, before the GELU
    units = top_units(layer.mlp_hidden)
    acts = layer.mlp_hidden[:, units].T  # (K, T)
    name = visible(sentence.labels[t])
    return (
        gelu_figure(pre, layer.mlp_hidden[t], handle.config.n_embd, name, lang, widths("gelu")),
        units_figure(acts, units, sentence.labels, at.layer, lang, widths("units")),
    )


# --- 7. the residual stream and LayerNorm ----------------------------------------------------


def final_layer_norm(handle: ModelHandle, stream: torch.Tensor) -> torch.Tensor:
    ln = handle.model.ln_f
    return F.layer_norm(stream, stream.shape[-1:], ln.weight.float().cpu(), ln.bias.float().cpu(), ln.eps)


def residual_views(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str, widths):
    t_ = tr(lang)
    stages, streams = [t_("norm.embeddings")], [traced.layers[0].resid_in]
    for i, layer in enumerate(traced.layers):
        stages += [t_("norm.attn", layer=i), t_("norm.mlp", layer=i)]
        streams += [layer.resid_mid, layer.resid_out]
    norms = torch.stack([s.norm(dim=-1) for s in streams])  # (stages, T)
    norm_fig = stream_norm_figure(
        stages,
        norms.mean(dim=1),
        norms[:, at.position],
        visible(sentence.labels[at.position]),
        lang,
        widths("stream_norm"),
    )
    names, before, after = [], [], []
    for i, layer in enumerate(traced.layers):
        names += [t_("ln.name1", layer=i), t_("ln.name2", layer=i)]
        before += [layer.resid_in, layer.resid_mid]
        after += [layer.ln1_out, layer.ln2_out]
    last = traced.layers[-1].resid_out
    names.append(t_("ln.final"))
    before.append(last)
    after.append(final_layer_norm(handle, last))

    def mean(xs):
        return torch.stack([x.mean(dim=-1).mean() for x in xs])

    def spread(xs):
        return torch.stack([x.std(dim=-1, unbiased=False).mean() for x in xs])

    ln_fig = layernorm_figure(
        names, mean(before), mean(after), spread(before), spread(after), lang, widths("layernorm")
    )
    return norm_fig, ln_fig


# --- 8. logit lens ------------------------------------------------------------------------


def lens_rows(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str) -> list[LensRow]:
    t_ = tr(lang)
    t = at.position
    target = sentence.ids[t + 1] if t + 1 < len(sentence.ids) else None
    rows = []
    n_layer = len(traced.layers)
    for stage in range(n_layer + 1):
        probs = traced.logit_lens[stage, t].softmax(-1)  # (V,)
        best = probs.topk(min(LENS_TOP, probs.numel()))
        top = [(token_label(handle.tokenizer, i), p) for i, p in zip(best.indices.tolist(), best.values.tolist())]
        odds = None
        if target is not None:
            p = probs[target].item()
            odds = (p, int((probs > probs[target]).sum().item()) + 1)
        if stage == 0:
            name = t_("lens.embeddings")
        elif stage == n_layer:
            name = t_("lens.final", layer=stage - 1)
        else:
            name = t_("lens.after", layer=stage - 1)
        rows.append(LensRow(name, top, odds))
    return rows


def logit_lens_view(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str) -> str:
    t = at.position
    target = token_label(handle.tokenizer, sentence.ids[t + 1]) if t + 1 < len(sentence.ids) else None
    t_ = tr(lang)
    heading = f'<p class="learn-note">{t_("lens.heading", token=visible(sentence.labels[t]), position=t)}</p>'
    return heading + logit_lens_html(lens_rows(handle, sentence, traced, at, lang), target, lang)


# --- 9. from logits to a token -------------------------------------------------------------


def sampling_stages(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None
) -> list[torch.Tensor]:
    """The next token's distribution (V,) after each stage, as gpt.sampling.sample_next applies
    them: the softmax of the logits, then temperature, then top-k, then top-p (temperature 0:
    every stage after the first puts everything on the likeliest token)."""
    logits = logits.float().reshape(1, -1)  # (1, V)
    first = logits.softmax(dim=-1)[0]
    if temperature == 0:
        greedy = torch.zeros_like(first)
        greedy[logits[0].argmax()] = 1.0
        return [first, greedy, greedy, greedy]
    scaled = (logits - logits.max(dim=-1, keepdim=True).values) / temperature  # (1, V)
    return [
        first,
        scaled.softmax(dim=-1)[0],
        filter_logits(scaled, top_k, None).softmax(dim=-1)[0],
        filter_logits(scaled, top_k, top_p).softmax(dim=-1)[0],
    ]


def stage_titles(temperature: float, top_k: int | None, top_p: float | None, lang: str) -> list[str]:
    t_ = tr(lang)
    return [
        t_("sampling.softmax"),
        t_("sampling.greedy") if temperature == 0 else t_("sampling.temperature", value=f"{temperature:g}"),
        t_("sampling.top_k", value=top_k) if top_k else t_("sampling.top_k_off"),
        t_("sampling.top_p", value=f"{top_p:g}") if top_p else t_("sampling.top_p_off"),
    ]


def sampling_view(handle: ModelHandle, sentence: Sentence, traced, controls: Controls, lang: str, width_px):
    s = parse_sampling(sentence.text, 0, controls.temperature, controls.top_k, controls.top_p, 0)
    logits = traced.logits[-1]  # (V,): at the end of the sentence
    stages = sampling_stages(logits, s.temperature, s.top_k, s.top_p)
    shown = logits.topk(min(SAMPLING_TOP, logits.numel())).indices.tolist()
    bars = [torch.cat([p[shown], (1 - p[shown].sum()).clamp(min=0).view(1)]) for p in stages]  # (K + 1,) each
    labels = [token_label(handle.tokenizer, i) for i in shown]
    return sampling_figure(labels, bars, stage_titles(s.temperature, s.top_k, s.top_p, lang), lang, width_px)


# --- 10. the loss, and dropout -------------------------------------------------------------


def surprise(logits: torch.Tensor, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(−ln p, p) of each real next token: logits (T, V) -> (T-1,) each."""
    log_probs = logits[:-1].log_softmax(dim=-1)  # (T-1, V)
    picked = log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]  # (T-1,)
    return -picked, picked.exp()


def dropped(vector: torch.Tensor, p: float, seed: int = 0) -> torch.Tensor:
    """One draw of dropout as training applies it: each number zeroed with probability p, the
    others scaled by 1/(1-p) (a fixed seed, so the figure stays the same between redraws)."""
    keep = torch.rand(vector.shape, generator=torch.Generator().manual_seed(seed)) >= p  # (C,)
    return vector * keep / (1 - p)


def surprise_view(handle: ModelHandle, sentence: Sentence, traced, lang: str, width_px):
    if len(sentence.ids) < 2:
        return None
    s, p = surprise(traced.logits, sentence.ids)
    return surprise_figure(sentence.labels, s, p, s.mean().item(), math.log(handle.config.vocab_size), lang, width_px)


def dropout_view(handle: ModelHandle, sentence: Sentence, traced, at: Focus, lang: str, width_px):
    t_ = tr(lang)
    p = handle.config.dropout or DROPOUT_EXAMPLE
    vector = traced.layers[0].resid_in[at.position]  # (C,): token + position, where GPT.residual_stream applies self.drop
    note = "" if handle.config.dropout else t_("dropout.example", p=f"{p:g}")
    return dropout_figure(vector, dropped(vector, p), p, visible(sentence.labels[at.position]), lang, width_px, note)


# --- the page -------------------------------------------------------------------------------


def views(
    handle: ModelHandle, refs: References, sentence_text, controls: Controls, lang: str, client: Client, names=VIEWS
) -> dict:
    """The named views of the page (every one by default) for one sentence, from one trace.
    Raises ValueError when the model cannot read the sentence, or is not the full GPT."""
    if handle.config.changed_switches:  # a stage of the lecture's ladder lacks parts the page explains
        raise UserError("learn.earlier_stage")
    sentence = read(handle, sentence_text)
    traced = run_trace(handle, sentence)
    at = focus(handle, sentence, controls)

    def widths(name: str):
        return plot_width(client, share=WIDTH_SHARES[name])

    wanted, out = set(names), {}
    if "note" in wanted:
        out["note"] = cut_note(handle, sentence, lang)
    if "tokens" in wanted:
        out["tokens"] = tokens_view(handle, refs, sentence, lang)
    if wanted & {"bigram", "bigram_stats"}:
        out["bigram"], out["bigram_stats"] = bigram_view(handle, sentence, traced, lang, widths("bigram"))
    if wanted & {"embeddings", "positions"}:
        out["embeddings"], out["positions"] = embedding_views(handle, sentence, traced, lang, widths)
    if wanted & {"qkv", "scores", "softmax", "weighted_sum", "heads", "projection"}:
        out.update(attention_views(handle, sentence, traced, at, lang, widths))
    if wanted & {"gelu", "units"}:
        out["gelu"], out["units"] = feed_forward_views(handle, sentence, traced, at, lang, widths)
    if wanted & {"stream_norm", "layernorm"}:
        out["stream_norm"], out["layernorm"] = residual_views(handle, sentence, traced, at, lang, widths)
    if "logit_lens" in wanted:
        out["logit_lens"] = logit_lens_view(handle, sentence, traced, at, lang)
    if "sampling" in wanted:
        out["sampling"] = sampling_view(handle, sentence, traced, controls, lang, widths("sampling"))
    if "surprise" in wanted:
        out["surprise"] = surprise_view(handle, sentence, traced, lang, widths("surprise"))
    if "dropout" in wanted:
        out["dropout"] = dropout_view(handle, sentence, traced, at, lang, widths("dropout"))
    return {name: out[name] for name in names}
