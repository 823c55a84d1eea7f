"""TrainConfig validation and schedule; the Trainer's event stream, stopping, divergence guard,
precisions, and that it actually learns."""

import dataclasses
import math
import random

import pytest
import torch

import gpt
from gpt import GPT, GPTConfig, TrainConfig, Trainer, TrainEvent, TrainingDiverged, make_tokenizer, split_ids
from gpt.best_weights import BestWeights

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = "hello world " * 30


def fast(**overrides) -> TrainConfig:
    base = dict(
        max_steps=10, batch_size=4, learning_rate=1e-2, warmup_steps=2, min_lr=1e-3,
        eval_interval=5, eval_iters=2, device="cpu", precision="fp32",
    )
    return TrainConfig(**{**base, **overrides})


def setup(text=TEXT, block_size=8, n_embd=16, seed=0, dropout=0.0):
    tok = make_tokenizer("char", text)
    train, val = split_ids(tok.encode(text), block_size)
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=block_size, n_layer=1, n_head=2, n_embd=n_embd, dropout=dropout))
    return tok, model, train, val


# ------------------------------------------------------------ TrainConfig


@pytest.mark.parametrize(
    "field,value",
    [
        ("max_steps", 0), ("max_steps", -5), ("max_steps", 2.5), ("max_steps", True),
        ("batch_size", -1), ("batch_size", 0),
        ("learning_rate", float("nan")), ("learning_rate", 0), ("learning_rate", -1.0), ("learning_rate", float("inf")),
        ("learning_rate", "1e-3"),
        ("warmup_steps", -1),
        ("min_lr", -1e-4), ("min_lr", float("nan")),
        ("weight_decay", -0.1), ("weight_decay", float("nan")),
        ("grad_clip", 0), ("grad_clip", -1.0), ("grad_clip", float("nan")),
        ("eval_interval", 0), ("eval_iters", 0),
        ("seed", -1), ("seed", 1.5),
        ("precision", "fp16"), ("precision", "float32"), ("precision", None),
        ("device", 0),
        ("time_budget_s", 0), ("time_budget_s", -3.0), ("time_budget_s", float("nan")),
    ],
)
def test_train_config_rejects(field, value):
    with pytest.raises(ValueError) as info:
        TrainConfig(**{field: value})
    assert field in str(info.value)


def test_min_lr_above_learning_rate_is_rejected():
    with pytest.raises(ValueError) as info:
        TrainConfig(learning_rate=1e-3, min_lr=1e-2)
    assert "min_lr" in str(info.value) and "learning_rate" in str(info.value)


def test_min_lr_left_out_scales_with_the_learning_rate():
    """A small learning rate needs no min_lr of its own (the fixed default 1e-4 refused 5e-5)."""
    assert TrainConfig(learning_rate=5e-5).min_lr == pytest.approx(5e-6)
    assert TrainConfig(learning_rate=2e-3).min_lr == pytest.approx(2e-4)
    assert TrainConfig().min_lr == pytest.approx(1e-4)  # the default learning rate's, as before
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        TrainConfig(learning_rate=0)  # its own message, not min_lr's


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (dict(grad_accum=0), "grad_accum"),
        (dict(grad_accum=1.5), "grad_accum"),
        (dict(stop_at=0), "stop_at"),
        (dict(stop_at=11, max_steps=10), "past max_steps"),
    ],
)
def test_grad_accum_and_stop_at_are_checked(overrides, needle):
    with pytest.raises(ValueError, match=needle):
        TrainConfig(**overrides)


def test_stop_at_ends_the_run_after_that_step_evaluated():
    tok, model, train, val = setup()
    events = list(Trainer(model, train, val, fast(max_steps=10, eval_interval=100, stop_at=4)).run())
    assert [e.step for e in events] == [1, 2, 3, 4]
    last = events[-1]
    assert last.done and last.stopped and last.val_loss is not None and last.max_steps == 10
    assert last.lr == pytest.approx(fast(max_steps=10).lr_at(3))  # the schedule of 10 steps


def test_grad_accum_counts_the_tokens_of_every_micro_batch():
    tok, model, train, val = setup()
    trainer = Trainer(model, train, val, fast(max_steps=2, batch_size=4, grad_accum=3))
    assert trainer.global_batch == 12
    assert trainer.summary(list(trainer.run())[-1])["global_batch"] == 12


def test_train_config_accepts_edges():
    c = TrainConfig(warmup_steps=0, min_lr=0, weight_decay=0, seed=0, max_steps=1, time_budget_s=0.5)
    assert c.min_lr == 0 and c.max_steps == 1


def test_lr_schedule_warmup_peak_and_cosine():
    c = TrainConfig(max_steps=100, learning_rate=1e-3, warmup_steps=10, min_lr=1e-4)
    warm = [c.lr_at(s) for s in range(10)]
    steps = [b - a for a, b in zip(warm, warm[1:])]
    assert all(d > 0 for d in steps)
    assert max(steps) - min(steps) < 1e-12  # linear
    assert warm[0] > 0 and warm[0] == pytest.approx(steps[0])  # ramps from ~0
    assert c.lr_at(9) == pytest.approx(1e-3)  # peak at the end of warm-up
    assert c.lr_at(10) == pytest.approx(1e-3)
    decay = [c.lr_at(s) for s in range(10, 101)]
    assert all(b <= a + 1e-15 for a, b in zip(decay, decay[1:]))  # never rises again
    assert c.lr_at(55) == pytest.approx((1e-3 + 1e-4) / 2)  # cosine midpoint
    assert c.lr_at(100) == pytest.approx(1e-4)  # ends at min_lr
    assert c.lr_at(99) == pytest.approx(1e-4, rel=0.01)
    assert c.lr_at(10_000) == pytest.approx(1e-4)
    assert all(1e-4 - 1e-15 <= c.lr_at(s) <= 1e-3 + 1e-15 for s in range(10, 200))


def test_lr_schedule_without_warmup_starts_at_peak():
    c = TrainConfig(max_steps=20, learning_rate=5e-3, warmup_steps=0, min_lr=0)
    assert c.lr_at(0) == pytest.approx(5e-3)
    assert c.lr_at(20) == pytest.approx(0, abs=1e-12)


# ------------------------------------------------------------ Trainer


def test_text_shorter_than_a_block_is_refused():
    _, model, _, _ = setup()
    short = torch.arange(8) % model.config.vocab_size
    with pytest.raises(ValueError) as info:
        Trainer(model, short, None, fast())
    msg = str(info.value)
    assert "8" in msg and str(model.config.block_size + 1) in msg


def test_unknown_device_is_refused():
    _, model, train, val = setup()
    with pytest.raises(ValueError):
        Trainer(model, train, val, fast(device="tpu9"))


def test_overfits_a_tiny_text_and_generates_it():
    tok, model, train, val = setup(n_embd=32)
    trainer = Trainer(model, train, val, fast(max_steps=150, batch_size=16, warmup_steps=10, eval_interval=50))
    events = list(trainer.run())
    assert len(events) == 150
    first, last = events[0], events[-1]
    assert abs(first.train_loss - math.log(tok.vocab_size)) < 0.3
    assert last.train_loss < 0.5 and last.eval_train_loss < 0.5 and last.val_loss < 0.5
    out = model.generate(torch.tensor([tok.encode("hel")]), 20, temperature=0)
    assert tok.decode(out[0].tolist()) == "hello world hello world"
    assert model.training  # the trainer leaves the model in train mode; generation did not change it


def test_events_are_frozen_and_complete():
    _, model, train, val = setup()
    cfg = fast(max_steps=12, eval_interval=5)
    events = list(Trainer(model, train, val, cfg).run())
    assert [e.step for e in events] == list(range(1, 13))
    for e in events:
        assert isinstance(e, TrainEvent) and dataclasses.is_dataclass(e)
        with pytest.raises(dataclasses.FrozenInstanceError):
            e.step = 0
        assert e.max_steps == 12
        assert math.isfinite(e.train_loss) and e.train_loss > 0
        assert e.lr == pytest.approx(cfg.lr_at(e.step - 1))
        assert e.tokens_per_s > 0 and e.elapsed_s > 0
        assert e.device == "cpu" and e.precision == "fp32"
        assert not e.stopped
        at_eval = e.step in (5, 10, 12)
        assert (e.val_loss is not None) == at_eval
        assert (e.eval_train_loss is not None) == at_eval
        assert e.done == (e.step == 12)
    assert all(b.elapsed_s >= a.elapsed_s for a, b in zip(events, events[1:]))
    assert events[-1].done and sum(e.done for e in events) == 1


def test_without_validation_data_there_is_no_val_loss():
    _, model, train, _ = setup()
    events = list(Trainer(model, train, None, fast(max_steps=6, eval_interval=3)).run())
    assert all(e.val_loss is None for e in events)
    assert events[2].eval_train_loss is not None


def test_training_is_reproducible():
    losses = []
    for _ in range(2):
        _, model, train, val = setup(seed=3)
        losses.append([e.train_loss for e in Trainer(model, train, val, fast(max_steps=8)).run()])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("after", [1, 3])
def test_stop_from_inside_the_loop(after):
    _, model, train, val = setup()
    trainer = Trainer(model, train, val, fast(max_steps=1000, eval_interval=1000))
    events = []
    for event in trainer.run():
        events.append(event)
        if len(events) == after:
            trainer.stop()
            trainer.stop()  # twice is fine
    final = events[-1]
    assert final.stopped and final.done
    assert final.step <= after + 1  # a bounded number of extra steps
    assert len(events) <= after + 2
    assert all(not e.done and not e.stopped for e in events[:-1])
    assert final.val_loss is not None and math.isfinite(final.val_loss)


def test_time_budget_stops_early():
    _, model, train, val = setup()
    events = list(Trainer(model, train, val, fast(max_steps=100_000, eval_interval=100_000, time_budget_s=0.3)).run())
    assert events[-1].stopped and events[-1].done and events[-1].stop_reason == "time_budget"
    assert events[-1].step < 100_000
    # It ends at the first step past its budget: every step before the last began within it.
    assert events[-1].elapsed_s >= 0.3 and all(e.elapsed_s < 0.3 for e in events[:-2])


def diverge(lr, seed=0):
    _, model, train, val = setup(seed=seed)
    trainer = Trainer(model, train, val, fast(max_steps=50, learning_rate=lr, warmup_steps=0, min_lr=0, grad_clip=1e9))
    with pytest.raises(TrainingDiverged) as info:
        for _ in trainer.run():
            pass
    return model, str(info.value)


def test_divergence_raises_with_advice_and_keeps_finite_weights():
    assert issubclass(gpt.TrainingDiverged, Exception)
    model, msg = diverge(1e6)
    assert "learning rate" in msg.lower() and "lower" in msg.lower()
    for name, p in model.named_parameters():
        assert torch.isfinite(p).all(), name


def test_model_still_generates_after_divergence():
    model, _ = diverge(1e6)
    idx = torch.tensor([[0, 1, 2]])
    with torch.no_grad():
        assert torch.isfinite(model(idx)[0]).all()
    out = model.generate(idx, 5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 8)


def test_divergence_with_an_enormous_learning_rate_keeps_finite_weights():
    model, _ = diverge(1e40)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_precisions_train_on_cpu(precision):
    _, model, train, val = setup(seed=1)
    before = [p.detach().clone() for p in model.parameters()]
    events = list(Trainer(model, train, val, fast(max_steps=20, precision=precision, eval_interval=20)).run())
    assert all(e.precision == precision for e in events)
    assert all(math.isfinite(e.train_loss) for e in events)
    assert events[-1].eval_train_loss < events[0].train_loss
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_bf16_actually_autocasts():
    _, model, train, val = setup(seed=1)
    losses = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(1)
        m = GPT(model.config)
        losses[precision] = next(iter(Trainer(m, train, val, fast(precision=precision)).run())).train_loss
    assert losses["fp32"] != losses["bf16"]  # same weights, same batch: only the number format differs
    assert losses["fp32"] == pytest.approx(losses["bf16"], rel=0.05)


def test_auto_device_and_precision_resolve_to_something_valid():
    _, model, train, val = setup()
    trainer = Trainer(model, train, val, fast(device="auto", precision="auto", max_steps=1))
    assert trainer.device.type in ("cpu", "cuda", "mps")
    assert trainer.precision in ("fp32", "bf16")
    (event,) = list(trainer.run())
    assert event.device == trainer.device.type and event.precision == trainer.precision


# ------------------------------------------------------------ the best-model guard


def learnable_then_memorised(seed=0):
    """Vowel, consonant, vowel, ...: the alternation generalises, the particular letters (random)
    can only be learned by heart, so validation improves first, then turns up."""
    rng = random.Random(seed)
    return "".join(rng.choice("aeiou") + rng.choice("bcdfg") for _ in range(100))


def overfit_run(keep_best=True, precision="fp32", stop_at=None, max_steps=150):
    """A 1-layer model trained long on 200 characters; returns (events, model, trainer, the
    weights seen at every evaluation, by step)."""
    tok, model, train, val = setup(text=learnable_then_memorised(), n_embd=32)
    cfg = fast(max_steps=max_steps, batch_size=16, warmup_steps=5, eval_interval=5, precision=precision, keep_best=keep_best)
    trainer = Trainer(model, train, val, cfg)
    events, seen = [], {}
    for event in trainer.run():
        events.append(event)
        if event.val_loss is not None:
            seen[event.step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if stop_at is not None and event.step == stop_at:
            trainer.stop()
    return events, model, trainer, seen


@pytest.fixture(scope="module")
def overfit(one_thread):
    return overfit_run()


def test_overfitting_is_seen_and_the_best_model_kept(overfit):
    events, model, trainer, seen = overfit
    final = events[-1]
    evaluations = [e for e in events if e.val_loss is not None]
    best = min(evaluations, key=lambda e: e.val_loss)
    assert final.done and final.step == 150
    assert final.best_val_loss == best.val_loss and final.best_step == best.step
    assert evaluations[0].step < final.best_step < final.step  # it learned, then overfitted
    assert final.val_loss > final.best_val_loss and final.restored_best
    assert any(e.overfitting for e in events)
    # The model the run ends with is the best one: its weights and its validation loss.
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[final.best_step][name]), name
    assert trainer.estimate_loss(trainer.val_ids) == final.best_val_loss


def test_events_carry_the_best_so_far(overfit):
    events = overfit[0]
    best = None
    for e in events:
        if e.val_loss is not None and (best is None or e.val_loss < best[0]):
            best = (e.val_loss, e.step)
        assert (e.best_val_loss, e.best_step) == (best or (None, None))
        assert e.restored_best == e.done


def test_overfitting_means_three_rises_of_val_while_train_falls(overfit):
    evaluations = [e for e in overfit[0] if e.val_loss is not None]
    for k, e in enumerate(evaluations):
        last4 = evaluations[k - 3 : k + 1] if k >= 3 else []
        expected = bool(last4) and all(b.val_loss > a.val_loss for a, b in zip(last4, last4[1:])) and (
            last4[-1].eval_train_loss < last4[0].eval_train_loss
        )
        assert e.overfitting == expected, e.step


def test_keep_last_keeps_the_last_weights():
    events, model, trainer, seen = overfit_run(keep_best=False)
    final = events[-1]
    assert not final.restored_best and final.best_step < final.step  # still reported
    assert trainer.estimate_loss(trainer.val_ids) == final.val_loss
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[final.step][name]), name


def test_a_stopped_run_keeps_its_best_too():
    events, model, trainer, seen = overfit_run(stop_at=120)
    final = events[-1]
    assert final.stopped and final.step <= 121 and final.restored_best
    assert trainer.estimate_loss(trainer.val_ids) == final.best_val_loss
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[final.best_step][name]), name


def test_bf16_restores_the_float32_master_weights_of_the_best_step():
    events, model, trainer, seen = overfit_run(precision="bf16", max_steps=100)
    final = events[-1]
    assert final.restored_best
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # During training the model held bf16 roundings of the float32 master weights; the kept
    # float32 weights round to exactly what the model held at the best step.
    for name, value in model.state_dict().items():
        assert torch.equal(value.to(torch.bfloat16), seen[final.best_step][name]), name
    assert any(not torch.equal(v, v.to(torch.bfloat16).float()) for v in model.state_dict().values())


def test_without_validation_data_nothing_is_restored():
    _, model, train, _ = setup()
    events = list(Trainer(model, train, None, fast(max_steps=10, eval_interval=2)).run())
    assert all(e.best_val_loss is None and e.best_step is None and not e.overfitting for e in events)
    assert not events[-1].restored_best


def test_divergence_after_an_evaluation_keeps_the_best_weights():
    _, model, train, val = setup(seed=0)
    cfg = fast(max_steps=50, learning_rate=1e6, warmup_steps=40, min_lr=0, grad_clip=1e9, eval_interval=1)
    events, seen = [], {}
    with pytest.raises(TrainingDiverged) as info:
        for event in Trainer(model, train, val, cfg).run():
            events.append(event)
            seen[event.step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
    best_step = events[-1].best_step
    assert best_step is not None and best_step < len(events) + 1
    assert f"best evaluation (step {best_step}" in str(info.value)
    for name, value in model.state_dict().items():
        assert torch.equal(value, seen[best_step][name]), name


def test_keep_best_must_be_a_bool():
    with pytest.raises(ValueError, match="keep_best"):
        TrainConfig(keep_best="yes")


@pytest.mark.parametrize(
    "history,expected",
    [
        ([(2.0, 2.0), (2.1, 1.9), (2.2, 1.8), (2.3, 1.7)], True),  # three rises, train falling
        ([(2.0, 2.0), (2.1, 1.9), (2.2, 1.8)], False),  # only two rises
        ([(2.0, 2.0), (2.1, 1.9), (2.1, 1.8), (2.3, 1.7)], False),  # a flat step breaks the run
        ([(2.0, 2.0), (2.1, 2.1), (2.2, 2.2), (2.3, 2.3)], False),  # train rising too: not overfitting
        ([(2.0, 2.0), (2.1, 2.1), (2.2, 1.9), (2.3, 1.95)], True),  # train ends lower than it started
        ([(2.0, 2.0), (2.1, 1.9), (2.2, 1.8), (2.3, 1.7), (2.25, 1.6)], False),  # val fell again
    ],
)
def test_overfitting_rule(history, expected):
    weights = [torch.zeros(2)]
    guard = BestWeights(weights)
    for step, (val, train) in enumerate(history, start=1):
        guard.update(step, val, train)
    assert guard.overfitting == expected
    assert guard.step == 1 and guard.val_loss == 2.0


def test_an_evaluation_repeated_at_the_same_step_counts_once():
    guard = BestWeights([torch.zeros(1)])
    for step, val in [(1, 2.0), (2, 2.1), (3, 2.2), (4, 2.3), (4, 2.3)]:  # stopped right after step 4
        guard.update(step, val, 3.0 - step)
    assert guard.overfitting


def test_best_weights_copy_only_on_improvement_and_restore():
    weights = [torch.zeros(3)]
    guard = BestWeights(weights)
    for step, (value, val) in enumerate([(1.0, 3.0), (2.0, 2.5), (3.0, 2.7), (4.0, float("nan"))], start=1):
        weights[0].fill_(value)
        guard.update(step, val, 1.0)
    assert guard.step == 2 and guard.can_restore(4) and not guard.can_restore(2)
    guard.restore()
    assert torch.equal(weights[0], torch.full((3,), 2.0))
    untracked = BestWeights([torch.ones(2)], keep_copy=False)
    untracked.update(1, 1.0, 1.0)
    assert untracked.step == 1 and not untracked.can_restore(5)
