"""How often a training run in the app reports to its page, and how much it writes: what the run
(ui/training.py) does and what its time estimate (ui/calibration.py, ui/run_estimate.py) counts.
A leaf module: both read it, neither imports the other for it."""

from __future__ import annotations

UPDATE_INTERVAL_S = 0.5  # at most about two UI updates a second, plus one per evaluation
SAMPLE_CHARS = 240  # length of the sample written at each evaluation


def sample_tokens(tokenizer_kind: str) -> int:
    """Tokens in the sample written at each evaluation: SAMPLE_CHARS characters, about 4 per BPE token."""
    return SAMPLE_CHARS if tokenizer_kind == "char" else SAMPLE_CHARS // 4
