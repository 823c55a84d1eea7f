"""Checkpoints in and out of the app, and the model card that describes a model.

Uploads are checked in this order, each with a message saying what to change: the name
ends in .safetensors, the size is under MAX_UPLOAD_BYTES, gpt.load accepts it (safetensors
holds no code, so nothing in the file is ever executed), and the model is under the
parameter cap.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import torch

import gpt
from gpt import GPT, GPTConfig, make_tokenizer
from gpt.checkpoint import read_header
from gpt.data import text_snippet
from gpt.device import resolve_device

from . import limits, threads
from .sessions import ModelHandle


def load_bundled(path, corpus_text: str | None = None) -> ModelHandle:
    """The model every new session starts with.

    If the bundled checkpoint is missing (a fresh clone before the model is trained), the
    app still starts, with an untrained char model over the corpus, and says so.
    """
    device = resolve_device("auto")
    path = Path(path)
    if path.is_file():
        model, tokenizer, meta = gpt.load(path, map_location=str(device))
        if corpus_text:
            meta.setdefault("example", text_snippet(corpus_text))
        label = f"bundled: {path.name} ({tokenizer.kind}, {model.num_parameters() / 1e6:.2f}M parameters)"
        return ModelHandle.serving(model, tokenizer, meta, "bundled", label, path)
    tokenizer = make_tokenizer("char", corpus_text or "abcdefghijklmnopqrstuvwxyz ,.\n")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=64, n_layer=2, n_head=4, n_embd=64)).to(device)
    meta = {"note": f"{path} was not found: this model is untrained (random weights)."}
    return ModelHandle.serving(
        model, tokenizer, meta, "untrained", "untrained (no bundled checkpoint found): train one!", None
    )


def check_upload(path) -> Path:
    """The uploaded file's path, if its name and size are acceptable."""
    if path is None or path == "":
        raise ValueError("No file received: choose a .safetensors checkpoint to upload.")
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise ValueError(
            f"{path.name} is not a .safetensors file. Only Mirador checkpoints in safetensors format "
            "are accepted (pickled .pt/.bin files could run code when loaded)."
        )
    size = os.path.getsize(path)
    if size > limits.MAX_UPLOAD_BYTES:
        raise ValueError(
            f"{path.name} is {limits.mb(size)}; the upload limit is {limits.mb(limits.MAX_UPLOAD_BYTES)}. "
            "Upload a smaller model."
        )
    return path


def check_shape(name: str, config: GPTConfig) -> None:
    """Refuse a model over the app's caps: the parameter count and the context length."""
    if config.num_parameters > limits.MAX_PARAMETERS:
        raise ValueError(
            f"{name} has {config.num_parameters:,} parameters; this app serves at most {limits.MAX_PARAMETERS:,}. "
            "Upload a smaller model."
        )
    if config.block_size > limits.MAX_BLOCK_SIZE:
        raise ValueError(
            f"{name} has a context of {config.block_size} tokens; this app serves at most {limits.MAX_BLOCK_SIZE}. "
            "Upload a model with a shorter block_size."
        )


def load_upload(path) -> ModelHandle:
    """A checked upload as a model ready to serve (ValueError, saying why, otherwise).

    The shape is checked from the header before any tensor is read or any model built."""
    path = check_upload(path)
    declared, _, _ = read_header(path)  # a file that is not a Mirador checkpoint is refused here, saying why
    check_shape(path.name, declared)
    model, tokenizer, meta = gpt.load(path, map_location=str(resolve_device("auto")))
    check_shape(path.name, model.config)
    params = model.num_parameters()
    name = path.name if len(path.name) <= 60 else path.name[:57] + "..."
    label = f"uploaded: {name} ({tokenizer.kind}, {params / 1e6:.2f}M parameters)"
    return ModelHandle.serving(model, tokenizer, meta, "uploaded", label, None)


def read_text_upload(path) -> str:
    """A .txt upload as text (UTF-8), within the size caps."""
    if path is None or path == "":
        raise ValueError("No file received: choose a .txt file.")
    path = Path(path)
    if path.suffix.lower() not in (".txt", ".text", ".md"):
        raise ValueError(f"{path.name} is not a text file: upload a .txt file.")
    size = os.path.getsize(path)
    if size > limits.MAX_TEXT_UPLOAD_BYTES:
        raise ValueError(
            f"{path.name} is {limits.mb(size)}; text uploads are limited to "
            f"{limits.mb(limits.MAX_TEXT_UPLOAD_BYTES)}. Use a shorter text."
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the text
    except UnicodeDecodeError:
        raise ValueError(f"{path.name} is not UTF-8 text: save it as UTF-8 and upload it again.") from None
    if len(text) > limits.MAX_TEXT_CHARS:
        raise ValueError(
            f"{path.name} has {len(text):,} characters; the limit is {limits.MAX_TEXT_CHARS:,}. Use a shorter text."
        )
    if not text:
        raise ValueError(f"{path.name} is empty: upload a file with some text in it.")
    return text


def _plain(value) -> str:
    """A metadata value as plain text: numbers formatted, yes/no for booleans, text as it is (but
    for characters no browser can show: a checkpoint's JSON may hold lone surrogates)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).encode("utf-8", errors="replace").decode("utf-8")


# The training metadata a card shows, in this order (meta keys written by gpt.Trainer.summary).
CARD_TRAINING_FIELDS = (
    ("steps", "steps"),
    ("kept", "weights kept"),
    ("best_step", "best step"),
    ("val_loss", "val loss"),
    ("last_val_loss", "val loss at the last step"),
    ("train_loss", "train loss"),
    ("tokens_per_s", "tokens/s"),
    ("train_seconds", "seconds"),
    ("device", "device"),
    ("stopped_early", "stopped early"),
    ("text", "training text"),
    ("example", "it begins"),
)


def model_card(handle: ModelHandle) -> str:
    """HTML describing the model: where it came from, its shape, tokenizer, device, metrics.

    Built from typed fields, every value escaped: a checkpoint's metadata is the uploader's text,
    and rendering it as Markdown or HTML would let a file make the page fetch an image from
    another host."""
    c, meta, tok = handle.config, handle.meta, handle.tokenizer
    vocab_note = (
        "one token per character" if tok.kind == "char" else "GPT-2 byte-pair encoding, compacted to the tokens in use"
    )
    rows = [
        ("Model", handle.label),
        ("Parameters", f"{handle.model.num_parameters():,}"),
        ("Layers × heads × width", f"{c.n_layer} × {c.n_head} × {c.n_embd} (head size {c.head_size})"),
        ("Context (block_size)", f"{c.block_size} tokens"),
        ("Tokenizer", f"{tok.kind} — {tok.vocab_size:,} tokens ({vocab_note})"),
        ("Runs on", threads.device_text(handle.device)),
        ("Precision", "float32 weights" + (f"; trained in {_plain(meta['precision'])}" if meta.get("precision") else "")),
    ]
    training = [(label, meta[key]) for key, label in CARD_TRAINING_FIELDS if meta.get(key) is not None]

    def table(pairs) -> str:
        cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_plain(v))}</td></tr>" for k, v in pairs)
        return f'<table class="card">{cells}</table>'

    parts = [table(rows)]
    if training:
        parts += ["<h4>Training</h4>", table(training)]
    if meta.get("note"):
        parts.append(f'<p class="card-note">⚠ {html.escape(_plain(meta["note"]))}</p>')
    return "".join(parts)
