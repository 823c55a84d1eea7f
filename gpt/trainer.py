"""The training loop, as a generator of small immutable events.

The app, the command line and the tests all consume the same stream of TrainEvents, so
the loop knows nothing about who is watching. stop() ends it cleanly between two steps.

Recipe: AdamW (fused where the device has it) with weight decay on matrices only, a linear
warm-up then cosine decay of the learning rate, gradient clipping, and a periodic estimate
of the loss on held-out data from a fixed set of batches (so the curve is not noisier than
the model).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from numbers import Integral, Real

import torch

from .data import get_batch
from .device import resolve_device, resolve_precision
from .fast_weights import weights_changed
from .mixed_precision import BF16MasterWeights


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number; the model keeps its last finite weights."""


def _positive_int(name, value, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}.")


def _number(name, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}.")


@dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 1000  # optimizer steps
    batch_size: int = 16  # windows per step
    learning_rate: float = 1e-3  # peak learning rate, reached after warm-up
    warmup_steps: int = 100  # linear ramp from ~0 to learning_rate (0: start at the peak)
    min_lr: float = 1e-4  # the cosine decay ends here at max_steps (0 allowed)
    weight_decay: float = 0.1  # AdamW decay, applied to weight matrices only (0 allowed)
    grad_clip: float = 1.0  # largest global gradient norm
    eval_interval: int = 100  # estimate train/val loss every this many steps
    eval_iters: int = 20  # batches per estimate
    seed: int = 1337  # batches are drawn from a generator seeded with this
    device: str = "auto"  # "auto", "cpu", "cuda", "mps"
    precision: str = "auto"  # "auto", "fp32", "bf16"
    time_budget_s: float | None = None  # stop after this much wall time, if set

    def __post_init__(self):
        _positive_int("max_steps", self.max_steps)
        _positive_int("batch_size", self.batch_size)
        _number("learning_rate", self.learning_rate)
        _positive_int("warmup_steps", self.warmup_steps, allow_zero=True)
        _number("min_lr", self.min_lr, allow_zero=True)
        if self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr ({self.min_lr}) must not exceed learning_rate ({self.learning_rate}).")
        _number("weight_decay", self.weight_decay, allow_zero=True)
        _number("grad_clip", self.grad_clip)
        _positive_int("eval_interval", self.eval_interval)
        _positive_int("eval_iters", self.eval_iters)
        _positive_int("seed", self.seed, allow_zero=True)
        if not isinstance(self.device, str):
            raise ValueError(f"device must be a string such as 'auto' or 'cpu', got {self.device!r}.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {self.precision!r}.")
        if self.time_budget_s is not None:
            _number("time_budget_s", self.time_budget_s)

    def lr_at(self, step: int) -> float:
        """Learning rate for a 0-based step: linear warm-up, then cosine decay to min_lr."""
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        decay_steps = max(1, self.max_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        return self.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (self.learning_rate - self.min_lr)


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


def make_optimizer(params: list[torch.Tensor], config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW that decays weight matrices and embeddings, never biases or LayerNorm gains."""
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = device.type in ("cuda", "cpu") and all(p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(0.9, 0.95), fused=fused)


class Trainer:
    def __init__(self, model, train_ids: torch.Tensor, val_ids: torch.Tensor | None, config: TrainConfig):
        block_size = model.config.block_size
        if train_ids.numel() < block_size + 1:
            raise ValueError(
                f"The training text is {train_ids.numel()} tokens long; it must be at least "
                f"block_size + 1 = {block_size + 1} tokens. Give more text or a smaller block_size."
            )
        self.model = model
        self.config = config
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device, model.config.n_embd)
        self.train_ids = train_ids.to(self.device)
        self.val_ids = val_ids.to(self.device) if val_ids is not None and val_ids.numel() >= 2 else None
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the step in progress; safe from any thread, any number of times."""
        self._stop.set()

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.no_grad()
    def estimate_loss(self, data: torch.Tensor) -> float:
        """Mean loss over eval_iters batches drawn the same way every time."""
        was_training = self.model.training
        self.model.eval()
        generator = torch.Generator().manual_seed(self.config.seed + 1)
        total = 0.0
        for _ in range(self.config.eval_iters):
            x, y = get_batch(data, self.model.config.block_size, self.config.batch_size, generator)
            with self._autocast():
                _, loss = self.model(x, y)
            total += loss.item()
        self.model.train(was_training)
        return total / self.config.eval_iters

    def run(self):
        """Train, yielding one TrainEvent per step; raises TrainingDiverged on a non-finite loss.

        However the loop ends (done, stop(), an error, or the consumer closing the generator),
        the model is left in float32 on its device with its last finite weights.
        """
        cfg, model = self.config, self.model
        model.to(self.device)
        model.train()
        # On a CPU with native bf16, compute in bf16 weights; elsewhere bf16 means autocast.
        master = BF16MasterWeights(model) if self.precision == "bf16" and self.device.type == "cpu" else None
        params = master.master if master else [p for p in model.parameters() if p.requires_grad]
        optimizer = make_optimizer(params, cfg, self.device)
        try:
            yield from self._loop(optimizer, params, master)
        finally:
            if master is not None:
                master.restore_float32()
            weights_changed(model)

    def _loop(self, optimizer, params, master):
        cfg, model = self.config, self.model
        generator = torch.Generator().manual_seed(cfg.seed)
        block_size = model.config.block_size
        autocast = self._autocast if master is None else nullcontext
        # The weights that last gave a finite loss: restored if the next step diverges.
        last_good = [p.detach().clone() for p in params]
        start = time.perf_counter()
        train_time, tokens = 0.0, 0
        for step in range(cfg.max_steps):
            over_budget = cfg.time_budget_s is not None and time.perf_counter() - start >= cfg.time_budget_s
            if step > 0 and (self._stop.is_set() or over_budget):
                yield self._final_event(step, last_loss, lr, tokens / max(train_time, 1e-9), start, stopped=True)
                return
            step_start = time.perf_counter()
            lr = cfg.lr_at(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = get_batch(self.train_ids, block_size, cfg.batch_size, generator)
            with autocast():
                _, loss = model(x, y)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                self._roll_back(params, last_good, optimizer)
                raise self._diverged(step + 1, "loss", loss_value)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if master is not None:
                master.grads_to_master()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip).item()
            if not math.isfinite(grad_norm):
                self._roll_back(params, last_good, optimizer)
                raise self._diverged(step + 1, "gradient norm", grad_norm)
            with torch.no_grad():
                torch._foreach_copy_(last_good, params)  # these weights just gave a finite loss
            optimizer.step()
            if master is not None:
                master.master_to_model()
            # Neither the fused step nor master_to_model bumps the version counters that
            # gpt/fast_weights.py watches: drop the model's bf16 decode copies explicitly.
            weights_changed(model)
            train_time += time.perf_counter() - step_start
            tokens += x.numel()
            last_loss = loss_value
            done = step + 1 == cfg.max_steps
            evaluate = (step + 1) % cfg.eval_interval == 0 or done
            yield TrainEvent(
                step=step + 1,
                max_steps=cfg.max_steps,
                train_loss=loss_value,
                val_loss=self.estimate_loss(self.val_ids) if evaluate and self.val_ids is not None else None,
                eval_train_loss=self.estimate_loss(self.train_ids) if evaluate else None,
                lr=lr,
                tokens_per_s=tokens / max(train_time, 1e-9),
                elapsed_s=time.perf_counter() - start,
                device=self.device.type,
                precision=self.precision,
                done=done,
            )

    def _final_event(self, step, last_loss, lr, tokens_per_s, start, stopped):
        return TrainEvent(
            step=step,
            max_steps=self.config.max_steps,
            train_loss=last_loss,
            val_loss=self.estimate_loss(self.val_ids) if self.val_ids is not None else None,
            eval_train_loss=self.estimate_loss(self.train_ids),
            lr=lr,
            tokens_per_s=tokens_per_s,
            elapsed_s=time.perf_counter() - start,
            device=self.device.type,
            precision=self.precision,
            done=True,
            stopped=stopped,
        )

    @staticmethod
    @torch.no_grad()
    def _roll_back(params, last_good, optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        torch._foreach_copy_(params, last_good)

    def _diverged(self, step: int, what: str, value: float) -> TrainingDiverged:
        lr = self.config.learning_rate
        return TrainingDiverged(
            f"Training diverged at step {step}: the {what} became {value}. The model keeps its last "
            f"finite weights. Lower the learning rate (now {lr:g}; try {lr / 10:g}) or the model size, "
            "then train again."
        )
