"""Before training: what the presets are for, the text's vocabulary, parameter count and a time estimate.

The estimate is a FLOP model calibrated once per process: a few training steps of a small
reference model are timed on this device (a fraction of a second), giving the rate at
which this machine does training arithmetic; a shape's step time is then its FLOPs over
that rate, plus a small fixed cost per layer. It is rough (small models are slower per
FLOP than big ones), so the UI says "about"; the live tokens/s during training is exact.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer
from gpt.device import describe, resolve_device
from gpt.settings import TrainingSettings
from locales import text, translate_error

from . import limits, threads
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

    def vocab(self, tokenizer: str) -> int:
        return self.bpe_vocab if tokenizer == "bpe" else self.char_vocab


def text_info(text: str) -> TextInfo | None:
    """Length and vocabulary sizes of a training text (None when empty or over the cap)."""
    if not isinstance(text, str) or not text or len(text) > limits.MAX_TEXT_CHARS:
        return None
    return TextInfo(len(text), make_tokenizer("char", text).vocab_size, make_tokenizer("bpe", text).vocab_size)


def describe_text(info: TextInfo | None, training_text: str = "", lang: str = "en") -> str:
    if info is None:
        if isinstance(training_text, str) and len(training_text) > limits.MAX_TEXT_CHARS:
            return text("train.text.too_long", lang, chars=len(training_text), limit=limits.MAX_TEXT_CHARS)
        return text("train.text.none", lang)
    return text("train.text.stats", lang, chars=info.chars, char_vocab=info.char_vocab, bpe_vocab=info.bpe_vocab)


# --- cost of one step ------------------------------------------------------------------------


def flops_per_step(config: GPTConfig, batch_size: int) -> float:
    """Forward + backward FLOPs of one training step (6 per weight per token, plus attention)."""
    C, L, T = config.n_embd, config.n_layer, config.block_size
    matmul_weights = L * 12 * C * C + config.vocab_size * C  # blocks, plus the tied LM head
    tokens = batch_size * T
    attention = 12 * L * T * T * C * batch_size  # QK^T and AV, forward and backward
    return 6.0 * matmul_weights * tokens + attention


_REFERENCE = (GPTConfig(vocab_size=65, block_size=64, n_layer=2, n_head=4, n_embd=128), 16)


class StepTimer:
    """Seconds per training step on this device, from one cheap calibration (done lazily)."""

    def __init__(self, device: str = "auto"):
        self.device = resolve_device(device)
        self._rate = None  # FLOP/s achieved by the reference
        self._lock = threading.Lock()

    def rate(self) -> float:
        with self._lock:
            if self._rate is None:
                self._rate = self._calibrate()
            return self._rate

    def _calibrate(self) -> float:
        threads.for_training()
        config, batch = _REFERENCE
        generator = torch.Generator().manual_seed(0)
        ids = torch.randint(config.vocab_size, (4096,), generator=generator)
        trainer = Trainer(
            GPT(config),
            ids,
            None,
            TrainConfig(
                max_steps=4,
                batch_size=batch,
                warmup_steps=0,
                eval_interval=10_000,
                eval_iters=1,
                device=self.device.type,
            ),
        )
        times, last = [], time.perf_counter()
        for _ in trainer.run():
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            times.append(now - last)
            last = now
        best = min(times[1:])  # the first step pays one-off costs
        return flops_per_step(config, batch) / max(best - self._overhead(config), 1e-4)

    def _overhead(self, config: GPTConfig) -> float:
        per_layer = 0.0003 if self.device.type == "cuda" else 0.001
        return 0.002 + per_layer * config.n_layer

    def seconds(self, config: GPTConfig, batch_size: int) -> float:
        return self._overhead(config) + flops_per_step(config, batch_size) / self.rate()


# --- the summary shown under the presets -----------------------------------------------------


def _fmt_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 90:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    return f"{s / 60:.1f} min"


def plan_summary(timer: StepTimer, info: TextInfo | None, settings: TrainingSettings, lang: str = "en") -> str:
    """Markdown: parameter count, time per step and for the run, or what to change."""
    tokenizer = settings.tokenizer
    vocab = info.vocab(tokenizer) if info else (65 if tokenizer == "char" else 12_000)
    config = settings.model_config(vocab)
    params = config.num_parameters
    over = params > limits.MAX_PARAMETERS
    warning = ""
    if over:
        warning = text("train.plan.over_bpe" if tokenizer == "bpe" else "train.plan.over", lang, cap=limits.MAX_PARAMETERS / 1e6)
    lines = [text("train.plan.parameters", lang, millions=params / 1e6, vocab=vocab) + warning]
    if not over:
        step = timer.seconds(config, settings.batch_size)
        if timer.device.type != "cpu":
            where = text("train.plan.on_device", lang, device=describe(timer.device))
        elif threads.TRAIN_THREADS_ALONE > 1:
            where = text("train.plan.on_cpu.many", lang, threads=threads.TRAIN_THREADS_ALONE)
        else:
            where = text("train.plan.on_cpu.one", lang)
        max_steps, budget = settings.max_steps, settings.time_budget_s
        steps = settings.expected_steps(step)
        total = max_steps * step if budget is None else min(max_steps * step, budget)
        budget_note = text("train.plan.budget", lang, budget=budget, steps=steps) if steps < max_steps else ""
        lines.append(
            text(
                "train.plan.step",
                lang,
                step=_fmt_seconds(step),
                where=where,
                steps=max_steps,
                total=_fmt_seconds(total),
                budget=budget_note,
            )
        )
    return "  \n".join(lines)


def form_summary(timer: StepTimer, info: TextInfo | None, values: dict, lang: str = "en") -> str:
    """plan_summary for the form's values as they stand (one per field of FORM_FIELDS), or, when they
    cannot train, what to change."""
    try:
        settings = settings_from_form(values)
    except ValueError as exc:
        return text("train.plan.invalid", lang, error=translate_error(str(exc), lang))
    return plan_summary(timer, info, settings, lang)
