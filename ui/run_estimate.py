"""How long a training run will take, before it starts: the sum behind the Train tab's estimate.

A run in the app (ui/training.py) takes, on the user's clock,

    start-up      tokenizing the text, the first step's one-off costs, the first loss curve
  + steps         steps x one step
  + evaluations   at every eval_interval steps and at the end: Trainer.estimate_loss on the
                  validation and the training text (2 x eval_iters forward batches), and the
                  report the page draws of it (sample, probe, watch views)
  + updates       the loss curve, redrawn at most every UPDATE_INTERVAL_S and at each evaluation
  + finish        after the last step: the checkpoint written, the run's memory given back

Each piece is timed on this machine for this very shape (ui/calibration.py); the text's
tokenizing is timed when the text is read (ui/plan.py text_info). The reports run beside the
steps on a copy of the weights, yet on a CPU they still cost the steps about their whole time
(both sides hold Python's interpreter lock between their many short operations), so they are
counted whole. The time budget counts from the first step and is checked before each step: a
run that it ends makes steps until the budget is spent, then one more evaluation and report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpt.settings import TrainingSettings

from .cadence import UPDATE_INTERVAL_S
from .calibration import StepTimer

EVALUATED_TEXTS = 2  # each evaluation estimates the loss on the validation text and on the training text

# How close the estimate is held to the clock on the machine it runs on: within ±30%
# (bench/estimates.py measures it). So a run whose whole length is within that share of its time
# budget, either side, may or may not be ended by it, and the plan says "may" rather than guess.
ESTIMATE_TOLERANCE = 0.30


@dataclass(frozen=True)
class RunEstimate:
    """A run's expected duration, piece by piece (seconds)."""

    step_s: float  # one training step
    max_steps: int
    steps: int  # the steps the run makes: max_steps, or fewer when the time budget ends it
    time_budget_s: float | None
    evaluations: int
    eval_iters: int  # forward batches per text at each evaluation
    evaluation_s: float  # one evaluation's loss estimates
    report_s: float  # ... and what the page draws of it (sample, probe, watch views)
    updates: int
    update_s: float  # one redraw of the loss curve
    startup_s: float  # tokenizing the text and the first step's one-off costs
    finish_s: float  # after the last step: the checkpoint saved, the run's memory given back
    threads: int  # the training's CPU threads (1 on a GPU)
    precision: str
    budget_share: float | None = None  # the time the whole run (max_steps) would take, over the time budget

    @property
    def budget_is_close(self) -> bool:
        """Whether the run's whole length is so near its time budget that either may come first."""
        return self.budget_share is not None and abs(self.budget_share - 1) <= ESTIMATE_TOLERANCE

    @property
    def steps_s(self) -> float:
        return self.steps * self.step_s

    @property
    def evaluations_s(self) -> float:
        return self.evaluations * (self.evaluation_s + self.report_s)

    @property
    def other_s(self) -> float:
        """Start-up, the loss curve's redraws and the finish."""
        return self.startup_s + self.updates * self.update_s + self.finish_s

    @property
    def total_s(self) -> float:
        return self.steps_s + self.evaluations_s + self.other_s

    @property
    def budget_ends_run(self) -> bool:
        return self.steps < self.max_steps


def evaluations_in(steps: int, eval_interval: int) -> int:
    """Evaluations in a run of `steps` steps: every eval_interval steps, and at the last step."""
    return steps // eval_interval + (1 if steps % eval_interval else 0)


def estimate_run(
    timer: StepTimer, settings: TrainingSettings, vocab_size: int, threads: int, tokenize_s: float = 0.0
) -> RunEstimate:
    """The expected duration of a run of these settings, on `threads` training threads, for a text
    whose vocabulary (for settings.tokenizer) has vocab_size tokens and takes tokenize_s to tokenize."""
    config = settings.model_config(vocab_size)
    costs = timer.costs(config, settings.batch_size, threads, settings.tokenizer)
    update = timer.loss_figure_s()
    step = costs.step_s
    # The evaluations' spacing and size, as the run will decide them from the same step time.
    plan = settings.train_config(step_seconds=step, device=timer.device.type)
    evaluation = EVALUATED_TEXTS * plan.eval_iters * costs.forward_s
    # Between evaluations, the loss curve is redrawn once per UPDATE_INTERVAL_S (or per step, if slower).
    steps_per_update = max(1, math.ceil(UPDATE_INTERVAL_S / max(step, 1e-9)))
    per_step = step + update / steps_per_update + (evaluation + costs.report_s + update) / plan.eval_interval
    steps, budget_share = settings.max_steps, None
    if settings.time_budget_s is not None:
        within_budget = math.ceil(max(settings.time_budget_s - costs.first_step_extra_s, 0.0) / per_step)
        steps = max(1, min(steps, within_budget))
        budget_share = (costs.first_step_extra_s + settings.max_steps * per_step) / max(settings.time_budget_s, 1e-9)
    evaluations = (
        steps // plan.eval_interval + 1 if steps < settings.max_steps else evaluations_in(steps, plan.eval_interval)
    )
    return RunEstimate(
        step_s=step,
        max_steps=settings.max_steps,
        steps=steps,
        time_budget_s=settings.time_budget_s,
        evaluations=evaluations,
        eval_iters=plan.eval_iters,
        evaluation_s=evaluation,
        report_s=costs.report_s,
        updates=2 + steps // steps_per_update + evaluations,  # the first and last, between steps, at evaluations
        update_s=update,
        startup_s=costs.first_step_extra_s + tokenize_s,
        finish_s=costs.finish_s,
        threads=threads,
        precision=costs.precision,
        budget_share=budget_share,
    )
