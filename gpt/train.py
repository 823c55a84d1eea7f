"""Command line: train a GPT on a text file and write a checkpoint.

    python -m gpt.train --text input.txt --tokenizer char --max-steps 2000 --out model.safetensors
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .checkpoint import save
from .config import GPTConfig
from .data import split_ids
from .model import GPT
from .tokenizer import make_tokenizer
from .trainer import TrainConfig, Trainer, TrainingDiverged

DEFAULTS = TrainConfig()


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__.splitlines()[0])
    p.add_argument("--text", required=True, type=Path, help="UTF-8 text file to learn from")
    p.add_argument("--tokenizer", choices=("char", "bpe"), default="char")
    p.add_argument("--out", required=True, type=Path, help="checkpoint to write (.safetensors)")
    model = p.add_argument_group("model")
    model.add_argument("--n-layer", type=int, default=4)
    model.add_argument("--n-head", type=int, default=4)
    model.add_argument("--n-embd", type=int, default=128)
    model.add_argument("--block-size", type=int, default=64)
    model.add_argument("--dropout", type=float, default=0.0)
    train = p.add_argument_group("training")
    train.add_argument("--max-steps", type=int, default=DEFAULTS.max_steps)
    train.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    train.add_argument("--learning-rate", "--lr", type=float, default=DEFAULTS.learning_rate)
    train.add_argument("--warmup-steps", type=int, default=DEFAULTS.warmup_steps)
    train.add_argument("--min-lr", type=float, default=DEFAULTS.min_lr)
    train.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay)
    train.add_argument("--grad-clip", type=float, default=DEFAULTS.grad_clip)
    train.add_argument("--eval-interval", type=int, default=DEFAULTS.eval_interval)
    train.add_argument("--eval-iters", type=int, default=DEFAULTS.eval_iters)
    train.add_argument("--seed", type=int, default=DEFAULTS.seed)
    train.add_argument("--device", default="auto")
    train.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    train.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    train.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: torch's choice)")
    keep = train.add_mutually_exclusive_group()
    keep.add_argument("--keep-best", dest="keep_best", action="store_true", default=DEFAULTS.keep_best,
                      help="save the weights of the best validation loss (default)")
    keep.add_argument("--keep-last", dest="keep_best", action="store_false", help="save the last weights")
    return p


def progress_line(event, width: int = 24) -> str:
    filled = int(width * event.step / event.max_steps)
    bar = "#" * filled + "-" * (width - filled)
    val = f" val {event.val_loss:.4f}" if event.val_loss is not None else ""
    return (
        f"\r[{bar}] {event.step}/{event.max_steps} loss {event.train_loss:.4f}{val} "
        f"lr {event.lr:.2e} {event.tokens_per_s:,.0f} tok/s {event.elapsed_s:.0f}s"
    )


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out_folder = args.out.resolve().parent
    if not out_folder.is_dir():
        print(f"error: the folder for --out ({out_folder}) does not exist: create it first.", file=sys.stderr)
        return 2
    try:
        text = args.text.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.text} as UTF-8 text: {exc}", file=sys.stderr)
        return 2
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        tokenizer = make_tokenizer(args.tokenizer, text)
        config = GPTConfig(
            vocab_size=tokenizer.vocab_size,
            block_size=args.block_size,
            n_layer=args.n_layer,
            n_head=args.n_head,
            n_embd=args.n_embd,
            dropout=args.dropout,
        )
        train_config = TrainConfig(
            max_steps=args.max_steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_steps=args.warmup_steps,
            min_lr=args.min_lr,
            weight_decay=args.weight_decay,
            grad_clip=args.grad_clip,
            eval_interval=args.eval_interval,
            eval_iters=args.eval_iters,
            seed=args.seed,
            device=args.device,
            precision=args.precision,
            time_budget_s=args.time_budget,
            keep_best=args.keep_best,
        )
        train_ids, val_ids = split_ids(tokenizer.encode(text), config.block_size)
        model = GPT(config)
        trainer = Trainer(model, train_ids, val_ids, train_config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{config.num_parameters:,} parameters, {args.tokenizer} tokenizer ({tokenizer.vocab_size} tokens), "
        f"{train_ids.numel():,} train / {val_ids.numel():,} val tokens, "
        f"{trainer.device.type} {trainer.precision}",
        file=sys.stderr,
    )
    last, best_train_loss = None, None
    started = time.perf_counter()
    events = trainer.run()
    try:
        for event in events:
            last = event
            if event.val_loss is not None and event.step == event.best_step:
                best_train_loss = event.eval_train_loss
            if event.val_loss is not None:
                print(progress_line(event), file=sys.stderr)  # keep evaluation lines on screen
            else:
                print(progress_line(event), end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: saving the model as it is", file=sys.stderr)
    except TrainingDiverged as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    finally:
        events.close()  # the run ends: with --keep-best the model now holds its best weights
    kept_best = args.keep_best and last is not None and last.best_step is not None and last.best_step < last.step
    if kept_best:
        print(f"\nkept the weights of step {last.best_step} (best val loss {last.best_val_loss:.4f})", file=sys.stderr)
    meta = {
        "steps": last.step if last else 0,
        "best_step": last.best_step if last else None,
        "val_loss": last.best_val_loss if kept_best else last.val_loss if last else None,
        "train_loss": best_train_loss if kept_best else last.eval_train_loss if last else None,
        "tokens_per_s": last.tokens_per_s if last else None,
        "device": trainer.device.type,
        "precision": trainer.precision,
        "train_seconds": round(time.perf_counter() - started, 1),
        "text": args.text.name,
        "train_config": {k: v for k, v in vars(train_config).items()},
    }
    save(args.out, model, tokenizer, meta)
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
