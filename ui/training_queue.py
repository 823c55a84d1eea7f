"""Training slots: a first-come, first-served queue of training jobs.

`slots` trainings run at once (ui/threads.py RunPolicy.training_slots: a slot per core by default); the jobs at
the head of the line hold them, the others wait here, in order, and see how many are ahead.
At most max_waiting wait; the next one is refused at once. Gradio hands every /train call
straight to this queue (the event has no concurrency limit of its own), so the refusal, the
"Waiting" message and Stop always come from here.

A job goes through four states, and Stop (TrainingJob.stop) works in each: PREPARING
(registered, its text being tokenized), WAITING (in the line), RUNNING (it holds a slot) and
FINISHING (its model being handed to the session). A job stopped before RUNNING never runs.
A run that is abandoned (tab closed, client gone) releases its place when its generator is
closed, and a holder that has not made progress for STALE_AFTER_S loses its place to the next.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from gpt import Trainer
from gpt.errors import UserError
from locales import text

from . import limits, threads

STALE_AFTER_S = 120.0
PREPARING, WAITING, RUNNING, FINISHING = "preparing", "waiting", "running", "finishing"


@dataclass(eq=False)
class TrainingJob:
    """One session's training, from the moment it is registered until it ends."""

    sid: str
    watch_layer: int = 0
    probe_width_px: int | None = None  # the live attention figure's width on the page, if known
    beside_browser: bool = False  # started from a page open on this machine: its steps leave the browser a core
    watch: object | None = None  # ui.watch.WatchRecord of the run, once it starts: the Train tab replays it
    replay_pinned: int | None = None  # the step the person chose on the replay slider; None: follow the latest
    trainer: Trainer | None = None
    state: str = PREPARING
    cancelled: bool = False  # Stop pressed (or session ended) in any state
    abandoned: bool = False  # the session is gone: do not hand it the model
    last_beat: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stop(self) -> str:
        """Cancel the job (or end its run after the current step); returns the state it was in."""
        with self._lock:
            self.cancelled = True
            if self.trainer is not None:
                self.trainer.stop()
            return self.state

    def abandon(self) -> None:
        self.abandoned = True
        self.stop()

    def start(self) -> bool:
        """WAITING -> RUNNING, unless the job was cancelled: then it must never run."""
        with self._lock:
            if self.cancelled:
                return False
            self.state = RUNNING
            return True

    def attach(self, trainer: Trainer) -> None:
        """The run's trainer, so that Stop reaches it (a Stop that came first stops it at once)."""
        with self._lock:
            self.trainer = trainer
            if self.cancelled:
                trainer.stop()

    def finish(self) -> None:
        with self._lock:
            self.state = FINISHING

    def beat(self) -> None:
        self.last_beat = time.monotonic()


class TrainingQueue:
    """First come, first served; the first `slots` jobs in line hold the training slots."""

    def __init__(
        self,
        slots: int | None = None,  # None: the process's policy's (ui/threads.py)
        max_waiting: int = limits.MAX_WAITING_TRAININGS,
        stale_after_s: float = STALE_AFTER_S,
    ):
        slots = threads.policy().training_slots if slots is None else slots
        if slots < 1 or max_waiting < 0:
            raise ValueError(f"A training queue needs at least one slot and max_waiting >= 0, got {slots} and {max_waiting}.")
        self.slots = slots
        self.max_waiting = max_waiting
        self.stale_after_s = stale_after_s
        self._order: list[TrainingJob] = []
        self._cond = threading.Condition()

    def join(self, job: TrainingJob) -> None:
        """Get in line, or be refused at once when max_waiting are already waiting."""
        with self._cond:
            if job.cancelled:  # stopped before it got here: it takes no place
                return
            if len(self._order) >= self.slots + self.max_waiting:  # every slot taken, the line full
                raise UserError("train.queue_full", count=len(self._order) - self.slots, limit=self.max_waiting)
            self._order.append(job)
            job.state = WAITING

    def position(self, job: TrainingJob) -> int:
        """How many jobs are ahead of this one in line (running or waiting); below `slots`, it runs."""
        with self._cond:
            return self._order.index(job)

    def wait_turn(self, job: TrainingJob, heartbeat_s: float = 1.0, repeat_s: float = 5.0):
        """Yield how many jobs are ahead of this one when that changes (and every repeat_s, so an
        abandoned waiter's generator can be closed); return when the job holds a slot or was
        cancelled. Blocks on a condition, woken by leave() and wake()."""
        shown, shown_at = None, 0.0
        while True:
            with self._cond:
                self._drop_stale_holders()
                if job.cancelled or job not in self._order:
                    return
                position = self._order.index(job)
                if position < self.slots:
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

    def running(self) -> int:
        with self._cond:
            return min(len(self._order), self.slots)

    def waiting(self) -> int:
        with self._cond:
            return max(0, len(self._order) - self.slots)

    def __len__(self) -> int:
        with self._cond:
            return len(self._order)

    def _drop_stale_holders(self) -> None:
        now = time.monotonic()
        stale = [job for job in self._order[: self.slots] if now - job.last_beat > self.stale_after_s]
        for job in stale:
            self._order.remove(job)
            job.abandon()
        if stale:
            self._cond.notify_all()


def waiting_text(position: int, slots: int, lang: str = "en") -> str:
    """The status of a run waiting in line: how many are ahead, and how many run at once."""
    waiting = "train.status.waiting.one" if position == 1 else "train.status.waiting.many"
    at_once = text("train.status.one_at_a_time", lang) if slots == 1 else text("train.status.at_a_time", lang, slots=slots)
    return text(waiting, lang, count=position, at_once=at_once)
