"""How long a training run will take, before it starts: the model behind the Train tab's estimate.

A run in the app (ui/training.py) has two sides (ui/training_feed.py): the steps, in a thread of
their own, and the page's side, which shows what they did. On the user's clock it takes

    start-up      tokenizing the text, and the first step's one-off costs
  + steps         steps x one step (forward, backward, AdamW)
  + evaluations   at every eval_interval steps and at the end, Trainer.estimate_loss on the
                  validation and the training text: 2 x eval_iters forward batches
  + reports       what the page shows of each evaluation: a sample of SAMPLE_CHARS characters,
                  generated one token at a time (the whole window recomputed for each token once
                  the text is longer than the context), the probe's attention figure, and what
                  ui/watch.py records and draws (the attention snapshot, the surprise strip, the
                  head metrics)
  + updates       the loss curve, redrawn at most every UPDATE_INTERVAL_S and at each evaluation
  + finish        after the last step: the checkpoint written, the run's memory given back

The reports and updates run beside the steps, on a copy of the weights, yet on a CPU they still
cost the steps about their whole time (REPORTS_ON_CLOCK), and the last evaluation's report is
drawn after the last step, so the user always waits for that one.

The time budget counts from the first step and is checked before each step: a run that it ends
makes steps until the budget is spent, then one more evaluation and report.

Each piece costs what this machine's timings of small references say (ui/calibration.py), scaled
by the shape: the layers, the width, the context, the batch, and the vocabulary (the LM head and
the embedding dominate a small model with BPE's vocabulary of thousands of tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gpt.config import GPTConfig
from gpt.settings import TrainingSettings

from .calibration import StepTimer

EVALUATED_TEXTS = 2  # each evaluation estimates the loss on the validation text and on the training text
PROBE_TOKENS = 48  # the probe's attention maps show at most this many tokens


def update_interval_s() -> float:
    from .training import UPDATE_INTERVAL_S

    return UPDATE_INTERVAL_S


# The share of the reports' and the loss curve's drawing time that the steps lose, though the
# page's side draws beside them (ui/training_feed.py). Both sides hold Python's interpreter lock
# between their operations, and a small model's steps are many short operations: they wait for
# the drawing about as long as it runs. Measured on the 2-core EPYC (one training thread, the
# fast preset with 40 evaluations in 400 steps): 24.1 s with the drawing, 19.0 s without it, for
# about 5.4 s of drawing. The small preset's longer operations overlapped it (65.4 s against 67.5),
# so counting it whole makes bigger models' estimates up to about a tenth too long.
REPORTS_ON_CLOCK = 1.0

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
    report_s: float  # one evaluation's sample and attention figure
    updates: int
    update_s: float  # one redraw of the loss curve
    reports_on_clock: float  # the share of the reports' and updates' time the steps lose (REPORTS_ON_CLOCK)
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
        """The evaluations with their reports (the last one's whole): what a run does beyond its steps."""
        beside = self.evaluations * self.reports_on_clock * self.report_s
        return self.evaluations * self.evaluation_s + beside + (1 - self.reports_on_clock) * self.report_s

    @property
    def other_s(self) -> float:
        """Start-up, the loss curve's redraws (the last one's whole, as the last report's) and the finish."""
        beside = self.updates * self.reports_on_clock * self.update_s
        return self.startup_s + beside + (1 - self.reports_on_clock) * self.update_s + self.finish_s

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
    timer: StepTimer, settings: TrainingSettings, vocab_size: int, text_chars: int, beside_browser: bool = False
) -> RunEstimate:
    """The expected duration of a run of these settings on a text of text_chars characters whose
    vocabulary (for settings.tokenizer) has vocab_size tokens; beside_browser: started from a page
    open on this machine, whose steps leave the browser a core (ui/threads.py)."""
    from .training import sample_tokens  # ui/training.py imports this module (via ui/plan.py): at call time

    config = settings.model_config(vocab_size)
    costs, draw = timer.costs(config, beside_browser), timer.draw()
    batch = settings.batch_size
    step = costs.step_s(config, batch)
    # The evaluations' spacing and size, as the run will decide them from the same step estimate.
    plan = settings.train_config(step_seconds=step, device=timer.device.type)
    evaluation = EVALUATED_TEXTS * plan.eval_iters * costs.forward_s(config, batch)
    report = (
        _sample_s(costs, config, sample_tokens(settings.tokenizer))
        + _probe_s(costs, draw, config)
        + draw.watch_s(config)
    )
    update = draw.loss_figure_s
    lost = REPORTS_ON_CLOCK
    # Between evaluations, the loss curve is redrawn once per UPDATE_INTERVAL_S (or per step, if slower).
    steps_per_update = max(1, math.ceil(update_interval_s() / max(step, 1e-9)))
    per_step = step + lost * update / steps_per_update + (evaluation + lost * (report + update)) / plan.eval_interval
    steps, budget_share = settings.max_steps, None
    if settings.time_budget_s is not None:
        within_budget = math.ceil(max(settings.time_budget_s - costs.first_step_extra_s, 0.0) / per_step)
        steps = max(1, min(steps, within_budget))
        budget_share = (costs.first_step_extra_s + settings.max_steps * per_step) / max(settings.time_budget_s, 1e-9)
    evaluations = (
        steps // plan.eval_interval + 1 if steps < settings.max_steps else evaluations_in(steps, plan.eval_interval)
    )
    updates = 2 + steps // steps_per_update + evaluations  # the first and last, between steps, at evaluations
    # Before the first step: the text tokenized, the untrained model's attention recorded and drawn.
    startup = costs.first_step_extra_s + draw.tokenizing_s(settings.tokenizer, text_chars) + draw.watch_s(config)
    return RunEstimate(
        step_s=step,
        max_steps=settings.max_steps,
        steps=steps,
        time_budget_s=settings.time_budget_s,
        evaluations=evaluations,
        eval_iters=plan.eval_iters,
        evaluation_s=evaluation,
        report_s=report,
        updates=updates,
        update_s=update,
        reports_on_clock=lost,
        startup_s=startup,
        finish_s=draw.finish_s,
        threads=costs.threads,
        precision=costs.precision,
        budget_share=budget_share,
    )


def _sample_s(costs, config: GPTConfig, tokens: int) -> float:
    """The sample: one position per token while it fits in the context, then a window per token."""
    within = min(tokens, config.block_size - 1)  # the prompt is one token
    return within * costs.decode_token_s(config) + (tokens - within) * costs.window_token_s(config)


def _probe_s(costs, draw, config: GPTConfig) -> float:
    """The probe: one forward over its tokens (about a window's), then its figure of every head."""
    return costs.window_token_s(config) * min(PROBE_TOKENS, config.block_size) / config.block_size + draw.probe_s(
        config.n_head
    )
