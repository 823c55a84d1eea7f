"""Everything the tabs share, built once per app (not module globals, so tests can build
several apps side by side with their own models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import attention, checkpoints, threads, workdir
from .clients import CLIENTS, Clients
from .plan import StepTimer, TextInfo, text_info
from .sessions import SessionRegistry
from .training_queue import TrainingQueue

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = ROOT / "assets" / "shakespeare-char.safetensors"
CORPUS = ROOT / "assets" / "shakespeare.txt"


@dataclass
class AppContext:
    registry: SessionRegistry
    queue: TrainingQueue
    timer: StepTimer
    corpus: str
    corpus_info: TextInfo | None
    clients: Clients = field(default_factory=lambda: CLIENTS)  # each tab's width and language


def create_context(default_model_path=None, corpus_path=None, sessions_folder=None, training_slots=None) -> AppContext:
    threads.for_app_work()  # before the first model is loaded: this thread is not a training's
    corpus = Path(corpus_path or CORPUS).read_text(encoding="utf-8")
    default = checkpoints.load_bundled(default_model_path or DEFAULT_MODEL, corpus)
    sessions_folder = Path(sessions_folder or workdir.create())  # removed at exit (ui/workdir.py)
    warm_up = default.tokenizer.decode(list(range(min(8, default.tokenizer.vocab_size))))
    attention.grid_figure(default, warm_up, 0)  # the first forward and figure pay one-off costs
    timer = StepTimer()
    timer.warm_up()  # the time estimates' calibration, off the requests' path
    return AppContext(
        registry=SessionRegistry(default=default, workdir=sessions_folder),
        queue=TrainingQueue(slots=training_slots or threads.TRAINING_SLOTS),
        timer=timer,
        corpus=corpus,
        corpus_info=text_info(corpus),
    )
