"""One training at a time: a first-come, first-served queue of training jobs.

Only one training runs at a time (the CPU has two cores): the others wait here, in order, and
see their position. A job at the head holds the (only) training slot. A run that is abandoned
(tab closed, client gone) releases its place when its generator is closed, and a holder that has
not made progress for STALE_AFTER_S loses its place to the next.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from gpt import Trainer

from . import limits

STALE_AFTER_S = 120.0
@dataclass(eq=False)
class TrainingJob:
    """One session's training, from the moment it queues until it ends."""

    sid: str
    watch_layer: int = 0
    probe_width_px: int | None = None  # the live attention figure's width on the page, if known
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
