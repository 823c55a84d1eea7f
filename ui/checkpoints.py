"""Checkpoints in and out of the app, and the model card that describes a model.

Uploads are checked in this order, each with a message saying what to change: the name
ends in .safetensors, the size is under MAX_UPLOAD_BYTES, gpt.checkpoint.load_checkpoint
accepts it (safetensors holds no code, so nothing in the file is ever executed), and the model
is under the parameter cap. A checkpoint's attention timeline comes back with its model.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import torch

from gpt import GPT, GPTConfig, make_tokenizer
from gpt.checkpoint import load_checkpoint, read_header
from gpt.data import text_snippet
from gpt.device import resolve_device
from gpt.errors import Phrase, UserError
from locales import Message, error_text, text

from . import limits, threads
from .generation import precision_text
from .sessions import ModelHandle
from .watch import record_of


def load_bundled(path, corpus_text: str | None = None) -> ModelHandle:
    """The model every new session starts with.

    If the bundled checkpoint is missing (a fresh clone before the model is trained), the
    app still starts, with an untrained char model over the corpus, and says so.
    """
    device = resolve_device("auto")
    path = Path(path)
    if path.is_file():
        checkpoint = load_checkpoint(path, map_location=str(device))
        model, tokenizer, meta = checkpoint.model, checkpoint.tokenizer, checkpoint.meta
        if corpus_text:
            meta.setdefault("example", text_snippet(corpus_text))
        millions = model.num_parameters() / 1e6
        label = Message.of("model.label.bundled", name=path.name, kind=tokenizer.kind, millions=millions)
        return ModelHandle.serving(model, tokenizer, meta, "bundled", label, path, record_of(checkpoint.timeline, tokenizer))
    tokenizer = make_tokenizer("char", corpus_text or "abcdefghijklmnopqrstuvwxyz ,.\n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64)).to(device)
    meta = {"note": Phrase("model.untrained_note", {"path": path})}  # the app's note, in the reader's language
    return ModelHandle.serving(model, tokenizer, meta, "untrained", Message.of("model.label.untrained"), None)


def check_upload(path) -> Path:
    """The uploaded file's path, if its name and size are acceptable."""
    if path is None or path == "":
        raise UserError("upload.no_checkpoint")
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise UserError("upload.not_safetensors", file=path.name)
    size = os.path.getsize(path)
    if size > limits.MAX_UPLOAD_BYTES:
        raise UserError("upload.too_big", file=path.name, size=limits.mb(size), limit=limits.mb(limits.MAX_UPLOAD_BYTES))
    return path


def check_shape(name: str, config: GPTConfig) -> None:
    """Refuse a model over the app's caps: the parameter count and the context length."""
    if config.num_parameters > limits.MAX_SERVED_PARAMETERS:
        raise UserError("upload.too_many_parameters", file=name, count=config.num_parameters, limit=limits.MAX_SERVED_PARAMETERS)
    if config.block_size > limits.MAX_SERVED_BLOCK_SIZE:
        raise UserError("upload.context_too_long", file=name, count=config.block_size, limit=limits.MAX_SERVED_BLOCK_SIZE)


def load_upload(path) -> ModelHandle:
    """A checked upload as a model ready to serve (ValueError, saying why, otherwise).

    The shape is checked from the header before any tensor is read or any model built."""
    path = check_upload(path)
    declared, _, _ = read_header(path)  # a file that is not a Mirador checkpoint is refused here, saying why
    check_shape(path.name, declared)
    threads.for_app_work()  # a handler's thread: no OpenMP team of its own beside the trainings
    checkpoint = load_checkpoint(path, map_location=str(resolve_device("auto")))  # its attention timeline too, if saved
    model, tokenizer, meta = checkpoint.model, checkpoint.tokenizer, checkpoint.meta
    check_shape(path.name, model.config)
    params = model.num_parameters()
    name = path.name if len(path.name) <= 60 else path.name[:57] + "..."
    label = Message.of("model.label.uploaded", name=name, kind=tokenizer.kind, millions=params / 1e6)
    return ModelHandle.serving(model, tokenizer, meta, "uploaded", label, None, record_of(checkpoint.timeline, tokenizer))


def read_text_upload(path) -> str:
    """A .txt upload as text (UTF-8), within the size caps."""
    if path is None or path == "":
        raise UserError("upload.no_text_file")
    path = Path(path)
    if path.suffix.lower() not in (".txt", ".text", ".md"):
        raise UserError("upload.not_text_file", file=path.name)
    size = os.path.getsize(path)
    if size > limits.MAX_TEXT_UPLOAD_BYTES:
        raise UserError("upload.text_too_big", file=path.name, size=limits.mb(size), limit=limits.mb(limits.MAX_TEXT_UPLOAD_BYTES))
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the text
    except UnicodeDecodeError:
        raise UserError("upload.not_utf8", file=path.name) from None
    if len(text) > limits.MAX_TEXT_CHARS:
        raise UserError("upload.too_many_chars", file=path.name, count=len(text), limit=limits.MAX_TEXT_CHARS)
    if not text:
        raise UserError("upload.empty", file=path.name)
    return text


def _plain(value, lang: str = "en") -> str:
    """A metadata value as plain text: numbers formatted, yes/no for booleans, text as it is (but
    for characters no browser can show: a checkpoint's JSON may hold lone surrogates)."""
    if isinstance(value, bool):
        return text("model.card.yes" if value else "model.card.no", lang)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).encode("utf-8", errors="replace").decode("utf-8")


# The training metadata a card shows, in this order (meta keys written by gpt.Trainer.summary,
# each labelled by the catalogue's "model.card.field.<key>").
CARD_TRAINING_FIELDS = (
    "steps",
    "kept",
    "best_step",
    "val_loss",
    "last_val_loss",
    "train_loss",
    "tokens_per_s",
    "train_seconds",
    "device",
    "stopped_early",
    "text",
    "example",
)
_CHARACTERS = re.compile(r"([\d,]+) characters")  # meta "text", as the app's training writes it


def _meta_value(key: str, value, lang: str):
    """A training metadata value in lang, where it is one of the words the app writes."""
    if key == "kept" and value in ("best", "last"):
        return text(f"model.card.kept.{value}", lang)
    if key == "text" and isinstance(value, str) and _CHARACTERS.fullmatch(value):
        return text("model.card.characters", lang, count=_CHARACTERS.fullmatch(value).group(1))
    return value


def _number(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def _checkpoint_rows(meta: dict, lang: str) -> dict:
    """The best and the last weights of the run, each with its step and val loss, the kept one
    marked; and the overfitting warning when the run ended overfitting. Empty for a model whose
    run did not record both (an older checkpoint, one trained without validation text)."""
    best_step, last_step = meta.get("best_step"), meta.get("steps")
    if not isinstance(best_step, int) or not isinstance(last_step, int) or meta.get("kept") not in ("best", "last"):
        return {}

    def row(which: str, step: int, val) -> str:
        key = "model.card.checkpoint.kept" if meta["kept"] == which else "model.card.checkpoint"
        return text(key, lang, step=step, val=_number(val))

    rows = {"best": row("best", best_step, meta.get("best_val_loss")), "last": row("last", last_step, meta.get("last_val_loss"))}
    if meta.get("overfitting") is True:
        rows["overfitting"] = text("model.card.overfitting.value", lang)
    return rows


# Labels of the rows _checkpoint_rows writes, and the metadata rows they stand for.
_CHECKPOINT_LABELS = {"best": "model.card.best", "last": "model.card.last", "overfitting": "model.card.overfitting"}
_REPLACED = ("kept", "best_step", "val_loss", "last_val_loss")


def model_card(handle: ModelHandle, lang: str = "en") -> str:
    """HTML describing the model: where it came from, its shape, tokenizer, device, metrics.

    Built from typed fields, every value escaped: a checkpoint's metadata is the uploader's text,
    and rendering it as Markdown or HTML would let a file make the page fetch an image from
    another host."""
    c, meta, tok = handle.config, handle.meta, handle.tokenizer
    vocab_note = text("model.card.tokenizer.char" if tok.kind == "char" else "model.card.tokenizer.bpe", lang)
    precision = (
        text("model.card.precision.trained", lang, precision=_plain(meta["precision"], lang))
        if meta.get("precision")
        else text("model.card.precision.value", lang)
    )
    shape = dict(n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd, head_size=c.head_size)
    rows = [
        (text("model.card.model", lang), handle.name(lang)),
        (text("model.card.parameters", lang), f"{handle.model.num_parameters():,}"),
        (text("model.card.shape", lang), text("model.card.shape.value", lang, **shape)),
        (text("model.card.context", lang), text("model.card.context.value", lang, block_size=c.block_size)),
        (
            text("model.card.tokenizer", lang),
            text("model.card.tokenizer.value", lang, kind=tok.kind, vocab=tok.vocab_size, note=vocab_note),
        ),
        (text("model.card.runs_on", lang), threads.device_text(handle.device, lang)),
        (text("model.card.precision", lang), precision),
        (text("model.card.generation", lang), precision_text(handle.model, lang)),
    ]
    checkpoints = _checkpoint_rows(meta, lang)
    training = []
    for key in CARD_TRAINING_FIELDS:
        if checkpoints and key == "kept":  # the best and the last weights in two rows, in its place
            training += [(text(_CHECKPOINT_LABELS[row], lang), value) for row, value in checkpoints.items()]
        elif not (checkpoints and key in _REPLACED) and meta.get(key) is not None:
            training.append((text(f"model.card.field.{key}", lang), _meta_value(key, meta[key], lang)))

    def table(pairs) -> str:
        cells = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(_plain(v, lang))}</td></tr>" for k, v in pairs
        )
        return f'<table class="card">{cells}</table>'

    parts = [table(rows)]
    if training:
        parts += [f"<h4>{html.escape(text('model.card.training', lang))}</h4>", table(training)]
    if meta.get("note"):  # the app's own note (a Phrase) in the reader's language; a file's stays as written
        note = meta["note"]
        note = error_text(note, lang) if isinstance(note, Phrase) else _plain(note, lang)
        parts.append(f'<p class="card-note">⚠ {html.escape(note)}</p>')
    return "".join(parts)
