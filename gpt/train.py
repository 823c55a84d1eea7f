"""Command line: train a GPT on a text file and write a checkpoint.

    python -m gpt.train --text input.txt --tokenizer char --max-steps 2000 --out model.safetensors
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

import torch

from .checkpoint import save
from .data import split_ids, text_snippet
from .device import PRECISIONS
from .model import GPT
from .presets import PRESETS, preset
from .settings import TrainingSettings
from .tokenizer import make_tokenizer
from .trainer import Trainer, TrainingDiverged


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return number


SECTIONS = {"n_layer": "model", "max_steps": "training"}  # the field each part of --help starts at


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of TrainingSettings, with its help; the defaults are the fields' own,
    or the preset's when --preset is given (so a flag left out is None here)."""
    group = parser
    for f in fields(TrainingSettings):
        spec = f.metadata["setting"]
        if f.name in SECTIONS:
            group = parser.add_argument_group(SECTIONS[f.name])
        default = "decided at the start" if f.default is None else f.default
        if spec.kind is bool:  # a pair of flags: yes, no
            pair = group.add_mutually_exclusive_group()
            yes, no = TrainingSettings.flag(f.name), spec.negative_flag
            pair.add_argument(yes, dest=f.name, action="store_true", default=None, help=f"{spec.help} (default: {yes if f.default else no})")
            pair.add_argument(no, dest=f.name, action="store_false", default=None)
            continue
        group.add_argument(
            TrainingSettings.flag(f.name),
            *spec.aliases,
            dest=f.name,
            type=spec.kind,
            choices=spec.choices or None,
            metavar=None if spec.choices else {int: "N", float: "X"}[spec.kind],
            default=None,
            help=f"{spec.help} (default: {default})",
        )


def settings_from_args(args: argparse.Namespace) -> TrainingSettings:
    given = {f.name: getattr(args, f.name) for f in fields(TrainingSettings) if getattr(args, f.name) is not None}
    return preset(args.preset, **given) if args.preset else TrainingSettings(**given)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__.splitlines()[0])
    p.add_argument("--text", required=True, type=Path, help="UTF-8 text file to learn from")
    p.add_argument("--out", required=True, type=Path, help="checkpoint to write (.safetensors)")
    p.add_argument("--preset", choices=tuple(PRESETS), help="start from one of the app's presets (gpt/presets.py); other flags change it")
    add_settings_flags(p)
    run = p.add_argument_group("where it runs")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    run.add_argument("--precision", choices=PRECISIONS, default="auto", help="number format (default: auto)")
    run.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: torch's choice)")
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
        text = args.text.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the text
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.text} as UTF-8 text: {exc}", file=sys.stderr)
        return 2
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        settings = settings_from_args(args)
        torch.manual_seed(settings.seed)
        tokenizer = make_tokenizer(settings.tokenizer, text)
        config = settings.model_config(tokenizer.vocab_size)
        train_config = settings.train_config(device=args.device, precision=args.precision)
        train_ids, val_ids = split_ids(tokenizer.encode(text), config.block_size)
        model = GPT(config)
        trainer = Trainer(model, train_ids, val_ids, train_config)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{config.num_parameters:,} parameters, {settings.tokenizer} tokenizer ({tokenizer.vocab_size} tokens), "
        f"{train_ids.numel():,} train / {val_ids.numel():,} val tokens, "
        f"{trainer.device.type} {trainer.precision}",
        file=sys.stderr,
    )
    last = None
    events = trainer.run()
    try:
        for event in events:
            last = event
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
    if last is not None and last.restored_best:
        print(f"\nkept the weights of step {last.best_step} (best val loss {last.best_val_loss:.4f})", file=sys.stderr)
    meta = {**trainer.summary(last), "text": args.text.name, "example": text_snippet(text)}
    save(args.out, model, tokenizer, meta)
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
