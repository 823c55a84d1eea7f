"""How many CPU threads torch may use, for training and for requests. Tune here.

torch's intra-op thread count is per OS thread (OpenMP): each call to set_num_threads
applies to the thread that makes it, and to threads that have not run torch yet. Gradio
runs handlers on a pool of worker threads, and a generator can resume on a different
worker after each yield, so every unit of work states its policy where it runs: training
calls for_training() at every step, a request wraps its model work in `with inference():`.
Both are cheap.

Policy (on the 2-core CPU this app targets): requests (generation, attention) get one thread
each. Training gets every core while no request is running, and all cores but one while one
is (or ran within the last QUIET_S seconds), so sampling and attention stay responsive while a
model trains and training runs at full speed when nobody is waiting. A run started from a page
open in a browser on this machine leaves that browser a core the same way, for its whole run: the
browser draws every update the run streams (on the 2-core EPYC headless Chromium spent 5-10 s of
CPU on a 10-28 s run), and an OpenMP team of two that loses a core to it stalls at every barrier.
Measured through the page: the tiny preset took 9.4-11 s on two threads and 5.9-6.5 s on one, the
fast preset 26.6 s against 21.8 s (through the API, with no browser beside it, 4.2 and 15.4 s on
two). The training loop asks at every step, so it gives a core back within one step of a request
starting. With one core
everything gets one. MIRADOR_TRAIN_THREADS fixes the training's count (no adapting);
MIRADOR_INFER_THREADS sets the requests'. Up to INFERENCE_CONCURRENCY requests run at once.

Why not torch's default (every job takes every core): two jobs that each expect all cores
wait on each other at every parallel region; measured on the 2-core EPYC (bench/sharing.py),
a /generate during a training then ran 1.57x slower than idle (1.13x with a split like this
one) and the training 1.46x slower than alone (1.15x).

Training slots (TRAINING_SLOTS: trainings that run at once; ui/training_queue.py lines up the
rest). MIRADOR_TRAINING_SLOTS sets the count. Otherwise, on a CPU, cores // threads per training
(at least 1), a training counted as THREADS_PER_TRAINING threads (MIRADOR_TRAIN_THREADS if set):
a slot per core. The running trainings share the cores: each takes its share of the policy
above (n running on C cores: C // n threads, (C - 1) // n while a request runs, at least 1), so
a training alone still has every core, and with all S slots busy each has C // S. On the 2-core
CPU a class of 30 had its models sooner with two slots of one thread each than with one of two
(15.5 against 23.7 minutes; bench/load.py --classroom, bench/RESULTS.md), each run stopping at
its time budget with fewer steps, and a one-thread training cannot stall at OpenMP's barrier when
other work takes a core.
On CUDA the default is 1 until bench/gpu.py's slot probe has been run on that GPU: it reports how
many small trainings run at once before each one slows by more than 1.5x, the value to put in
MIRADOR_TRAINING_SLOTS.

Only a training's own thread may run torch on more than one thread. An OS thread that once ran
an operation on two threads keeps an OpenMP team (its idle helper threads) until it exits, and
GNU OpenMP, once it manages more threads than there are cores, stops spin-waiting between
parallel regions: every operation of a training then wakes its helper with a system call.
Measured on the 2-core EPYC (tiny preset, char): 4.9 ms a step, 11-13 ms with one idle team
in another thread (the app's main thread, after loading the bundled model at torch's default of
two). So the app's main thread and every handler that builds, loads or saves a model call
for_app_work() first, and a training's thread, as it ends, leaves torch's default for the
threads that start after it at INFER_THREADS (torch gives a new thread the count set last,
anywhere).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

import torch

from gpt.device import cpu_cores, describe
from locales import text

from . import memory


def _from_env(name: str, default: int, environ=os.environ) -> int:
    try:
        return max(1, int(environ.get(name, default)))
    except ValueError:
        return default


SLOTS_VARIABLE = "MIRADOR_TRAINING_SLOTS"
# The threads a training is counted for when the slots are planned (MIRADOR_TRAIN_THREADS changes
# it): one, so a CPU gets a slot per core. A lone training still takes every core (the share policy).
THREADS_PER_TRAINING = 1


def training_slots(cores: int, cuda: bool, environ=os.environ) -> int:
    """How many trainings run at once: MIRADOR_TRAINING_SLOTS if set; on CUDA 1 (until measured,
    see the module's docstring); on a CPU cores // threads per training, at least 1."""
    if SLOTS_VARIABLE in environ:
        value = environ[SLOTS_VARIABLE]
        try:
            slots = int(value)
        except ValueError:
            slots = 0
        if slots < 1:
            raise ValueError(f"{SLOTS_VARIABLE} must be a whole number of at least 1, got {value!r}: unset it for the default.")
        return slots
    if cuda:
        return 1
    per_training = _from_env("MIRADOR_TRAIN_THREADS", THREADS_PER_TRAINING, environ)
    return max(1, cores // per_training)


_FIXED_TRAIN = "MIRADOR_TRAIN_THREADS" in os.environ
# The cores all running trainings share: every core while no request runs, all but one while one does.
TRAIN_THREADS_ALONE = _from_env("MIRADOR_TRAIN_THREADS", cpu_cores())  # no request running
TRAIN_THREADS = _from_env("MIRADOR_TRAIN_THREADS", max(1, cpu_cores() - 1))  # while requests run
TRAINING_SLOTS = training_slots(cpu_cores(), torch.cuda.is_available())
INFER_THREADS = _from_env("MIRADOR_INFER_THREADS", 1)
QUIET_S = 1.0  # a streamed generation pauses between tokens; this bridges the pauses
# Requests that run the model (generate, attention) at once, in their own Gradio concurrency
# group: one per core's worth of inference threads. They never queue behind a training.
INFERENCE_CONCURRENCY = max(1, cpu_cores() // INFER_THREADS)


_lock = threading.Lock()
_running_trainings = 0
_running = {"request": 0, "drawing": 0}  # model work beside the trainings, by kind
_last_request_end = float("-inf")


def requests_running() -> bool:
    """Whether a request is running the model now, or finished one within QUIET_S seconds."""
    with _lock:
        return _running["request"] > 0 or time.monotonic() - _last_request_end < QUIET_S


def quiet_for() -> float:
    """Seconds since the last request ended with none running and no training: 0 while
    something runs (what memory.trim_when_quiet measures its quiet time from)."""
    with _lock:
        if _running["request"] > 0 or _running_trainings > 0:
            return 0.0
        return time.monotonic() - _last_request_end


def last_request_end() -> float:
    """When (time.monotonic) the last request ended; -inf before the first."""
    with _lock:
        return _last_request_end


def trainings_running() -> int:
    with _lock:
        return _running_trainings


def training_threads(beside_browser: bool = False) -> int:
    """The thread count a training step should use right now: its share of the training cores
    (beside_browser: the run's page is drawn by a browser on this machine, which keeps a core)."""
    if _FIXED_TRAIN:
        return TRAIN_THREADS_ALONE
    with _lock:
        drawing = _running["drawing"] > 0
    cores = TRAIN_THREADS if beside_browser or drawing or requests_running() else TRAIN_THREADS_ALONE
    return max(1, cores // max(1, trainings_running()))


def for_a_new_training(beside_browser: bool = False) -> int:
    """The thread count a training started now would run with, while no request runs: its share
    of the training cores beside those already running (what the Train tab's time estimate is
    timed with, ui/calibration.py)."""
    if _FIXED_TRAIN:
        return TRAIN_THREADS_ALONE
    cores = TRAIN_THREADS if beside_browser else TRAIN_THREADS_ALONE
    return max(1, cores // (trainings_running() + 1))


@contextmanager
def training():
    """Wrap a training's run (in a generator, across its yields): while it is open the
    training counts among those that share the cores."""
    global _running_trainings
    with _lock:
        _running_trainings += 1
    try:
        yield
    finally:
        with _lock:
            _running_trainings -= 1


def for_training(beside_browser: bool = False) -> None:
    """Call at the start of every training step (or unit of training work) in its thread."""
    wanted = training_threads(beside_browser)
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


def for_app_work() -> None:
    """Call on a thread that is not a training's before it runs torch (the app's start-up, a
    handler that builds, loads or saves a model): torch runs there on INFER_THREADS, so the
    thread keeps no OpenMP team that would slow the trainings (see the module's docstring)."""
    if torch.get_num_threads() != INFER_THREADS:
        torch.set_num_threads(INFER_THREADS)


@contextmanager
def _beside_training(kind: str):
    """One unit of model work of this kind: this thread gets INFER_THREADS while it is counted."""
    global _last_request_end
    with _lock:
        _running[kind] += 1
    try:
        for_app_work()
        yield
    finally:
        with _lock:  # one step: nobody may see the request gone without its end time
            _running[kind] -= 1
            if kind == "request":
                _last_request_end = time.monotonic()


@contextmanager
def inference():
    """Wrap a request's model work: this thread gets INFER_THREADS, and training knows a
    request is running until QUIET_S seconds after the block ends."""
    try:
        with _beside_training("request"):
            yield
    finally:
        memory.trim_when_quiet()


@contextmanager
def drawing():
    """Wrap a training's own evaluation work (its sample, its figures), done beside its steps on
    a copy of the weights: one thread, and the steps give it a core while it runs. Unlike a
    request it leaves no QUIET_S tail: a training evaluates every second or two, and the tail
    would keep its steps on fewer cores for most of the run."""
    with _beside_training("drawing"):
        yield


def describe_policy() -> str:
    slots = f"{TRAINING_SLOTS} training slots sharing them; " if TRAINING_SLOTS > 1 else ""
    if _FIXED_TRAIN:
        return f"{slots}training {TRAIN_THREADS} thread(s), each request {INFER_THREADS}"
    return f"{slots}training {TRAIN_THREADS_ALONE} thread(s), {TRAIN_THREADS} while a request runs; each request {INFER_THREADS}"


def device_text(device: torch.device, lang: str = "en") -> str:
    """Where models run, for the UI: the GPU's name, or the CPU and its thread policy."""
    if device.type != "cpu":
        return describe(device)
    cores = cpu_cores()
    if _FIXED_TRAIN or TRAIN_THREADS_ALONE == TRAIN_THREADS:
        split = text("device.split.fixed", lang, train=TRAIN_THREADS)
    else:
        split = text("device.split.adaptive", lang, alone=TRAIN_THREADS_ALONE, busy=TRAIN_THREADS)
    cores_word = text("device.cores" if cores > 1 else "device.core", lang)
    return text("device.cpu", lang, cores=cores, cores_word=cores_word, split=split, infer=INFER_THREADS)
