"""The lecture's ladder in the Train tab: every stage of the lecture on the Training text, in one click.

The ladder (gpt/ladder.py) runs as one of the session's trainings: it waits its turn in the
training queue (ui/training_queue.py), holds a training slot while it runs, and Stop (the Train
tab's, or the ladder's own) ends the stage in progress after its current step and starts no
other. It never touches the session's model: each stage's model is trained, measured and
dropped; what remains is the table and the curves.

The run is a generator of LadderUpdates, as ui/training.py's is of TrainUpdates: the panel
(ui/ladder_panel.py) turns them into the page's updates, tests consume them directly.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from gpt.ladder import DEFAULT_SECONDS, Ladder, Stage, StagePoint, StageResult
from locales import text
from viz.ladder import Curve, Row, ladder_curves, ladder_table

from . import limits, threads
from .gpu import on_gpu
from .memory import release_memory
from .sessions import SessionRegistry
from .train_form import parse_field, parse_training_text
from .training_queue import TrainingJob, TrainingQueue, waiting_text

# Seconds each stage trains (default gpt.ladder.DEFAULT_SECONDS): tests and demos set it shorter.
SECONDS_VARIABLE = "MIRADOR_LADDER_SECONDS"
MAX_SECONDS_PER_STAGE = 60.0  # seven stages: at most seven minutes of a training slot


def seconds_per_stage(environ=os.environ) -> float:
    """The per-stage budget: MIRADOR_LADDER_SECONDS if set (0 < seconds <= 60), else 15 s."""
    value = environ.get(SECONDS_VARIABLE)
    if value is None:
        return DEFAULT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_SECONDS_PER_STAGE:  # nan fails too
        raise ValueError(
            f"{SECONDS_VARIABLE} must be a number of seconds above 0 and at most {MAX_SECONDS_PER_STAGE:g}, "
            f"got {value!r}: unset it for the default ({DEFAULT_SECONDS:g} s)."
        )
    return seconds


@dataclass(frozen=True)
class LadderUpdate:
    """What the ladder's panel shows; None means "unchanged"."""

    status: str
    figure: object | None = None  # plotly Figure: the validation curves
    table: str | None = None  # HTML: the stages beside the lecture's figures
    finished: bool = False


def stage_label(number: int, stage: Stage, lang: str) -> str:
    return f"{number + 1}. {text(f'ladder.stage.{stage.key}', lang)}"


@dataclass
class Progress:
    """The ladder so far: each stage's curve and, once it ended, its result."""

    stages: tuple[Stage, ...]
    parameters: list[int]
    seconds_per_stage: float
    points: dict[int, list[StagePoint]] = field(default_factory=dict)
    results: dict[int, StageResult] = field(default_factory=dict)

    def add(self, item: StagePoint | StageResult) -> None:
        if isinstance(item, StagePoint):
            self.points.setdefault(item.stage, []).append(item)
        else:
            self.results[item.number] = item

    def figure(self, lang: str):
        curves = []
        for number, points in sorted(self.points.items()):
            kept = [p for p in points if p.val_loss is not None]
            curves.append(Curve(stage_label(number, self.stages[number], lang), [p.seconds for p in kept],
                                [p.val_loss for p in kept], [p.step for p in kept]))
        return ladder_curves(curves, len(self.stages), lang)

    def table(self, lang: str) -> str:
        rows = []
        for number, (stage, parameters) in enumerate(zip(self.stages, self.parameters)):
            result = self.results.get(number)
            rows.append(Row(
                label=stage_label(number, stage, lang),
                idea=text(f"ladder.idea.{stage.key}", lang),
                parameters=parameters,
                steps=result.steps if result else None,
                seconds=result.seconds if result else None,
                val_loss=result.val_loss if result else None,
                lecture=stage.lecture_val_loss,
                stopped=bool(result and result.stopped),
            ))
        return ladder_table(rows, text("ladder.note", lang, seconds=self.seconds_per_stage), lang)


def run_ladder(registry: SessionRegistry, queue: TrainingQueue, sid: str, training_text, tokenizer,
               lang: str = "en", device: str = "auto", seconds: float | None = None):
    """Queue the ladder and run it on training_text: a generator of LadderUpdates, written in lang.
    The session's model stays as it is."""
    training_text = parse_training_text(training_text)
    tokenizer = parse_field("tokenizer", tokenizer)
    seconds = seconds_per_stage() if seconds is None else seconds
    job = TrainingJob(sid)
    registry.begin_job(sid, job)  # from here on Stop finds it; a second training is refused
    try:
        queue.join(job)  # refused at once when the line is full
        ladder = None
        if not job.cancelled:  # in line: the text is tokenized and every stage checked against the caps
            ladder = Ladder(training_text, seconds, tokenizer, device, max_parameters=limits.MAX_SERVED_PARAMETERS)
        for position in queue.wait_turn(job):
            yield LadderUpdate(status=waiting_text(position, queue.slots, lang))
        if not job.start():
            yield LadderUpdate(status=text("ladder.status.cancelled", lang), finished=True)
            return
        job.attach(ladder)  # Stop reaches the stage in progress (a Ladder stops as a Trainer does)
        yield from run_on_device(job, ladder, lang)
    finally:
        queue.leave(job)
        registry.end_job(sid, job)
        release_memory()


@on_gpu(duration=int(7 * MAX_SECONDS_PER_STAGE) + 60)
def run_on_device(job: TrainingJob, ladder: Ladder, lang: str = "en"):
    """Train the stages, yielding LadderUpdates; nothing of the session is touched here."""
    with threads.training():  # counted among the trainings sharing the cores until it ends
        count, seconds = len(ladder.stages), ladder.seconds_per_stage
        progress = Progress(ladder.stages, [c.num_parameters for c in ladder.configs], seconds)
        start = time.monotonic()
        yield LadderUpdate(
            status=text("ladder.status.starting", lang, count=count, seconds=seconds, device=ladder.device.type.upper()),
            figure=progress.figure(lang),
            table=progress.table(lang),
        )
        for item in ladder.run():
            job.beat()
            progress.add(item)
            number = item.stage if isinstance(item, StagePoint) else item.number
            val = item.val_loss
            status = text(
                "ladder.status.stage", lang, number=number + 1, count=count,
                name=text(f"ladder.stage.{ladder.stages[number].key}", lang),
                step=item.step if isinstance(item, StagePoint) else item.steps,
                val="—" if val is None else f"{val:.3f}",
                elapsed=item.seconds, seconds=seconds,
            )
            table = progress.table(lang) if isinstance(item, StageResult) else None
            yield LadderUpdate(status=status, figure=progress.figure(lang), table=table)
        if ladder.stopped:
            whole = sum(not r.stopped for r in progress.results.values())  # stages that ran their full budget
            status = text("ladder.status.stopped", lang, done=whole, count=count)
        else:
            status = text("ladder.status.done", lang, count=count, elapsed=time.monotonic() - start)
        yield LadderUpdate(status=status, figure=progress.figure(lang), table=progress.table(lang), finished=True)
