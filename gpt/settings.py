"""The settings of a training run, in one frozen dataclass.

The app's Train form, its `/train` API, the command line (`python -m gpt.train`) and the
benchmarks all take a `TrainingSettings`. Each field carries its default, the bounds of what
the library can do, and a one-line help: the form builds its inputs from the fields, the
command line its flags, the app checks what a browser sends against the same bounds (narrowed
by its own caps, ui/limits.py). A preset (gpt/presets.py) is a partial instance: a few fields
changed from these defaults.

A field left at None is decided when the run starts, from the others: see `train_config`.

A resumed run (python -m gpt.train --resume, gpt/resume.py) takes the settings it was started
with; each field says whether a resumed run may change it (`on_resume`): what decides the
training's path (the model, the data, the recipe) must stay; how long it goes on and how often
it is evaluated may change; where it stops is never carried over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from .checks import is_number, is_whole, one_of
from .config import MAX_BLOCK_SIZE, MAX_N_EMBD, MAX_N_HEAD, MAX_N_LAYER, GPTConfig
from .trainer import MIN_LR_FRACTION, TrainConfig

TOKENIZERS = ("char", "bpe")
EVALUATIONS_PER_RUN = 10  # when eval_interval is left to the run: about this many per run
MAX_AUTO_WARMUP = 100  # warm-up left to the run: a tenth of the steps, at most this many
ON_RESUME = ("same", "may change", "not carried")  # what a resumed run may do with a field (Setting.on_resume)


@dataclass(frozen=True)
class Setting:
    """What a field of TrainingSettings accepts and how it is shown."""

    kind: type  # int, float, str or bool
    help: str  # one line: the command line's --help and the form's tooltip
    label: str = ""  # the form's label, when it is not the field's name
    low: float | None = None  # the library's bounds (None: unbounded)
    high: float | None = None
    low_open: bool = False  # the bound itself is excluded
    high_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed: decided at the start of the run (see the help)
    hint: str = ""  # added to an out-of-range message: what to choose instead
    # How the app's form shows it: "choice" (buttons), "number" (a box), "checkbox" (yes/no), (minimum,
    # maximum, step) for a slider (maximum None: up to the app's cap), or None: not on the form (presets and
    # the command line).
    form: tuple | str | None = None
    flag: str = ""  # the command-line flag, when it is not --name-with-dashes
    negative_flag: str = ""  # for a yes/no field: the flag that says no
    aliases: tuple[str, ...] = ()
    on_resume: str = "same"  # "same": a resumed run must keep it; "may change"; "not carried": starts unset

    def __post_init__(self) -> None:
        one_of("on_resume", self.on_resume, ON_RESUME)

    def check(self, name: str, value) -> None:
        """ValueError, naming the field and its bounds, when value is outside them."""
        if value is None and self.optional:
            return
        if self.kind is str:
            one_of(name, value, self.choices)
            return
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}.")
            return
        right_type = is_whole(value) if self.kind is int else is_number(value) and math.isfinite(value)
        if not right_type:
            what = "a whole number" if self.kind is int else "a finite number"
            raise ValueError(f"{name} must be {what}, got {value!r}.")
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            hint = f" {self.hint}" if self.hint else ""
            raise ValueError(f"{name} must be {self.describe_range()}, got {value}.{hint}")

    def describe_range(self) -> str:
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


def _setting(default, **meta):
    return field(default=default, metadata={"setting": Setting(**meta)})


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides what a training run learns, validated when built.

    The fields on the form come in the order of the app's `/train` API after the text (fields added
    to the form later go at the API's end: ui/train_form.API_FIELDS)."""

    # --- what the model reads and how big it is (gpt.GPTConfig) ---
    tokenizer: str = _setting(
        "char", kind=str, choices=TOKENIZERS, form="choice",
        help="char: one token per character, as in the lecture; bpe: GPT-2's word pieces (bigger vocabulary)",
    )
    n_layer: int = _setting(4, kind=int, low=1, high=MAX_N_LAYER, form=(1, 12, 1), help="transformer blocks stacked")
    n_head: int = _setting(4, kind=int, low=1, high=MAX_N_HEAD, form=(1, 12, 1), help="attention heads per block")
    n_embd: int = _setting(
        128, kind=int, low=1, high=MAX_N_EMBD, form=(16, 768, 16),
        help="width of the residual stream (embedding size); divisible by n_head",
    )
    block_size: int = _setting(
        64, kind=int, low=1, high=MAX_BLOCK_SIZE, form=(8, None, 8),
        help="context: the most tokens the model looks back at",
    )
    # --- how it learns (gpt.TrainConfig) ---
    max_steps: int = _setting(
        1000, kind=int, low=1, form=(10, None, 10), on_resume="may change",
        help="optimizer steps; the learning-rate schedule is planned for them",
    )
    batch_size: int = _setting(16, kind=int, low=1, form=(1, None, 1), help="windows of text per step")
    learning_rate: float = _setting(
        1e-3, kind=float, low=0, low_open=True, form="number", aliases=("--lr",),
        hint="Typical values are 1e-4 to 3e-3; larger ones make the loss blow up.",
        help="peak learning rate, after the warm-up; cosine decay to min_lr",
    )
    dropout: float = _setting(
        0.0, kind=float, low=0, high=1, high_open=True, form=(0.0, 0.5, 0.05),
        help="probability of zeroing activations while training (0 = off)",
    )
    time_budget_s: float | None = _setting(
        None, kind=float, low=0, low_open=True, optional=True, form=(5, None, 5), flag="--time-budget", on_resume="may change",
        label="time budget (s)",
        help="stop after this many seconds of training, evaluations included (default: no limit)",
    )
    warmup_steps: int | None = _setting(
        None, kind=int, low=0, optional=True, form=(0, 500, 10),
        help=f"steps of linear warm-up to the learning rate (default: a tenth of max_steps, at most {MAX_AUTO_WARMUP})",
    )
    # --- the recipe's details: presets and the command line set them, the form does not ---
    min_lr: float | None = _setting(
        None, kind=float, low=0, optional=True,
        help=f"where the cosine decay ends (default: learning_rate x {MIN_LR_FRACTION:g})",
    )
    weight_decay: float = _setting(0.1, kind=float, low=0, help="AdamW weight decay, on weight matrices only")
    grad_clip: float = _setting(1.0, kind=float, low=0, low_open=True, help="largest global gradient norm")
    eval_interval: int | None = _setting(
        None, kind=int, low=1, optional=True, on_resume="may change",
        help=f"steps between two evaluations (default: about {EVALUATIONS_PER_RUN} per run)",
    )
    eval_iters: int | None = _setting(
        None, kind=int, low=1, optional=True, on_resume="may change",
        help="batches per evaluation (default: 20; fewer when a step is slow, in the app)",
    )
    seed: int = _setting(1337, kind=int, low=0, help="seeds the weights and the batches")
    keep_best: bool = _setting(
        True, kind=bool, flag="--keep-best", negative_flag="--keep-last", on_resume="may change", form="checkbox",
        label="keep the best weights",
        help="end with the weights of the lowest validation loss seen, not the last step's",
    )
    # --- how the steps are computed, and where a run stops (the command line) ---
    grad_accum: int = _setting(
        1, kind=int, low=1,
        help="micro-batches of batch_size per optimizer step, their gradients summed: the global batch is "
        "batch_size x grad_accum x processes",
    )
    stop_at: int | None = _setting(
        None, kind=int, low=1, optional=True, on_resume="not carried",
        help="end the run after this step of its schedule and save it to be resumed (default: run to max_steps)",
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            f.metadata["setting"].check(f.name, getattr(self, f.name))
        if self.n_embd % self.n_head != 0:
            GPTConfig(n_head=self.n_head, n_embd=self.n_embd)  # raises the config's own message
        if self.min_lr is not None and self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed learning_rate ({self.learning_rate}).")
        if self.stop_at is not None and self.stop_at > self.max_steps:
            raise ValueError(f"stop_at ({self.stop_at}) is past max_steps ({self.max_steps}): stop at or before the last step.")

    @classmethod
    def spec(cls, name: str) -> Setting:
        return cls.__dataclass_fields__[name].metadata["setting"]

    @classmethod
    def flag(cls, name: str) -> str:
        """The field's command-line flag, such as --max-steps (its dashed name is also the form input's id)."""
        return cls.spec(name).flag or "--" + name.replace("_", "-")

    def with_values(self, **changes) -> "TrainingSettings":
        return replace(self, **changes)

    def resumed_with(self, **given) -> "TrainingSettings":
        """These settings (a stopped run's) for its resumption, with the values given now:
        ValueError, naming them, for a value that would change the training's path."""
        changed = [name for name, value in given.items() if value != getattr(self, name)]
        fixed = [name for name in changed if self.spec(name).on_resume == "same"]
        if fixed:
            listed = ", ".join(f"{self.flag(n)} {given[n]} (the run's: {getattr(self, n)})" for n in fixed)
            raise ValueError(
                f"A resumed run keeps the settings it started with, and these differ: {listed}. "
                "Leave them out, or start a new run."
            )
        fresh = {f.name: None for f in fields(self) if f.metadata["setting"].on_resume == "not carried"}
        return replace(self, **{**fresh, **given})

    # --- what the library takes ------------------------------------------------------------

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig(
            vocab_size=vocab_size,
            block_size=self.block_size,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
            dropout=self.dropout,
        )

    def expected_steps(self, step_seconds: float | None = None) -> int:
        """The steps the run will make: max_steps, or fewer when the time budget ends it first."""
        if step_seconds is None or self.time_budget_s is None:
            return self.max_steps
        return max(1, min(self.max_steps, int(self.time_budget_s / max(step_seconds, 1e-6))))

    def train_config(self, step_seconds: float | None = None, device: str = "auto", precision: str = "auto") -> TrainConfig:
        """The trainer's config, with every field left at None decided here.

        step_seconds, an estimate of one training step (the app has one, the command line not),
        spaces the evaluations over the steps the time budget allows and keeps them a small
        share of the run when steps are slow."""
        warmup = self.warmup_steps
        if warmup is None:
            warmup = min(MAX_AUTO_WARMUP, self.max_steps // 10)
        eval_interval = self.eval_interval
        if eval_interval is None:
            eval_interval = max(1, math.ceil(self.expected_steps(step_seconds) / EVALUATIONS_PER_RUN))
        eval_iters = self.eval_iters
        if eval_iters is None:
            eval_iters = 20 if step_seconds is None else (10 if step_seconds < 0.05 else 5 if step_seconds < 0.5 else 2)
        return TrainConfig(
            max_steps=self.max_steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            warmup_steps=warmup,
            min_lr=self.min_lr,  # None: TrainConfig scales it with the learning rate
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            eval_interval=eval_interval,
            eval_iters=eval_iters,
            seed=self.seed,
            device=device,
            precision=precision,
            time_budget_s=self.time_budget_s,
            keep_best=self.keep_best,
            grad_accum=self.grad_accum,
            stop_at=self.stop_at,
        )


# The fields the app's form shows (its /train API takes them after the text: ui/train_form.API_FIELDS).
FORM_FIELDS = tuple(f.name for f in fields(TrainingSettings) if f.metadata["setting"].form is not None)
