"""Hard caps, enforced on the server whatever the browser or an API client sends.

One place to read and tune them. Every check that uses one says, in its message, what
the user should change.
"""

from __future__ import annotations

from gpt.errors import Phrase

# Model shape (training and uploads). 12M parameters is a bit over the lecture's largest
# model (6 layers x 384 wide, 10.8M): 48 MB of float32 weights per session that holds one.
# MAX_SERVED_*: what this app trains and serves, well inside the library's own bounds (gpt/config.py
# MAX_PARAMETERS, MAX_BLOCK_SIZE: what a GPTConfig may be at all).
MAX_SERVED_PARAMETERS = 12_000_000
MAX_SERVED_BLOCK_SIZE = 256  # context length a learner can train; attention views stay readable
MIN_BLOCK_SIZE = 2  # a context of one token is a bigram table: nothing for attention to show
MIN_N_EMBD = 8  # narrower streams cannot hold even a character vocabulary's distinctions
MAX_BATCH_SIZE = 128
MAX_TOKENS_PER_STEP = 16_384  # batch_size * block_size: bounds activation memory per step
# Beyond this almost nothing reaches the next layer while training. The form's slider goes this far
# too (its ends are FORM_CAPS'): a learner may see a too-high dropout fail to learn, and the API,
# which always took 0.9, takes nothing the page does not offer.
MAX_DROPOUT = 0.9

# One training run.
MAX_STEPS = 5_000
MAX_TRAIN_SECONDS = 300.0  # wall time per run, evaluation included (queue wait excluded)
MAX_TEXT_CHARS = 5_000_000  # pasted or uploaded training text (about 5 MB)
MAX_LEARNING_RATE = 1e-2  # above this AdamW on these models blows the loss up instead of learning
MAX_WARMUP_STEPS = 500  # a warm-up longer than this would be most of a run the caps allow
MAX_WAITING_TRAININGS = 8  # trainings waiting for a training slot; the next is refused at once

# Files.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a checkpoint upload (.safetensors only)
MAX_TEXT_UPLOAD_BYTES = 6 * 1024 * 1024  # a .txt upload (then checked against MAX_TEXT_CHARS)

# Inference.
MAX_NEW_TOKENS = 1_000
MAX_PROMPT_CHARS = 20_000
MAX_ATTENTION_TOKENS = 256  # tokens shown in the attention views (also capped by the context)

# Sessions.
SESSION_TTL_S = 3_600.0  # a session unseen this long loses its own model (unload frees it sooner)
MAX_SESSION_MODELS = 32  # sessions holding their own model; the least recently used is freed first
# Gradio keeps every session's copy of the components' state (about 0.1 MB each, measured with
# tracemalloc: 1.5 MB for 17 sessions), closed or not, until this many newer sessions push it out
# (Gradio's default, 10,000, would let it grow to about 1 GB).
MAX_GRADIO_SESSION_STATES = 2_000


# The training form's fields that the app narrows, as (low, high); None keeps the library's
# bound (gpt/settings.py). The one place the app's range of a field is set: what /train accepts and
# what the form's slider offers are both this range (ui/train_form.py app_range), and every number
# on the form must end up with both ends. With the hint that a refusal adds.
FORM_CAPS = {
    "n_embd": (MIN_N_EMBD, None),
    "block_size": (MIN_BLOCK_SIZE, MAX_SERVED_BLOCK_SIZE),
    "batch_size": (None, MAX_BATCH_SIZE),
    "max_steps": (None, MAX_STEPS),
    "learning_rate": (None, MAX_LEARNING_RATE),
    "dropout": (None, MAX_DROPOUT),
    "time_budget_s": (None, MAX_TRAIN_SECONDS),
    "warmup_steps": (None, MAX_WARMUP_STEPS),
}
CAP_HINTS = {  # the sentence's key (locales/en.py ERRORS), with its values
    "max_steps": Phrase("train.max_steps_hint"),
    "time_budget_s": Phrase("train.time_budget_hint", {"seconds": MAX_TRAIN_SECONDS}),
}


def mb(n_bytes: int) -> str:
    return f"{n_bytes / (1024 * 1024):.0f} MB"
