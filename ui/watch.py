"""Watching a model learn: what a training run records at each evaluation, and the Train tab's
views of it, during the run and after.

- The attention timeline (gpt/timeline.py): every layer and head on one probe sentence, once
  before the first step and at every evaluation, replayed step by step; two steps compared.
- The head metrics over those snapshots (gpt/head_metrics.py), with each head's tag at the
  latest one.
- The surprise strip (gpt/surprise.py) of a slice of the validation text at the latest
  evaluation; the Generate tab draws one of the prompt with the same functions.

A run's WatchRecord belongs to its training job while it trains and to the session's model
afterwards (ModelHandle.watch). The timeline goes into the model's checkpoint, so a downloaded
and uploaded model brings it back; its strip does not (the validation text is not in the file).
The run is a record's only writer; the Train tab's handlers only read it.

Every function here takes a model (a copy of the training weights will do) or a record and
returns data or figures: no Gradio.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import torch

from gpt.head_metrics import MIN_TOKENS, head_metrics, tag_heads
from gpt.surprise import token_surprise
from gpt.timeline import AttentionTimeline, Snapshot, encode_probe, probe_limit, snapshot_diff
from gpt.tokenizer import token_label
from locales import text
from viz import head_grid_diff, head_metrics_figure, layers_overview, surprise_strip

from . import threads
from .attention import attention_maps, token_pieces

DEFAULT_PROBE_TOKENS = 48  # the default probe, from the training text: token labels stay readable
STRIP_TOKENS = 120  # tokens of validation text in the Train tab's strip: a few lines
PROMPT_STRIP_TOKENS = 200  # at most this many tokens of a prompt in the Generate tab's strip
TOP_GUESSES = 5  # guesses in a strip's tooltip


# --- what a run records ---------------------------------------------------------------------


def choose_probe(tokenizer, sentence, text_ids, block_size: int) -> list[int]:
    """The probe's token ids: the sentence the person typed (ValueError, naming the characters,
    when the tokenizer cannot encode it), or, when they left it empty, the training text's first
    tokens, which always encode."""
    if isinstance(sentence, str) and sentence.strip():
        return encode_probe(tokenizer, sentence, block_size)
    ids = text_ids.tolist() if isinstance(text_ids, torch.Tensor) else list(text_ids)
    return [int(i) for i in ids[: min(DEFAULT_PROBE_TOKENS, probe_limit(block_size))]]


@dataclass(frozen=True)
class Strip:
    """A text's surprise, ready to draw in any language."""

    pieces: list[str]  # the N tokens as text
    losses: torch.Tensor  # (N - 1,) nats: the surprise of tokens 1..N-1
    guesses: list[list[tuple[str, float]]]  # per token 1..N-1: the model's best guesses, likeliest first
    vocab_size: int  # log(vocab_size), a uniform guess's surprise, is the darkest colour
    step: int | None = None  # the evaluation it was measured at (None: a prompt)


def measure_strip(model, tokenizer, ids: list[int], step: int | None = None) -> Strip:
    """The surprise of every token of ids (at least 2) and the model's best guesses for it."""
    result = token_surprise(model, ids, k=TOP_GUESSES)
    guesses = [
        [(token_label(tokenizer, i), p) for i, p in zip(row_ids, row_probs)]
        for row_ids, row_probs in zip(result.top_ids.tolist(), result.top_probs.tolist())
    ]
    return Strip(token_pieces(tokenizer, ids), result.losses, guesses, model.config.vocab_size, step)


@dataclass
class WatchRecord:
    """What a run recorded for the Train tab to show."""

    timeline: AttentionTimeline
    pieces: list[str]  # the probe's tokens as text
    val_ids: list[int]  # the validation tokens of the strip ([] when the run has no validation text)
    strip: Strip | None = None  # the latest evaluation's


def begin_record(model, tokenizer, probe_ids: list[int], val_ids=None) -> WatchRecord:
    """A run's record, with the attention of the untrained model as its first snapshot (step 0):
    every head starts about uniform, the baseline the later snapshots are compared with."""
    val = [] if val_ids is None else (val_ids.tolist() if isinstance(val_ids, torch.Tensor) else list(val_ids))
    record = WatchRecord(AttentionTimeline(probe_ids, model.config), token_pieces(tokenizer, probe_ids), val[:STRIP_TOKENS])
    record.timeline.add(0, attention_maps(model, record.timeline.probe_ids))
    return record


def record_of(timeline: AttentionTimeline | None, tokenizer) -> WatchRecord | None:
    """The record of a model loaded from a checkpoint: its timeline, no strip."""
    if timeline is None or len(timeline) == 0:
        return None
    return WatchRecord(timeline, token_pieces(tokenizer, timeline.probe_ids), [])


# --- the views ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchViews:
    """The Train tab's views of a record that follow the evaluations (the replay follows its slider)."""

    metrics: object | None  # plotly Figure: the head metrics over the snapshots (None: fewer than 3 probe tokens)
    tags: str  # HTML: what each head does at the latest snapshot
    surprise: str  # HTML: the surprise strip of the validation text ("" when there is none)


def record_evaluation(model, record: WatchRecord, tokenizer, step: int) -> None:
    """At an evaluation: snapshot the probe's attention and measure the validation slice's surprise
    with the model as it is now (a copy of the training weights will do)."""
    record.timeline.add(step, attention_maps(model, record.timeline.probe_ids))
    if len(record.val_ids) >= 2:
        record.strip = measure_strip(model, tokenizer, record.val_ids, step)


def evaluation_views(
    model, record: WatchRecord, tokenizer, step: int, lang: str = "en", width_px: int | None = None
) -> WatchViews:
    """record_evaluation, then the views (width_px: the page's, if known)."""
    record_evaluation(model, record, tokenizer, step)
    return views(record, lang, width_px)


def views(record: WatchRecord | None, lang: str = "en", width_px: int | None = None) -> WatchViews:
    """The views of a record as it stands, in lang (None: a model with no record, a hint instead)."""
    if record is None or len(record.timeline) == 0:
        return WatchViews(None, f'<p class="watch-note">{html.escape(text("watch.none", lang))}</p>', "")
    surprise = strip_html(record.strip, lang) if record.strip is not None else ""
    return WatchViews(metrics_figure(record, lang, width_px), tags_html(record, lang), surprise)


def snapshot_at(timeline: AttentionTimeline, step) -> Snapshot:
    """The snapshot nearest to step (the earlier one on a tie; the latest when step is not a number)."""
    snapshots = timeline.snapshots
    try:
        wanted = float(step)
    except (TypeError, ValueError):
        return snapshots[-1]
    if not math.isfinite(wanted):
        return snapshots[-1]
    return min(snapshots, key=lambda s: (abs(s.step - wanted), s.step))


def step_range(record: WatchRecord) -> tuple[int, int]:
    """(first, latest) snapshot step: a step slider's range."""
    steps = record.timeline.steps
    return steps[0], steps[-1]


def replay_figure(record: WatchRecord, step, lang: str = "en"):
    """Every layer and head on the probe, at the snapshot nearest to step."""
    snapshot = snapshot_at(record.timeline, step)
    fig = layers_overview(snapshot.maps.float(), record.pieces, lang=lang)  # (L, H, T, T)
    fig.update_layout(title_text=text("watch.replay.title", lang, step=snapshot.step))
    return fig


def diff_figure(record: WatchRecord, from_step, to_step, layer, width_px: int | None = None, lang: str = "en"):
    """How every head of one layer moved from one snapshot to another (nearest to the steps given):
    red where the second attends more, blue where less."""
    before, after = snapshot_at(record.timeline, from_step), snapshot_at(record.timeline, to_step)
    try:
        layer = min(max(int(layer), 0), record.timeline.n_layer - 1)
    except (TypeError, ValueError):
        layer = 0
    diff = snapshot_diff(before.maps, after.maps)  # (L, H, T, T) float32
    fig = head_grid_diff(diff[layer], record.pieces, layer, width_px=width_px, lang=lang)
    fig.update_layout(title_text=text("watch.diff.title", lang, layer=layer, before=before.step, after=after.step))
    return fig


def metrics_figure(record: WatchRecord, lang: str = "en", width_px: int | None = None):
    """The four head metrics of every head over the snapshots (None when the probe is too short);
    one panel under another on a phone."""
    timeline = record.timeline
    if timeline.n_tokens < MIN_TOKENS:
        return None
    metrics = head_metrics(timeline.maps)  # each (S, L, H)
    return head_metrics_figure(timeline.steps, metrics.as_dict(), lang=lang, width_px=width_px)


def tags_html(record: WatchRecord, lang: str = "en") -> str:
    """Each head's tag (gpt.head_metrics.tag_heads) at the latest snapshot, as chips."""
    snapshot = record.timeline.snapshots[-1]
    if record.timeline.n_tokens < MIN_TOKENS:
        return ""
    tags = tag_heads(head_metrics(snapshot.maps))  # [layer][head]: a tag or None
    chips = []
    for layer, row in enumerate(tags):
        for head, tag in enumerate(row):
            name = tag or "none"
            head_name = text("viz.metrics.head", lang, layer=layer, head=head)
            chips.append(
                f'<span class="head-tag tag-{name}"><b>{html.escape(head_name)}</b> '
                f"{html.escape(text(f'watch.tag.{name}', lang))}</span>"
            )
    title = html.escape(text("watch.tags.title", lang, step=snapshot.step))
    return f'<div class="head-tags"><p class="watch-caption">{title}</p>{"".join(chips)}</div>'


def strip_html(strip: Strip, lang: str = "en") -> str:
    """The strip with a caption: which text, its mean surprise, and a uniform guess's."""
    uniform = math.log(strip.vocab_size)
    mean = float(strip.losses.mean()) if strip.losses.numel() else 0.0
    if strip.step is None:
        caption = text("watch.surprise.prompt", lang, mean=mean, uniform=uniform)
    else:
        caption = text("watch.surprise.train", lang, step=strip.step, mean=mean, uniform=uniform)
    body = surprise_strip(strip.pieces, strip.losses, strip.guesses, max_surprise=uniform, lang=lang)
    return f'<p class="watch-caption">{html.escape(caption)}</p>{body}'


def prompt_strip(handle, prompt: str, lang: str = "en") -> str:
    """The Generate tab's strip: the surprise of the prompt's first PROMPT_STRIP_TOKENS tokens
    under the session's model. ValueError when the model cannot read the prompt."""
    ids = handle.tokenizer.encode(prompt)[:PROMPT_STRIP_TOKENS]
    if len(ids) < 2:
        return f'<p class="watch-note">{html.escape(text("watch.surprise.too_short", lang))}</p>'
    with threads.inference():
        strip = measure_strip(handle.model, handle.tokenizer, ids)
    return strip_html(strip, lang)


# --- whose record ---------------------------------------------------------------------------


def session_record(registry, sid: str) -> WatchRecord | None:
    """The record the Train tab shows for a session: its running training's, else its model's."""
    job = registry.job(sid)
    if job is not None and job.watch is not None:
        return job.watch
    return registry.model(sid).watch


def pin_replay(registry, sid: str, step) -> None:
    """The person moved the replay's step: while a run trains, its slider stays there at the next
    evaluations instead of following the latest snapshot, until they move it back to the latest."""
    job = registry.job(sid)
    if job is None or job.watch is None:
        return
    try:
        step = int(step)
    except (TypeError, ValueError):
        return
    job.replay_pinned = None if step >= step_range(job.watch)[1] else step
