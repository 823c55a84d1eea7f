"""This machine's speed at the pieces a training run is made of, timed once per process.

The Train tab's time estimate (ui/run_estimate.py) is a model: each piece of a run costs what
it costs a small reference model here, scaled by the shape. This module times the references,
lazily (the first estimate that needs them) and cheaply (about half a second on a 2-core CPU):

- training steps of five small models. Three with almost no tokens (a batch of one 8-token
  window) give what a step costs whatever its arithmetic: a fixed part (Python, launches), a
  part per layer, and a part per parameter (AdamW, gradient clipping, the copies a step makes
  of every weight). Two with a typical batch, the same but for their vocabulary (65 and 4,096
  tokens), give the arithmetic rate of the blocks and the cost of each logit: one token's score
  for one vocabulary entry, in the LM head, the softmax and the embedding's gradient. A BPE
  vocabulary is thousands of entries, so this is most of a small BPE model's step.
- mid-run, as the app does at its evaluations: a forward batch of each typical model (what a
  loss estimate is made of), and tokens generated within and past the context window (the
  sample written at each evaluation).
- once for all: the figures the Train tab draws (the probe's attention maps, the loss curve) and
  tokenizing text.

A run's pieces are timed under its own conditions: the thread count ui/threads.py's policy gives
a training that starts now, and the precision its width gets (gpt/device.py resolve_precision:
bf16 for wide models on CPUs that multiply it natively). Each (precision, threads) pair is timed
on its own, the first time an estimate needs it; fp32 with 64-wide references, bf16 with 128-wide
ones (where it is used).
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, replace

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer
from gpt.device import resolve_device, resolve_precision

from . import threads

# Each piece is timed a few times and the fastest kept: the machine may be shared, and a burst of
# other work during a calibration would otherwise set every estimate until the process ends.
STEPS_TIMED = 3  # per reference, after one untimed step that pays one-off costs
FEW = (1, 8)  # (batch, block): a step with almost no arithmetic
TYPICAL = (8, 64)  # (batch, block): a step whose arithmetic shows
SMALL_VOCAB, BIG_VOCAB = 65, 8192  # a char vocabulary; one near BPE's on an English text
TOKENS_GENERATED = 12  # timed within the context window (half as many past it)
TOKENIZE_CHARS = 10_000  # of the bundled corpus, to time each tokenizer


def body_flops(config: GPTConfig, batch_size: int) -> float:
    """Forward + backward FLOPs of one step in the transformer blocks (6 per weight per token,
    plus attention); the LM head and the embedding are counted per logit instead."""
    C, L, T = config.n_embd, config.n_layer, config.block_size
    tokens = batch_size * T
    attention = 12 * L * T * T * C * batch_size  # QK^T and AV, forward and backward
    return 6.0 * L * 12 * C * C * tokens + attention


def logit_widths(config: GPTConfig, tokens: int) -> float:
    """tokens x vocabulary x width: what the LM head's matmul, the softmax over the vocabulary
    and the embedding's gradient grow with."""
    return float(tokens) * config.vocab_size * config.n_embd


@dataclass(frozen=True)
class StepCosts:
    """Seconds of training work on this device, for one precision and thread count."""

    precision: str
    threads: int
    fixed_s: float  # per step, whatever the model
    per_layer_s: float  # per step and layer (launches: independent of the width)
    per_parameter_s: float  # per step and parameter (AdamW, clipping, weight copies)
    flops_per_s: float  # the blocks' arithmetic
    per_logit_width_s: float  # per token x vocabulary entry x width
    forward_body: float  # a forward batch costs this fraction of the step's body (fixed, layers, arithmetic)
    forward_head: float  # ... and this fraction of its logits' cost
    decode_per_layer_s: float  # one token generated within the window: a part per layer (launches)
    decode_per_parameter_s: float  # ... and one per weight (each is read once per token)
    window_vs_body: float  # a token past the window recomputes one window: this fraction of its step's body
    first_step_extra_s: float  # the first step's one-off costs

    def parts(self, config: GPTConfig, batch_size: int) -> tuple[float, float, float]:
        """(body, parameters, logits): the seconds of one step, in the three parts that scale differently."""
        body = self.fixed_s + self.per_layer_s * config.n_layer + body_flops(config, batch_size) / self.flops_per_s
        parameters = self.per_parameter_s * config.num_parameters
        logits = self.per_logit_width_s * logit_widths(config, batch_size * config.block_size)
        return body, parameters, logits

    def step_s(self, config: GPTConfig, batch_size: int) -> float:
        return sum(self.parts(config, batch_size))

    def forward_s(self, config: GPTConfig, batch_size: int) -> float:
        """One forward batch, as Trainer.estimate_loss runs it (no gradients, no optimizer)."""
        body, _, logits = self.parts(config, batch_size)
        return self.forward_body * body + self.forward_head * logits

    def decode_token_s(self, config: GPTConfig) -> float:
        """One token generated while the sequence fits in the context (the KV cache's one position)."""
        return self.decode_per_layer_s * config.n_layer + self.decode_per_parameter_s * config.num_parameters

    def window_token_s(self, config: GPTConfig) -> float:
        """One token generated past the context: the whole window recomputed (the logits of its
        last position only)."""
        return self.window_vs_body * self.parts(config, 1)[0]


@dataclass(frozen=True)
class DrawCosts:
    """Seconds the Train tab spends drawing and tokenizing, whatever the device."""

    probe_fixed_s: float  # the probe's figure: a grid of attention maps
    probe_per_head_s: float
    loss_figure_s: float  # the loss curve, redrawn at every UI update
    tokenize_per_char_s: dict  # tokenizer kind -> seconds per character (building it and encoding)

    def probe_s(self, n_head: int) -> float:
        return self.probe_fixed_s + self.probe_per_head_s * n_head


class StepTimer:
    """This device's StepCosts and DrawCosts, each timed once, lazily; safe from any thread."""

    def __init__(self, device: str = "auto"):
        self.device = resolve_device(device)
        self._costs: dict[tuple[str, int], StepCosts] = {}
        self._draw: DrawCosts | None = None
        self._lock = threading.Lock()

    def precision(self, config: GPTConfig) -> str:
        return resolve_precision("auto", self.device, config.n_embd)

    def threads(self) -> int:
        """The thread count a training started now would run with (1 on a GPU: it barely matters)."""
        return threads.for_a_new_training() if self.device.type == "cpu" else 1

    def costs(self, config: GPTConfig) -> StepCosts:
        key = (self.precision(config), self.threads())
        with self._lock:
            if key not in self._costs:
                self._costs[key] = _with_threads(key[1], lambda: _time_steps(self.device, *key))
            return self._costs[key]

    def draw(self) -> DrawCosts:
        with self._lock:
            if self._draw is None:
                self._draw = _time_drawing()
            return self._draw

    def seconds(self, config: GPTConfig, batch_size: int) -> float:
        """One training step of this shape (what ui/training.py spaces the evaluations with)."""
        return self.costs(config).step_s(config, batch_size)


# --- timing the references ------------------------------------------------------------------


def _with_threads(count: int, work):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        return work()
    finally:
        torch.set_num_threads(before)


def _clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


class _Reference:
    """A small model in the middle of its training run, whose pieces can be timed one at a time."""

    def __init__(self, device: torch.device, precision: str, config: GPTConfig, batch_size: int):
        self.device, self.config = device, config
        self.ids = torch.randint(
            config.vocab_size, (4 * batch_size * config.block_size + 1,), generator=torch.Generator().manual_seed(0)
        )
        train = TrainConfig(
            max_steps=10_000,
            batch_size=batch_size,
            warmup_steps=0,
            eval_interval=10_000,
            eval_iters=1,
            device=device.type,
            precision=precision,
        )
        self.trainer = Trainer(GPT(config), self.ids, None, train)
        self.run = self.trainer.run()

    def step(self) -> float:
        start = _clock(self.device)
        next(self.run)
        return _clock(self.device) - start

    def forward(self) -> float:
        """One evaluation batch, as Trainer.estimate_loss runs it mid-run (eval_iters is 1 here)."""
        start = _clock(self.device)
        self.trainer.estimate_loss(self.trainer.train_ids)
        return _clock(self.device) - start

    def generation(self, past_window: bool) -> list[float]:
        """Seconds of each token sampled after a one-token prompt (within the window) or a whole
        window (past it), from the model as the run has it (its training precision)."""
        prompt = self.ids[: self.config.block_size] if past_window else self.ids[:1]
        tokens = TOKENS_GENERATED // 2 if past_window else TOKENS_GENERATED
        stream = self.trainer.model.generate_stream(
            prompt[None].to(self.device), tokens, temperature=0.8, generator=torch.Generator().manual_seed(0)
        )
        times, last = [], _clock(self.device)
        for _ in stream:
            now = _clock(self.device)
            times.append(now - last)
            last = now
        return times

    def close(self) -> None:
        self.run.close()


def _alternating(references: list, measure, rounds: int) -> list[list[float]]:
    """measure(reference) -> seconds (or a list of them), for each reference once per round, the
    order reversed every other round (A B, B A, ...): a drift in the machine's load then falls on
    all of them alike, and the differences between them stay true."""
    times = [[] for _ in references]
    for r in range(rounds):
        order = range(len(references)) if r % 2 == 0 else reversed(range(len(references)))
        for i in order:
            value = measure(references[i])
            times[i].extend(value if isinstance(value, list) else [value])
    return times


def _time_steps(device: torch.device, precision: str, thread_count: int) -> StepCosts:
    """Time the five references, side by side, and solve for StepCosts (see the module's docstring)."""
    width = 64 if precision == "fp32" else 128

    def config(n_layer, vocab, shape):
        return GPTConfig(vocab_size=vocab, block_size=shape[1], n_layer=n_layer, n_head=4, n_embd=width)

    shapes = [
        (1, SMALL_VOCAB, FEW),
        (3, SMALL_VOCAB, FEW),
        (2, BIG_VOCAB, FEW),
        (2, SMALL_VOCAB, TYPICAL),
        (2, BIG_VOCAB, TYPICAL),
    ]
    configs = [config(*shape) for shape in shapes]
    references = [_Reference(device, precision, c, shape[2][0]) for c, shape in zip(configs, shapes)]
    try:
        first = [r.step() for r in references]  # one-off costs: allocations, the optimizer's state
        one, three, two_big, typical, typical_big = map(min, _alternating(references, _Reference.step, STEPS_TIMED))
        mid_run = references[3:]
        forward, forward_big = map(min, _alternating(mid_run, _Reference.forward, STEPS_TIMED))
        decode, decode_big = map(statistics.median, _alternating(mid_run, lambda r: r.generation(False), 1))
        window = statistics.median(references[3].generation(True))
    finally:
        for r in references:
            r.close()
    # Few tokens: a step is fixed + per layer + per parameter (the arithmetic is negligible).
    # Two layers with the big vocabulary against the mean of one and three layers with the small
    # one: the same layers, (BIG_VOCAB - SMALL_VOCAB) x width more parameters.
    c1, c3, c2_big, small, big = configs
    extra_parameters = c2_big.num_parameters - (c1.num_parameters + c3.num_parameters) / 2
    per_parameter = max(0.0, two_big - (one + three) / 2) / extra_parameters
    per_layer = max(0.0, (three - one - per_parameter * (c3.num_parameters - c1.num_parameters)) / 2)
    fixed = max(0.0, one - per_layer - per_parameter * c1.num_parameters)
    # A typical batch: what is left after those is arithmetic (the blocks') and logits.
    tokens = TYPICAL[0] * TYPICAL[1]
    logits_s = max(0.0, typical_big - typical - per_parameter * (big.num_parameters - small.num_parameters))
    per_logit = logits_s / (logit_widths(big, tokens) - logit_widths(small, tokens))
    overheads = fixed + 2 * per_layer + per_parameter * small.num_parameters
    arithmetic_s = max(typical - overheads - per_logit * logit_widths(small, tokens), 0.1 * typical)
    body_s = overheads + arithmetic_s
    forward_body = forward / body_s
    forward_head = (forward_big - forward) / logits_s if logits_s > 0 else forward_body
    # Generating one position reads every weight once: the big vocabulary's extra rows give the
    # cost per weight, the rest is per layer.
    decode_per_parameter = max(0.0, decode_big - decode) / (big.num_parameters - small.num_parameters)
    decode_per_layer = max(0.0, decode - decode_per_parameter * small.num_parameters) / 2
    costs = StepCosts(
        precision=precision,
        threads=thread_count,
        fixed_s=fixed,
        per_layer_s=per_layer,
        per_parameter_s=per_parameter,
        flops_per_s=body_flops(small, TYPICAL[0]) / arithmetic_s,
        per_logit_width_s=per_logit,
        forward_body=forward_body,
        forward_head=max(0.0, forward_head),
        decode_per_layer_s=decode_per_layer,
        decode_per_parameter_s=decode_per_parameter,
        window_vs_body=1.0,
        first_step_extra_s=max(0.0, first[3] - typical),
    )
    # A token past the window against the body of a one-window step.
    return replace(costs, window_vs_body=window / costs.parts(small, 1)[0])


def _time_drawing() -> DrawCosts:
    from viz import loss_curve

    from .attention import probe_figure
    from .context import CORPUS

    def seconds(work) -> float:
        work()  # the first figure of a kind pays one-off costs
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    pieces = [chr(ord("a") + i % 26) for i in range(48)]
    maps = {h: torch.full((h, 48, 48), 1 / 48) for h in (2, 6)}
    two, six = (seconds(lambda h=h: probe_figure(maps[h], pieces, 0, 1)) for h in (2, 6))
    per_head = max(0.0, (six - two) / 4)
    steps = list(range(300))
    loss = seconds(lambda: loss_curve(steps, [2.0] * 300, steps[::30], [2.0] * 10))
    sample = CORPUS.read_text(encoding="utf-8")[:TOKENIZE_CHARS]
    tokenize = {}
    for kind in ("char", "bpe"):
        start = time.perf_counter()
        make_tokenizer(kind, sample).encode(sample)
        tokenize[kind] = (time.perf_counter() - start) / len(sample)
    return DrawCosts(max(0.0, two - 2 * per_head), per_head, loss, tokenize)
