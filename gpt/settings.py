"""The settings of a training run: one schema, from which everything else is derived.

Each field of `TrainingSettings` is declared once, here: its default, the bounds of what the
library can do, a one-line help (the English; the app's Spanish is in locales/es.py), the part of
the run that takes it (`part`) and how a form shows it. Derived from it, and written nowhere else:
- `TrainConfig`, what the trainer takes: its fields, their defaults and their checks (below);
- `model_config`, the GPTConfig of the fields whose part is "model";
- the command line's flags (gpt/train.py add_settings_flags; bench/gpu.py takes some of them);
- the app's Train form, its `/train` signature and its English help (ui/train_form.py,
  ui/train_tab.py, locales/en.py), within the app's narrower bounds (ui/limits.py FORM_CAPS);
- the README's table of the settings (`markdown_table`, printed by `python -m gpt.train
  --settings-table`; a test checks that the README holds it).
A preset (gpt/presets.py) is a partial instance: a few fields changed from these defaults.

A field left at None is decided when the run starts, from the others: see `train_config`.

A resumed run (python -m gpt.train --resume, gpt/resume.py) takes the settings it was started
with; each field says whether a resumed run may change it (`on_resume`): what decides the
training's path (the model, the data, the recipe) must stay; how long it goes on and how often
it is evaluated may change; where it stops is never carried over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, make_dataclass, replace

from .checks import is_number, is_whole, one_of, whole_at_least
from .config import DROPOUT_BELOW, MAX_BLOCK_SIZE, MAX_N_EMBD, MAX_N_HEAD, MAX_N_LAYER, GPTConfig
from .errors import UserError, out_of_range

TOKENIZERS = ("char", "bpe")
EVALUATIONS_PER_RUN = 10  # when eval_interval is left to the run: about this many per run
MAX_AUTO_WARMUP = 100  # warm-up left to the run: a tenth of the steps, at most this many
AUTO_EVAL_ITERS = 20  # batches per evaluation left to the run, when no step time is known
MIN_LR_FRACTION = 0.1  # min_lr left to the run: this fraction of the peak learning rate
PARTS = ("data", "model", "trainer")  # what takes a field (Setting.part)
FORMS = ("choice", "number", "checkbox", "slider")  # how the app's form shows a field (Setting.form)
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
    hint: str = ""  # the key of a sentence added to an out-of-range message: what to choose instead (gpt/messages.py)
    part: str = "trainer"  # what takes it: "model" (GPTConfig), "trainer" (TrainConfig), "data" (the tokenizer)
    # How the app's form shows it: "choice" (buttons), "number" (a box), "checkbox" (yes/no), "slider"
    # (moving by `step`, between the ends of the app's range for it: the library's bounds narrowed by
    # ui/limits.py FORM_CAPS), or None: not on the form (presets and the command line).
    form: str | None = None
    step: float | None = None
    flag: str = ""  # the command-line flag, when it is not --name-with-dashes
    negative_flag: str = ""  # for a yes/no field: the flag that says no
    aliases: tuple[str, ...] = ()
    on_resume: str = "same"  # "same": a resumed run must keep it; "may change"; "not carried": starts unset

    def __post_init__(self) -> None:
        one_of("on_resume", self.on_resume, ON_RESUME)
        one_of("part", self.part, PARTS)
        if self.form is not None:
            one_of("form", self.form, FORMS)
        if (self.form == "slider") != (self.step is not None):
            raise ValueError("A slider needs its step, and only a slider has one.")

    def check(self, name: str, value, optional: bool | None = None) -> None:
        """ValueError, naming the field and its bounds, when value is outside them. optional: whether
        None passes (default: the field's own `optional`)."""
        if value is None and (self.optional if optional is None else optional):
            return
        if self.kind is str:
            one_of(name, value, self.choices)
            return
        if self.kind is bool:
            if not isinstance(value, bool):
                raise UserError("check.bool", name=name, value=value)
            return
        if self.kind is int and self.high is None and self.low is not None and not self.low_open:
            whole_at_least(name, value, self.low)  # a count or a step: the library's own message
            return
        right_type = is_whole(value) if self.kind is int else is_number(value) and math.isfinite(value)
        if not right_type:
            raise UserError("check.whole" if self.kind is int else "check.finite", name=name, value=value)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            raise out_of_range(name, value, self.low, self.high, self.low_open, self.high_open).then(self.hint)

    def accepts(self) -> str:
        """What the field accepts, in words (the README's table)."""
        if self.kind is str:
            return " or ".join(f"`{choice}`" for choice in self.choices)
        if self.kind is bool:
            return "yes or no"
        what = "a whole number" if self.kind is int else "a number"
        bounded = f"{what} {self.describe_range()}" if self.low is not None or self.high is not None else what
        return f"{bounded}, or left out" if self.optional else bounded

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
        "char", kind=str, choices=TOKENIZERS, form="choice", part="data",
        help="char: one token per character, as in the lecture; bpe: GPT-2's word pieces (bigger vocabulary)",
    )
    n_layer: int = _setting(
        4, kind=int, low=1, high=MAX_N_LAYER, part="model", form="slider", step=1, help="transformer blocks stacked"
    )
    n_head: int = _setting(
        4, kind=int, low=1, high=MAX_N_HEAD, part="model", form="slider", step=1, help="attention heads per block"
    )
    n_embd: int = _setting(
        128, kind=int, low=1, high=MAX_N_EMBD, part="model", form="slider", step=8,
        help="width of the residual stream (embedding size); divisible by n_head",
    )
    block_size: int = _setting(
        64, kind=int, low=1, high=MAX_BLOCK_SIZE, part="model", form="slider", step=2,
        help="context: the most tokens the model looks back at",
    )
    # --- how it learns (gpt.TrainConfig) ---
    max_steps: int = _setting(
        1000, kind=int, low=1, form="slider", step=1, on_resume="may change",
        help="optimizer steps; the learning-rate schedule is planned for them",
    )
    batch_size: int = _setting(16, kind=int, low=1, form="slider", step=1, help="windows of text per step")
    learning_rate: float = _setting(
        1e-3, kind=float, low=0, low_open=True, form="number", aliases=("--lr",),
        hint="settings.learning_rate_hint",
        help="peak learning rate, after the warm-up; cosine decay to min_lr",
    )
    dropout: float = _setting(
        0.0, kind=float, low=0, high=DROPOUT_BELOW, high_open=True, part="model", form="slider", step=0.05,
        help="probability of zeroing activations while training (0 = off)",
    )
    time_budget_s: float | None = _setting(
        None, kind=float, low=0, low_open=True, optional=True, form="slider", step=1, flag="--time-budget",
        on_resume="may change",
        label="time budget (s)",
        help="stop after this many seconds of training, evaluations included (default: no limit)",
    )
    warmup_steps: int | None = _setting(
        None, kind=int, low=0, optional=True, form="slider", step=10,
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
        help=f"batches per evaluation (default: {AUTO_EVAL_ITERS}; fewer when a step is slow, in the app)",
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
        _check_together(self)

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
        """The model's config: the fields whose part is "model", for this vocabulary."""
        return GPTConfig(vocab_size=vocab_size, **{name: getattr(self, name) for name in MODEL_FIELDS})

    def expected_steps(self, step_seconds: float | None = None) -> int:
        """The steps the run will make: max_steps, or fewer when the time budget ends it first."""
        if step_seconds is None or self.time_budget_s is None:
            return self.max_steps
        return max(1, min(self.max_steps, int(self.time_budget_s / max(step_seconds, 1e-6))))

    def train_config(self, step_seconds: float | None = None, device: str = "auto", precision: str = "auto") -> "TrainConfig":
        """The trainer's config, with every field left at None that the run decides decided here.

        step_seconds, an estimate of one training step (the app has one, the command line not),
        spaces the evaluations over the steps the time budget allows and keeps them a small
        share of the run when steps are slow."""
        return TrainConfig(**self.trainer_values(step_seconds), device=device, precision=precision)

    def trainer_values(self, step_seconds: float | None = None) -> dict:
        """The fields whose part is "trainer", with warmup_steps, eval_interval and eval_iters decided
        when left at None (min_lr stays None: TrainConfig scales it with the learning rate; so do
        time_budget_s and stop_at, which None turns off)."""
        values = {name: getattr(self, name) for name in TRAINER_FIELDS}
        if self.warmup_steps is None:
            values["warmup_steps"] = min(MAX_AUTO_WARMUP, self.max_steps // 10)
        if self.eval_interval is None:
            values["eval_interval"] = max(1, math.ceil(self.expected_steps(step_seconds) / EVALUATIONS_PER_RUN))
        if self.eval_iters is None:
            slow = step_seconds is not None
            values["eval_iters"] = (
                AUTO_EVAL_ITERS if not slow else 10 if step_seconds < 0.05 else 5 if step_seconds < 0.5 else 2
            )
        return values


def _check_together(run) -> None:
    """The rules between fields, for TrainingSettings and TrainConfig alike."""
    if run.min_lr is not None and run.min_lr > run.learning_rate:
        raise UserError("trainer.min_lr", min_lr=run.min_lr, learning_rate=run.learning_rate)
    if run.stop_at is not None and run.stop_at > run.max_steps:
        raise UserError("trainer.stop_at_past", stop_at=run.stop_at, max_steps=run.max_steps)


def _part(name: str) -> tuple[str, ...]:
    return tuple(f.name for f in fields(TrainingSettings) if f.metadata["setting"].part == name)


MODEL_FIELDS = _part("model")  # GPTConfig's, in model_config
TRAINER_FIELDS = _part("trainer")  # TrainConfig's, before device and precision
# The fields the app's form shows (its /train API takes them after the text: ui/train_form.API_FIELDS).
FORM_FIELDS = tuple(f.name for f in fields(TrainingSettings) if f.metadata["setting"].form is not None)


# --- what the trainer takes -------------------------------------------------------------------


class _TrainRecipe:
    """TrainConfig's checks and learning-rate schedule; its fields are made from the schema below."""

    def __post_init__(self):
        for name in TRAINER_FIELDS:
            # None passes where the config's own default is None (min_lr, time_budget_s, stop_at);
            # the other fields the settings leave at None are decided by trainer_values.
            TrainingSettings.spec(name).check(name, getattr(self, name), optional=TRAINER_DEFAULTS[name] is None)
        if self.min_lr is None:  # scales with the learning rate, so any learning rate is valid alone
            object.__setattr__(self, "min_lr", self.learning_rate * MIN_LR_FRACTION)
        _check_together(self)
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a string such as 'auto' or 'cpu', got {self.device!r}.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}.")

    def lr_at(self, step: int) -> float:
        """Learning rate for a 0-based step: linear warm-up, then cosine decay to min_lr."""
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        decay_steps = max(1, self.max_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        return self.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (self.learning_rate - self.min_lr)


def _annotation(name: str) -> str:
    kind = TrainingSettings.spec(name).kind.__name__
    return f"{kind} | None" if TRAINER_DEFAULTS[name] is None else kind


# The trainer's defaults: those of the settings, with what the run decides decided for them
# (1000 steps: 100 of warm-up, an evaluation every 100 steps, of 20 batches).
TRAINER_DEFAULTS = TrainingSettings().trainer_values()
TrainConfig = make_dataclass(
    "TrainConfig",
    [(name, _annotation(name), field(default=TRAINER_DEFAULTS[name])) for name in TRAINER_FIELDS]
    + [("device", "str", field(default="auto")), ("precision", "str", field(default="auto"))],
    bases=(_TrainRecipe,),
    frozen=True,
    namespace={"__module__": __name__},  # gpt.settings.TrainConfig: pickled and shown as such
)
TrainConfig.__doc__ = """What the Trainer takes (gpt/trainer.py): the settings' "trainer" fields, with the same
defaults, bounds and checks (TrainingSettings documents each one), none left to decide but min_lr
(None: learning_rate x MIN_LR_FRACTION), plus where it runs: device ("auto", "cpu", "cuda", "mps")
and precision ("auto", "fp32", "bf16")."""


# --- the README's table -------------------------------------------------------------------------


def markdown_table() -> str:
    """The settings as the README's Markdown table, one row per field, in the schema's order."""
    rows = [
        "| setting | command line | default | accepts | on the Train form | a resumed run | help |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in fields(TrainingSettings):
        spec = f.metadata["setting"]
        flags = ", ".join(f"`{flag}`" for flag in (TrainingSettings.flag(f.name), spec.negative_flag, *spec.aliases) if flag)
        default = "none (see help)" if f.default is None else f"`{f.default}`"
        shown = "yes" if spec.form else "no"
        rows.append(f"| `{f.name}` | {flags} | {default} | {spec.accepts()} | {shown} | {spec.on_resume} | {spec.help} |")
    return "\n".join(rows)
