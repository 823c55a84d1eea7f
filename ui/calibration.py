"""What a training run's pieces cost on this machine, for the shape the Train tab's form asks for.

Rather than model a step from reference models, this times the real thing, once per shape, when
the form first shows it: a few steps of a real Trainer of that model and batch and one
evaluation batch, on the thread count the run would get (the training thread's part), then one
evaluation's report (the sample, the probe's attention figure, what ui/watch.py records and
draws) and the end of a run (its checkpoint written, its memory given back), on the page's one
thread. The steps are cached per shape and thread count, the page's part per shape and
tokenizer; the precision follows from the shape and the device (gpt/device.py
resolve_precision). A /train call whose shape no plan has shown times only the steps, in
prepare. Once a run starts, its status's live time left takes over from the estimate.

Each timing runs in a thread of its own that ends with it: an OS thread that once ran torch on
two threads keeps an OpenMP team that would slow every training after it (ui/threads.py), so a
handler's thread must not run the steps itself.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer, save
from gpt.device import resolve_device, resolve_precision
from viz import loss_curve

from .attention import attention_maps, probe_figure, token_pieces
from .cadence import sample_tokens
from .memory import release_memory
from .threads import RunPolicy
from .threads import policy as threads_policy
from .watch import begin_record, record_evaluation, views

# Steps are timed until TIMED_FOR_S seconds are measured, at least MIN_STEPS and at most MAX_STEPS
# of them, after one untimed step that pays the one-off costs (allocations, the optimizer's
# state); the median is kept, so a burst of other work on a shared machine moves it little.
MIN_STEPS, MAX_STEPS, TIMED_FOR_S = 2, 12, 0.25
PROBE_TOKENS = 48  # the probe's attention maps show at most this many tokens


@dataclass(frozen=True)
class ShapeCosts:
    """Seconds of one shape's pieces of a run on this device, with this many training threads."""

    threads: int
    precision: str
    step_s: float  # one training step (forward, backward, AdamW)
    first_step_extra_s: float  # the first step's one-off costs
    forward_s: float  # one evaluation batch (Trainer.estimate_loss runs 2 x eval_iters of them)
    report_s: float  # one evaluation's report, on the page's side (its sample, probe and watch views)
    finish_s: float  # after the last step: the checkpoint written, the run's memory given back


class StepTimer:
    """The shapes' costs on this device, each timed once, when first needed; safe from any thread
    (one timing at a time: two would slow each other)."""

    def __init__(self, device: str = "auto", policy: RunPolicy | None = None):
        self.policy = policy or threads_policy()  # the process's, unless given (ui/threads.py)
        self.device = resolve_device(device)
        self._costs: dict[tuple, dict] = {}  # ("steps", config, batch, threads) or ("page", config, tokenizer) -> seconds
        self._loss_figure_s: float | None = None
        self._timing = threading.Lock()
        self._warm: set[tuple[str, int]] = set()  # (precision, threads) whose process-wide one-off costs are paid

    def threads(self, beside_browser: bool = False) -> int:
        """The thread count a training started now would run with (1 on a GPU: it barely matters);
        beside_browser: started from a page open on this machine (ui/threads.py)."""
        return self.policy.for_a_new_training(beside_browser) if self.device.type == "cpu" else 1

    def precision(self, config: GPTConfig) -> str:
        return resolve_precision("auto", self.device, config.n_embd)

    def costs(self, config: GPTConfig, batch_size: int, threads: int, tokenizer: str = "char") -> ShapeCosts:
        steps, page = self._steps(config, batch_size, threads), self._page(config, tokenizer)
        return ShapeCosts(threads=threads, **steps, **page)

    def seconds(self, config: GPTConfig, batch_size: int, threads: int | None = None, tokenizer: str = "char") -> float:
        """One training step of this shape (what ui/training.py spaces the evaluations with): timed
        already when the form showed its plan; otherwise only the steps are timed (a fraction of a
        second for small models). threads: by default, a run's started now from the API."""
        return self._steps(config, batch_size, self.threads() if threads is None else threads)["step_s"]

    def loss_figure_s(self) -> float:
        """One redraw of the loss curve (what the page does at most every UPDATE_INTERVAL_S)."""
        if self._loss_figure_s is None:
            steps = list(range(300))
            figure = lambda: loss_curve(steps, [2.0] * 300, steps[::30], [2.0] * 10)  # noqa: E731
            self._loss_figure_s = min(_seconds(figure) for _ in range(2))  # the first pays the imports
        return self._loss_figure_s

    def _cached(self, key: tuple, work) -> dict:
        if key not in self._costs:  # timed already: no waiting on another timing
            with self._timing:
                if key not in self._costs:
                    self._costs[key] = _in_own_thread(work)
        return self._costs[key]

    def _steps(self, config: GPTConfig, batch_size: int, threads: int) -> dict:
        """The training thread's part, on `threads` threads: the steps and an evaluation batch."""

        def work():
            torch.set_num_threads(threads)  # this thread is the timing's own: it ends afterwards
            if (self.precision(config), threads) not in self._warm:
                # The first step of a precision in a process pays costs that no later run pays again
                # (up to seconds on a CPU: kernels, the allocator): a one-layer model of that width pays them.
                warm = GPTConfig(vocab_size=65, block_size=8, n_layer=1, n_head=config.n_head, n_embd=config.n_embd)
                for _ in zip(range(2), self._trainer(warm, 1).run()):
                    pass
                self._warm.add((self.precision(config), threads))
            trainer = self._trainer(config, batch_size)
            steps = trainer.run()
            try:
                first = _seconds(lambda: next(steps), self.device)
                times = []
                while len(times) < MAX_STEPS and (len(times) < MIN_STEPS or sum(times) < TIMED_FOR_S):
                    times.append(_seconds(lambda: next(steps), self.device))
                forward = min(_seconds(lambda: trainer.estimate_loss(trainer.train_ids), self.device) for _ in range(2))
            finally:
                steps.close()
            step = statistics.median(times)
            return dict(precision=trainer.precision, step_s=step, first_step_extra_s=max(0.0, first - step), forward_s=forward)

        return self._cached(("steps", config, batch_size, threads), work)

    def _page(self, config: GPTConfig, tokenizer_kind: str) -> dict:
        """The page's part, on one thread as threads.drawing() gives it: one evaluation's report, as
        ui/training.py's run makes it (the weights loaded into its copy, the sample written, the
        attention snapshot and surprise strip recorded, the probe's figure and the watch views
        drawn; the second of two, the first pays one-offs), then the finish (the checkpoint saved
        as _hand_over does, the memory given back as train() does at its end)."""

        def work():
            torch.set_num_threads(self.policy.infer_threads)
            tokenizer = _tokenizer_for(config.vocab_size)
            ids = torch.randint(config.vocab_size, (4 * config.block_size,), generator=torch.Generator().manual_seed(0)).tolist()
            probe = ids[: min(PROBE_TOKENS, config.block_size)]
            trained = GPT(config)
            weights = {name: t.detach().float().clone() for name, t in trained.state_dict().items()}
            copy = GPT(config).eval()
            record = begin_record(copy, tokenizer, probe, ids)
            pieces = token_pieces(tokenizer, probe)

            def evaluation():
                copy.load_state_dict(weights)
                prompt = torch.tensor([ids[:1]])
                for _ in copy.generate_stream(prompt, sample_tokens(tokenizer_kind), temperature=0.8, generator=torch.Generator().manual_seed(7)):
                    pass
                record_evaluation(copy, record, tokenizer, 1)
                probe_figure(attention_maps(copy, probe)[0], pieces, 0, 1)
                views(record)

            report = min(_seconds(evaluation) for _ in range(2))
            with tempfile.TemporaryDirectory() as folder:
                finish = _seconds(lambda: (save(Path(folder) / "run.safetensors", trained, tokenizer, {}), release_memory()))
            return dict(report_s=report, finish_s=finish)

        return self._cached(("page", config, tokenizer_kind), work)

    def _trainer(self, config: GPTConfig, batch_size: int) -> Trainer:
        """A Trainer for a model of this shape on random tokens, that never evaluates."""
        ids = torch.randint(config.vocab_size, (4 * batch_size * config.block_size + 1,), generator=torch.Generator().manual_seed(0))
        train = TrainConfig(
            max_steps=10_000, batch_size=batch_size, warmup_steps=0, eval_interval=10_000, eval_iters=1,
            device=self.device.type,
        )
        torch.manual_seed(0)
        return Trainer(GPT(config), ids, None, train)


def _in_own_thread(work):
    """work() in a thread that ends with it: its OpenMP team goes with it (the module's docstring)."""
    result = {}

    def run():
        try:
            result["value"] = work()
        except BaseException as exc:  # raised again in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=run, name="mirador-timing", daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _tokenizer_for(vocab_size: int):
    """A tokenizer of exactly vocab_size tokens, to draw any token of the timed model with (a
    character each: drawing a BPE piece costs the same)."""
    return make_tokenizer("char", "".join(chr(0x4E00 + i) for i in range(vocab_size)))


def _seconds(work, device: torch.device | None = None) -> float:
    start = time.perf_counter()
    work()
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start
