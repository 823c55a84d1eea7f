"""The Train tab's time estimate (ui/run_estimate.py) counts what a run does beyond its steps, lets
the time budget end it and says so, in both languages; its calibration (ui/calibration.py) times
the pieces under the thread count a training gets.

The model is checked with fixed costs (no timing: the numbers are the test's own); one test
calibrates for real, on one thread, and checks only what no load can reverse (a BPE vocabulary's
step costs more than a char one's). Whether the estimate matches the clock is bench/estimates.py's job."""

from __future__ import annotations

import pytest

from gpt.presets import preset
from ui import plan, run_estimate, threads, training
from ui.calibration import DrawCosts, StepCosts, StepTimer
from ui.run_estimate import estimate_run, evaluations_in

COSTS = StepCosts(
    precision="fp32",
    threads=1,
    fixed_s=0.002,
    per_layer_s=0.001,
    per_parameter_s=5e-9,
    flops_per_s=3e10,
    attention_flops_per_s=1e10,
    per_logit_s=8e-9,
    per_logit_out_s=1.2e-8,
    logits_in_cache=3e6,
    logits_out_of_cache=1.2e7,
    forward_body=0.4,
    forward_logits=0.4,
    decode_per_layer_s=2e-4,
    decode_per_parameter_s=1e-10,
    window_vs_body=0.2,
    first_step_extra_s=0.01,
)
DRAW = DrawCosts(
    probe_fixed_s=0.01,
    probe_per_head_s=0.002,
    loss_figure_s=0.01,
    tokenize_s={"char": (0.001, 3e-8), "bpe": (0.05, 3e-7)},
    watch_fixed_s=0.02,
    watch_per_head_s=0.002,
    finish_s=0.2,
)
CHARS = 1_000_000
CHAR_VOCAB, BPE_VOCAB = 65, 11_901


class FixedTimer(StepTimer):
    """A StepTimer whose timings are given, not measured."""

    def costs(self, config, beside_browser=False):
        return COSTS

    def draw(self):
        return DRAW


@pytest.fixture
def timer() -> StepTimer:
    return FixedTimer("cpu")


def tiny(**changes):
    """The tiny preset without its time budget, unless one is given."""
    return preset("tiny", **{"tokenizer": "char", "time_budget_s": None, **changes})


def test_the_estimate_is_the_steps_plus_the_evaluations_reports_updates_and_start_up(timer):
    e = estimate_run(timer, tiny(), CHAR_VOCAB, CHARS)
    config = tiny().model_config(CHAR_VOCAB)
    assert e.steps == 500 and not e.budget_ends_run
    assert e.step_s == pytest.approx(COSTS.step_s(config, 16))
    plan_ = tiny().train_config(step_seconds=e.step_s)
    assert e.evaluations == evaluations_in(500, plan_.eval_interval) and e.eval_iters == plan_.eval_iters
    assert e.evaluation_s == pytest.approx(2 * plan_.eval_iters * COSTS.forward_s(config, 16))  # val and train
    assert e.report_s > DRAW.probe_s(config.n_head)  # the sample, then the probe's figure
    # The drawing beside the steps costs them its whole time (REPORTS_ON_CLOCK is 1).
    assert e.reports_on_clock == 1
    assert e.total_s == pytest.approx(
        e.steps_s + e.evaluations * (e.evaluation_s + e.report_s) + e.startup_s + e.updates * e.update_s + e.finish_s
    )
    assert e.finish_s == DRAW.finish_s  # the checkpoint written and the memory given back, after the last step
    assert e.total_s > e.steps_s + e.evaluations_s > e.steps_s


def test_more_evaluations_or_bigger_ones_take_longer(timer):
    sparse = estimate_run(timer, tiny(eval_interval=100), CHAR_VOCAB, CHARS)
    dense = estimate_run(timer, tiny(eval_interval=10), CHAR_VOCAB, CHARS)
    assert (sparse.evaluations, dense.evaluations) == (5, 50)
    extra = 45 * (sparse.evaluation_s + sparse.report_s + sparse.update_s)  # 45 more, each with its report and redraw
    assert dense.total_s - sparse.total_s == pytest.approx(extra, rel=0.05)
    light = estimate_run(timer, tiny(eval_interval=50, eval_iters=2), CHAR_VOCAB, CHARS)
    heavy = estimate_run(timer, tiny(eval_interval=50, eval_iters=40), CHAR_VOCAB, CHARS)
    assert heavy.evaluation_s == pytest.approx(20 * light.evaluation_s) and heavy.total_s > light.total_s


def test_the_reports_are_a_term_of_their_own(timer, monkeypatch):
    full = estimate_run(timer, tiny(eval_interval=10), CHAR_VOCAB, CHARS)
    monkeypatch.setattr(training, "SAMPLE_CHARS", training.SAMPLE_CHARS // 4)
    shorter = estimate_run(timer, tiny(eval_interval=10), CHAR_VOCAB, CHARS)
    assert 0 < shorter.report_s < full.report_s and shorter.total_s < full.total_s
    assert shorter.evaluation_s == full.evaluation_s  # the loss estimates are a term of their own
    # Were the drawing beside the steps free, only the last report (after the last step) would count.
    monkeypatch.setattr(run_estimate, "REPORTS_ON_CLOCK", 0.0)
    beside = estimate_run(timer, tiny(eval_interval=10), CHAR_VOCAB, CHARS)
    assert beside.evaluations_s == pytest.approx(50 * beside.evaluation_s + beside.report_s)
    assert shorter.evaluations_s == pytest.approx(50 * (shorter.evaluation_s + shorter.report_s))
    assert beside.total_s < shorter.total_s


def test_bpe_costs_more_than_char_for_the_same_shape(timer):
    char = estimate_run(timer, tiny(), CHAR_VOCAB, CHARS)
    bpe = estimate_run(timer, tiny(tokenizer="bpe"), BPE_VOCAB, CHARS)
    assert bpe.step_s > 2 * char.step_s  # the LM head and the embedding grow with the vocabulary
    assert bpe.evaluation_s > char.evaluation_s and bpe.startup_s > char.startup_s
    assert bpe.total_s > char.total_s


def test_the_time_budget_ends_the_estimate_and_the_plan_says_so(timer):
    unbounded = estimate_run(timer, tiny(max_steps=2000), CHAR_VOCAB, CHARS)
    training_clock = unbounded.total_s - unbounded.startup_s - unbounded.finish_s  # the budget's part
    budget = round(training_clock / 2, 1)
    settings = tiny(max_steps=2000, time_budget_s=budget)
    capped = estimate_run(timer, settings, CHAR_VOCAB, CHARS)
    assert capped.budget_ends_run and 0.35 * 2000 < capped.steps < 0.65 * 2000
    # The budget, then the last step's overrun and one more evaluation: never much more, never less.
    assert (
        budget
        <= capped.total_s - capped.startup_s - capped.finish_s
        <= budget + capped.step_s + capped.evaluation_s + capped.report_s + 3 * capped.update_s
    )
    # Evaluations every eval_interval steps, and one more where the budget stops the run.
    assert capped.evaluations == capped.steps // settings.train_config(step_seconds=capped.step_s).eval_interval + 1
    info = plan.TextInfo(CHARS, CHAR_VOCAB, BPE_VOCAB)
    english = plan.plan_summary(timer, info, settings, "en")
    assert "time budget" in english and f"{capped.steps:,} of 2,000 steps" in english
    spanish = plan.plan_summary(timer, info, settings, "es")
    assert "tiempo máximo" in spanish and f"{capped.steps:,} de 2,000 pasos" in spanish
    roomy = plan.plan_summary(timer, info, tiny(max_steps=2000, time_budget_s=round(3 * training_clock)), "en")
    assert "time budget" not in roomy and f"2,000 steps and {unbounded.evaluations} evaluations" in roomy


def test_a_run_about_as_long_as_its_budget_is_said_to_be_close_either_way(timer):
    unbounded = estimate_run(timer, tiny(max_steps=2000), CHAR_VOCAB, CHARS)
    clock = unbounded.total_s - unbounded.startup_s - unbounded.finish_s
    info = plan.TextInfo(CHARS, CHAR_VOCAB, BPE_VOCAB)
    for share, budget_ends in ((0.8, False), (1.2, True)):  # the run's length over its budget, within ±30%
        settings = tiny(max_steps=2000, time_budget_s=round(clock / share, 2))
        e = estimate_run(timer, settings, CHAR_VOCAB, CHARS)
        assert e.budget_is_close and e.budget_ends_run == budget_ends
        assert e.budget_share == pytest.approx(share, rel=0.03)
        english, spanish = (plan.plan_summary(timer, info, settings, lang) for lang in ("en", "es"))
        if budget_ends:
            assert "may finish all 2,000 steps first" in english and "puede que termine antes sus 2,000 pasos" in spanish
        else:
            assert "time budget: it may end the run first" in english and "puede que este termine" in spanish
    for share in (0.5, 2.0):  # far from the budget: the plan says what will happen, no "may"
        settings = tiny(max_steps=2000, time_budget_s=round(clock / share, 2))
        e = estimate_run(timer, settings, CHAR_VOCAB, CHARS)
        assert not e.budget_is_close and e.budget_ends_run == (share > 1)
        assert " may " not in plan.plan_summary(timer, info, settings, "en")
    assert not unbounded.budget_is_close  # no budget, nothing to be close to


def test_the_plan_shows_what_the_time_is_made_of_in_both_languages(timer):
    info = plan.TextInfo(CHARS, CHAR_VOCAB, BPE_VOCAB)
    e = estimate_run(timer, tiny(), CHAR_VOCAB, CHARS)
    english, spanish = (plan.plan_summary(timer, info, tiny(), lang) for lang in ("en", "es"))
    assert "per step" in english and "evaluations" in english and "start-up" in english
    assert "por paso" in spanish and "evaluaciones" in spanish and "arranque" in spanish
    for summary in (english, spanish):
        assert plan._fmt_seconds(e.total_s) in summary and plan._fmt_seconds(e.evaluations_s) in summary


def test_a_new_training_is_timed_with_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "_FIXED_TRAIN", False)
    monkeypatch.setattr(threads, "TRAIN_THREADS_ALONE", 4)
    assert threads.for_a_new_training() == 4
    with threads.training():  # one training runs: a second would share the cores with it
        assert threads.for_a_new_training() == 2
        with threads.training():
            assert threads.for_a_new_training() == 1
    monkeypatch.setattr(threads, "_FIXED_TRAIN", True)  # MIRADOR_TRAIN_THREADS: that count, always
    with threads.training():
        assert threads.for_a_new_training() == 4


def test_the_calibration_times_real_pieces_under_the_training_thread_count(monkeypatch):
    monkeypatch.setattr(threads, "_FIXED_TRAIN", True)
    monkeypatch.setattr(threads, "TRAIN_THREADS_ALONE", 1)
    timer = StepTimer("cpu")
    timer.warm_up().join(timeout=120)  # as the app does when it starts: every precision, then the drawing
    settings = preset("fast")
    char, bpe = settings.model_config(CHAR_VOCAB), settings.model_config(BPE_VOCAB)
    narrow = preset("tiny").model_config(CHAR_VOCAB)
    assert {key[0] for key in timer._costs} == {timer.precision(char), timer.precision(narrow)}
    assert timer._draw is not None and timer._draw.loss_figure_s > 0
    costs = timer.costs(char)
    assert costs.threads == 1 and costs.precision == timer.precision(char)
    assert (
        costs.flops_per_s > 0 and costs.forward_body > 0 and costs.decode_per_layer_s + costs.decode_per_parameter_s > 0
    )
    # About 20x the logits and 4.7x the parameters: no load on the machine makes it cheaper.
    assert timer.seconds(bpe, settings.batch_size) > 2 * timer.seconds(char, settings.batch_size)
    assert timer.costs(bpe) is costs  # timed once per precision and thread count
