"""Sampling from a session's model: checked settings, streamed text, next-token odds.

Generation runs in eval mode under torch.inference_mode (gpt.generation does both), so
it never changes the model, which may be the bundled one every session shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

import locales
from gpt.checks import parse_float, parse_int, parse_text
from gpt.fast_weights import why_exact
from gpt.sampling import filter_logits
from gpt.tokenizer import text_pieces, token_label
from viz import next_token_bars

from . import limits, threads
from .sessions import ModelHandle

MAX_SEED = 2**32 - 1
# The app asks for `bf16`: bf16 weight copies where the hardware multiplies them natively and the
# model is big enough for that to pay (gpt/fast_weights.py), float32 everywhere else. The library's
# default stays `exact`, the same tokens as the plain loop.
INFERENCE_PRECISION = "bf16"


def precision_text(model, lang: str = "en", short: bool = False) -> str:
    """How this model generates here, for the header (short) and the model card."""
    reason = why_exact(model) if INFERENCE_PRECISION == "bf16" else "asked"
    how = "exact" if reason else "bf16"
    if short:
        return locales.text(f"generation.precision.{how}", lang)
    detail = locales.text(f"generation.precision.why.{reason}", lang) if reason else locales.text("generation.precision.why.bf16", lang)
    return locales.text(f"generation.precision.{how}", lang) + " · " + detail


@dataclass(frozen=True)
class SamplingSettings:
    prompt: str
    max_new_tokens: int
    temperature: float
    top_k: int | None  # None: no top-k filter (the UI's 0)
    top_p: float | None  # None: no nucleus filter (the UI's 1.0)
    seed: int


def parse_sampling(prompt, max_new_tokens, temperature, top_k, top_p, seed) -> SamplingSettings:
    prompt = parse_text("prompt", prompt, limits.MAX_PROMPT_CHARS, "generate.prompt_empty", "generate.prompt_too_long")
    max_new_tokens = parse_int("max_new_tokens", max_new_tokens, 0, limits.MAX_NEW_TOKENS)
    temperature = parse_float(
        "temperature",
        temperature,
        0.0,
        5.0,
        hint="generate.temperature_hint",
    )
    top_k = parse_int("top_k", top_k, 0, 1_000_000, hint="generate.top_k_hint")
    top_p = parse_float("top_p", top_p, 0.0, 1.0, low_open=True, hint="generate.top_p_hint")
    seed = parse_int("seed", seed, 0, MAX_SEED)
    return SamplingSettings(prompt, max_new_tokens, temperature, top_k or None, None if top_p >= 1.0 else top_p, seed)


def stream_text(handle: ModelHandle, s: SamplingSettings):
    """Yield the prompt plus the continuation so far, growing by one token each time.

    The same settings and seed give the same text (sampling draws from its own generator).
    """
    tokenizer = handle.tokenizer
    ids = tokenizer.encode(s.prompt)
    generator = torch.Generator().manual_seed(s.seed)
    tokens = handle.model.generate_stream(
        torch.tensor([ids], dtype=torch.long),
        s.max_new_tokens,
        temperature=s.temperature,
        top_k=s.top_k,
        top_p=s.top_p,
        generator=generator,
        precision=INFERENCE_PRECISION,
    )
    text = s.prompt
    yield text
    new_ids = (token[0, 0] for token in _each_step_in_this_thread(tokens))
    for piece in text_pieces(tokenizer, new_ids, drop_incomplete=True):
        text += piece
        yield text


def _each_step_in_this_thread(tokens):
    """Advance gpt's token stream with the per-thread state each step needs.

    Gradio resumes a generator on whichever worker thread is free, and torch's thread count
    and inference mode belong to a thread, so each step sets both in the thread that runs it.
    """
    while True:
        with threads.inference(), torch.inference_mode():
            try:
                token = next(tokens)
            except StopIteration:
                return
        yield token


def generate_text(handle: ModelHandle, s: SamplingSettings) -> str:
    text = s.prompt
    for text in stream_text(handle, s):
        pass
    return text


def next_token_figure(handle: ModelHandle, text: str, s: SamplingSettings, top: int = 15, lang: str = "en"):
    """The odds the model gave the tokens it could write next after `text`, after
    temperature, top-k and top-p: the distribution the next token would be drawn from."""
    model, tokenizer = handle.model, handle.tokenizer
    ids = tokenizer.encode(text)[-model.config.block_size :]
    with threads.inference(), torch.inference_mode():
        idx = torch.tensor([ids], dtype=torch.long, device=handle.device)
        logits = model.last_logits(idx).float()  # (1, V)
    temperature = s.temperature if s.temperature > 0 else 1.0
    probs = filter_logits(logits / temperature, s.top_k, s.top_p).softmax(dim=-1)[0].cpu()
    best = [i for i in torch.topk(probs, min(top, probs.numel())).indices.tolist() if probs[i] > 0]  # filtered out: 0
    pieces = [token_label(tokenizer, i) for i in best]
    fig = next_token_bars(pieces, probs[best], top_k=top, lang=lang)
    how = (
        locales.text("generate.figure.greedy", lang)
        if s.temperature == 0
        else locales.text("generate.figure.temperature", lang, temperature=s.temperature)
    )
    fig.update_layout(title_text=locales.text("generate.figure.title", lang, how=how))
    return fig
