"""Named starting points for a training run: the app's "Model size" buttons, the command
line's --preset and the benchmarks' recipes are this one table.

A preset is a partial TrainingSettings: the fields it names, on top of the defaults. It fixes
what the model learns (shape, batch, schedule); how often a run stops to evaluate is the run's
own choice (the app spaces evaluations over the time budget, a benchmark measures at its own
cadence), since evaluations draw their own batches and never change the weights. Tuned on a
2-core CPU (bench/RESULTS.md):
- fast: the time-to-quality recipe of bench/time_to_quality.py. On char tiny Shakespeare it
  reaches val loss <= 1.90 in about 20 s there (chosen by short exploration runs: a 2-layer
  step costs about half a 4-layer one, and lr 5e-3 with a 30-step warm-up still converges).
- tiny: the smallest; the loss falls within seconds.
- small: four layers and a longer context, a few minutes.
- medium: the lecture's model (6 x 6 x 384, block 256, dropout 0.2, lr 3e-4): made for a GPU.
"""

from __future__ import annotations

from .settings import TrainingSettings

PRESETS: dict[str, dict] = {
    "fast": dict(
        n_layer=2, n_head=4, n_embd=128, block_size=64, batch_size=32, learning_rate=5e-3,
        max_steps=700, time_budget_s=60.0, warmup_steps=30,
    ),
    "tiny": dict(
        n_layer=2, n_head=2, n_embd=64, block_size=32, batch_size=16, learning_rate=3e-3,
        max_steps=500, time_budget_s=30.0, warmup_steps=50,
    ),
    "small": dict(
        n_layer=4, n_head=4, n_embd=128, block_size=128, batch_size=32, learning_rate=1e-3,
        max_steps=1000, time_budget_s=300.0, warmup_steps=100,
    ),
    "medium": dict(
        n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=32, learning_rate=3e-4,
        max_steps=5000, time_budget_s=300.0, warmup_steps=100, dropout=0.2,
    ),
}
DEFAULT_PRESET = "fast"

# induction: the run that shows an induction head form, on gpt/repeated_text.py's repeated random
# text (its defaults). Two layers, so a previous-token head in layer 0 can feed an induction head
# in layer 1; two heads of 32 dimensions; three strings' copies fit in the 64-token context. Chosen
# by exploration runs on the 2-core CPU (one thread): the loss falls slowly to ~2.9 for 1,000-1,300
# steps, then within ~100 steps to ~2.0 as a layer-1 head's induction score jumps from ~0.1 past 0.4
# and the in-context gain from about -0.3 to +2 nats (bench/induction.py measures it for 3 seeds).
# lr 6e-3 formed the head 15-30% fewer steps in than 3e-3 (seeds 1337 and 2).
# Not in PRESETS: those are the app's "Model size" buttons, each labelled in both languages, and
# this one belongs with its text (the app's "repeated random text" choice).
INDUCTION_PRESET: dict = dict(
    n_layer=2, n_head=2, n_embd=64, block_size=64, batch_size=32, learning_rate=6e-3,
    max_steps=3000, time_budget_s=90.0, warmup_steps=30,
)


def preset(name: str, **changes) -> TrainingSettings:
    """The named preset as TrainingSettings, with any other fields changed on top."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return TrainingSettings(**{**PRESETS[name], **changes})
