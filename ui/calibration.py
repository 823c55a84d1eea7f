"""This machine's speed at the pieces a training run is made of, timed once per process.

The Train tab's time estimate (ui/run_estimate.py) is a model: each piece of a run costs what it
costs small reference models here, scaled by the shape. A training step is

    fixed + per layer x layers + per parameter x parameters
          + weight FLOPs / rate + attention FLOPs / attention rate + per logit x logits

a fixed part (Python, the loop), a part per layer (kernel launches, whatever the width), a part per
parameter (AdamW, gradient clipping, the copies a step makes of every weight), the arithmetic of the
products with weights (the LM head's included) at this machine's rate, the attention's arithmetic
(which grows with the square of the context, on small per-head matrices, with a masked softmax: a
rate of its own), and a part per logit (one token's score for one vocabulary entry: the softmax, the
loss and their gradients pass over all of them).
A BPE vocabulary has thousands of entries, so the last two are most of a small BPE model's step,
and a logits tensor that no longer fits in the processor's cache costs more per logit: one
reference's logits fit, another's do not.

This module times six references side by side, once per process, cheaply (about a second on a
2-core CPU) and in a thread of its own from the app's start (StepTimer.warm_up): one and three
layers with almost no tokens, two layers with almost no tokens and a big vocabulary, two layers
with a typical batch, the same tokens in a four times longer context, and one layer with a big
vocabulary and a batch whose logits overflow the cache, then one whose logits fit. Seven step
times, seven unknowns: solved as a linear system. Mid-run, as
the app does at its evaluations, it also times a forward batch (what a loss estimate is made of)
and tokens generated within and past the context window (the sample written at each evaluation);
and once for all, the figures the Train tab draws, what ui/watch.py records and draws at each
evaluation, and tokenizing text.

A run's pieces are timed under its own conditions: the thread count ui/threads.py's policy gives
a training that starts now, and the precision its width gets (gpt/device.py resolve_precision:
bf16 for wide models on CPUs that multiply it natively). Each (precision, threads) pair is timed
on its own, the first time an estimate needs it.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer, save
from gpt.device import CPU_BF16_MIN_WIDTH, resolve_device, resolve_precision

from . import threads
from .memory import release_memory

# Each piece is timed a few times, the references in alternation, and the median kept: a burst of
# other work on a shared machine then moves no estimate, while a machine busy all along slows the
# estimates as it slows the runs.
STEPS_TIMED = 3  # per reference, after one untimed step that pays one-off costs
FEW = (1, 8)  # (batch, block): a step with almost no arithmetic
TYPICAL = (16, 64)  # (batch, block): a step whose arithmetic outweighs its fixed costs
# A char vocabulary, and one the size of GPT-2 BPE's pieces in an English text of a megabyte.
SMALL_VOCAB, BIG_VOCAB = 65, 12_288
# A logit costs less while the logits fit in the processor's cache (about half, on a 2-core EPYC
# with 32 MB of L3): two big-vocabulary references, one whose logits fit (12 MB in float32) and
# one whose logits do not (50 MB); between them the cost is interpolated on the logits' count.
LOGITS_IN_CACHE, LOGITS_OUT_OF_CACHE = (4, 64), TYPICAL  # (batch, block)
TOKENS_GENERATED = 12  # timed within the context window (half as many past it)
TOKENIZE_CHARS = (10_000, 100_000)  # of the bundled corpus, to time each tokenizer (a fixed part, a part per character)


def weight_flops(config: GPTConfig, batch_size: int) -> float:
    """Forward + backward FLOPs of one step's products with weights: 6 per weight per token, in the
    blocks and the tied LM head."""
    C, L = config.n_embd, config.n_layer
    return 6.0 * (L * 12 * C * C + config.vocab_size * C) * batch_size * config.block_size


def attention_flops(config: GPTConfig, batch_size: int) -> float:
    """Forward + backward FLOPs of one step's attention: QK^T and AV over the whole context."""
    T = config.block_size
    return 12.0 * config.n_layer * T * T * config.n_embd * batch_size


def logits(config: GPTConfig, tokens: int) -> float:
    """tokens x vocabulary: the scores the softmax, the loss and their gradients pass over."""
    return float(tokens) * config.vocab_size


@dataclass(frozen=True)
class StepCosts:
    """Seconds of training work on this device, for one precision and thread count."""

    precision: str
    threads: int
    fixed_s: float  # per step, whatever the model
    per_layer_s: float  # per step and layer (launches: independent of the width)
    per_parameter_s: float  # per step and parameter (AdamW, clipping, weight copies)
    flops_per_s: float  # the products with weights
    attention_flops_per_s: float  # the attention's products
    per_logit_s: float  # per token and vocabulary entry, while the logits fit in the cache (up to logits_in_cache)
    per_logit_out_s: float  # ... and once they do not (from logits_out_of_cache)
    logits_in_cache: float
    logits_out_of_cache: float
    forward_body: float  # a forward batch costs this fraction of a step's fixed, layer and arithmetic parts
    forward_logits: float  # ... and this fraction of its logits' part
    decode_per_layer_s: float  # one token generated within the window: a part per layer (launches)
    decode_per_parameter_s: float  # ... and one per weight (each is read once per token)
    window_vs_body: float  # a token past the window recomputes one window: this fraction of its step's body
    first_step_extra_s: float  # the first step's one-off costs

    def parts(self, config: GPTConfig, batch_size: int) -> tuple[float, float, float]:
        """(body, parameters, logits): the seconds of one step, in the three parts that scale differently."""
        body = (
            self.fixed_s
            + self.per_layer_s * config.n_layer
            + weight_flops(config, batch_size) / self.flops_per_s
            + attention_flops(config, batch_size) / self.attention_flops_per_s
        )
        parameters = self.per_parameter_s * config.num_parameters
        count = logits(config, batch_size * config.block_size)
        return body, parameters, self.per_logit(count) * count

    def per_logit(self, count: float) -> float:
        """Seconds per logit of a step with `count` logits: the in-cache cost up to logits_in_cache,
        the out-of-cache one from logits_out_of_cache, in between interpolated on log(count)."""
        low, high = self.logits_in_cache, self.logits_out_of_cache
        share = min(1.0, max(0.0, math.log(max(count, 1.0) / low) / math.log(high / low)))
        return self.per_logit_s + share * (self.per_logit_out_s - self.per_logit_s)

    def step_s(self, config: GPTConfig, batch_size: int) -> float:
        return sum(self.parts(config, batch_size))

    def forward_s(self, config: GPTConfig, batch_size: int) -> float:
        """One forward batch, as Trainer.estimate_loss runs it (no gradients, no optimizer)."""
        body, _, logits_s = self.parts(config, batch_size)
        return self.forward_body * body + self.forward_logits * logits_s

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
    tokenize_s: dict  # tokenizer kind -> (fixed, per character) seconds to build it on a text and encode the text
    watch_fixed_s: float  # an evaluation's recording and views (ui/watch.py): snapshot, surprise strip, head metrics
    watch_per_head_s: float  # ... per head of every layer
    finish_s: float = 0.0  # after the last step: the checkpoint written, the run's memory given back to the OS

    def probe_s(self, n_head: int) -> float:
        return self.probe_fixed_s + self.probe_per_head_s * n_head

    def tokenizing_s(self, kind: str, chars: int) -> float:
        fixed, per_char = self.tokenize_s[kind]
        return fixed + per_char * chars

    def watch_s(self, config: GPTConfig) -> float:
        return self.watch_fixed_s + self.watch_per_head_s * config.n_layer * config.n_head


class StepTimer:
    """This device's StepCosts and DrawCosts, each timed once, when first needed or by warm_up();
    safe from any thread (one timing at a time: they would slow each other)."""

    def __init__(self, device: str = "auto"):
        self.device = resolve_device(device)
        self._costs: dict[tuple[str, int], StepCosts] = {}
        self._draw: DrawCosts | None = None
        self._timing = threading.Lock()  # held while timing: a second timing waits for the first

    def precision(self, config: GPTConfig) -> str:
        return resolve_precision("auto", self.device, config.n_embd)

    def threads(self, beside_browser: bool = False) -> int:
        """The thread count a training started now would run with (1 on a GPU: it barely matters);
        beside_browser: started from a page open on this machine (ui/threads.py)."""
        return threads.for_a_new_training(beside_browser) if self.device.type == "cpu" else 1

    def costs(self, config: GPTConfig, beside_browser: bool = False) -> StepCosts:
        return self._timed(self.precision(config), self.threads(beside_browser))

    def _timed(self, precision: str, thread_count: int) -> StepCosts:
        key = (precision, thread_count)
        if key not in self._costs:  # timed already: no waiting on another timing
            with self._timing:
                if key not in self._costs:
                    self._costs[key] = _with_threads(thread_count, lambda: _time_steps(self.device, *key))
        return self._costs[key]

    def draw(self) -> DrawCosts:
        if self._draw is None:
            with self._timing:
                if self._draw is None:
                    self._draw = _time_drawing()
        return self._draw

    def warm_up(self) -> threading.Thread:
        """Time, in a thread of its own, what the estimates will need: both precisions this device
        gives models (the wide ones' first: the default preset is wide), then the drawing. An
        estimate asked for meanwhile waits only for what it needs."""
        precisions = dict.fromkeys(resolve_precision("auto", self.device, w) for w in (CPU_BF16_MIN_WIDTH, 1))

        def work():
            for precision in precisions:
                for beside_browser in (False, True):  # a run from the API, and one from a page on this machine
                    self._timed(precision, self.threads(beside_browser))
            self.draw()
            release_memory()  # the references' tensors are gone: give their pages back to the OS

        thread = threading.Thread(target=work, name="mirador-calibration", daemon=True)
        thread.start()
        return thread

    def seconds(self, config: GPTConfig, batch_size: int, beside_browser: bool = False) -> float:
        """One training step of this shape (what ui/training.py spaces the evaluations with)."""
        return self.costs(config, beside_browser).step_s(config, batch_size)


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
    """Time the seven references side by side and solve for StepCosts (see the module's docstring)."""
    width = 64 if precision == "fp32" else 128  # bf16 is what CPUs give models from 128 wide
    batch, block = TYPICAL
    # (layers, width, vocabulary, (batch, block)); the last is narrow, so its logits dominate.
    shapes = [
        (1, width, SMALL_VOCAB, FEW),
        (3, width, SMALL_VOCAB, FEW),
        (2, width, BIG_VOCAB, FEW),
        (2, width, SMALL_VOCAB, TYPICAL),
        (2, width, SMALL_VOCAB, (batch // 4, block * 4)),  # the same tokens, 4x the context
        (1, 64, BIG_VOCAB, LOGITS_OUT_OF_CACHE),
        (1, 64, BIG_VOCAB, LOGITS_IN_CACHE),
    ]
    configs = [
        GPTConfig(vocab_size=vocab, block_size=shape[1], n_layer=layers, n_head=4, n_embd=w)
        for layers, w, vocab, shape in shapes
    ]
    references = [_Reference(device, precision, c, shape[-1][0]) for c, shape in zip(configs, shapes)]
    typical, big = references[3], references[5]  # timed mid-run too: mostly body, mostly logits
    try:
        first = [r.step() for r in references]  # one-off costs: allocations, the optimizer's state
        steps = [statistics.median(t) for t in _alternating(references, _Reference.step, STEPS_TIMED)]
        forwards = [statistics.median(t) for t in _alternating([typical, big], _Reference.forward, STEPS_TIMED)]
        decodes = [statistics.median(t) for t in _alternating([typical, big], lambda r: r.generation(False), 1)]
        window = statistics.median(typical.generation(True))
    finally:
        for r in references:
            r.close()
    # Each step: fixed + layers x per_layer + parameters x per_parameter + weight FLOPs / rate
    # + attention FLOPs / attention rate + logits x per_logit (in the cache, or out of it: only the
    # sixth reference's logits overflow it).
    rows = []
    for i, (c, shape) in enumerate(zip(configs, shapes)):
        count = logits(c, shape[-1][0] * shape[-1][1])
        out = i == 5
        row = [1.0, c.n_layer, c.num_parameters, weight_flops(c, shape[-1][0]), attention_flops(c, shape[-1][0])]
        rows.append(row + [0.0 if out else count, count if out else 0.0])
    solved = _solve(rows, steps)
    fixed, per_layer, per_parameter, seconds_per_flop, seconds_per_attention_flop, per_logit, per_logit_out = solved
    costs = StepCosts(
        precision=precision,
        threads=thread_count,
        fixed_s=fixed,
        per_layer_s=per_layer,
        per_parameter_s=per_parameter,
        flops_per_s=1.0 / max(seconds_per_flop, 1e-15),
        attention_flops_per_s=1.0 / max(seconds_per_attention_flop, 1e-15),
        per_logit_s=per_logit,
        per_logit_out_s=max(per_logit, per_logit_out),
        logits_in_cache=logits(configs[6], LOGITS_IN_CACHE[0] * LOGITS_IN_CACHE[1]),
        logits_out_of_cache=logits(configs[5], LOGITS_OUT_OF_CACHE[0] * LOGITS_OUT_OF_CACHE[1]),
        forward_body=1.0,
        forward_logits=1.0,
        decode_per_layer_s=0.0,
        decode_per_parameter_s=0.0,
        window_vs_body=1.0,
        first_step_extra_s=max(0.0, first[3] - steps[3]),
    )
    # A forward batch: a fraction of the body, another of the logits' part.
    mid_run = [(configs[i], shapes[i][-1][0]) for i in (3, 5)]
    parts = [costs.parts(c, b) for c, b in mid_run]
    forward_body, forward_logits = _solve([[body, logits_s] for body, _, logits_s in parts], forwards)
    # Generating one position reads every weight once: a part per layer, a part per weight.
    decode_per_layer, decode_per_parameter = _solve([[c.n_layer, c.num_parameters] for c, _ in mid_run], decodes)
    return replace(
        costs,
        forward_body=forward_body,
        forward_logits=forward_logits,
        decode_per_layer_s=decode_per_layer,
        decode_per_parameter_s=decode_per_parameter,
        # A token past the window, against the body of a one-window step.
        window_vs_body=window / costs.parts(configs[3], 1)[0],
    )


def _solve(rows: list[list[float]], times: list[float]) -> list[float]:
    """The non-negative costs x with rows @ x = times: solved exactly, and where timing noise makes a
    cost negative, that cost is taken as 0 and the others solved again (by least squares)."""
    A, b = torch.tensor(rows, dtype=torch.float64), torch.tensor(times, dtype=torch.float64)
    scale = A.abs().amax(dim=0).clamp_min(1e-30)  # columns of similar size, for a well-conditioned solve
    kept, out = list(range(A.shape[1])), [0.0] * A.shape[1]
    while kept:
        x = (torch.linalg.lstsq(A[:, kept] / scale[kept], b[:, None]).solution[:, 0] / scale[kept]).tolist()
        if min(x) >= 0:
            for k, value in zip(kept, x):
                out[k] = value
            break
        kept = [k for k, value in zip(kept, x) if value >= 0]
    return out


def _time_drawing() -> DrawCosts:
    from viz import loss_curve

    from .attention import probe_figure
    from .context import CORPUS

    def seconds(work) -> float:
        work()  # the first call pays one-off costs (imports, caches)
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    pieces = [chr(ord("a") + i % 26) for i in range(48)]
    maps = {h: torch.full((h, 48, 48), 1 / 48) for h in (2, 6)}
    two, six = (seconds(lambda h=h: probe_figure(maps[h], pieces, 0, 1)) for h in (2, 6))
    per_head = max(0.0, (six - two) / 4)
    steps = list(range(300))
    loss = seconds(lambda: loss_curve(steps, [2.0] * 300, steps[::30], [2.0] * 10))
    corpus = CORPUS.read_text(encoding="utf-8")
    tokenize = {}
    for kind in ("char", "bpe"):  # as ui/training.py's prepare: build the tokenizer on the text, encode it
        short, long = (seconds(lambda n=n: make_tokenizer(kind, corpus[:n]).encode(corpus[:n])) for n in TOKENIZE_CHARS)
        per_char = max(0.0, long - short) / (TOKENIZE_CHARS[1] - TOKENIZE_CHARS[0])
        tokenize[kind] = (max(0.0, short - per_char * TOKENIZE_CHARS[0]), per_char)
    # What ui/watch.py records and draws at each evaluation, for 2x2 and 4x4 heads, on one thread
    # as threads.drawing() gives it.
    tokenizer = make_tokenizer("char", corpus[:20_000])
    ids = tokenizer.encode(corpus[:2_000])

    def watch(n_layer: int, n_head: int) -> float:
        from .watch import begin_record, record_evaluation, views

        config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=n_layer, n_head=n_head, n_embd=64)
        model = GPT(config).eval()
        record = begin_record(model, tokenizer, ids[:48], torch.tensor(ids))
        return seconds(lambda: (record_evaluation(model, record, tokenizer, 1), views(record)))

    small, big = _with_threads(threads.INFER_THREADS, lambda: (watch(2, 2), watch(4, 4)))
    watch_per_head = max(0.0, big - small) / 12
    # The end of a run (ui/training.py): its checkpoint saved, then release_memory() (a full garbage
    # collection and malloc_trim: about 0.2 s in the app, which the user waits for as well).
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=64)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "run.safetensors"
        finish = seconds(lambda: (save(checkpoint, GPT(config), tokenizer, {}), release_memory()))
    return DrawCosts(
        max(0.0, two - 2 * per_head), per_head, loss, tokenize, max(0.0, small - 4 * watch_per_head), watch_per_head,
        finish,
    )
