"""How many CPU threads torch may use, for training and for requests, and when memory goes back
to the OS: one RunPolicy object per process (the cores are the process's), made from the
environment when first needed (not at import), held by the app's context (ui/context.py) and
reached by the module's functions below from code that has no context. Tune here.

torch's intra-op thread count is per OS thread (OpenMP): each call to set_num_threads
applies to the thread that makes it, and to threads that have not run torch yet. Gradio
runs handlers on a pool of worker threads, and a generator can resume on a different
worker after each yield, so every unit of work states its policy where it runs: training
calls for_training() at every step, a request wraps its model work in `with inference():`.
Both are cheap.

Policy (on the 2-core CPU this app targets): requests (generation, attention) get one thread
each. Training gets every core while no request is running, and all cores but one while one
is (or ran within the last REQUEST_TAIL_S seconds), so sampling and attention stay responsive while a
model trains and training runs at full speed when nobody is waiting. A run started from a page
open in a browser on this machine leaves that browser a core the same way, for its whole run: the
browser draws every update the run streams (on the 2-core EPYC headless Chromium spent 5-10 s of
CPU on a 10-28 s run), and an OpenMP team of two that loses a core to it stalls at every barrier.
Measured through the page: the tiny preset took 9.4-11 s on two threads and 5.9-6.5 s on one, the
fast preset 26.6 s against 21.8 s (through the API, with no browser beside it, 4.2 and 15.4 s on
two). The training loop asks at every step, so it gives a core back within one step of a request
starting. With one core
everything gets one. MIRADOR_TRAIN_THREADS fixes the training's count (no adapting);
MIRADOR_INFER_THREADS sets the requests'. Up to inference_concurrency requests run at once.

Why not torch's default (every job takes every core): two jobs that each expect all cores
wait on each other at every parallel region; measured on the 2-core EPYC (bench/sharing.py),
a /generate during a training then ran 1.57x slower than idle (1.13x with a split like this
one) and the training 1.46x slower than alone (1.15x).

Training slots (training_slots: trainings that run at once; ui/training_queue.py lines up the
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
threads that start after it at infer_threads (torch gives a new thread the count set last,
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

from .memory import QuietTrim

SLOTS_VARIABLE = "MIRADOR_TRAINING_SLOTS"
# The threads a training is counted for when the slots are planned (MIRADOR_TRAIN_THREADS changes
# it): one, so a CPU gets a slot per core. A lone training still takes every core (the share policy).
THREADS_PER_TRAINING = 1
REQUEST_TAIL_S = 1.0  # a streamed generation pauses between tokens; this bridges the pauses


def _from_env(name: str, default: int, environ=os.environ) -> int:
    try:
        return max(1, int(environ.get(name, default)))
    except ValueError:
        return default


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


class RunPolicy:
    """The process's thread and memory policy: its settings, what is running now, and the quiet trim.

    train_alone: the cores all running trainings share while no request runs; train_busy: while
    one does (or a run's page is drawn on this machine); fixed: MIRADOR_TRAIN_THREADS set, the
    count never adapts; infer_threads: each request's; slots: trainings at once."""

    def __init__(
        self, cores: int, train_alone: int, train_busy: int, infer_threads: int = 1, slots: int = 1,
        fixed: bool = False, request_tail_s: float = REQUEST_TAIL_S,
    ):
        self.cores, self.train_alone, self.train_busy, self.fixed = cores, train_alone, train_busy, fixed
        self.infer_threads, self.training_slots, self.request_tail_s = infer_threads, slots, request_tail_s
        # Requests that run the model (generate, attention) at once, in their own Gradio concurrency
        # group: one per core's worth of inference threads. They never queue behind a training.
        self.inference_concurrency = max(1, cores // infer_threads)
        self.memory = QuietTrim(self.quiet_for)
        self._lock = threading.Lock()
        self._trainings = 0
        self._running = {"request": 0, "drawing": 0}  # model work beside the trainings, by kind
        self._last_request_end = float("-inf")

    @classmethod
    def from_environment(cls, environ=os.environ, cores: int | None = None, cuda: bool | None = None) -> "RunPolicy":
        cores = cpu_cores() if cores is None else cores
        cuda = torch.cuda.is_available() if cuda is None else cuda
        return cls(
            cores=cores,
            train_alone=_from_env("MIRADOR_TRAIN_THREADS", cores, environ),
            train_busy=_from_env("MIRADOR_TRAIN_THREADS", max(1, cores - 1), environ),
            infer_threads=_from_env("MIRADOR_INFER_THREADS", 1, environ),
            slots=training_slots(cores, cuda, environ),
            fixed="MIRADOR_TRAIN_THREADS" in environ,
        )

    # --- what runs now ---

    def requests_running(self) -> bool:
        """Whether a request is running the model now, or finished one within request_tail_s seconds."""
        with self._lock:
            return self._running["request"] > 0 or time.monotonic() - self._last_request_end < self.request_tail_s

    def quiet_for(self) -> float:
        """Seconds since the last request ended with none running and no training: 0 while
        something runs (what the quiet trim measures its quiet time from)."""
        with self._lock:
            if self._running["request"] > 0 or self._trainings > 0:
                return 0.0
            return time.monotonic() - self._last_request_end

    def last_request_end(self) -> float:
        """When (time.monotonic) the last request ended; -inf before the first."""
        with self._lock:
            return self._last_request_end

    def trainings_running(self) -> int:
        with self._lock:
            return self._trainings

    # --- the thread counts ---

    def training_threads(self, beside_browser: bool = False) -> int:
        """The thread count a training step should use right now: its share of the training cores
        (beside_browser: the run's page is drawn by a browser on this machine, which keeps a core)."""
        if self.fixed:
            return self.train_alone
        with self._lock:
            drawing = self._running["drawing"] > 0
        cores = self.train_busy if beside_browser or drawing or self.requests_running() else self.train_alone
        return max(1, cores // max(1, self.trainings_running()))

    def for_a_new_training(self, beside_browser: bool = False) -> int:
        """The thread count a training started now would run with, while no request runs: its share
        of the training cores beside those already running (what the Train tab's estimate times)."""
        if self.fixed:
            return self.train_alone
        cores = self.train_busy if beside_browser else self.train_alone
        return max(1, cores // (self.trainings_running() + 1))

    def for_training(self, beside_browser: bool = False) -> None:
        """Call at the start of every training step (or unit of training work) in its thread."""
        wanted = self.training_threads(beside_browser)
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)

    def for_app_work(self) -> None:
        """Call on a thread that is not a training's before it runs torch (the app's start-up, a
        handler that builds, loads or saves a model): torch runs there on infer_threads, so the
        thread keeps no OpenMP team that would slow the trainings (see the module's docstring)."""
        if torch.get_num_threads() != self.infer_threads:
            torch.set_num_threads(self.infer_threads)

    # --- units of work ---

    @contextmanager
    def training(self):
        """Wrap a training's run (in a generator, across its yields): while it is open the
        training counts among those that share the cores."""
        with self._lock:
            self._trainings += 1
        try:
            yield
        finally:
            with self._lock:
                self._trainings -= 1

    @contextmanager
    def beside_training(self, kind: str):
        """One unit of model work of this kind ("request" or "drawing"): this thread gets
        infer_threads while it is counted."""
        with self._lock:
            self._running[kind] += 1
        try:
            self.for_app_work()
            yield
        finally:
            with self._lock:  # one step: nobody may see the request gone without its end time
                self._running[kind] -= 1
                if kind == "request":
                    self._last_request_end = time.monotonic()

    @contextmanager
    def inference(self):
        """Wrap a request's model work: this thread gets infer_threads, and training knows a
        request is running until request_tail_s seconds after the block ends."""
        try:
            with self.beside_training("request"):
                yield
        finally:
            self.memory.trim_when_quiet()

    @contextmanager
    def drawing(self):
        """Wrap a training's own evaluation work (its sample, its figures), done beside its steps on
        a copy of the weights: one thread, and the steps give it a core while it runs. Unlike a
        request it leaves no tail: a training evaluates every second or two, and the tail would
        keep its steps on fewer cores for most of the run."""
        with self.beside_training("drawing"):
            yield

    # --- for people ---

    def describe(self) -> str:
        slots = f"{self.training_slots} training slots sharing them; " if self.training_slots > 1 else ""
        if self.fixed:
            return f"{slots}training {self.train_busy} thread(s), each request {self.infer_threads}"
        return f"{slots}training {self.train_alone} thread(s), {self.train_busy} while a request runs; each request {self.infer_threads}"

    def device_text(self, device: torch.device, lang: str = "en") -> str:
        """Where models run, for the UI: the GPU's name, or the CPU and its thread policy."""
        if device.type != "cpu":
            return describe(device)
        if self.fixed or self.train_alone == self.train_busy:
            split = text("device.split.fixed", lang, train=self.train_busy)
        else:
            split = text("device.split.adaptive", lang, alone=self.train_alone, busy=self.train_busy)
        cores_word = text("device.cores" if self.cores > 1 else "device.core", lang)
        return text("device.cpu", lang, cores=self.cores, cores_word=cores_word, split=split, infer=self.infer_threads)


# --- the process's policy, for code that has no app context at hand ---

_policy: RunPolicy | None = None
_making = threading.Lock()


def policy() -> RunPolicy:
    """The process's RunPolicy, made from the environment on first use; every app in the process
    shares it, as they share the cores."""
    global _policy
    with _making:
        if _policy is None:
            _policy = RunPolicy.from_environment()
        return _policy


def use(new: RunPolicy) -> RunPolicy:
    """Make `new` the process's policy (tests, tools); returns the one it replaces."""
    global _policy
    with _making:
        old, _policy = _policy, new
    return old


def inference():
    return policy().inference()


def drawing():
    return policy().drawing()


def training():
    return policy().training()


def for_app_work() -> None:
    policy().for_app_work()


def device_text(device: torch.device, lang: str = "en") -> str:
    return policy().device_text(device, lang)


def describe_policy() -> str:
    return policy().describe()
