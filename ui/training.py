"""Training a session's model: checked settings, a one-at-a-time queue, and the run itself.

The run is a generator of TrainUpdates that the Train tab turns into UI updates; tests
consume the same generator. Only one training runs at a time (the CPU has two cores):
the others wait in TrainingQueue, in order, and see their position. Stop is cooperative:
it asks the Trainer to end after the current step, so the run finishes normally, with a
final evaluation, and the model it reached becomes the session's model. A run that is
abandoned (tab closed, client gone) releases its place when its generator is closed, and
a holder that has not made progress for STALE_AFTER_S loses its place to the next.
"""

from __future__ import annotations

import ctypes
import gc
import math
import threading
import time
from dataclasses import dataclass, field

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, TrainingDiverged, make_tokenizer, split_ids
from gpt.checkpoint import save
from gpt.checks import one_of, parse_float, parse_int, parse_text
from gpt.sample import StreamDecoder
from viz import loss_curve

from . import limits, threads
from .attention import attention_maps, probe_figure, token_pieces
from .gpu import on_gpu
from .plan import StepTimer
from .sessions import ModelHandle, SessionRegistry

UPDATE_INTERVAL_S = 0.5  # at most about two UI updates a second, plus one per evaluation
EVALUATIONS_PER_RUN = 10
SAMPLE_CHARS = 240  # length of the sample written at each evaluation
PROBE = "ROMEO:\nBut soft, what light through yonder window breaks?"
STALE_AFTER_S = 120.0
VALIDATION_FRACTION = 0.1


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    text: str
    tokenizer: str
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    max_steps: int
    batch_size: int
    learning_rate: float
    dropout: float
    time_budget_s: float
    watch_layer: int
    seed: int = 1337


def parse_settings(
    text,
    tokenizer,
    n_layer,
    n_head,
    n_embd,
    block_size,
    max_steps,
    batch_size,
    learning_rate,
    dropout,
    time_budget_s,
    watch_layer,
) -> TrainSettings:
    """Check raw values from the browser or an API client against the caps in limits."""
    text = parse_text(
        "training text",
        text,
        limits.MAX_TEXT_CHARS,
        "paste some text, upload a .txt file, or use the bundled Shakespeare",
    )
    if not text.strip():
        raise ValueError("The training text is only whitespace: paste some text with words in it.")
    settings = TrainSettings(
        text=text,
        tokenizer=one_of("tokenizer", tokenizer, ("char", "bpe")),
        n_layer=parse_int("n_layer", n_layer, 1, 24),
        n_head=parse_int("n_head", n_head, 1, 32),
        n_embd=parse_int("n_embd", n_embd, 8, 1536),
        block_size=parse_int("block_size", block_size, 2, limits.MAX_BLOCK_SIZE),
        max_steps=parse_int(
            "max_steps", max_steps, 1, limits.MAX_STEPS, hint="That is the per-run limit: choose fewer steps."
        ),
        batch_size=parse_int("batch_size", batch_size, 1, limits.MAX_BATCH_SIZE),
        learning_rate=parse_float(
            "learning_rate",
            learning_rate,
            0.0,
            limits.MAX_LEARNING_RATE,
            low_open=True,
            hint="Typical values are 1e-4 to 3e-3; larger ones make the loss blow up.",
        ),
        dropout=parse_float("dropout", dropout, 0.0, 0.9),
        time_budget_s=parse_float(
            "time_budget_s",
            time_budget_s,
            0.0,
            limits.MAX_TRAIN_SECONDS,
            low_open=True,
            hint=f"Runs are limited to {limits.MAX_TRAIN_SECONDS:.0f} s: choose a shorter budget.",
        ),
        watch_layer=parse_int("watch_layer", watch_layer, 0, 23),
    )
    tokens = settings.batch_size * settings.block_size
    if tokens > limits.MAX_TOKENS_PER_STEP:
        raise ValueError(
            f"batch_size x block_size is {tokens:,} tokens per step; the limit is {limits.MAX_TOKENS_PER_STEP:,}. "
            "Lower batch_size or block_size."
        )
    return settings


@dataclass(frozen=True)
class Prepared:
    settings: TrainSettings
    tokenizer: object
    config: GPTConfig
    train_config: TrainConfig
    train_ids: torch.Tensor
    val_ids: torch.Tensor


def prepare(settings: TrainSettings, timer: StepTimer) -> Prepared:
    """Tokenize the text and build the model's config, refusing shapes over the caps."""
    s = settings
    tokenizer = make_tokenizer(s.tokenizer, s.text)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        block_size=s.block_size,
        n_layer=s.n_layer,
        n_head=s.n_head,
        n_embd=s.n_embd,
        dropout=s.dropout,
    )
    if config.num_parameters > limits.MAX_PARAMETERS:
        hint = (
            " or use the char tokenizer (BPE's vocabulary adds a row of n_embd weights per token)"
            if s.tokenizer == "bpe"
            else ""
        )
        raise ValueError(
            f"This model would have {config.num_parameters:,} parameters; the limit is {limits.MAX_PARAMETERS:,}. "
            f"Lower n_layer or n_embd{hint}."
        )
    train_ids, val_ids = split_ids(tokenizer.encode(s.text), s.block_size, VALIDATION_FRACTION)
    step_s = timer.seconds(config, s.batch_size)
    expected_steps = max(1, min(s.max_steps, int(s.time_budget_s / max(step_s, 1e-6))))
    train_config = TrainConfig(
        max_steps=s.max_steps,
        batch_size=s.batch_size,
        learning_rate=s.learning_rate,
        min_lr=s.learning_rate / 10,
        warmup_steps=min(100, s.max_steps // 10),
        eval_interval=max(1, math.ceil(expected_steps / EVALUATIONS_PER_RUN)),
        eval_iters=10 if step_s < 0.05 else (5 if step_s < 0.5 else 2),  # keep evaluations a small share
        seed=s.seed,
        device=timer.device.type,
        time_budget_s=s.time_budget_s,
    )
    return Prepared(s, tokenizer, config, train_config, train_ids, val_ids)


# --- one training at a time ------------------------------------------------------------------


@dataclass(eq=False)
class TrainingJob:
    """One session's training, from the moment it queues until it ends."""

    sid: str
    watch_layer: int = 0
    trainer: Trainer | None = None
    cancelled: bool = False  # Stop pressed (or session ended) while waiting or running
    abandoned: bool = False  # the session is gone: do not hand it the model
    last_beat: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        self.cancelled = True
        if self.trainer is not None:
            self.trainer.stop()

    def abandon(self) -> None:
        self.abandoned = True
        self.stop()

    def beat(self) -> None:
        self.last_beat = time.monotonic()


class TrainingQueue:
    """First come, first served; the job at the head holds the (only) training slot."""

    def __init__(self, max_waiting: int = limits.MAX_WAITING_TRAININGS, stale_after_s: float = STALE_AFTER_S):
        self.max_waiting = max_waiting
        self.stale_after_s = stale_after_s
        self._order: list[TrainingJob] = []
        self._cond = threading.Condition()

    def join(self, job: TrainingJob) -> None:
        with self._cond:
            if len(self._order) > self.max_waiting:
                raise ValueError(
                    f"{len(self._order) - 1} trainings are already waiting (the limit is {self.max_waiting}). "
                    "Try again in a few minutes."
                )
            self._order.append(job)

    def position(self, job: TrainingJob) -> int:
        """0 when the job holds the slot, n when n jobs are ahead of it."""
        with self._cond:
            return self._order.index(job)

    def wait_turn(self, job: TrainingJob, heartbeat_s: float = 1.0, repeat_s: float = 5.0):
        """Yield the job's position when it changes (and every repeat_s, so an abandoned
        waiter's generator can be closed); return when it is the job's turn or it was
        cancelled. Blocks on a condition, woken by leave() and wake()."""
        shown, shown_at = None, 0.0
        while True:
            with self._cond:
                self._drop_stale_holder()
                if job.cancelled or job not in self._order:
                    return
                position = self._order.index(job)
                if position == 0:
                    return
                job.beat()
                if position == shown and time.monotonic() - shown_at < repeat_s:
                    self._cond.wait(heartbeat_s)
                    continue
            shown, shown_at = position, time.monotonic()
            yield position

    def leave(self, job: TrainingJob) -> None:
        with self._cond:
            if job in self._order:
                self._order.remove(job)
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._order)

    def _drop_stale_holder(self) -> None:
        if self._order and time.monotonic() - self._order[0].last_beat > self.stale_after_s:
            stale = self._order.pop(0)
            stale.abandon()
            self._cond.notify_all()


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainUpdate:
    """What the Train tab shows; None means "unchanged"."""

    status: str
    loss: object | None = None  # plotly Figure
    samples: str | None = None
    attention: object | None = None  # plotly Figure
    finished: bool = False
    handle: ModelHandle | None = None  # the session's new model, on the last update
    model: object | None = None  # from run_on_device: the trained model, on its last update
    event: object | None = None  # the TrainEvent that ended the run, with the model


@dataclass
class _History:
    steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)
    samples: list = field(default_factory=list)

    def figure(self):
        return loss_curve(self.steps, self.losses, self.val_steps, self.val_losses, title="Loss (lower is better)")

    def samples_text(self, keep: int = 4) -> str:
        return "\n\n".join(reversed(self.samples[-keep:]))


def stop_training(registry: SessionRegistry, queue: TrainingQueue, sid: str) -> str:
    job = registry.job(sid)
    if job is None:
        return "Nothing to stop: no training is running in this session."
    job.stop()
    queue.wake()
    return (
        "Stopping after the current step…" if job.trainer is not None else "Cancelled: your training had not started."
    )


def set_watch_layer(registry: SessionRegistry, sid: str, layer) -> None:
    job = registry.job(sid)
    if job is not None:
        try:
            job.watch_layer = int(layer)
        except (TypeError, ValueError):
            pass


def train(registry: SessionRegistry, queue: TrainingQueue, timer: StepTimer, sid: str, settings: TrainSettings):
    """Queue, train and hand over the model: a generator of TrainUpdates."""
    prepared = prepare(settings, timer)  # errors here come before queueing
    job = TrainingJob(sid, watch_layer=settings.watch_layer)
    registry.begin_job(sid, job)
    try:
        queue.join(job)
        for position in queue.wait_turn(job):
            ahead = "1 training is" if position == 1 else f"{position} trainings are"
            yield TrainUpdate(
                status=f"**Waiting:** {ahead} ahead of yours (one runs at a time). Press Stop to leave the queue."
            )
        if job.cancelled:
            yield TrainUpdate(status="Cancelled before it started. Your model is unchanged.", finished=True)
            return
        for update in run_on_device(job, prepared):
            if update.model is not None:  # the last update: hand the model to the session
                handle = _hand_over(registry, job, prepared, update.model, update.event)
                status = update.status if handle else "The session ended, so the trained model was discarded."
                update = TrainUpdate(
                    status, update.loss, update.samples, update.attention, finished=True, handle=handle
                )
            yield update
    finally:
        queue.leave(job)
        registry.end_job(sid, job)
        release_memory()


def release_memory() -> None:
    """Give the memory a finished training used (optimizer state, activations) back to the OS.

    Python frees it, but glibc's allocator keeps most of it for reuse, so the process would
    stay at its high-water mark; malloc_trim returns it. Nothing happens off glibc."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _status(event, settings: TrainSettings) -> str:
    val = f" · val {event.val_loss:.3f}" if event.val_loss is not None else ""
    per_step = event.elapsed_s / max(event.step, 1)
    left = min((event.max_steps - event.step) * per_step, max(settings.time_budget_s - event.elapsed_s, 0.0))
    return (
        f"**Step {event.step:,} / {event.max_steps:,}** · loss {event.train_loss:.3f}{val} · "
        f"{event.tokens_per_s:,.0f} tokens/s · {event.elapsed_s:.1f} s elapsed · about {left:.0f} s left · "
        f"{event.device.upper()} {event.precision}"
    )


def _sample(model, tokenizer, text: str, step: int, val_loss) -> str:
    """A short continuation written by the model as it is now (fixed seed: only the model changes)."""
    start = "\n" if "\n" in text else text[0]
    ids = tokenizer.encode(start)
    n_tokens = SAMPLE_CHARS if tokenizer.kind == "char" else SAMPLE_CHARS // 4
    generator = torch.Generator().manual_seed(7)
    decoder = StreamDecoder(tokenizer)
    out = [
        decoder.push(int(t[0, 0]))
        for t in model.generate_stream(torch.tensor([ids]), n_tokens, temperature=0.8, generator=generator)
    ]
    loss = f", val loss {val_loss:.2f}" if val_loss is not None else ""
    return f"— step {step}{loss} —\n" + ("".join(out) + decoder.flush()).strip("\n")


def _probe(tokenizer, text: str, block_size: int) -> list[int]:
    try:
        ids = tokenizer.encode(PROBE)
    except ValueError:  # the char tokenizer never saw some of its characters
        ids = tokenizer.encode(text[:64])
    return ids[: min(block_size, 48)]


@on_gpu(duration=int(limits.MAX_TRAIN_SECONDS) + 60)
def run_on_device(job: TrainingJob, prepared: Prepared):
    """Build and train the model, yielding TrainUpdates; the last one carries the model.

    No session state is touched here, so on a ZeroGPU Space (where this runs in a GPU
    worker process) the model comes back through the yielded update."""
    s, tokenizer = prepared.settings, prepared.tokenizer
    threads.for_training()
    torch.manual_seed(s.seed)
    model = GPT(prepared.config)
    trainer = Trainer(model, prepared.train_ids, prepared.val_ids, prepared.train_config)
    job.trainer = trainer
    if job.cancelled:
        trainer.stop()
    probe_ids = _probe(tokenizer, s.text, prepared.config.block_size)
    probe_pieces = token_pieces(tokenizer, probe_ids)
    history, attention, last_yield = _History(), None, 0.0
    events = trainer.run()
    event = None
    yield TrainUpdate(
        status=f"Training a {prepared.config.num_parameters / 1e6:.2f}M-parameter model "
        f"on {trainer.device.type.upper()} ({trainer.precision})…",
        loss=history.figure(),
    )
    while True:
        threads.for_training()  # this generator may resume on another worker thread
        job.beat()
        try:
            event = next(events)
        except StopIteration:
            break
        except TrainingDiverged as exc:
            raise TrainingDiverged(f"{exc} Your session keeps its previous model.") from None
        history.steps.append(event.step)
        history.losses.append(event.train_loss)
        evaluated = event.eval_train_loss is not None
        if event.val_loss is not None:
            history.val_steps.append(event.step)
            history.val_losses.append(event.val_loss)
        samples = None
        if evaluated:
            history.samples.append(_sample(model, tokenizer, s.text, event.step, event.val_loss))
            samples = history.samples_text()
            layer = min(max(job.watch_layer, 0), prepared.config.n_layer - 1)
            maps = attention_maps(model, probe_ids)
            attention = probe_figure(maps[layer], probe_pieces, layer, event.step)
        now = time.monotonic()
        if evaluated or event.done or now - last_yield >= UPDATE_INTERVAL_S:
            last_yield = now
            yield TrainUpdate(
                status=_status(event, s),
                loss=history.figure(),
                samples=samples,
                attention=attention if evaluated else None,
            )
    if event is None:  # stopped before the first step
        yield TrainUpdate(status="Stopped before the first step. Your model is unchanged.", finished=True)
        return
    model.eval()
    how = "Stopped" if event.stopped else "Done"
    status = (
        f"✓ **{how} at step {event.step:,}** in {event.elapsed_s:.1f} s · loss {event.train_loss:.3f}"
        + (f" · val {event.val_loss:.3f}" if event.val_loss is not None else "")
        + ". This is now your session's model: try it in **Generate** and **Attention**, download it in **Model**."
    )
    yield TrainUpdate(
        status=status,
        loss=history.figure(),
        samples=history.samples_text(),
        attention=attention,
        model=model,
        event=event,
    )


def _hand_over(registry: SessionRegistry, job: TrainingJob, prepared: Prepared, model, event) -> ModelHandle | None:
    if job.abandoned:
        return None
    s = prepared.settings
    meta = {
        "steps": event.step,
        "train_loss": event.eval_train_loss,
        "val_loss": event.val_loss,
        "tokens_per_s": round(event.tokens_per_s),
        "train_seconds": round(event.elapsed_s, 1),
        "device": event.device,
        "precision": event.precision,
        "stopped_early": event.stopped,
        "text": f"{len(s.text):,} characters, starting {s.text[:40]!r}",
        "train_config": {k: v for k, v in vars(prepared.train_config).items()},
    }
    label = f"trained here ({s.tokenizer}, {prepared.config.num_parameters / 1e6:.2f}M parameters, {event.step} steps)"
    path = registry.directory(job.sid) / f"mirador-{s.tokenizer}-{int(time.time())}.safetensors"
    save(path, model, prepared.tokenizer, meta)
    handle = ModelHandle.serving(model, prepared.tokenizer, meta, "trained", label, path)
    registry.set_model(job.sid, handle)
    return handle
