"""Training a session's model: the run itself, and handing the model over at its end.

The run is a generator of TrainUpdates that the Train tab turns into UI updates; tests
consume the same generator. Runs wait their turn in ui/training_queue.py. Stop is
cooperative: it asks the Trainer to end after the current step, so the run finishes
normally, with a final evaluation, and the model it reached becomes the session's model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, TrainingDiverged, make_tokenizer, split_ids
from gpt.checkpoint import save
from gpt.data import text_snippet
from gpt.errors import UserError
from gpt.settings import TrainingSettings
from gpt.tokenizer import text_pieces
from locales import Message, text
from viz import loss_curve

from . import limits, threads
from .attention import attention_maps, probe_figure, token_pieces
from .gpu import on_gpu
from .cadence import UPDATE_INTERVAL_S, sample_tokens
from .memory import release_memory
from .sessions import ModelHandle, SessionRegistry
from .train_form import TrainRequest
from .training_feed import TrainingFeed, train_in_background
from .training_queue import FINISHING, PREPARING, WAITING, TrainingJob, TrainingQueue, waiting_text
from .watch import begin_record, choose_probe, measure_strip, record_evaluation, views

if TYPE_CHECKING:
    from .calibration import StepTimer

VALIDATION_FRACTION = 0.1


@dataclass(frozen=True)
class Prepared:
    request: TrainRequest
    tokenizer: object
    config: GPTConfig
    train_config: TrainConfig
    train_ids: torch.Tensor
    val_ids: torch.Tensor
    probe_ids: list[int]  # the sentence whose attention the run records (ui/watch.py)


def prepare(request: TrainRequest, timer: StepTimer, beside_browser: bool = False) -> Prepared:
    """Tokenize the text and build the model's config, refusing shapes over the caps and a probe
    sentence the tokenizer cannot encode."""
    s = request.settings
    tokenizer = make_tokenizer(s.tokenizer, request.text)
    config = s.model_config(tokenizer.vocab_size)
    if config.num_parameters > limits.MAX_SERVED_PARAMETERS:
        lower = "train.lower_shape_bpe" if s.tokenizer == "bpe" else "train.lower_shape"
        raise UserError("train.too_many_parameters", count=config.num_parameters, limit=limits.MAX_SERVED_PARAMETERS).then(lower)
    ids = tokenizer.encode(request.text)
    probe_ids = choose_probe(tokenizer, request.probe, ids, s.block_size)
    train_ids, val_ids = split_ids(ids, s.block_size, VALIDATION_FRACTION)
    step_seconds = timer.seconds(config, s.batch_size, timer.threads(beside_browser), s.tokenizer)  # timed for the plan already
    train_config = s.train_config(step_seconds=step_seconds, device=timer.device.type)
    return Prepared(request, tokenizer, config, train_config, train_ids, val_ids, probe_ids)


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
    event: object | None = None  # from run_on_device: the TrainEvent that ended the run, with the model
    meta: dict | None = None  # from run_on_device: what the checkpoint records about the run, with the model
    watch: object | None = None  # ui.watch.WatchRecord of the run, when it changed (the replay reads it)
    views: object | None = None  # ui.watch.WatchViews: head metrics, head tags, surprise strip, when they changed


@dataclass
class _History:
    steps: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)
    samples: list = field(default_factory=list)

    def figure(self, lang: str = "en"):
        return loss_curve(self.steps, self.losses, self.val_steps, self.val_losses, lang=lang)

    def samples_text(self, keep: int = 4) -> str:
        return "\n\n".join(reversed(self.samples[-keep:]))


def stop_training(registry: SessionRegistry, queue: TrainingQueue, sid: str, lang: str = "en") -> str:
    """Stop this session's training, whatever state it is in (ui/training_queue.py)."""
    job = registry.job(sid)
    if job is None:
        return text("train.stop.nothing", lang)
    state = job.stop()
    if state in (PREPARING, WAITING):
        queue.leave(job)  # the ones behind move up at once; this job never runs
        return text("train.stop.cancelled", lang)
    queue.wake()
    if state == FINISHING:
        return text("train.stop.finishing", lang)
    return text("train.stop.stopping", lang)


def set_watch_layer(registry: SessionRegistry, sid: str, layer) -> None:
    job = registry.job(sid)
    if job is not None:
        try:
            job.watch_layer = int(layer)
        except (TypeError, ValueError):
            pass


def train(
    registry: SessionRegistry,
    queue: TrainingQueue,
    timer: StepTimer,
    sid: str,
    request: TrainRequest,
    probe_width_px: int | None = None,
    lang: str = "en",
    beside_browser: bool = False,
):
    """Queue, train and hand over the model: a generator of TrainUpdates, written in lang.
    beside_browser: started from a page open in a browser on this machine (ui/threads.py)."""
    job = TrainingJob(
        sid, watch_layer=request.watch_layer, probe_width_px=probe_width_px, beside_browser=beside_browser
    )
    registry.begin_job(sid, job)  # from here on Stop finds the job
    try:
        queue.join(job)  # refused at once when the line is full, before any work
        prepared = None if job.cancelled else prepare(request, timer, job.beside_browser)  # in line; its errors end the run
        for position in queue.wait_turn(job):
            yield TrainUpdate(status=waiting_text(position, queue.slots, lang))
        if not job.start():
            yield TrainUpdate(status=text("train.status.cancelled", lang), finished=True)
            return
        for update in run_on_device(job, prepared, lang):
            if update.watch is not None:
                job.watch = update.watch  # the Train tab's replay reads it while the run trains
            if update.model is not None:  # the last update: hand the model to the session
                job.finish()
                handle = _hand_over(registry, job, prepared, update.model, update.meta, update.watch)
                status = update.status if handle else text("train.status.discarded", lang)
                update = TrainUpdate(
                    status, update.loss, update.samples, update.attention, finished=True, handle=handle,
                    watch=update.watch, views=update.views,
                )
            yield update
    finally:
        queue.leave(job)
        registry.end_job(sid, job)
        release_memory()


def _overfitting(event, lang: str = "en") -> str:
    """The warning, when validation has risen for 3 evaluations in a row while training improved."""
    if not event.overfitting or event.best_step is None:
        return ""
    return text("train.status.overfitting", lang, step=event.best_step, val=event.best_val_loss)


def _status(event, settings: TrainingSettings, lang: str = "en") -> str:
    val = text("train.status.val", lang, val=event.val_loss) if event.val_loss is not None else ""
    per_step = event.elapsed_s / max(event.step, 1)
    left = min((event.max_steps - event.step) * per_step, max(settings.time_budget_s - event.elapsed_s, 0.0))
    return text(
        "train.status.step",
        lang,
        step=event.step,
        max_steps=event.max_steps,
        loss=event.train_loss,
        val=val,
        tokens_per_s=event.tokens_per_s,
        elapsed=event.elapsed_s,
        left=left,
        device=event.device.upper(),
        precision=event.precision,
    ) + _overfitting(event, lang)


def _sample(model, tokenizer, training_text: str, step: int, val_loss, lang: str = "en") -> str:
    """A short continuation written by the model as it is now (fixed seed: only the model changes)."""
    start = "\n" if "\n" in training_text else training_text[0]
    ids = tokenizer.encode(start)
    n_tokens = sample_tokens(tokenizer.kind)
    generator = torch.Generator().manual_seed(7)
    tokens = model.generate_stream(torch.tensor([ids]), n_tokens, temperature=0.8, generator=generator)
    written = "".join(text_pieces(tokenizer, (t[0, 0] for t in tokens), drop_incomplete=True))
    if val_loss is None:
        header = text("train.sample.header", lang, step=step)
    else:
        header = text("train.sample.header_val", lang, step=step, val=val_loss)
    return header + "\n" + written.strip("\n")


@on_gpu(duration=int(limits.MAX_TRAIN_SECONDS) + 60)
def run_on_device(job: TrainingJob, prepared: Prepared, lang: str = "en"):
    """Build and train the model, yielding TrainUpdates (written in lang); the last one carries the model.

    No session state is touched here, so on a ZeroGPU Space (where this runs in a GPU
    worker process) the model comes back through the yielded update."""
    with threads.training():  # counted among the trainings sharing the cores until the generator ends
        yield from _run(job, prepared, lang)


def _run(job: TrainingJob, prepared: Prepared, lang: str):
    request, tokenizer = prepared.request, prepared.tokenizer
    s = request.settings
    threads.for_app_work()  # building the models: on the page's side, not the training's thread
    torch.manual_seed(s.seed)
    model = GPT(prepared.config)
    trainer = Trainer(model, prepared.train_ids, prepared.val_ids, prepared.train_config)
    job.attach(trainer)
    probe_ids = prepared.probe_ids
    probe_pieces = token_pieces(tokenizer, probe_ids)
    model_at_eval = GPT(prepared.config).eval()  # the page draws from this copy (ui/training_feed.py)

    def probe_view(weights: GPT, step: int):
        """The probe's attention in the watched layer, as these weights see it at this step."""
        layer = min(max(job.watch_layer, 0), prepared.config.n_layer - 1)
        with threads.drawing():
            maps = attention_maps(weights, probe_ids)
        return probe_figure(maps[layer], probe_pieces, layer, step, job.probe_width_px, lang)

    with threads.drawing():
        record = begin_record(model, tokenizer, probe_ids, prepared.val_ids)  # the untrained model's attention: step 0
        watched = views(record, lang, job.probe_width_px)
    history, attention, last_yield = _History(), None, 0.0
    event = None
    yield TrainUpdate(
        status=text(
            "train.status.starting",
            lang,
            millions=prepared.config.num_parameters / 1e6,
            device=trainer.device.type.upper(),
            precision=trainer.precision,
        ),
        loss=history.figure(lang),
        watch=record,
        views=watched,
    )
    feed = TrainingFeed()
    policy = threads.policy()
    steps = train_in_background(trainer, model, feed, lambda: policy.for_training(job.beside_browser))
    try:
        finished = False
        while not finished:
            job.beat()
            try:
                taken = feed.take(timeout_s=UPDATE_INTERVAL_S)
            except TrainingDiverged as exc:
                raise exc.then("train.session_keeps_model") from None
            finished = taken.finished
            for event in taken.events:
                history.steps.append(event.step)
                history.losses.append(event.train_loss)
                if event.val_loss is not None:
                    history.val_steps.append(event.step)
                    history.val_losses.append(event.val_loss)
            samples = None
            for at_eval, weights in taken.evaluations:
                with threads.drawing():
                    model_at_eval.load_state_dict(weights)
                    history.samples.append(_sample(model_at_eval, tokenizer, request.text, at_eval.step, at_eval.val_loss, lang))
                    record_evaluation(model_at_eval, record, tokenizer, at_eval.step)  # every evaluation's snapshot
                samples = history.samples_text()
            if taken.evaluations:  # the figure of the newest evaluation only: older ones would be replaced at once
                attention = probe_view(model_at_eval, taken.evaluations[-1][0].step)
                with threads.drawing():
                    watched = views(record, lang, job.probe_width_px)  # the width tells a phone
            now = time.monotonic()
            if event is not None and (taken.evaluations or finished or now - last_yield >= UPDATE_INTERVAL_S):
                last_yield = now
                yield TrainUpdate(
                    status=_status(event, s, lang),
                    loss=history.figure(lang),
                    samples=samples,
                    attention=attention if taken.evaluations else None,
                    watch=record if taken.evaluations else None,
                    views=watched if taken.evaluations else None,
                )
    finally:
        trainer.stop()  # the page went away mid-run (or the run is over): end the steps too
        steps.join()
    if event is None:  # stopped before the first step
        yield TrainUpdate(status=text("train.status.not_started", lang), finished=True)
        return
    model.eval()
    if event.restored_best:  # the kept weights are the best evaluation's: show what they do, not the last's
        with threads.drawing():
            if len(record.val_ids) >= 2:
                record.strip = measure_strip(model, tokenizer, record.val_ids, event.best_step)
            watched = views(record, lang, job.probe_width_px)
        attention = probe_view(model, event.best_step)
    reason = event.stop_reason if event.stop_reason in ("stop", "time_budget") else "done"
    how = text(f"train.status.how.{reason}", lang)
    kept = (
        text("train.status.kept", lang, step=event.best_step, val=event.best_val_loss) if event.restored_best else ""
    )
    status = text(
        "train.status.done",
        lang,
        how=how,
        step=event.step,
        elapsed=event.elapsed_s,
        loss=event.train_loss,
        val=text("train.status.val", lang, val=event.val_loss) if event.val_loss is not None else "",
        kept=kept,
    ) + _overfitting(event, lang)
    yield TrainUpdate(
        status=status,
        loss=history.figure(lang),
        samples=history.samples_text(),
        attention=attention,
        model=model,
        event=event,
        watch=record,
        views=watched,
        meta={
            **trainer.summary(event),
            "text": f"{len(request.text):,} characters",
            "example": text_snippet(request.text),
        },
    )


def _hand_over(
    registry: SessionRegistry, job: TrainingJob, prepared: Prepared, model, meta: dict, record=None
) -> ModelHandle | None:
    """The trained model becomes the session's, its checkpoint (with the attention timeline of the
    run's record) ready to download."""
    if job.abandoned:
        return None
    threads.for_app_work()  # saving the checkpoint, on whichever of Gradio's threads resumed the run
    kind, millions = prepared.request.settings.tokenizer, prepared.config.num_parameters / 1e6
    label = Message.of("model.label.trained", kind=kind, millions=millions, steps=meta["steps"])
    path = registry.directory(job.sid) / f"mirador-{kind}-{int(time.time())}.safetensors"
    save(path, model, prepared.tokenizer, meta, timeline=record.timeline if record is not None else None)
    handle = ModelHandle.serving(model, prepared.tokenizer, meta, "trained", label, path, watch=record)
    registry.set_model(job.sid, handle)
    return handle
