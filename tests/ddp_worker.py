"""One rank of tests/test_distributed.py, and the runs it compares.

Started with torchrun's environment variables (RANK, WORLD_SIZE, ...) by the test, each rank
joins the others over gloo on 127.0.0.1 (gpt.distributed.joined), trains the same tiny model
in the ways RUNS lists, and writes what it saw to OUT_DIR/rank<r>.json. The test runs the same
`train` in its own process (World() alone) for the single-process side of each comparison.

    python tests/ddp_worker.py OUT_DIR
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from gpt import GPT, GPTConfig, TrainConfig, Trainer, make_tokenizer, split_ids
from gpt.distributed import World, joined
from gpt.resume import load_resume, save_resume

TEXT = "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. " * 12
STEPS = 20
# name: (batch_size, grad_accum, dropout) for the ranks; each single-process twin is in the test.
RUNS = {
    "split": (4, 1, 0.0),  # 2 ranks x 4 windows: the global batch of 1 process x 8
    "accum": (8, 1, 0.0),  # 2 ranks x 8 windows: 1 process x 8 x grad_accum 2
    "dropout": (4, 1, 0.1),  # straight, and stopped at 10 then resumed (below): same losses
}


def data():
    tokenizer = make_tokenizer("char", TEXT)
    return tokenizer, *split_ids(tokenizer.encode(TEXT), 16)


def new_model(vocab_size: int, dropout: float) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32, dropout=dropout))


def config(batch_size: int, grad_accum: int, **extra) -> TrainConfig:
    base = dict(
        max_steps=STEPS, batch_size=batch_size, grad_accum=grad_accum, learning_rate=3e-3, warmup_steps=3,
        eval_interval=5, eval_iters=2, device="cpu", precision="fp32", seed=7, keep_best=False,
    )
    return TrainConfig(**{**base, **extra})


def weights_of(model: GPT) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def train(world: World, batch_size: int, grad_accum: int = 1, dropout: float = 0.0, **extra) -> dict:
    """One run: every step's loss, the evaluations, the final weights."""
    tokenizer, train_ids, val_ids = data()
    model = new_model(tokenizer.vocab_size, dropout)
    trainer = Trainer(model, train_ids, val_ids, config(batch_size, grad_accum, **extra), world=world)
    events = list(trainer.run())
    return report(model, events, trainer)


def run_to_end(trainer: Trainer, record: dict | None = None):
    """Every event of a run, and its resume state taken at the last one (as python -m gpt.train
    takes it: at an event, before the run ends and puts the best weights back)."""
    events, state = [], None
    for event in trainer.run():
        events.append(event)
        if event.done:
            state = trainer.resume_state(record)
    return events, state


def report(model, events, trainer) -> dict:
    weights = weights_of(model)
    return {
        "losses": [e.train_loss for e in events],
        "val": [e.val_loss for e in events if e.val_loss is not None],
        "weights": weights.tolist(),
        "weights_sha256": hashlib.sha256(weights.numpy().tobytes()).hexdigest(),
        "global_batch": trainer.global_batch,
        "rng_sha256": hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest(),  # dropout's generator
    }


def stopped_and_resumed(world: World, folder: Path, batch_size: int, dropout: float) -> dict:
    """Stop at step 10, write the resume state (rank 0), every rank reads it, go on to 20."""
    tokenizer, train_ids, val_ids = data()
    model = new_model(tokenizer.vocab_size, dropout)
    first = Trainer(model, train_ids, val_ids, config(batch_size, 1, stop_at=10), world=world)
    events, state = run_to_end(first, {"test": True})  # every rank: the generators are gathered
    path = folder / "resume.optim.safetensors"
    if world.is_main:
        save_resume(path, state)
    world.barrier()
    model = new_model(tokenizer.vocab_size, dropout)  # a fresh model, as a new process builds it
    second = Trainer(model, train_ids, val_ids, config(batch_size, 1), world=world, resume=load_resume(path, model))
    events += list(second.run())
    return report(model, events, second)


def main(folder: Path) -> None:
    torch.set_num_threads(1)
    with joined(torch.device("cpu")) as world:
        seen = {"rank": world.rank, "size": world.size}
        for name, (batch_size, grad_accum, dropout) in RUNS.items():
            seen[name] = train(world, batch_size, grad_accum, dropout)
        seen["dropout_resumed"] = stopped_and_resumed(world, folder, *RUNS["dropout"][::2])
        (folder / f"rank{world.rank}.json").write_text(json.dumps(seen))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
