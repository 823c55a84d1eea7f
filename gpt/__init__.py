"""Mirador's GPT library: a decoder-only transformer written from scratch, plus what it
takes to train it, sample from it and save it. It knows nothing of the app around it."""

from .ablation import ablate, ablation_effects
from .checkpoint import Checkpoint, load, load_checkpoint, save
from .config import GPTConfig
from .data import get_batch, split_ids
from .head_detection import head_detection, in_context_gain, repeated_tokens
from .head_metrics import HeadMetrics, head_metrics, tag_heads
from .model import GPT
from .surprise import Surprise, token_losses, token_surprise, top_guesses
from .timeline import AttentionTimeline, snapshot_diff
from .tokenizer import BPETokenizer, CharTokenizer, make_tokenizer, tokenizer_from_dict
from .trace import LayerTrace, Trace, trace
from .trainer import TrainConfig, Trainer, TrainEvent, TrainingDiverged

__all__ = [
    "GPT",
    "GPTConfig",
    "CharTokenizer",
    "BPETokenizer",
    "make_tokenizer",
    "tokenizer_from_dict",
    "split_ids",
    "get_batch",
    "TrainConfig",
    "Trainer",
    "TrainEvent",
    "TrainingDiverged",
    "save",
    "load",
    "load_checkpoint",
    "Checkpoint",
    "AttentionTimeline",
    "snapshot_diff",
    "HeadMetrics",
    "head_metrics",
    "tag_heads",
    "repeated_tokens",
    "head_detection",
    "in_context_gain",
    "ablate",
    "ablation_effects",
    "Surprise",
    "token_surprise",
    "token_losses",
    "top_guesses",
    "trace",
    "Trace",
    "LayerTrace",
]
