"""How many CPU threads torch may use, for training and for requests. Tune here.

torch's intra-op thread count is per OS thread (OpenMP): each call to set_num_threads
applies to the thread that makes it, and to threads that have not run torch yet. Gradio
runs handlers on a pool of worker threads, and a generator can resume on a different
worker after each yield, so every unit of work states its policy at its start by calling
for_training() or for_inference(). Both calls are cheap.

Policy (on the 2-core CPU this app targets): training gets all cores but one, requests
(generation, attention) get one, so sampling and attention stay responsive while a model
trains. With one core both get one. Override with MIRADOR_TRAIN_THREADS /
MIRADOR_INFER_THREADS. Up to INFERENCE_CONCURRENCY such requests run at once.
"""

from __future__ import annotations

import os

import torch

from gpt.device import describe


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _from_env(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


TRAIN_THREADS = _from_env("MIRADOR_TRAIN_THREADS", max(1, cpu_cores() - 1))
INFER_THREADS = _from_env("MIRADOR_INFER_THREADS", 1)
# Requests that run the model (generate, attention) at once, in their own Gradio concurrency
# group: one per core's worth of inference threads. They never queue behind a training.
INFERENCE_CONCURRENCY = max(1, cpu_cores() // INFER_THREADS)


def for_training() -> None:
    """Call at the start of (or on resuming) training work in the current thread."""
    if torch.get_num_threads() != TRAIN_THREADS:
        torch.set_num_threads(TRAIN_THREADS)


def for_inference() -> None:
    """Call at the start of a request handler that runs the model."""
    if torch.get_num_threads() != INFER_THREADS:
        torch.set_num_threads(INFER_THREADS)


def device_text(device: torch.device) -> str:
    """Where models run, for the UI: the GPU's name, or the CPU and its thread policy."""
    if device.type != "cpu":
        return describe(device)
    cores = cpu_cores()
    return f"CPU, {cores} core{'s' if cores > 1 else ''} ({TRAIN_THREADS} for training, {INFER_THREADS} per request)"
