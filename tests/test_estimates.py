"""The Train tab's time estimate (ui/run_estimate.py) adds up what a run does beyond its steps, lets
the time budget end it and says so, in both languages; its timer (ui/calibration.py) times the
form's own shape, once, under the thread count a training gets.

The sum is checked with fixed costs (no timing: the numbers are the test's own); one test times
for real, on one thread, and checks only what no load can reverse (a BPE vocabulary's step costs
more than a char one's). Whether the estimate matches the clock is bench/estimates.py's job."""

from __future__ import annotations

import threading

import pytest
import torch

from gpt.presets import preset
from ui import plan
from ui.calibration import ShapeCosts, StepTimer
from ui.run_estimate import estimate_run, evaluations_in
from ui.threads import RunPolicy

COSTS = ShapeCosts(
    threads=1, precision="fp32", step_s=0.008, first_step_extra_s=0.01, forward_s=0.003, report_s=0.05, finish_s=0.2
)
BPE_COSTS = ShapeCosts(
    threads=1, precision="fp32", step_s=0.05, first_step_extra_s=0.03, forward_s=0.02, report_s=0.06, finish_s=0.25
)
LOSS_FIGURE_S = 0.01
CHAR_VOCAB, BPE_VOCAB = 65, 11_901
TOKENIZE_S = 0.3


def one_thread() -> RunPolicy:
    return RunPolicy(cores=1, train_alone=1, train_busy=1, fixed=True)


class FixedTimer(StepTimer):
    """A StepTimer whose timings are given, not measured."""

    def costs(self, config, batch_size, threads, tokenizer="char"):
        return BPE_COSTS if tokenizer == "bpe" else COSTS

    def loss_figure_s(self):
        return LOSS_FIGURE_S


@pytest.fixture
def timer() -> StepTimer:
    return FixedTimer("cpu", one_thread())


def tiny(**changes):
    """The tiny preset without its time budget, unless one is given."""
    return preset("tiny", **{"tokenizer": "char", "time_budget_s": None, **changes})


def estimate(timer, settings):
    vocab = BPE_VOCAB if settings.tokenizer == "bpe" else CHAR_VOCAB
    return estimate_run(timer, settings, vocab, threads=1, tokenize_s=TOKENIZE_S)


def test_the_estimate_is_the_steps_plus_the_evaluations_reports_updates_and_start_up(timer):
    e = estimate(timer, tiny())
    assert e.steps == 500 and not e.budget_ends_run
    assert e.step_s == COSTS.step_s
    plan_ = tiny().train_config(step_seconds=e.step_s)
    assert e.evaluations == evaluations_in(500, plan_.eval_interval) and e.eval_iters == plan_.eval_iters
    assert e.evaluation_s == pytest.approx(2 * plan_.eval_iters * COSTS.forward_s)  # val and train
    assert e.report_s == COSTS.report_s  # the sample, the probe's figure, the watch views
    assert e.total_s == pytest.approx(
        e.steps_s + e.evaluations * (e.evaluation_s + e.report_s) + e.startup_s + e.updates * e.update_s + e.finish_s
    )
    assert e.startup_s == pytest.approx(COSTS.first_step_extra_s + TOKENIZE_S)  # the text tokenized, the first step
    assert e.finish_s == COSTS.finish_s  # the checkpoint written and the memory given back, after the last step
    assert e.total_s > e.steps_s + e.evaluations_s > e.steps_s


def test_more_evaluations_or_bigger_ones_take_longer(timer):
    sparse = estimate(timer, tiny(eval_interval=100))
    dense = estimate(timer, tiny(eval_interval=10))
    assert (sparse.evaluations, dense.evaluations) == (5, 50)
    extra = 45 * (sparse.evaluation_s + sparse.report_s + sparse.update_s)  # 45 more, each with its report and redraw
    assert dense.total_s - sparse.total_s == pytest.approx(extra, rel=0.05)
    light = estimate(timer, tiny(eval_interval=50, eval_iters=2))
    heavy = estimate(timer, tiny(eval_interval=50, eval_iters=40))
    assert heavy.evaluation_s == pytest.approx(20 * light.evaluation_s) and heavy.total_s > light.total_s


def test_bpe_costs_more_than_char_for_the_same_shape(timer):
    char = estimate(timer, tiny())
    bpe = estimate(timer, tiny(tokenizer="bpe"))
    assert bpe.step_s > 2 * char.step_s and bpe.evaluation_s > char.evaluation_s
    assert bpe.total_s > char.total_s


def test_the_time_budget_ends_the_estimate_and_the_plan_says_so(timer):
    unbounded = estimate(timer, tiny(max_steps=2000))
    training_clock = unbounded.total_s - unbounded.startup_s - unbounded.finish_s  # the budget's part
    budget = round(training_clock / 2, 1)
    settings = tiny(max_steps=2000, time_budget_s=budget)
    capped = estimate(timer, settings)
    assert capped.budget_ends_run and 0.35 * 2000 < capped.steps < 0.65 * 2000
    # The budget, then the last step's overrun and one more evaluation: never much more, never less.
    assert (
        budget - COSTS.first_step_extra_s  # the budget counts from the first step
        <= capped.total_s - capped.startup_s - capped.finish_s
        <= budget + capped.step_s + capped.evaluation_s + capped.report_s + 3 * capped.update_s
    )
    # Evaluations every eval_interval steps, and one more where the budget stops the run.
    assert capped.evaluations == capped.steps // settings.train_config(step_seconds=capped.step_s).eval_interval + 1
    info = plan.TextInfo(1_000_000, CHAR_VOCAB, BPE_VOCAB)
    english = plan.plan_summary(timer, info, settings, "en")
    assert "time budget" in english and f"{capped.steps:,} of 2,000 steps" in english
    spanish = plan.plan_summary(timer, info, settings, "es")
    assert "tiempo máximo" in spanish and f"{capped.steps:,} de 2,000 pasos" in spanish
    roomy = plan.plan_summary(timer, info, tiny(max_steps=2000, time_budget_s=round(3 * training_clock)), "en")
    assert "time budget" not in roomy and f"2,000 steps and {unbounded.evaluations} evaluations" in roomy


def test_a_run_about_as_long_as_its_budget_is_said_to_be_close_either_way(timer):
    unbounded = estimate(timer, tiny(max_steps=2000))
    clock = unbounded.total_s - unbounded.startup_s - unbounded.finish_s
    info = plan.TextInfo(1_000_000, CHAR_VOCAB, BPE_VOCAB)
    for share, budget_ends in ((0.8, False), (1.2, True)):  # the run's length over its budget, within ±30%
        settings = tiny(max_steps=2000, time_budget_s=round(clock / share, 2))
        e = estimate(timer, settings)
        assert e.budget_is_close and e.budget_ends_run == budget_ends
        assert e.budget_share == pytest.approx(share, rel=0.03)
        english, spanish = (plan.plan_summary(timer, info, settings, lang) for lang in ("en", "es"))
        if budget_ends:
            assert "may finish all 2,000 steps first" in english and "puede que termine antes sus 2,000 pasos" in spanish
        else:
            assert "time budget: it may end the run first" in english and "puede que este termine" in spanish
    for share in (0.5, 2.0):  # far from the budget: the plan says what will happen, no "may"
        settings = tiny(max_steps=2000, time_budget_s=round(clock / share, 2))
        e = estimate(timer, settings)
        assert not e.budget_is_close and e.budget_ends_run == (share > 1)
        assert " may " not in plan.plan_summary(timer, info, settings, "en")
    assert not unbounded.budget_is_close  # no budget, nothing to be close to


def test_the_plan_shows_what_the_time_is_made_of_in_both_languages(timer):
    info = plan.TextInfo(1_000_000, CHAR_VOCAB, BPE_VOCAB, char_tokenize_s=TOKENIZE_S)
    e = estimate(timer, tiny())
    english, spanish = (plan.plan_summary(timer, info, tiny(), lang) for lang in ("en", "es"))
    assert "per step" in english and "evaluations" in english and "start-up" in english
    assert "por paso" in spanish and "evaluaciones" in spanish and "arranque" in spanish
    for summary in (english, spanish):
        assert plan._fmt_seconds(e.total_s) in summary and plan._fmt_seconds(e.evaluations_s) in summary


def test_a_run_from_a_page_on_this_machine_is_planned_on_a_core_less(timer):
    """The plan is timed with the thread count the run will get: a page drawn on this machine keeps a core."""
    seen = []
    timer.costs = lambda config, batch_size, threads, tokenizer="char": (seen.append(threads), COSTS)[1]
    timer.policy = RunPolicy(cores=2, train_alone=2, train_busy=1)
    info = plan.TextInfo(1_000_000, CHAR_VOCAB, BPE_VOCAB)
    assert "(2 training threads)" in plan.plan_summary(timer, info, tiny(), "en")
    assert "(1 training thread)" in plan.plan_summary(timer, info, tiny(), "en", beside_browser=True)
    assert seen == [2, 1]


def test_a_new_training_is_timed_with_its_share_of_the_cores():
    policy = RunPolicy(cores=4, train_alone=4, train_busy=3)
    assert policy.for_a_new_training() == 4 and policy.for_a_new_training(beside_browser=True) == 3
    with policy.training():  # one training runs: a second would share the cores with it
        assert policy.for_a_new_training() == 2
        with policy.training():
            assert policy.for_a_new_training() == 1
    fixed = RunPolicy(cores=4, train_alone=4, train_busy=4, fixed=True)  # MIRADOR_TRAIN_THREADS: that count, always
    with fixed.training():
        assert fixed.for_a_new_training() == 4


def test_the_timer_times_the_real_shape_once_in_a_thread_of_its_own():
    timer = StepTimer("cpu", one_thread())
    settings = preset("fast")
    char, bpe = settings.model_config(CHAR_VOCAB), settings.model_config(BPE_VOCAB)
    before = torch.get_num_threads()
    outside = threading.get_ident()
    costs = timer.costs(char, settings.batch_size, 1)
    assert costs.threads == 1 and costs.precision == timer.precision(char)
    assert min(costs.step_s, costs.forward_s, costs.report_s, costs.finish_s) > 0
    assert torch.get_num_threads() == before and threading.get_ident() == outside  # this thread's count untouched
    assert timer.loss_figure_s() > 0
    # About 20x the logits and 4.7x the parameters: no load on the machine makes it cheaper.
    assert timer.seconds(bpe, settings.batch_size, 1) > 2 * timer.seconds(char, settings.batch_size, 1)
    # Each timed once: the steps of both shapes, the page's part of the char one (seconds() times only the steps).
    assert timer.costs(char, settings.batch_size, 1) == costs and len(timer._costs) == 3
