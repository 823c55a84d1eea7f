"""Before training: what the presets are for, the text's vocabulary, parameter count and a time estimate.

The estimate is ui/run_estimate.py's sum of a run's pieces (steps, evaluations, samples, figures,
start-up, the time budget), each timed on this machine for the form's shape by ui/calibration.py.
It is an estimate, so the UI says "about"; once the run starts, its status's time left is live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gpt import make_tokenizer
from gpt.device import describe
from gpt.settings import TrainingSettings
from locales import text, translate_error

from . import limits
from .calibration import StepTimer
from .run_estimate import RunEstimate, estimate_run
from .train_form import settings_from_form


def preset_note(name: str) -> str:
    """The catalogue key of what a preset is for (shown under the presets)."""
    return f"train.preset.{name}.note"


# --- the training text -----------------------------------------------------------------------


@dataclass(frozen=True)
class TextInfo:
    chars: int
    char_vocab: int
    bpe_vocab: int
    char_tokenize_s: float = 0.0  # building the tokenizer on the text and encoding it, as a run does
    bpe_tokenize_s: float = 0.0

    def vocab(self, tokenizer: str) -> int:
        return self.bpe_vocab if tokenizer == "bpe" else self.char_vocab

    def tokenize_s(self, tokenizer: str) -> float:
        return self.bpe_tokenize_s if tokenizer == "bpe" else self.char_tokenize_s


def text_info(text: str) -> TextInfo | None:
    """Length and vocabulary sizes of a training text, and how long each tokenizer takes on it
    (None when empty or over the cap)."""
    if not isinstance(text, str) or not text or len(text) > limits.MAX_TEXT_CHARS:
        return None
    vocab, seconds = {}, {}
    for kind in ("char", "bpe"):
        start = time.perf_counter()
        tokenizer = make_tokenizer(kind, text)
        tokenizer.encode(text)
        vocab[kind], seconds[kind] = tokenizer.vocab_size, time.perf_counter() - start
    return TextInfo(len(text), vocab["char"], vocab["bpe"], seconds["char"], seconds["bpe"])


def describe_text(info: TextInfo | None, training_text: str = "", lang: str = "en") -> str:
    if info is None:
        if isinstance(training_text, str) and len(training_text) > limits.MAX_TEXT_CHARS:
            return text("train.text.too_long", lang, chars=len(training_text), limit=limits.MAX_TEXT_CHARS)
        return text("train.text.none", lang)
    return text("train.text.stats", lang, chars=info.chars, char_vocab=info.char_vocab, bpe_vocab=info.bpe_vocab)


# --- the summary shown under the presets -----------------------------------------------------


def _fmt_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 90:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    return f"{s / 60:.1f} min"


def plan_summary(
    timer: StepTimer, info: TextInfo | None, settings: TrainingSettings, lang: str = "en", beside_browser: bool = False
) -> str:
    """Markdown: parameter count, the run's expected duration and what it is made of, or what to change
    (beside_browser: for a run started from a page open on this machine, ui/threads.py)."""
    tokenizer = settings.tokenizer
    vocab = info.vocab(tokenizer) if info else (65 if tokenizer == "char" else 12_000)
    config = settings.model_config(vocab)
    params = config.num_parameters
    over = params > limits.MAX_SERVED_PARAMETERS
    warning = ""
    if over:
        warning = text("train.plan.over_bpe" if tokenizer == "bpe" else "train.plan.over", lang, cap=limits.MAX_SERVED_PARAMETERS / 1e6)
    lines = [text("train.plan.parameters", lang, millions=params / 1e6, vocab=vocab) + warning]
    if not over:
        tokenize_s = info.tokenize_s(tokenizer) if info else 0.0
        estimate = estimate_run(timer, settings, vocab, timer.threads(beside_browser), tokenize_s)
        lines += describe_estimate(estimate, timer, lang)
    return "  \n".join(lines)


def describe_estimate(estimate: RunEstimate, timer: StepTimer, lang: str = "en") -> list[str]:
    """Two lines: the time per step and for the whole run (saying when the time budget ends it),
    then what the run's time is made of."""
    if timer.device.type != "cpu":
        where = text("train.plan.on_device", lang, device=describe(timer.device))
    elif estimate.threads > 1:
        where = text("train.plan.on_cpu.many", lang, threads=estimate.threads)
    else:
        where = text("train.plan.on_cpu.one", lang)
    values = dict(
        step=_fmt_seconds(estimate.step_s),
        where=where,
        steps=estimate.steps,
        max_steps=estimate.max_steps,
        evals=estimate.evaluations,
        total=_fmt_seconds(estimate.total_s),
    )
    key = "train.plan.step.budget" if estimate.budget_ends_run else "train.plan.step"
    if estimate.budget_is_close:  # either may come first: say so rather than guess
        key, values["budget"] = key + ".close", _fmt_seconds(estimate.time_budget_s)
    parts = text(
        "train.plan.parts",
        lang,
        steps_s=_fmt_seconds(estimate.steps_s),
        evals_s=_fmt_seconds(estimate.evaluations_s),
        other_s=_fmt_seconds(estimate.other_s),
    )
    return [text(key, lang, **values), parts]


def form_summary(timer: StepTimer, info: TextInfo | None, values: dict, lang: str = "en", beside_browser: bool = False) -> str:
    """plan_summary for the form's values as they stand (one per field of FORM_FIELDS), or, when they
    cannot train, what to change."""
    try:
        settings = settings_from_form(values)
    except ValueError as exc:
        return text("train.plan.invalid", lang, error=translate_error(str(exc), lang))
    return plan_summary(timer, info, settings, lang, beside_browser)
