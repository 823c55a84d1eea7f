"""Evaluation mode for the length of a block, whatever mode the model was in.

Dropout is active only in training mode. Everything that reads a model without training it
(validation loss, generation, attention maps, traces) runs in evaluation mode, and a model
in the middle of its training must find itself in training mode again afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch.nn as nn


@contextmanager
def evaluation(model: nn.Module):
    """`with evaluation(model):` runs the block in eval mode, then restores the model's mode."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()
