"""Watching a model learn in the app (ui/watch.py): the probe, the run's record, its views, the
checkpoint round trip, the best-model guard's status and card. Tiny models only; no server."""

from __future__ import annotations

import html
import random
import re
from types import SimpleNamespace

import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, make_tokenizer, token_losses
from gpt.checkpoint import load_checkpoint
from gpt.timeline import MAX_PROBE_TOKENS, encode_probe
from ui import checkpoints, plan, train_form, training, training_queue, watch
from ui.sessions import ModelHandle, SessionRegistry
from viz.tokens import visible

pytestmark = pytest.mark.usefixtures("one_thread")  # the shared fixture in conftest.py

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks? It is the east.\n" * 6


def tiny_model(text=TEXT, seed=0, **shape):
    tokenizer = make_tokenizer("char", text)
    config = dict(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=16)
    config.update(shape)
    torch.manual_seed(seed)
    return GPT(GPTConfig(**config)).eval(), tokenizer


def attention_of(figure) -> list:
    """The z matrices of a figure's heatmaps, in order."""
    return [torch.tensor(trace.z, dtype=torch.float32) for trace in figure.data]


# --- the probe ------------------------------------------------------------------------------


def test_an_empty_probe_is_the_start_of_the_training_text_and_always_encodes():
    model, tokenizer = tiny_model()
    ids = tokenizer.encode(TEXT)
    assert watch.choose_probe(tokenizer, "", ids, 32) == ids[:32]  # the context is shorter than the default
    assert watch.choose_probe(tokenizer, "  \n", ids, 256) == ids[: watch.DEFAULT_PROBE_TOKENS]
    assert watch.choose_probe(tokenizer, None, torch.tensor(ids), 64) == ids[: watch.DEFAULT_PROBE_TOKENS]


def test_a_typed_probe_is_encoded_and_cut_to_what_a_timeline_keeps():
    model, tokenizer = tiny_model()
    assert watch.choose_probe(tokenizer, "But soft", [], 32) == tokenizer.encode("But soft")
    long = "soft " * 40
    assert watch.choose_probe(tokenizer, long, [], 256) == tokenizer.encode(long)[:MAX_PROBE_TOKENS]
    assert watch.choose_probe(tokenizer, long, [], 16) == tokenizer.encode(long)[:16]


def test_a_probe_the_tokenizer_cannot_encode_is_refused_naming_its_characters():
    model, tokenizer = tiny_model()
    with pytest.raises(ValueError) as info:
        watch.choose_probe(tokenizer, "Señor, ¿qué?", [], 32)
    message = str(info.value)
    assert "'ñ'" in message and "'¿'" in message and "'é'" in message and "'e'" not in message
    assert "leave the probe empty" in message


def test_a_probe_needs_three_tokens():
    model, tokenizer = tiny_model()
    with pytest.raises(ValueError, match="2 token\\(s\\); it needs at least 3"):
        encode_probe(tokenizer, "ab", 32)
    assert encode_probe(tokenizer, "ab", 2) == tokenizer.encode("ab")  # a context of 2 tokens asks no more


@pytest.fixture(scope="module")
def timer() -> plan.StepTimer:
    return plan.StepTimer("cpu")  # calibrated once: a few timed steps


def test_prepare_refuses_a_probe_before_the_run_and_keeps_a_good_one(timer):
    values = dict(tokenizer="char", n_layer=1, n_head=1, n_embd=16, block_size=8, max_steps=20, batch_size=4,
                  learning_rate=1e-2, dropout=0.0, time_budget_s=30, warmup_steps=2)
    with pytest.raises(ValueError, match="'z'"):
        training.prepare(train_form.parse_request("ab" * 100, probe="abz", **values), timer)
    prepared = training.prepare(train_form.parse_request("ab" * 100, probe="bba", **values), timer)
    assert prepared.probe_ids == prepared.tokenizer.encode("bba")
    with pytest.raises(ValueError, match="probe sentence is 1,001 characters"):
        train_form.parse_request("ab" * 100, probe="a" * 1001, **values)


# --- the record and its views ---------------------------------------------------------------


def test_a_record_starts_with_the_untrained_attention_and_grows_at_each_evaluation():
    model, tokenizer = tiny_model()
    probe = tokenizer.encode("But soft, what")
    val = tokenizer.encode(TEXT[:200])
    record = watch.begin_record(model, tokenizer, probe, torch.tensor(val))
    assert record.timeline.steps == [0] and record.pieces == list("But soft, what")
    assert len(record.val_ids) == watch.STRIP_TOKENS and record.strip is None
    shown = watch.evaluation_views(model, record, tokenizer, 10, "en")
    assert record.timeline.steps == [0, 10]
    assert torch.allclose(record.timeline.snapshots[-1].maps.float(), training.attention_maps(model, probe), atol=1e-3)
    # The strip is the model's surprise at each validation token, as gpt.token_losses measures it.
    assert torch.allclose(record.strip.losses, token_losses(model, record.val_ids), atol=1e-5)
    assert record.strip.step == 10 and len(record.strip.guesses[0]) == watch.TOP_GUESSES
    # Head metrics: four panels, a line per head in each, over the two snapshots.
    assert len(shown.metrics.data) == 4 * 2 * 2 and list(shown.metrics.data[0].x) == [0, 10]
    assert shown.tags.count('class="head-tag ') == 4 and "at step 10" in shown.tags
    assert shown.surprise.count('class="tok"') == watch.STRIP_TOKENS and "at step 10" in shown.surprise


def test_the_strip_tooltips_hold_the_models_five_best_guesses_likeliest_first():
    model, tokenizer = tiny_model()
    ids = tokenizer.encode("But soft, what light")
    strip = watch.measure_strip(model, tokenizer, ids)
    result = gpt.token_surprise(model, ids, k=5)
    titles = [html.unescape(t) for t in re.findall(r'title="([^"]*)"', watch.strip_html(strip, "en"))]
    assert len(titles) == len(ids)
    best = visible(tokenizer.decode([int(result.top_ids[0, 0])]))  # a space is shown as ␣
    lines = titles[1].split("\n")
    assert lines[1] == "the model expected:" and len(lines) == 2 + 5
    assert lines[2].startswith(best) and f"{float(result.top_probs[0, 0]):.1%}" in lines[2]
    spanish = watch.strip_html(strip, "es")
    assert "sorprende al modelo tu texto inicial" in spanish and "el modelo esperaba:" in spanish


def test_the_replay_shows_the_nearest_snapshot_and_the_diff_its_change():
    model, tokenizer = tiny_model()
    probe = tokenizer.encode("But soft, what")
    record = watch.begin_record(model, tokenizer, probe)
    for step in (10, 20, 30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.3 * torch.randn_like(p))
        watch.evaluation_views(model, record, tokenizer, step)
    grid = watch.replay_figure(record, 18, "en")
    assert grid.layout.title.text == "Every layer and head, at step 20"
    assert len(grid.data) == 2 * 2
    snapshot = watch.snapshot_at(record.timeline, 18)
    assert torch.allclose(attention_of(grid)[3], snapshot.maps[1, 1].float())
    assert watch.snapshot_at(record.timeline, 15).step == 10  # a tie goes to the earlier one
    assert watch.snapshot_at(record.timeline, "not a step").step == 30
    diff = watch.diff_figure(record, 0, 30, 1, None, "es")
    assert diff.layout.title.text == "Capa 1: cambio en la atención del paso 0 al paso 30"
    first, last = record.timeline.snapshots[0].maps, record.timeline.snapshots[-1].maps
    expected = last[1].float() - first[1].float()  # (H, T, T) of layer 1
    assert torch.allclose(torch.stack(attention_of(diff)), expected, atol=1e-6)
    assert diff.layout.coloraxis.cmid == 0 and diff.layout.coloraxis.cmin == -diff.layout.coloraxis.cmax


def test_heads_are_tagged_by_what_they_do():
    """A hand-made record: layer 0's head 0 looks at the previous token, head 1 at the first token."""
    model, tokenizer = tiny_model(n_layer=1)
    probe = tokenizer.encode("But soft")
    record = watch.begin_record(model, tokenizer, probe)
    t = len(probe)
    previous = torch.zeros(t, t)
    previous[0, 0] = 1
    previous[torch.arange(1, t), torch.arange(0, t - 1)] = 1
    first = torch.zeros(t, t)
    first[:, 0] = 1
    record.timeline.add(5, torch.stack([previous, first])[None])  # (1, 2, T, T)
    tags = watch.tags_html(record, "en")
    assert "<b>L0 H0</b> looks at the previous token" in tags and "<b>L0 H1</b> looks at the first token" in tags
    assert "mira el token anterior" in watch.tags_html(record, "es")


def test_a_model_without_a_record_shows_a_hint():
    shown = watch.views(None, "es")
    assert shown.metrics is None and shown.surprise == "" and "Aún no hay registro" in shown.tags


def test_the_prompt_strip_measures_the_prompt_and_says_when_there_is_nothing_to_measure():
    model, tokenizer = tiny_model()
    handle = ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny")
    strip = watch.prompt_strip(handle, "ROMEO:", "en")
    assert strip.count('class="tok"') == 6 and "your prompt" in strip
    assert "single token" in watch.prompt_strip(handle, "R", "en")
    with pytest.raises(ValueError, match="never saw"):
        watch.prompt_strip(handle, "ñ", "en")
    long = watch.prompt_strip(handle, TEXT * 3, "en")
    assert long.count('class="tok"') == watch.PROMPT_STRIP_TOKENS


# --- whose record, and the replay that follows or stays -------------------------------------


def test_the_record_shown_is_the_running_trainings_then_the_models(tmp_path):
    model, tokenizer = tiny_model()
    record = watch.begin_record(model, tokenizer, tokenizer.encode("But soft"))
    default = ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny")
    registry = SessionRegistry(default=default, workdir=tmp_path)
    assert watch.session_record(registry, "a") is None
    job = training_queue.TrainingJob("a")
    registry.begin_job("a", job)
    assert watch.session_record(registry, "a") is None  # waiting: nothing recorded yet
    job.watch = record
    assert watch.session_record(registry, "a") is record
    watch.evaluation_views(model, record, tokenizer, 10)
    watch.pin_replay(registry, "a", 4)
    assert job.replay_pinned == 4
    watch.pin_replay(registry, "a", 10)  # back to the latest: follow again
    assert job.replay_pinned is None
    registry.end_job("a", job)
    registry.set_model("a", ModelHandle.serving(model, tokenizer, {}, "trained", "mine", watch=record))
    assert watch.session_record(registry, "a") is record


# --- a training run: its record goes with the model, into the checkpoint and back ------------


def test_a_trained_model_keeps_its_timeline_through_download_and_upload(tmp_path, timer):
    model, tokenizer = tiny_model()
    registry = SessionRegistry(default=ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny"), workdir=tmp_path / "s")
    request = train_form.parse_request(
        "ab" * 200, probe="abba", tokenizer="char", n_layer=1, n_head=2, n_embd=16, block_size=8, max_steps=40,
        batch_size=4, learning_rate=1e-2, dropout=0.0, time_budget_s=30, warmup_steps=2,
    )
    updates = list(training.train(registry, training_queue.TrainingQueue(slots=1), timer, "a", request))
    evaluated = [u for u in updates if u.views is not None]
    assert len(evaluated) >= 3 and all(u.watch is evaluated[0].watch for u in evaluated)
    handle = updates[-1].handle
    record = handle.watch
    assert record.timeline.steps[0] == 0 and record.timeline.steps[-1] == 40 and record.pieces == list("abba")
    assert record.strip is not None and record.strip.step == 40
    saved = load_checkpoint(handle.path).timeline
    assert saved.steps == record.timeline.steps and saved.probe_ids == record.timeline.probe_ids
    assert torch.equal(saved.maps, record.timeline.maps)
    uploaded = checkpoints.load_upload(handle.path)
    assert uploaded.watch.timeline.steps == record.timeline.steps and uploaded.watch.pieces == list("abba")
    assert uploaded.watch.strip is None  # the validation text is not in the file
    assert torch.equal(uploaded.watch.timeline.maps, record.timeline.maps)
    assert watch.replay_figure(uploaded.watch, 40).layout.title.text.endswith("at step 40")


def test_when_the_best_weights_are_kept_the_views_show_them_not_the_last(tmp_path, timer):
    # Random letters: nothing to learn that carries over to the validation text, so the validation
    # loss is best early and the guard keeps an early step's weights.
    rng = random.Random(0)
    letters = "".join(rng.choice("abcdefgh") for _ in range(600))
    model, tokenizer = tiny_model()
    registry = SessionRegistry(default=ModelHandle.serving(model, tokenizer, {}, "bundled", "tiny"), workdir=tmp_path)
    request = train_form.parse_request(
        letters, probe="abcabc", tokenizer="char", n_layer=1, n_head=2, n_embd=64, block_size=16, max_steps=150,
        batch_size=16, learning_rate=1e-2, dropout=0.0, time_budget_s=60, warmup_steps=2,
    )
    updates = list(training.train(registry, training_queue.TrainingQueue(slots=1), timer, "a", request))
    last, meta = updates[-1], updates[-1].handle.meta
    assert meta["kept"] == "best" and meta["best_step"] < meta["steps"] == 150
    best = meta["best_step"]
    kept = last.handle.model
    record = last.handle.watch
    # The surprise strip and the probe's attention are the kept model's, titled with its step.
    assert record.strip.step == best and f"at step {best}:" in last.views.surprise
    assert torch.allclose(record.strip.losses, token_losses(kept, record.val_ids), atol=1e-5)
    assert last.attention.layout.title.text.endswith(f"step {best}")
    maps = training.attention_maps(kept, record.timeline.probe_ids)[0]  # (H, T, T): layer 0's heads
    assert torch.allclose(torch.stack(attention_of(last.attention)), maps.float(), atol=1e-5)


def test_a_checkpoint_without_a_timeline_uploads_without_a_record(tmp_path):
    model, tokenizer = tiny_model()
    path = gpt.save(tmp_path / "plain.safetensors", model, tokenizer, {})
    assert checkpoints.load_upload(path).watch is None


# --- the best-model guard in the status and on the card ----------------------------------------


def event(**fields):
    values = dict(step=50, max_steps=100, train_loss=1.0, val_loss=1.6, eval_train_loss=1.0, lr=1e-3,
                  tokens_per_s=1000.0, elapsed_s=5.0, device="cpu", precision="fp32", overfitting=False,
                  best_val_loss=1.4, best_step=20, stop_reason=None, restored_best=False)
    values.update(fields)
    return SimpleNamespace(**values)


def test_the_status_warns_of_overfitting():
    settings = train_form.DEFAULTS
    assert "Overfitting" not in training._status(event(), settings, "en")
    warned = training._status(event(overfitting=True), settings, "en")
    assert "⚠ **Overfitting:**" in warned and "step 20 (val 1.400)" in warned
    assert "Sobreajuste" in training._status(event(overfitting=True), settings, "es")


def card_rows(meta: dict, lang="en") -> dict:
    model, tokenizer = tiny_model()
    card = checkpoints.model_card(ModelHandle.serving(model, tokenizer, meta, "trained", "mine"), lang)
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", card)}


def test_the_card_shows_the_best_and_the_last_weights_and_which_is_kept():
    meta = dict(steps=500, kept="best", best_step=300, best_val_loss=1.95, last_val_loss=2.01, val_loss=1.95,
                train_loss=1.7, overfitting=True)
    rows = card_rows(meta)
    assert rows["best weights"] == "step 300 · val loss 1.950 · ✓ kept"
    assert rows["last weights"] == "step 500 · val loss 2.010"
    assert rows["overfitting"].startswith("yes: the validation loss rose")
    assert "weights kept" not in rows and "best step" not in rows and "val loss" not in rows
    last = card_rows({**meta, "kept": "last", "overfitting": False})
    assert last["last weights"].endswith("✓ kept") and "overfitting" not in last
    assert card_rows(meta, "es")["mejores pesos"] == "paso 300 · pérdida de validación 1.950 · ✓ conservados"


def test_an_older_checkpoints_card_is_unchanged():
    rows = card_rows(dict(steps=2400, val_loss=1.857, train_loss=1.484))
    assert rows["steps"] == "2,400" and rows["val loss"] == "1.857" and "best weights" not in rows
