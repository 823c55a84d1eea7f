"""One-file checkpoints: weights in safetensors, everything else as JSON in its header.

safetensors holds raw tensors and a string-to-string header, nothing executable, so loading
a checkpoint can never run code (a pickle can). Saving is atomic: the bytes go to a temporary
file beside the target, are flushed to disk, then renamed over it in one step, so a crash or
kill mid-save leaves the previous checkpoint whole and no debris.

A checkpoint may also carry the model's attention timeline (gpt/timeline.py): three tensors
named `timeline.*` beside the weights. `load` returns (model, tokenizer, meta) as it always
has; `load_checkpoint` returns a `Checkpoint` with the timeline too (None when the file has
none, as every file written before timelines existed).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from .config import GPTConfig
from .errors import MissingFile, Phrase, UserError
from .model import GPT
from .timeline import AttentionTimeline
from .tokenizer import tokenizer_from_dict

FORMAT = "mirador-gpt"
FORMAT_VERSION = "1"
TIED_WEIGHT = "lm_head.weight"  # the same tensor as tok_emb.weight: stored once
TIMELINE_PREFIX = "timeline."  # tensors of the attention timeline; every other tensor is a weight


@dataclass(frozen=True)
class Checkpoint:
    """Everything a checkpoint holds."""

    model: GPT
    tokenizer: object  # CharTokenizer or BPETokenizer
    meta: dict  # free-form JSON: training metrics, notes
    timeline: AttentionTimeline | None  # attention snapshots over training, if saved


def _not_ours(path, reason: str, **params) -> UserError:
    """reason: the key of why (checkpoint.reason.*), with its params."""
    reason = Phrase(reason, params)
    return UserError("checkpoint.not_ours", file=Path(path).name, reason=reason).then("checkpoint.save_with_mirador")


def to_bytes(model: GPT, tokenizer, meta: dict | None = None, timeline: AttentionTimeline | None = None) -> bytes:
    tensors = {
        name: tensor.detach().to("cpu", torch.float32).contiguous()
        for name, tensor in model.state_dict().items()
        if name != TIED_WEIGHT
    }
    if timeline is not None and len(timeline) > 0:  # an empty timeline is not stored
        extra = timeline.to_tensors()
        AttentionTimeline.from_tensors(extra, model.config)  # ValueError now rather than at load
        tensors.update(extra)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict()),
        "tokenizer": json.dumps(tokenizer.to_dict()),
        "meta": json.dumps(meta or {}),
    }
    return safetensors_bytes(tensors, metadata=header)


def save(path, model: GPT, tokenizer, meta: dict | None = None, timeline: AttentionTimeline | None = None) -> Path:
    """Write model, tokenizer, meta and (if given and not empty) the attention timeline to one
    .safetensors file, atomically. ValueError if the timeline is not of this model."""
    return write_atomically(path, to_bytes(model, tokenizer, meta, timeline))


def write_atomically(path, data: bytes) -> Path:
    """Write data to path so that a crash or kill at any moment leaves either the old file or
    the new one whole: a temporary file beside it, flushed to disk, then renamed over it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _refuse_if_cut_short(path: Path) -> None:
    """A file whose header is a Mirador checkpoint's but whose bytes end early (a download or copy
    cut short) gets a message of its own: it is ours, but incomplete.

    safetensors: 8 bytes (little-endian header length N), N bytes of JSON, then the tensors' bytes,
    whose extents the JSON lists."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n > min(size, 100_000_000):
                return
            header = json.loads(f.read(n))
        expected = 8 + n + max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError):
        return
    if isinstance(header.get("__metadata__"), dict) and header["__metadata__"].get("format") == FORMAT and size < expected:
        raise UserError("checkpoint.cut_short", file=path.name, size=size, expected=expected)


def read_header(path):
    """(config, tokenizer, meta) from a checkpoint's header, without reading a tensor: the shape a
    file declares can be checked before anything is allocated.

    FileNotFoundError when there is no file; ValueError when it is not a Mirador checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise MissingFile("checkpoint.missing", path=path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
    except Exception as exc:  # truncated, random bytes, a pickle, ...: all unreadable as safetensors
        _refuse_if_cut_short(path)
        raise _not_ours(path, "checkpoint.reason.unreadable", error=type(exc).__name__) from None
    if header.get("format") != FORMAT:
        raise _not_ours(path, "checkpoint.reason.no_header")
    try:
        config = GPTConfig.from_dict(json.loads(header["config"]))
        tokenizer = tokenizer_from_dict(json.loads(header["tokenizer"]))
        meta = json.loads(header.get("meta", "{}"))
    except (KeyError, TypeError, ValueError) as exc:
        raise _not_ours(path, "checkpoint.reason.invalid_header", detail=exc) from None
    return config, tokenizer, meta


def load(path, map_location: str = "cpu"):
    """Read a checkpoint written by save(): returns (model, tokenizer, meta).

    FileNotFoundError when there is no file; ValueError when the file is not a whole,
    valid Mirador checkpoint (its timeline, if any, included). Nothing in the file is ever
    executed. load_checkpoint returns the timeline as well.
    """
    checkpoint = load_checkpoint(path, map_location)
    return checkpoint.model, checkpoint.tokenizer, checkpoint.meta


def load_checkpoint(path, map_location: str = "cpu") -> "Checkpoint":
    """Read a checkpoint written by save(), timeline included (None if it has none); the same
    checks and errors as load()."""
    path = Path(path)
    config, tokenizer, meta = read_header(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # the header read, but the tensors are cut short or malformed
        raise _not_ours(path, "checkpoint.reason.unreadable", error=type(exc).__name__) from None
    if tokenizer.vocab_size != config.vocab_size:
        raise _not_ours(path, "checkpoint.reason.vocab_mismatch", count=tokenizer.vocab_size, expected=config.vocab_size)
    with torch.device("meta"):  # shapes only: nothing is allocated before the file is validated
        expected = {name: t.shape for name, t in GPT(config).state_dict().items() if name != TIED_WEIGHT}
    timeline_tensors = {name: t for name, t in tensors.items() if name.startswith(TIMELINE_PREFIX)}
    tensors = {name: t for name, t in tensors.items() if name not in timeline_tensors}
    found = {name: t.shape for name, t in tensors.items()}
    if expected != found:
        missing = sorted(set(expected) - set(found))[:3]
        unexpected = sorted(set(found) - set(expected))[:3]
        wrong = sorted(n for n in set(expected) & set(found) if expected[n] != found[n])[:3]
        raise _not_ours(path, "checkpoint.reason.tensors_mismatch", missing=missing, unexpected=unexpected, wrong=wrong)
    if any(t.dtype != torch.float32 or not torch.isfinite(t).all() for t in tensors.values()):
        raise _not_ours(path, "checkpoint.reason.not_float32")
    timeline = None
    if timeline_tensors:
        try:
            timeline = AttentionTimeline.from_tensors(timeline_tensors, config)
        except ValueError as exc:
            raise _not_ours(path, "checkpoint.reason.timeline", detail=exc) from None
    model = GPT(config)
    model.load_state_dict(tensors, strict=False)  # lm_head.weight is tied to tok_emb.weight
    return Checkpoint(model.to(map_location), tokenizer, meta if isinstance(meta, dict) else {}, timeline)
