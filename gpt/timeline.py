"""How a model's attention changed while it trained: snapshots of every head on one fixed
probe sentence, taken at evaluations.

Each snapshot is the attention of all layers and heads on the probe, (n_layer, n_head, T, T),
kept in float16: attention weights are in [0, 1], where float16 is good to ~5e-4, far below
what a heatmap shows, at half the bytes of float32.

Thinning. A run may evaluate hundreds of times; the timeline keeps at most `max_snapshots`.
The rule: keep every k-th evaluation (the 1st, the (k+1)-th, the (2k+1)-th, ...) plus the
latest one, starting with k = 1. When that would be more than max_snapshots, k doubles and
every snapshot off the new grid is dropped. So at any moment the kept snapshots are the first
evaluation, evenly spaced ones after it (exactly k evaluations apart), and the latest, and
there are between about max_snapshots / 2 and max_snapshots of them. Evaluations come every
eval_interval steps, so the kept steps are evenly spaced too (the latest aside, which may be
closer to the one before it).

A timeline travels in the model's checkpoint as three tensors (gpt/checkpoint.py):
`timeline.probe` (T,) int64, `timeline.steps` (S,) int64 and `timeline.maps` (S, L, H, T, T)
float16. `from_tensors` checks them against the model's config before anything is built.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .checks import is_whole
from .config import GPTConfig
from .errors import UserError
from .head_metrics import MIN_TOKENS

MAX_PROBE_TOKENS = 64  # a probe is a sentence to look at, not a text: 64 tokens fill a heatmap
MAX_SNAPSHOTS = 50  # enough frames for a slider through training
# All snapshots together stay under this: with the checkpoint upload cap of 64 MB and a model
# at the 12M-parameter cap (48 MB of float32 weights), the timeline must fit in the other 16.
MAX_TIMELINE_BYTES = 16 * 1024 * 1024

PROBE, STEPS, MAPS = "timeline.probe", "timeline.steps", "timeline.maps"  # names in a checkpoint
TENSOR_NAMES = frozenset((PROBE, STEPS, MAPS))


class Snapshot(NamedTuple):
    step: int  # the training step the attention was taken after
    maps: torch.Tensor  # (n_layer, n_head, T, T) float16 on the CPU


def snapshot_cap(n_layer: int, n_head: int, n_tokens: int) -> int:
    """How many snapshots a timeline keeps: MAX_SNAPSHOTS, fewer when they would pass
    MAX_TIMELINE_BYTES (a model with many heads), never fewer than 2 (the first and the latest)."""
    snapshot_bytes = n_layer * n_head * n_tokens * n_tokens * 2  # float16
    return max(2, min(MAX_SNAPSHOTS, MAX_TIMELINE_BYTES // snapshot_bytes))


def check_probe(probe_ids, config: GPTConfig) -> list[int]:
    """The probe's token ids as a list, if the model can read them; ValueError otherwise."""
    ids = probe_ids.tolist() if isinstance(probe_ids, torch.Tensor) else list(probe_ids)
    limit = probe_limit(config.block_size)
    if not 1 <= len(ids) <= limit:
        raise ValueError(f"The probe must have 1 to {limit} tokens (the model's context, at most "
                         f"{MAX_PROBE_TOKENS}), got {len(ids)}: use a shorter sentence.")
    if not all(is_whole(i) and 0 <= i < config.vocab_size for i in ids):
        raise ValueError(f"The probe's token ids must be in 0..{config.vocab_size - 1} (the model's vocabulary).")
    return [int(i) for i in ids]


def probe_limit(block_size: int) -> int:
    """The most tokens a probe may have: the model's context, at most MAX_PROBE_TOKENS."""
    return min(MAX_PROBE_TOKENS, block_size)


def encode_probe(tokenizer, sentence: str, block_size: int) -> list[int]:
    """A probe sentence typed by a person, as token ids, cut to probe_limit(block_size).

    ValueError, naming them, when the tokenizer cannot encode some of its characters (a char
    tokenizer knows only its training text's), and when it has fewer than MIN_TOKENS tokens
    (the head metrics need three different keys; fewer only when the context is shorter)."""
    if not isinstance(sentence, str):
        raise UserError("probe.not_text", kind=type(sentence).__name__)
    try:
        ids = tokenizer.encode(sentence)
    except ValueError:
        unseen = []
        for ch in dict.fromkeys(sentence):  # each character once, in order
            try:
                tokenizer.encode(ch)
            except ValueError:
                unseen.append(ch)
        shown = ", ".join(repr(ch) for ch in unseen[:10]) or repr(sentence[:20])
        raise UserError("probe.unseen", chars=shown) from None
    limit = probe_limit(block_size)
    needed = min(MIN_TOKENS, limit)
    if len(ids) < needed:
        raise UserError("probe.too_short", count=len(ids), needed=needed)
    return ids[:limit]


class AttentionTimeline:
    """Attention snapshots of one model on one probe sentence, thinned as described above."""

    def __init__(self, probe_ids, config: GPTConfig, max_snapshots: int | None = None):
        self.probe_ids = check_probe(probe_ids, config)
        self.n_layer, self.n_head = config.n_layer, config.n_head
        cap = snapshot_cap(config.n_layer, config.n_head, len(self.probe_ids))
        if max_snapshots is not None and not (is_whole(max_snapshots) and 2 <= max_snapshots <= cap):
            raise ValueError(f"max_snapshots must be a whole number from 2 (the first and the latest) to {cap}, "
                             f"got {max_snapshots!r}.")
        self.max_snapshots = cap if max_snapshots is None else int(max_snapshots)
        self._kept: list[tuple[int, Snapshot]] = []  # (evaluation number, snapshot), in order
        self._evaluations = 0  # snapshots offered so far
        self._every = 1  # k: keep every k-th evaluation (and the latest)

    @property
    def n_tokens(self) -> int:
        return len(self.probe_ids)

    @property
    def snapshots(self) -> list[Snapshot]:
        return [snapshot for _, snapshot in self._kept]

    @property
    def steps(self) -> list[int]:
        return [snapshot.step for _, snapshot in self._kept]

    @property
    def maps(self) -> torch.Tensor:
        """Every snapshot stacked, (S, n_layer, n_head, T, T) float16 (e.g. for head_metrics)."""
        if not self._kept:
            raise ValueError("The timeline has no snapshots yet.")
        return torch.stack([s.maps for s in self.snapshots])

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, step: int, maps: torch.Tensor) -> None:
        """Record the attention after `step`: maps (n_layer, n_head, T, T), e.g. the output of
        ui.attention.attention_maps on the probe. Steps must increase from one call to the next;
        the latest step again (a run stopped right after an evaluation evaluates it twice)
        replaces the latest snapshot."""
        shape = (self.n_layer, self.n_head, self.n_tokens, self.n_tokens)
        if not isinstance(maps, torch.Tensor) or tuple(maps.shape) != shape:
            got = tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__
            raise ValueError(f"Attention maps for this timeline must have shape {shape} (layers, heads, T, T), got {got}.")
        last = self._kept[-1][1].step if self._kept else None
        if not is_whole(step) or step < 0 or (last is not None and step < last):
            raise ValueError(f"Snapshot steps must be whole numbers that increase; got {step!r} after {last}.")
        maps16 = maps.detach().to("cpu", torch.float16, copy=True)  # (L, H, T, T): ours, not the caller's
        if step == last:
            self._kept[-1] = (self._kept[-1][0], Snapshot(int(step), maps16))
            return
        index = self._evaluations
        self._evaluations += 1
        self._kept.append((index, Snapshot(int(step), maps16)))
        self._thin()

    def _thin(self) -> None:
        """Keep the evaluations on the grid (0, k, 2k, ...) and the latest; double k until they fit."""
        latest = self._kept[-1][0]
        while True:
            kept = [(i, s) for i, s in self._kept if i % self._every == 0 or i == latest]
            if len(kept) <= self.max_snapshots:
                self._kept = kept
                return
            self._every *= 2

    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The three tensors a checkpoint stores (see the module's docstring)."""
        return {
            MAPS: self.maps,  # (S, L, H, T, T) float16; ValueError when there are no snapshots
            PROBE: torch.tensor(self.probe_ids, dtype=torch.int64),  # (T,)
            STEPS: torch.tensor(self.steps, dtype=torch.int64),  # (S,)
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], config: GPTConfig) -> "AttentionTimeline":
        """A timeline from a checkpoint's tensors, checked against the model's config.

        ValueError, saying what is wrong, for anything the timeline could not have written.
        The result keeps thinning if more snapshots are added: its snapshots then count as
        consecutive evaluations (how they were spread before is not stored)."""
        if set(tensors) != TENSOR_NAMES:
            raise ValueError(f"a timeline needs exactly the tensors {sorted(TENSOR_NAMES)}, got {sorted(tensors)}")
        probe, steps, maps = tensors[PROBE], tensors[STEPS], tensors[MAPS]
        for name, tensor, dtype in ((PROBE, probe, torch.int64), (STEPS, steps, torch.int64), (MAPS, maps, torch.float16)):
            if tensor.dtype != dtype:
                raise ValueError(f"{name} must be {dtype}, got {tensor.dtype}")
        if probe.dim() != 1:
            raise ValueError(f"{PROBE} must be one-dimensional, got shape {tuple(probe.shape)}")
        timeline = cls(probe, config)  # checks the probe's length and ids
        T, S = timeline.n_tokens, steps.numel()
        if steps.dim() != 1 or not 1 <= S <= timeline.max_snapshots:
            raise ValueError(f"{STEPS} must hold 1 to {timeline.max_snapshots} steps, got shape {tuple(steps.shape)}")
        expected = (S, config.n_layer, config.n_head, T, T)
        if tuple(maps.shape) != expected:
            raise ValueError(f"{MAPS} must have shape {expected} (snapshots, layers, heads, T, T), got {tuple(maps.shape)}")
        if int(steps[0]) < 0 or (S > 1 and not bool((steps[1:] > steps[:-1]).all())):
            raise ValueError(f"{STEPS} must be increasing and >= 0")
        if not bool(torch.isfinite(maps).all()) or not bool(((maps >= 0) & (maps <= 1)).all()):
            raise ValueError(f"{MAPS} must be attention weights: finite numbers in [0, 1]")
        for step, snapshot in zip(steps.tolist(), maps):
            timeline.add(step, snapshot)
        return timeline


def snapshot_diff(maps_a: torch.Tensor, maps_b: torch.Tensor) -> torch.Tensor:
    """How attention moved from snapshot a to snapshot b: maps_b - maps_a in float32, same shape
    (e.g. (n_layer, n_head, T, T)); positive where b attends more. Both must be the same shape."""
    if not isinstance(maps_a, torch.Tensor) or not isinstance(maps_b, torch.Tensor):
        raise ValueError("snapshot_diff compares two attention tensors.")
    if maps_a.shape != maps_b.shape:
        raise ValueError(f"Snapshots to compare must have the same shape, got {tuple(maps_a.shape)} and "
                         f"{tuple(maps_b.shape)}: compare snapshots of the same model and probe.")
    return maps_b.float() - maps_a.float()
