"""Everything the tabs share, built once per app (not module globals, so tests can build
several apps side by side with their own models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import attention, checkpoints, threads, workdir
from .calibration import StepTimer
from .clients import CLIENTS, Clients
from .paths import CORPUS, DEFAULT_MODEL
from .plan import TextInfo, text_info
from .sessions import SessionRegistry
from .threads import RunPolicy
from .training_queue import TrainingQueue


@dataclass
class AppContext:
    registry: SessionRegistry
    queue: TrainingQueue
    timer: StepTimer
    policy: RunPolicy  # the threads and memory (the process's: ui/threads.py)
    corpus: str
    corpus_info: TextInfo | None
    clients: Clients = field(default_factory=lambda: CLIENTS)  # each tab's width and language


def create_context(default_model_path=None, corpus_path=None, sessions_folder=None, training_slots=None) -> AppContext:
    policy = threads.policy()
    policy.for_app_work()  # before the first model is loaded: this thread is not a training's
    corpus = Path(corpus_path or CORPUS).read_text(encoding="utf-8")
    default = checkpoints.load_bundled(default_model_path or DEFAULT_MODEL, corpus)
    sessions_folder = Path(sessions_folder or workdir.create())  # removed at exit (ui/workdir.py)
    warm_up = default.tokenizer.decode(list(range(min(8, default.tokenizer.vocab_size))))
    attention.grid_figure(default, warm_up, 0)  # the first forward and figure pay one-off costs
    return AppContext(
        registry=SessionRegistry(default=default, workdir=sessions_folder),
        queue=TrainingQueue(slots=training_slots or policy.training_slots),
        timer=StepTimer(policy=policy),  # times each shape when the form first shows it
        policy=policy,
        corpus=corpus,
        corpus_info=text_info(corpus),
    )
