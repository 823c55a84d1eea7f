"""The training loop, as a generator of small immutable events.

The app, the command line and the tests all consume the same stream of TrainEvents, so
the loop knows nothing about who is watching. stop() ends it cleanly between two steps.

Recipe: AdamW (fused where the device has it) with weight decay on matrices only, a linear
warm-up then cosine decay of the learning rate, gradient clipping, and a periodic estimate
of the loss on held-out data from a fixed set of batches (so the curve is not noisier than
the model). With keep_best, the run ends with the weights of its best validation loss
(gpt/best_weights.py), and the events say when validation turns up while training still
improves (overfitting).

One optimizer step may learn from grad_accum micro-batches in a row, and on several processes
at once (a `World`, gpt/distributed.py): the step's windows are drawn as one global batch and
shared out (gpt/data.py `step_batches`), the gradients averaged over all of them, and the logged
loss is the global batch's. Rank 0 alone evaluates; the others wait for it.

A run can stop after any step (stop(), stop_at, the time budget) and continue later exactly
where it was: `resume_state()` at an event, `Trainer(..., resume=state)` to continue
(gpt/resume.py).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import torch

from .best_weights import BestWeights
from .data import get_batch, step_batches
from .device import resolve_device, resolve_precision
from .distributed import World
from .dropout import fast_dropout
from .errors import Keyed, Phrase, UserError
from .fast_weights import weights_changed
from .mixed_precision import BF16MasterWeights
from .modes import evaluation
from .resume import ResumeState, load_optimizer_state, optimizer_state
from .settings import TrainConfig  # made from the settings' schema (gpt/settings.py)


class TrainingDiverged(Keyed, RuntimeError):
    """The loss stopped being a finite number; the model keeps its best weights (keep_best) or
    its last finite ones."""


@dataclass(frozen=True)
class TrainEvent:
    step: int  # steps done so far (1-based)
    max_steps: int
    train_loss: float  # loss of this step's batch
    val_loss: float | None  # held-out loss, at evaluation steps only
    lr: float
    tokens_per_s: float  # training throughput, evaluation excluded
    elapsed_s: float  # wall time since the start, evaluation included
    device: str
    precision: str
    eval_train_loss: float | None = None  # train loss averaged like val_loss, at evaluation steps
    done: bool = False  # the last event of a run
    stopped: bool = False  # ended early by stop() or the time budget
    stop_reason: str | None = None  # why it ended early: "stop" (stop() or Ctrl-C), "time_budget" or "stop_at"
    # The state as of the latest evaluation (None/False before the first, and without val data):
    overfitting: bool = False  # val rose at each of the last 3 evaluations while train fell
    best_val_loss: float | None = None  # the lowest val_loss so far
    best_step: int | None = None  # the step it was measured at
    # On the last event: the run ends with the weights of best_step, not this step's. The event's
    # own losses are this step's; the weights are put back when the run ends (the generator
    # is exhausted or closed).
    restored_best: bool = False


def _trained_parameters(model) -> list[tuple[str, torch.nn.Parameter]]:
    """(name, parameter) of what the optimizer updates, in model.parameters()' order (a tied
    weight once, under its first name)."""
    return [(name, p) for name, p in model.named_parameters() if p.requires_grad]


def make_optimizer(params: list[torch.Tensor], config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW that decays weight matrices and embeddings, never biases or LayerNorm gains."""
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type in ("cuda", "cpu") and all(p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95), fused=fused)


@dataclass(frozen=True)
class _Running:
    """What resume_state() reads while a run is under way (dropped when it ends)."""

    optimizer: torch.optim.Optimizer
    params: list[torch.Tensor]  # what the optimizer updates (float32 master copies under bf16)
    names: dict[int, str]  # id(param) -> its name in the model
    best: BestWeights
    batches: torch.Generator


class Trainer:
    def __init__(
        self,
        model,
        train_ids: torch.Tensor,
        val_ids: torch.Tensor | None,
        config: TrainConfig,
        world: World | None = None,
        resume: ResumeState | None = None,
    ):
        """world: the processes training together (gpt/distributed.py; default: this one alone).
        resume: the state a stopped run continues from (gpt/resume.py), for the same model
        shape, data, settings and number of processes."""
        block_size = model.config.block_size
        if train_ids.numel() < block_size + 1:
            raise UserError("trainer.too_short", count=train_ids.numel(), needed=block_size + 1)
        self.model = model
        self.config = config
        self.world = world or World()
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device, model.config.n_embd)
        self.train_ids = train_ids.to(self.device)
        self.val_ids = val_ids.to(self.device) if val_ids is not None and val_ids.numel() >= 2 else None
        self.resume = resume
        self.first_step = 0 if resume is None else self._check_resume(resume)
        self._stop = threading.Event()
        self.best: BestWeights | None = None  # the best-model guard of the run, once it starts
        self.steps_done = self.first_step
        self._running: _Running | None = None

    @property
    def global_batch(self) -> int:
        """Windows per optimizer step: batch_size x grad_accum x processes."""
        return self.config.batch_size * self.config.grad_accum * self.world.size

    def _check_resume(self, resume: ResumeState) -> int:
        cfg = self.config
        if resume.world_size != self.world.size:
            raise ValueError(
                f"This run trained on {resume.world_size} process(es), each with its share of the batch; "
                f"resume it on as many (torchrun --nproc_per_node={resume.world_size}), not {self.world.size}."
            )
        if resume.step >= cfg.max_steps:
            raise ValueError(
                f"The run has already made {resume.step} steps, and max_steps is {cfg.max_steps}: "
                "give a larger max_steps to train further."
            )
        if cfg.stop_at is not None and cfg.stop_at <= resume.step:
            raise ValueError(f"stop_at ({cfg.stop_at}) must come after step {resume.step}, where the run resumes.")
        return resume.step

    def stop(self) -> None:
        """Ask the loop to end after the step in progress; safe from any thread, any number of times."""
        self._stop.set()

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.no_grad()
    def estimate_loss(self, data: torch.Tensor) -> float:
        """Mean loss over eval_iters batches of batch_size windows, drawn the same way every time
        (whatever the number of processes and grad_accum)."""
        generator = torch.Generator().manual_seed(self.config.seed + 1)
        total = 0.0
        with evaluation(self.model):
            for _ in range(self.config.eval_iters):
                x, y = get_batch(data, self.model.config.block_size, self.config.batch_size, generator)
                with self._autocast():
                    _, loss = self.model(x, y)
                total += loss.item()
        return total / self.config.eval_iters

    def run(self):
        """Train, yielding one TrainEvent per step; raises TrainingDiverged on a non-finite loss.

        However the loop ends (done, stop(), an error, or the consumer closing the generator),
        the model is left in float32 on its device, with the weights of its best validation
        loss when keep_best (and there was an evaluation with validation data), otherwise with
        its last finite weights. On several processes, every rank runs this together.
        """
        cfg, model, world = self.config, self.model, self.world
        model.to(self.device)
        model.train()
        # On a CPU with native bf16, compute in bf16 weights; elsewhere bf16 means autocast.
        master = BF16MasterWeights(model) if self.precision == "bf16" and self.device.type == "cpu" else None
        params = master.master if master else [p for p in model.parameters() if p.requires_grad]
        names = {id(p): name for p, (name, _) in zip(params, _trained_parameters(model))}
        optimizer = make_optimizer(params, cfg, self.device)
        best = self.best = BestWeights(params, keep_copy=cfg.keep_best)
        batches = torch.Generator().manual_seed(cfg.seed)  # the same on every rank (gpt/data.py)
        if self.resume is not None:
            self._continue(self.resume, params, names, optimizer, batches, best, master)
        elif world.rank > 0:
            torch.manual_seed(cfg.seed + world.rank)  # its own dropout masks; rank 0's go on as one process's
        wrapped = world.wrap(model)  # what forward and backward run through (DDP with several ranks)
        self._running = _Running(optimizer, params, names, best, batches)
        try:
            with fast_dropout(model):
                yield from self._loop(optimizer, params, master, best, wrapped, batches)
        finally:
            self._running = None
            if cfg.keep_best:
                best.restore()  # into params: under bf16 the float32 master weights, copied below
            if master is not None:
                master.restore_float32()
            weights_changed(model)

    @torch.no_grad()
    def _continue(self, state: ResumeState, params, names, optimizer, batches, best, master) -> None:
        """Put the run back where `state` left it: weights, AdamW's moments, the generators, the guard."""
        torch._foreach_copy_(params, [state.weights[names[id(p)]].to(p.device, p.dtype) for p in params])
        if master is not None:
            master.master_to_model()
        load_optimizer_state(optimizer, names, state.moments)
        batches.set_state(state.batch_rng)
        torch.set_rng_state(state.cpu_rng[self.world.rank])
        if state.cuda_rng is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state.cuda_rng[self.world.rank])
        # The guard's copy: saved when it differs from the last weights; the last weights when
        # the best evaluation was the last step's.
        copy = state.best_weights or (state.weights if state.best["step"] == state.step else None)
        best.load_state(state.best, None if copy is None else [copy[names[id(p)]] for p in params])

    def resume_state(self, run: dict | None = None) -> ResumeState:
        """A copy of what this run would continue from after the step of the event just
        received (gpt/resume.py): ask for it at an event, before the next (the command line
        asks at the last one, before the best weights come back). run is the caller's record
        to keep with it (its settings, which text). On several processes every rank asks at the
        same event: each rank's random generator is gathered, and each gets the whole state."""
        running = self._running
        if running is None:
            raise RuntimeError("resume_state() is asked for during a run, at one of its events.")
        names, best = running.names, running.best
        moments, groups = optimizer_state(running.optimizer, names)
        best_weights = None
        if best.weights is not None and best.step is not None and best.step < self.steps_done:  # else: the last weights
            best_weights = {names[id(p)]: w.detach().clone() for p, w in zip(running.params, best.weights)}
        cuda = self.device.type == "cuda"
        return ResumeState(
            step=self.steps_done,
            world_size=self.world.size,
            weights={names[id(p)]: p.detach().clone() for p in running.params},
            moments=moments,
            param_groups=groups,
            best=best.state(),
            best_weights=best_weights,
            batch_rng=running.batches.get_state(),
            cpu_rng=self.world.gather(torch.get_rng_state()),
            cuda_rng=self.world.gather(torch.cuda.get_rng_state()) if cuda else None,
            run=dict(run or {}),
        )

    def _loop(self, optimizer, params, master, best, wrapped, batches):
        cfg, world = self.config, self.world
        autocast = self._autocast if master is None else nullcontext
        # The weights that last gave a finite loss: restored if the next step diverges.
        last_good = [p.detach().clone() for p in params]
        start = time.perf_counter()
        train_time, tokens, last_loss, lr = 0.0, 0, math.nan, cfg.lr_at(self.first_step)
        for step in range(self.first_step, cfg.max_steps):
            over_budget = cfg.time_budget_s is not None and time.perf_counter() - start >= cfg.time_budget_s
            # Every rank must stop at the same step: one asking is enough.
            if step > self.first_step and world.any(self._stop.is_set() or over_budget):
                throughput = tokens / max(train_time, 1e-9)
                reason = "stop" if self._stop.is_set() else "time_budget"
                yield self._event(step, last_loss, lr, throughput, start, best, evaluate=True, done=True, stopped=reason)
                return
            step_start = time.perf_counter()
            lr = cfg.lr_at(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss_value, step_tokens = self._gradients(wrapped, batches, autocast)
            if not math.isfinite(loss_value):  # the same on every rank: the mean over all of them
                self._roll_back(params, last_good, optimizer)
                raise self._diverged(step + 1, "trainer.diverged_loss", loss_value, best)
            if master is not None:
                master.grads_to_master()
            # The global gradient's norm: DDP has averaged the gradients over the ranks.
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip).item()
            if not math.isfinite(grad_norm):
                self._roll_back(params, last_good, optimizer)
                raise self._diverged(step + 1, "trainer.diverged_grad_norm", grad_norm, best)
            with torch.no_grad():
                torch._foreach_copy_(last_good, params)  # these weights just gave a finite loss
            optimizer.step()
            if master is not None:
                master.master_to_model()
            # Neither the fused step nor master_to_model bumps the version counters that
            # gpt/fast_weights.py watches: drop the model's bf16 decode copies explicitly.
            weights_changed(self.model)
            train_time += time.perf_counter() - step_start
            tokens += step_tokens
            last_loss = loss_value
            self.steps_done = step + 1
            done = step + 1 == cfg.max_steps
            stopping = not done and step + 1 == cfg.stop_at
            evaluate = (step + 1) % cfg.eval_interval == 0 or done or stopping
            tokens_per_s = tokens / max(train_time, 1e-9)
            reason = "stop_at" if stopping else None
            yield self._event(step + 1, loss_value, lr, tokens_per_s, start, best, evaluate, done or stopping, reason)
            if stopping:
                return

    def _gradients(self, wrapped, batches, autocast) -> tuple[float, int]:
        """This step's gradients, summed over grad_accum micro-batches of this rank's share of
        the global batch, each loss divided by grad_accum so the sum is the mean's gradient (DDP
        then averages it over the ranks). Returns the global batch's loss, the mean over
        micro-batches and ranks, and the tokens of the global batch. Under bf16 weights the
        micro-batches' gradients add up in bf16, as the backward pass computes them."""
        cfg, world = self.config, self.world
        micro_batches = step_batches(
            self.train_ids, self.model.config.block_size, cfg.batch_size, batches, cfg.grad_accum, world.rank, world.size
        )
        losses = []
        for k, (x, y) in enumerate(micro_batches):
            with world.accumulating(wrapped, last=k == cfg.grad_accum - 1):
                with autocast():
                    _, loss = wrapped(x, y)
                (loss / cfg.grad_accum).backward()
            losses.append(loss.detach())
        # Every rank runs its backward pass before anyone checks the loss: a rank that stopped
        # at a non-finite loss alone would leave the others waiting in DDP's exchange.
        loss_value = world.mean(torch.stack(losses).mean().item())
        return loss_value, x.numel() * cfg.grad_accum * world.size

    def _event(self, step, train_loss, lr, tokens_per_s, start, best, evaluate, done, stopped=None) -> TrainEvent:
        """The event after `step`; at evaluations, the losses are estimated and the best updated,
        by rank 0 alone while the other ranks wait (their events carry no evaluation).
        stopped: None, or why the run ended early ("stop", "time_budget")."""
        val_loss = eval_train_loss = None
        if evaluate:
            if self.world.is_main:
                val_loss = self.estimate_loss(self.val_ids) if self.val_ids is not None else None
                eval_train_loss = self.estimate_loss(self.train_ids)
                best.update(step, val_loss, eval_train_loss)
            self.world.barrier()
        return TrainEvent(
            step=step,
            max_steps=self.config.max_steps,
            train_loss=train_loss,
            val_loss=val_loss,
            eval_train_loss=eval_train_loss,
            lr=lr,
            tokens_per_s=tokens_per_s,
            elapsed_s=time.perf_counter() - start,
            device=self.device.type,
            precision=self.precision,
            done=done,
            stopped=stopped is not None,
            stop_reason=stopped,
            overfitting=best.overfitting,
            best_val_loss=best.val_loss,
            best_step=best.step,
            restored_best=done and self.config.keep_best and best.can_restore(step),
        )

    def summary(self, last: TrainEvent | None) -> dict:
        """What a checkpoint records about this run, ready for JSON; last is its final event
        (None when it ended before the first step). The losses are those of the weights kept:
        the best evaluation's when the run restored them, with the last evaluation's beside."""
        run = {"processes": self.world.size, "global_batch": self.global_batch, "resumed_from_step": self.first_step or None}
        if last is None:
            return {"steps": self.first_step, "device": self.device.type, "precision": self.precision,
                    "stopped_early": True, **run, "train_config": asdict(self.config)}
        kept_best = bool(last.restored_best)
        return {
            "steps": last.step,
            "kept": "best" if kept_best else "last",
            "train_loss": self.best.train_loss if kept_best else last.eval_train_loss,
            "val_loss": last.best_val_loss if kept_best else last.val_loss,
            "best_step": last.best_step,
            "best_val_loss": last.best_val_loss,
            "last_val_loss": last.val_loss,
            "overfitting": last.overfitting,
            "tokens_per_s": round(last.tokens_per_s),
            "train_seconds": round(last.elapsed_s, 1),
            "device": self.device.type,
            "precision": self.precision,
            "stopped_early": last.stopped,
            **run,
            "train_config": asdict(self.config),
        }

    @torch.no_grad()
    def _roll_back(self, params, last_good, optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.model.zero_grad(set_to_none=True)  # the bf16 model's own, under master weights
        torch._foreach_copy_(params, last_good)

    def _diverged(self, step: int, key: str, value: float, best: BestWeights) -> TrainingDiverged:
        """key: the message that names the number that stopped being finite."""
        lr = self.config.learning_rate
        if self.config.keep_best and best.can_restore(step):
            kept = Phrase("trainer.keeps_best", {"step": best.step, "loss": best.val_loss})
        else:
            kept = Phrase("trainer.keeps_last")
        diverged = TrainingDiverged(key, step=step, value=value)
        return diverged.then(kept).then("trainer.lower_lr", lr=lr, suggested=lr / 10)
