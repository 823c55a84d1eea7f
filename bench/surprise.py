"""Per-token surprise past the context: batched windows against one forward per position.

    python bench/surprise.py [--quick]

gpt.token_surprise gives every token of a text its surprise, each predicted from the last
block_size tokens before it. Past the first block every token needs its own window, so the
plain way is one forward per position (the reference here, as tests/test_surprise.py writes
it); ours runs the first block in one forward and the later windows in batches through
GPT.last_logits. Both compute the same windows (equal results asserted), so the ratio is the
price of running them one at a time. The model is the bundled checkpoint (or a random-weight
stand-in of its shape), on 256 tokens of the corpus (the app's cap for its token views): twice
its 128-token context.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.attention import model_handle, text_of  # noqa: E402
from bench.common import Section, interleave, median, paired_ratio, standalone  # noqa: E402

TOKENS = 256
TARGET_RATIO = 3.0


def per_position(model, ids: torch.Tensor) -> torch.Tensor:
    """The reference: one forward per token, on its cropped context, last logits only."""
    block_size = model.config.block_size
    losses = []
    with torch.inference_mode():
        for i in range(1, ids.numel()):
            logits = model.last_logits(ids[max(0, i - block_size) : i].view(1, -1))  # (1, V)
            losses.append(-logits.float().log_softmax(-1)[0, ids[i]])
    return torch.stack(losses)


def run(quick: bool = False) -> Section:
    from gpt import token_surprise

    handle, desc = model_handle()
    model = handle.model.eval()
    ids = torch.tensor(handle.tokenizer.encode(text_of(handle, TOKENS))[:TOKENS])
    ours = token_surprise(model, ids, k=5).losses
    reference = per_position(model, ids)
    assert torch.allclose(ours, reference, atol=1e-4), "batched and per-position surprises differ"
    rounds = 1 if quick else 3
    times = interleave(
        {"per_position": lambda: per_position(model, ids), "batched": lambda: token_surprise(model, ids, k=5)},
        rounds=rounds,
    )
    ratio = paired_ratio(times["per_position"], times["batched"])
    c = handle.config
    section = Section(f"Surprise: every token of {ids.numel()} (context {c.block_size}), with its top-5 guesses")
    section.row(
        "seconds per text", median(times["per_position"]), median(times["batched"]), ratio,
        f">= {TARGET_RATIO:.0f}x", ratio >= TARGET_RATIO, unit="s",
    )
    section.notes += [
        f"Model: {desc}: {c.n_layer} layers x {c.n_head} heads x {c.n_embd} wide, block {c.block_size}; "
        f"{torch.get_num_threads()} torch thread(s).",
        "Reference: one forward per position on its last block_size tokens (last logits only). Ours: "
        "gpt.token_surprise (the first block in one forward, later windows in batches). Equal losses asserted.",
        f"Median of {rounds} interleaved round(s) after a warm-up round.",
    ]
    section.json = {"surprise_speedup": ratio, "surprise_s_256": median(times["batched"])}
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
