"""The lecture's ladder: the same text, the model built up one idea at a time.

    python -m gpt.ladder --text input.txt --seconds-per-stage 15 --out ladder.md

Karpathy's lecture (and the article) grows a GPT in stages and reports each stage's validation
loss on tiny Shakespeare. Here every stage trains on your text with the same time budget, so
their validation losses can be compared: each idea should help. The stages:

1. bigram: the next token from the current one alone (a table of logits);
2. one head of self-attention: tokens look back at the context;
3. multi-head attention: several smaller heads look for different things;
4. plus a feed-forward network: each token thinks about what it gathered;
5. plus residual connections (and projections): blocks stack without losing the signal;
6. plus LayerNorm: each block reads a normalised stream;
7. scaled up with dropout: wider, deeper, a longer context, with dropout against overfitting.

Stages 1-6 use the lecture's small shapes (context 8, width 32, batch 32) and, as the lecture
trains them, a constant learning rate (higher than its own: see SMALL); each is gpt/model.py's
GPT with GPTConfig's switches. The lecture's stage 7 is its 10.8M-parameter model (6 layers x
384, context 256), which needs a GPU: on a CPU, 15 seconds would not give it a hundred steps, so
there the scaled stage is what learns most within the budget (SCALED_ON_CPU: the app's fast
preset's width, context 32, dropout 0.1). The lecture's own figures are shown beside ours
(LECTURE_SOURCE); the lecture trained each stage for 5,000 steps on a GPU, far longer than
these budgets.

How the code departs from the lecture's stages, beside what gpt/model.py's docstring lists:
its feed-forward network at stage 4 is one n_embd x n_embd layer and ReLU, ours the full 4x MLP
with GELU; its stages 2-4 have no output projection after attention, ours always have one.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import GPTConfig
from .data import split_ids
from .device import resolve_device
from .errors import UserError
from .model import GPT
from .tokenizer import make_tokenizer
from .trainer import TrainConfig, Trainer

LECTURE_SOURCE = (
    "the lecture's figures on tiny Shakespeare: its companion repository's commit messages (2023-01-16) and "
    "published reproductions where a commit states none (marked ≈)"
)
DEFAULT_SECONDS = 15.0  # per stage: the seven stages and their evaluations within 2.5 minutes on 2 CPU cores
EVALUATIONS_PER_STAGE = 8  # points on each validation curve
# Tokens per loss estimate (train and validation), whatever the stage's batch and context: every
# stage's validation loss is as precise, and the 8 evaluations take about 2 s of the scaled
# stage's 15 and 1.3 s of the LayerNorm stage's (one thread, 2-core EPYC).
EVAL_TOKENS = 16_384
# On a CPU every stage trains on one thread. Their steps are small (0.03 to 40 ms): on the 2-core
# EPYC shared with other work (load average 4-5), one thread ran the multi-head stage at 470-770
# steps/s against 13-17 with two, the LayerNorm stage at 150-280 against 2-21, and the scaled
# stage at 20-28 against 2-21: two threads stall at every parallel region when another process
# holds a core. (Quieter, two threads once ran the scaled stage 1.6x faster.)
CPU_THREADS = 1

# The lecture's stages 1-6: context 8, batch 32, width 32, 4 heads where there are several, 3
# blocks once they are residual, a constant learning rate. The rates are higher than the
# lecture's 1e-3: its earlier stages start from PyTorch's default initialisation, ours from
# GPT-2's N(0, 0.02) (gpt/model.py), whose small weights take ~2,000 steps at 1e-3 just to grow
# where no LayerNorm rescales the stream. Measured after 2,000 steps on tiny Shakespeare (val
# loss at 1e-3 / 3e-3 / 1e-2): one head 2.80 / 2.53 / 2.48, multi-head 2.77 / 2.48 / 2.33,
# + feed-forward 2.86 / 2.68 / 2.33, + residual 2.56 / 2.32 / 2.26, + LayerNorm 2.21 / 2.16 / 2.23.
SMALL = dict(block_size=8, n_embd=32, n_head=4, n_layer=1, residual=False, layer_norm=False, mlp=False)


@dataclass(frozen=True)
class Stage:
    key: str  # a stable id (the app's texts for the stage are "ladder.stage.<key>" in locales/)
    name: str  # a short name, for tables and legends
    idea: str  # what this stage adds
    model: dict  # GPTConfig fields (vocab_size comes from the text)
    batch_size: int
    learning_rate: float  # constant through the stage, after warmup_steps
    lecture_val_loss: str  # the lecture's figure on tiny Shakespeare, as it reports it
    warmup_steps: int = 0


STAGES = (
    # The table's width is the vocabulary's; n_embd=32 only keeps the shape fields beside the others'.
    Stage("bigram", "bigram", "the next token from the current one alone", dict(SMALL, bigram=True),
          32, 1e-2, "≈2.49"),
    Stage("one_head", "one head", "one head of self-attention", dict(SMALL, n_head=1), 32, 1e-2, "≈2.4–2.5"),
    Stage("multi_head", "multi-head", "four heads of self-attention", SMALL, 32, 1e-2, "2.28"),
    Stage("feed_forward", "+ feed-forward", "a feed-forward network after attention", dict(SMALL, mlp=True),
          32, 1e-2, "2.24"),
    Stage("residual", "+ residual", "residual connections and projections, three blocks",
          dict(SMALL, mlp=True, residual=True, n_layer=3), 32, 1e-2, "≈2.09"),
    Stage("layer_norm", "+ LayerNorm", "LayerNorm before attention, the MLP and the head",
          dict(SMALL, mlp=True, residual=True, layer_norm=True, n_layer=3), 32, 3e-3, "2.06"),
    # The lecture's 3e-4 is for 5,000 steps; a short budget gets nanoGPT's 1e-3 after a warm-up.
    Stage("scaled", "scaled up", "6 blocks x 6 heads x 384 wide, context 256, dropout 0.2",
          dict(block_size=256, n_embd=384, n_head=6, n_layer=6, dropout=0.2), 64, 1e-3, "≈1.48", warmup_steps=100),
)
# The scaled stage where no GPU is at hand: what learns most within seconds on a CPU, the fast
# preset's width, depth and learning rate (gpt/presets.py) with a context of 32, and dropout 0.1.
# At equal compute (about 11 CPU-seconds, one thread, 2-core EPYC), val loss on tiny Shakespeare:
# context 32 with batch 32 (600 steps) 2.04, or batch 16 (1,200 steps) 2.05; context 64 with
# batch 32 (300 steps) 2.13. 64 or 96 wide (float32 there, gpt/device.py) learned slower still.
# Dropout costs a quarter of the step time (context 64: 2.08 without it, 8.6 against 11.1 s).
SCALED_ON_CPU = Stage(
    "scaled_cpu", "scaled up",
    "2 blocks x 4 heads x 128 wide, context 32, dropout 0.1 (the lecture's 6 x 384 needs a GPU)",
    dict(block_size=32, n_embd=128, n_head=4, n_layer=2, dropout=0.1), 32, 5e-3, "≈1.48", warmup_steps=30,
)


def stages_for(device: torch.device) -> tuple[Stage, ...]:
    """The ladder for this device: the lecture's scaled stage on a GPU, a CPU-sized one elsewhere."""
    return STAGES if device.type == "cuda" else (*STAGES[:-1], SCALED_ON_CPU)


@dataclass(frozen=True)
class StagePoint:
    """One evaluation of one stage, as the ladder runs."""

    stage: int  # 0-based
    step: int
    seconds: float  # since the stage's start, evaluations included
    val_loss: float | None  # None when the text is too short to hold out validation
    train_loss: float


@dataclass(frozen=True)
class StageResult:
    """A stage, once it has ended."""

    number: int  # 0-based
    stage: Stage
    parameters: int
    steps: int
    seconds: float
    val_loss: float | None
    curve: tuple[tuple[int, float, float], ...]  # (step, seconds, val loss) at each evaluation
    stopped: bool  # ended by stop(), before its budget


def stage_config(stage: Stage, vocab_size: int) -> GPTConfig:
    return GPTConfig(vocab_size=vocab_size, **stage.model)


class Ladder:
    """Every stage on one text, seconds_per_stage each; run() yields as it goes, stop() ends it.

    max_parameters: refuse (before training anything) a stage larger than this, such as the
    bigram table of a large BPE vocabulary (vocab_size squared). On a CPU, the steps run on
    CPU_THREADS threads."""

    def __init__(self, text: str, seconds_per_stage: float = DEFAULT_SECONDS, tokenizer: str = "char",
                 device: str = "auto", seed: int = 1337, stages: tuple[Stage, ...] | None = None,
                 max_parameters: int | None = None):
        if isinstance(seconds_per_stage, bool) or not isinstance(seconds_per_stage, (int, float)) \
                or not math.isfinite(seconds_per_stage) or seconds_per_stage <= 0:
            raise ValueError(f"seconds_per_stage must be a positive number of seconds, got {seconds_per_stage!r}.")
        self.device = resolve_device(device)
        self.stages = stages or stages_for(self.device)
        self.tokenizer = make_tokenizer(tokenizer, text)
        self.ids = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)
        self.configs = [stage_config(stage, self.tokenizer.vocab_size) for stage in self.stages]
        longest = max(c.block_size for c in self.configs)
        if self.ids.numel() < longest + 1:
            raise UserError("ladder.text_too_short", count=self.ids.numel(), context=longest, needed=longest + 1)
        for stage, config in zip(self.stages, self.configs):
            if max_parameters is not None and config.num_parameters > max_parameters:
                raise UserError(
                    "ladder.too_many_parameters", stage=stage.name, count=config.num_parameters,
                    tokens=config.vocab_size, limit=max_parameters,
                )
        self.seconds_per_stage = float(seconds_per_stage)
        self.device_name, self.seed = device, seed
        self._stop = threading.Event()
        self._trainer: Trainer | None = None
        self._lock = threading.Lock()

    def stop(self) -> None:
        """End the stage in progress after its current step (with its final evaluation) and
        start no other; safe from any thread."""
        with self._lock:
            self._stop.set()
            if self._trainer is not None:
                self._trainer.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> Iterator[StagePoint | StageResult]:
        """Train the stages in order: a StagePoint at each evaluation, a StageResult when a stage
        ends. torch's thread count is given back as it was found (on the thread where it ends)."""
        before = torch.get_num_threads()
        try:
            for number, (stage, config) in enumerate(zip(self.stages, self.configs)):
                if self.stopped:
                    return
                yield from self._stage(number, stage, config)
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    def _set_threads(self) -> None:
        """torch's thread count belongs to the OS thread: set where the steps run."""
        if self.device.type == "cpu" and torch.get_num_threads() != CPU_THREADS:
            torch.set_num_threads(CPU_THREADS)

    def _stage(self, number: int, stage: Stage, config: GPTConfig) -> Iterator[StagePoint | StageResult]:
        train_ids, val_ids = split_ids(self.ids, config.block_size)
        self._set_threads()
        per_second = self._steps_per_second(stage, config, train_ids)
        expected = max(int(per_second * self.seconds_per_stage), EVALUATIONS_PER_STAGE)
        train_config = TrainConfig(
            max_steps=10**9,  # the time budget ends each stage
            batch_size=stage.batch_size,
            learning_rate=stage.learning_rate,
            warmup_steps=stage.warmup_steps,
            min_lr=stage.learning_rate,  # constant, as the lecture trains each stage
            eval_interval=max(1, expected // EVALUATIONS_PER_STAGE),
            eval_iters=max(4, round(EVAL_TOKENS / (stage.batch_size * config.block_size))),
            seed=self.seed,
            device=self.device_name,
            time_budget_s=self.seconds_per_stage,
            keep_best=False,
        )
        torch.manual_seed(self.seed)
        trainer = Trainer(GPT(config), train_ids, val_ids, train_config)
        with self._lock:
            self._trainer = trainer
            if self.stopped:
                trainer.stop()
        curve, last, evaluated_step = [], None, None
        events = trainer.run()
        try:
            while True:
                self._set_threads()  # every step: this generator may resume on another thread
                try:
                    event = next(events)
                except StopIteration:
                    break
                last = event
                # When the budget runs out right after an evaluation, the trainer's final event
                # evaluates the same weights again: one point per step is enough.
                if event.eval_train_loss is not None and event.step != evaluated_step:
                    evaluated_step = event.step
                    if event.val_loss is not None:
                        curve.append((event.step, event.elapsed_s, event.val_loss))
                    yield StagePoint(number, event.step, event.elapsed_s, event.val_loss, event.eval_train_loss)
        finally:
            events.close()
            with self._lock:
                self._trainer = None
        yield StageResult(number, stage, config.num_parameters, last.step, last.elapsed_s, last.val_loss, tuple(curve),
                          stopped=self.stopped)

    def _steps_per_second(self, stage: Stage, config: GPTConfig, train_ids: torch.Tensor) -> float:
        """A few steps of the stage's model on a throwaway copy, timed: how often to evaluate so
        that the stage's curve has about EVALUATIONS_PER_STAGE points."""
        probe = TrainConfig(max_steps=6, batch_size=stage.batch_size, learning_rate=stage.learning_rate,
                            warmup_steps=0, eval_interval=10**6, seed=self.seed, device=self.device_name,
                            keep_best=False)
        torch.manual_seed(self.seed)
        times, start = [], time.perf_counter()
        for _ in Trainer(GPT(config), train_ids, None, probe).run():
            now = time.perf_counter()
            times.append(now - start)
            start = now
        return 1.0 / max(min(times[1:]), 1e-5)  # the first step pays for warming up


def run(text: str, seconds_per_stage: float = DEFAULT_SECONDS, **options) -> list[StageResult]:
    """Every stage of the ladder on text (Ladder's options); returns their results in order."""
    return [item for item in Ladder(text, seconds_per_stage, **options).run() if isinstance(item, StageResult)]


# --- the table ---------------------------------------------------------------------------------


def format_loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def markdown(results: list[StageResult], seconds_per_stage: float, tokenizer: str, device: str, text_name: str) -> str:
    """The ladder as a Markdown table, the lecture's figures beside ours."""
    lines = [
        f"# The lecture's ladder on {text_name}",
        "",
        f"{seconds_per_stage:g} s per stage, {tokenizer} tokenizer, on {device}. The lecture's column: "
        f"{LECTURE_SOURCE}. The lecture trained each stage for 5,000 steps on a GPU, far longer than these stages.",
        "",
        "| stage | what it adds | parameters | steps | seconds | val loss | lecture's val loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        stopped = " (stopped)" if r.stopped else ""
        lines.append(
            f"| {r.number + 1}. {r.stage.name} | {r.stage.idea} | {r.parameters:,} | {r.steps:,} | {r.seconds:.1f} | "
            f"{format_loss(r.val_loss)}{stopped} | {r.stage.lecture_val_loss} |"
        )
    return "\n".join(lines) + "\n"


def curves(results: list[StageResult]) -> dict:
    """The validation curves, ready for JSON: one entry per stage, its points (step, seconds, val loss)."""
    return {
        "x": "seconds since the stage's start (evaluations included)",
        "stages": [
            {
                "stage": r.number + 1, "name": r.stage.name, "parameters": r.parameters, "steps": r.steps,
                "seconds": round(r.seconds, 2), "val_loss": r.val_loss, "lecture_val_loss": r.stage.lecture_val_loss,
                "points": [{"step": s, "seconds": round(t, 2), "val_loss": v} for s, t, v in r.curve],
            }
            for r in results
        ],
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.ladder", description=__doc__.splitlines()[0])
    p.add_argument("--text", required=True, type=Path, help="UTF-8 text file to learn from (required)")
    p.add_argument("--seconds-per-stage", type=float, default=DEFAULT_SECONDS,
                   help=f"training time of each stage, evaluations included (default: {DEFAULT_SECONDS:g})")
    p.add_argument("--tokenizer", choices=("char", "bpe"), default="char", help="(default: char)")
    p.add_argument("--out", type=Path, default=None,
                   help="write the table to this Markdown file (default: stdout only)")
    p.add_argument("--curves", type=Path, default=None,
                   help="write the validation curves to this JSON file (default: beside --out, as .json)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--seed", type=int, default=1337, help="seeds every stage's weights and batches (default: 1337)")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (math.isfinite(args.seconds_per_stage) and args.seconds_per_stage > 0):
        parser.error(f"--seconds-per-stage must be a positive number of seconds, got {args.seconds_per_stage:g}")
    curves_path = args.curves or (args.out.with_suffix(".json") if args.out is not None else None)
    for flag, path in (("--out", args.out), ("--curves", curves_path)):
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            parser.error(f"{flag} {path}: give a file name in an existing folder, such as ladder.md")
    try:
        text = args.text.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"cannot read --text {args.text} as UTF-8 text: {exc}")
    try:
        ladder = Ladder(text, args.seconds_per_stage, args.tokenizer, args.device, args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = []
    try:
        for item in ladder.run():
            if isinstance(item, StageResult):
                results.append(item)
                print(f"{item.number + 1}. {item.stage.name}: val {format_loss(item.val_loss)} after "
                      f"{item.steps:,} steps in {item.seconds:.1f} s", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("stopped: the table holds the stages that finished.", file=sys.stderr)
    table = markdown(results, args.seconds_per_stage, args.tokenizer, ladder.device.type, args.text.name)
    sys.stdout.write(table)
    if args.out is not None:
        args.out.write_text(table, encoding="utf-8")
    if curves_path is not None:
        curves_path.write_text(json.dumps(curves(results), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
