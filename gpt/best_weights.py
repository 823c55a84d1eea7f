"""The best-model guard: the weights of the lowest validation loss seen, and whether the run
is overfitting.

A small model trained long on a small text learns the text by heart: its loss on the
training text keeps falling while its loss on held-out text turns up. The weights worth
keeping are then those of the best validation loss, not the last ones. They are copied only at
the evaluations that improve on the best (a copy of the weights, cheap beside an evaluation),
and `restore` puts them back when the run ends. A resumed run (gpt/resume.py) carries the
guard on: `state` and `load_state` give its numbers as JSON, `weights` its copy.
"""

from __future__ import annotations

import math
from collections import deque

import torch

# Overfitting: the validation loss rose at each of the last OVERFIT_EVALS evaluations while
# the training loss ended lower than it was before them. One or two rises happen in noise;
# three in a row while training still improves is the text being learned by heart.
OVERFIT_EVALS = 3


class BestWeights:
    def __init__(self, params: list[torch.Tensor], keep_copy: bool = True):
        self.params = params  # the weights the optimizer updates (float32 master copies under bf16)
        self.keep_copy = keep_copy  # False: track the best loss and step only
        self.val_loss: float | None = None  # the lowest validation loss so far
        self.train_loss: float | None = None  # the training loss measured beside it
        self.step: int | None = None  # the step it was measured at
        self._copy: list[torch.Tensor] | None = None  # the weights at that step
        self._history: deque[tuple[float, float]] = deque(maxlen=OVERFIT_EVALS + 1)  # (val, train)
        self._last_step: int | None = None

    def update(self, step: int, val_loss: float | None, train_loss: float) -> None:
        """Record an evaluation; copy the weights if it is the best validation loss so far.
        A second evaluation of the same step (a run stopped right after one) counts once."""
        if val_loss is None or step == self._last_step:  # no validation data, or this step counted
            return
        self._last_step = step
        self._history.append((val_loss, train_loss))
        if math.isfinite(val_loss) and (self.val_loss is None or val_loss < self.val_loss):
            self.val_loss, self.train_loss, self.step = val_loss, train_loss, step
            if self.keep_copy:
                with torch.no_grad():
                    if self._copy is None:
                        self._copy = [p.detach().clone() for p in self.params]
                    else:
                        torch._foreach_copy_(self._copy, [p.detach() for p in self.params])

    @property
    def overfitting(self) -> bool:
        """Validation rose at each of the last OVERFIT_EVALS evaluations, training loss fell."""
        if len(self._history) <= OVERFIT_EVALS:
            return False
        val = [v for v, _ in self._history]
        rising = all(b > a for a, b in zip(val, val[1:]))
        return rising and self._history[-1][1] < self._history[0][1]

    def can_restore(self, current_step: int) -> bool:
        """Whether restore() would change the weights of a run now at current_step."""
        return self._copy is not None and self.step < current_step

    def state(self) -> dict:
        """The guard's numbers, ready for JSON (the copy of the weights is `weights`)."""
        return {
            "val_loss": self.val_loss,
            "train_loss": self.train_loss,
            "step": self.step,
            "history": [list(pair) for pair in self._history],
            "last_step": self._last_step,
        }

    @property
    def weights(self) -> list[torch.Tensor] | None:
        """The copy of the best weights (None when none was kept)."""
        return self._copy

    @torch.no_grad()
    def load_state(self, state: dict, weights: list[torch.Tensor] | None) -> None:
        """Carry on from a saved guard: its numbers, and its copy when this guard keeps one."""
        self.val_loss, self.train_loss, self.step = state["val_loss"], state["train_loss"], state["step"]
        self._history.clear()
        self._history.extend((float(v), float(t)) for v, t in state["history"])
        self._last_step = state["last_step"]
        self._copy = None
        if self.keep_copy and weights is not None:
            self._copy = [w.detach().to(p.device, p.dtype).clone() for w, p in zip(weights, self.params)]

    @torch.no_grad()
    def restore(self) -> None:
        """Put the best weights back into params (nothing happens if none were copied)."""
        if self._copy is not None:
            torch._foreach_copy_([p.detach() for p in self.params], self._copy)
