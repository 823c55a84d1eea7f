"""The training thread and the page: steps never wait for samples, figures or the browser.

A training run in the app has two sides. The steps run in a thread of their own (see
`train_in_background`), one after the other, as fast as the cores allow. The page's side, the
generator that Gradio drives, writes the sample and draws the figures at each evaluation and
streams the updates. If both sides took turns in one thread, every step would wait while a
sample was written, a figure drawn or an update sent (Gradio resumes a generator only after it
has sent the previous update, on whichever worker thread is free), and the user's clock would
count all of it as training time.

At each evaluation the training thread copies the weights (a few MB for the app's models, well
under a millisecond) and goes on; the page's side draws from that copy, so what it shows is the
model as it was at that step, while the next steps already run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch

from . import threads


def weights_copy(model) -> dict[str, torch.Tensor]:
    """The model's weights now, in float32 (mid-training they may be the bf16 compute weights)."""
    return {name: t.detach().to(torch.float32, copy=True) for name, t in model.state_dict().items()}


@dataclass
class Taken:
    """What the page's side takes from the feed in one go."""

    events: list = field(default_factory=list)  # every step's TrainEvent since the last take
    evaluations: list = field(default_factory=list)  # (TrainEvent, weights_copy) per evaluation
    finished: bool = False  # the training thread has ended (the model is final)


class TrainingFeed:
    """A one-way hand-off from the training thread to the page's side, safe across threads."""

    def __init__(self):
        self._changed = threading.Condition()
        self._events: list = []
        self._evaluations: list = []
        self._finished = False
        self._error: BaseException | None = None

    # --- the training thread's side ---

    def put(self, event, weights: dict | None) -> None:
        with self._changed:
            self._events.append(event)
            if weights is not None:
                self._evaluations.append((event, weights))
            self._changed.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        with self._changed:
            self._finished, self._error = True, error
            self._changed.notify_all()

    # --- the page's side ---

    def take(self, timeout_s: float) -> Taken:
        """Everything new, waiting at most timeout_s for something to happen; raises the
        training's own error (TrainingDiverged, ...) once everything before it has been taken."""
        with self._changed:
            if not (self._events or self._finished):
                self._changed.wait(timeout_s)
            taken = Taken(self._events, self._evaluations, self._finished)
            self._events, self._evaluations = [], []
            if self._finished and self._error is not None and not taken.events:
                error, self._error = self._error, None
                raise error
            if self._error is not None:
                taken.finished = False  # hand over the events first; the error comes on the next take
            return taken


def train_in_background(trainer, model, feed: TrainingFeed, before_step=None) -> threading.Thread:
    """Start trainer.run() in its own thread, feeding every event (and a copy of the weights at
    each evaluation) to feed. The thread ends when the run does; trainer.stop() ends it early.
    before_step(): called in that thread before every step, to set its thread count (ui/threads.py
    RunPolicy.for_training; by default the process's policy for a run whose page is elsewhere)."""
    before_step = before_step or threads.policy().for_training

    def steps():
        error = None
        try:
            before_step()
            for event in trainer.run():
                evaluated = event.eval_train_loss is not None
                feed.put(event, weights_copy(model) if evaluated else None)
                before_step()  # before the next step: a request or a drawing may have started
        except BaseException as exc:  # TrainingDiverged and any other: raised on the page's side
            error = exc
        finally:
            threads.for_app_work()  # torch's default for the threads that start after this one
            feed.finish(error)

    thread = threading.Thread(target=steps, name="mirador-training", daemon=True)
    thread.start()
    return thread
