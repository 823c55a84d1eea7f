"""Whose model is whose: one registry for the app, keyed by Gradio's session hash.

A session that has not trained or uploaded anything has no entry and reads the bundled
model, which every such session shares (read-only: handles only ever serve inference, in
eval mode with gradients off, and training always builds a new model). A session gets an
entry when it trains or uploads; the entry holds its model, its checkpoint file for
download and its training job, if any. Entries are freed when the browser tab closes
(demo.unload calls end()), after SESSION_TTL_S without a visit, or, least recently used
first, when more than MAX_SESSION_MODELS sessions hold a model. No background thread:
every registry call sweeps.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpt.errors import UserError
from locales import Message

from . import limits
from .examples import DEFAULT_PROMPT, DEFAULT_SENTENCE, example_prompt, example_sentence


@dataclass(frozen=True)
class ModelHandle:
    """A model ready to serve, with what the UI says about it. Never trained further."""

    model: object  # gpt.GPT, in eval mode, parameters frozen
    tokenizer: object
    meta: dict
    origin: str  # "bundled", "trained", "uploaded", "untrained"
    label: Message | str  # what the header and the model card call it (a Message: in the reader's language)
    path: Path | None = None  # checkpoint file a user can download
    example: str = DEFAULT_SENTENCE  # a sentence this model can encode: where its views start
    prompt: str = DEFAULT_PROMPT  # a prompt this model can encode
    watch: object | None = None  # ui.watch.WatchRecord: how it learned (its attention timeline), if recorded

    @classmethod
    def serving(cls, model, tokenizer, meta, origin, label, path=None, watch=None) -> "ModelHandle":
        model.eval()
        model.requires_grad_(False)
        meta = dict(meta or {})
        example, prompt = example_sentence(tokenizer, meta), example_prompt(tokenizer, meta)
        return cls(model, tokenizer, meta, origin, label, Path(path) if path else None, example, prompt, watch)

    def name(self, lang: str = "en") -> str:
        """The model's label, in lang."""
        return self.label.text(lang) if isinstance(self.label, Message) else str(self.label)

    @property
    def config(self):
        return self.model.config

    @property
    def device(self):
        return self.model.device


@dataclass
class _Entry:
    last_seen: float
    handle: ModelHandle | None = None
    job: object | None = None  # training.TrainingJob while one runs or waits
    directory: Path | None = None


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def session_id(request) -> str:
    """The session hash of a gr.Request (or any object with .session_hash); 'local' without one."""
    sid = getattr(request, "session_hash", None) or "local"
    return _UNSAFE.sub("_", str(sid))[:64]


@dataclass
class SessionRegistry:
    default: ModelHandle
    workdir: Path
    ttl_s: float = limits.SESSION_TTL_S
    max_models: int = limits.MAX_SESSION_MODELS
    clock: object = time.monotonic
    _entries: dict = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- models ---------------------------------------------------------------------------

    def model(self, sid: str) -> ModelHandle:
        """This session's model: its own if it trained or uploaded one, else the bundled one."""
        with self._lock:
            self.sweep()
            entry = self._entries.get(sid)
            if entry is None:
                return self.default
            entry.last_seen = self.clock()
            return entry.handle or self.default

    def set_model(self, sid: str, handle: ModelHandle) -> None:
        with self._lock:
            entry = self._entry(sid)
            old = entry.handle
            entry.handle = handle
            if old is not None and old.path and old.path != handle.path:
                old.path.unlink(missing_ok=True)
            self.sweep()

    def reset(self, sid: str) -> ModelHandle:
        """Back to the bundled model; frees this session's own model and files."""
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None:
                entry.handle = None
                self._delete_files(entry)
                if entry.job is None:
                    del self._entries[sid]
            return self.default

    def directory(self, sid: str) -> Path:
        """A folder for this session's files (its checkpoint for download), deleted with it."""
        with self._lock:
            entry = self._entry(sid)
            if entry.directory is None:
                entry.directory = self.workdir / sid
                entry.directory.mkdir(parents=True, exist_ok=True)
            return entry.directory

    # --- training jobs --------------------------------------------------------------------

    def begin_job(self, sid: str, job) -> None:
        """Register the session's training; refuse a second one while the first runs or waits."""
        with self._lock:
            entry = self._entry(sid)
            if entry.job is not None:
                raise UserError("train.already_running")
            entry.job = job

    def job(self, sid: str):
        with self._lock:
            entry = self._entries.get(sid)
            return entry.job if entry else None

    def end_job(self, sid: str, job) -> None:
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None and entry.job is job:
                entry.job = None
                entry.last_seen = self.clock()
                if entry.handle is None:
                    self._forget(sid)

    def touch(self, sid: str) -> None:
        with self._lock:
            entry = self._entries.get(sid)
            if entry is not None:
                entry.last_seen = self.clock()

    # --- lifetime -------------------------------------------------------------------------

    def end(self, sid: str) -> None:
        """The session is over (tab closed): stop its training and free its model and files."""
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return
            if entry.job is not None:
                entry.job.abandon()
            self._forget(sid)

    def sweep(self) -> None:
        """Free sessions unseen for ttl_s, then the least recently used beyond max_models."""
        with self._lock:
            now = self.clock()
            for sid, entry in list(self._entries.items()):
                if entry.job is None and now - entry.last_seen > self.ttl_s:
                    self._forget(sid)
            holders = [(e.last_seen, sid) for sid, e in self._entries.items() if e.handle is not None and e.job is None]
            excess = sum(1 for e in self._entries.values() if e.handle is not None) - self.max_models
            for _, sid in sorted(holders)[: max(0, excess)]:
                self._forget(sid)

    def sessions_with_models(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.handle is not None)

    def __contains__(self, sid: str) -> bool:
        with self._lock:
            return sid in self._entries

    # --- internals ------------------------------------------------------------------------

    def _entry(self, sid: str) -> _Entry:
        entry = self._entries.get(sid)
        if entry is None:
            entry = self._entries[sid] = _Entry(last_seen=self.clock())
        entry.last_seen = self.clock()
        return entry

    def _forget(self, sid: str) -> None:
        entry = self._entries.pop(sid, None)
        if entry is not None:
            self._delete_files(entry)

    @staticmethod
    def _delete_files(entry: _Entry) -> None:
        if entry.directory is not None:
            shutil.rmtree(entry.directory, ignore_errors=True)
            entry.directory = None
