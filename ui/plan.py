"""Before training: presets, the text's vocabulary, parameter count and a time estimate.

The estimate is a FLOP model calibrated once per process: a few training steps of a small
reference model are timed on this device (a fraction of a second), giving the rate at
which this machine does training arithmetic; a shape's step time is then its FLOPs over
that rate, plus a small fixed cost per layer. It is rough (small models are slower per
FLOP than big ones), so the UI says "about"; the live tokens/s during training is exact.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer
from gpt.device import describe, resolve_device

from . import limits, threads


@dataclass(frozen=True)
class Preset:
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int
    learning_rate: float
    max_steps: int
    time_budget_s: float
    dropout: float = 0.0


# Tuned on the 2-core CPU: "fast" is bench/time_to_quality.py's FAST_PRESET, which reached val
# loss 1.88 on char tiny Shakespeare in 25.7 s there; through the app (samples, probes and
# figures at every evaluation) bench/app_time_to_quality.py measures it as a user sees it.
# "medium" is the lecture's model, meant for a GPU.
PRESETS = {
    "fast": Preset(
        n_layer=2,
        n_head=4,
        n_embd=128,
        block_size=64,
        batch_size=32,
        learning_rate=5e-3,
        max_steps=700,
        time_budget_s=60,
    ),
    "tiny": Preset(
        n_layer=2,
        n_head=2,
        n_embd=64,
        block_size=32,
        batch_size=16,
        learning_rate=3e-3,
        max_steps=500,
        time_budget_s=30,
    ),
    "small": Preset(
        n_layer=4,
        n_head=4,
        n_embd=128,
        block_size=128,
        batch_size=32,
        learning_rate=1e-3,
        max_steps=1000,
        time_budget_s=300,
    ),
    "medium": Preset(
        n_layer=6,
        n_head=6,
        n_embd=384,
        block_size=256,
        batch_size=32,
        learning_rate=3e-4,
        max_steps=5000,
        time_budget_s=300,
        dropout=0.2,
    ),
}
DEFAULT_PRESET = "fast"
PRESET_NOTES = {
    "fast": "tuned for speed: words within a minute (val loss ~1.9 on Shakespeare)",
    "tiny": "the smallest: the loss falls within seconds",
    "small": "four layers and a longer context: a few minutes",
    "medium": "the lecture's model (6 layers x 384): slow on a CPU, made for a GPU",
}


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


def describe_text(info: TextInfo | None, text: str = "") -> str:
    if info is None:
        if isinstance(text, str) and len(text) > limits.MAX_TEXT_CHARS:
            return f"⚠ {len(text):,} characters: over the {limits.MAX_TEXT_CHARS:,} limit. Use a shorter text."
        return "No text yet: paste some, upload a .txt file, or use the bundled Shakespeare."
    return (
        f"{info.chars:,} characters · {info.char_vocab} distinct characters (the char vocabulary) · "
        f"{info.bpe_vocab:,} BPE tokens in use"
    )


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


def plan_summary(
    timer: StepTimer,
    info: TextInfo | None,
    tokenizer: str,
    n_layer,
    n_head,
    n_embd,
    block_size,
    batch_size,
    max_steps,
    time_budget_s,
) -> str:
    """Markdown: parameter count, time per step and for the run, or what to change."""
    vocab = info.vocab(tokenizer) if info else (65 if tokenizer == "char" else 12_000)
    try:
        config = GPTConfig(
            vocab_size=vocab, block_size=int(block_size), n_layer=int(n_layer), n_head=int(n_head), n_embd=int(n_embd)
        )
    except (ValueError, TypeError) as exc:
        return f"⚠ {exc}"
    params = config.num_parameters
    lines = []
    over = params > limits.MAX_PARAMETERS
    cap = f"{limits.MAX_PARAMETERS / 1e6:.0f}M"
    lines.append(
        f"**{params / 1e6:.2f}M parameters** ({vocab:,}-token vocabulary)"
        + (
            f" — ⚠ over the {cap} limit: lower n_layer or n_embd"
            + (", or use the char tokenizer" if tokenizer == "bpe" else "")
            if over
            else ""
        )
    )
    if not over:
        step = timer.seconds(config, int(batch_size))
        where = (
            f"on {describe(timer.device)}"
            if timer.device.type != "cpu"
            else f"on this CPU ({threads.TRAIN_THREADS_ALONE} training thread{'s' if threads.TRAIN_THREADS_ALONE > 1 else ''})"
        )
        steps = min(int(max_steps), int(time_budget_s / step) if step > 0 else int(max_steps))
        total = min(int(max_steps) * step, float(time_budget_s))
        budget_note = (
            f" (the {time_budget_s:.0f} s budget stops it at about step {steps:,})" if steps < int(max_steps) else ""
        )
        lines.append(
            f"about **{_fmt_seconds(step)} per step** {where} → "
            f"{int(max_steps):,} steps ≈ {_fmt_seconds(total)}{budget_note}"
        )
    return "  \n".join(lines)


def preset_values(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return asdict(PRESETS[name])
