"""Command line: train a GPT on a text file and write a checkpoint.

    python -m gpt.train --text input.txt --tokenizer char --max-steps 2000 --out model.safetensors
    torchrun --standalone --nproc_per_node=2 -m gpt.train --text input.txt --out model.safetensors
    python -m gpt.train --text input.txt --resume model.safetensors --out model.safetensors

Beside the checkpoint it writes `<name>.optim.safetensors`, what the run would continue from
(gpt/resume.py). Ctrl-C (or SIGTERM, which torchrun sends its processes on Ctrl-C) and
--stop-at end the run after the step in progress and write both; --resume continues it: the
same settings (flags that would change the training's path are refused), the same text, the
same number of processes. Under torchrun (gpt/distributed.py) rank 0 alone logs and writes.
"""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path

import torch

from .checkpoint import save
from .data import split_ids, text_snippet
from .device import PRECISIONS, resolve_device
from .distributed import World, joined, launch_rank
from .model import GPT
from .presets import PRESETS
from .resume import load_resume, read_resume_header, resume_path, save_resume
from .settings import TrainingSettings, markdown_table
from .tokenizer import make_tokenizer
from .trainer import Trainer, TrainingDiverged


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return number


SECTIONS = {"n_layer": "model", "max_steps": "training", "grad_accum": "steps and stopping"}  # --help's parts


def add_settings_flags(parser: argparse.ArgumentParser, names=None, shown_defaults=None) -> None:
    """One flag per field of TrainingSettings (or of those in `names`), with its help; the defaults
    are the fields' own, or the preset's when --preset is given (so a flag left out is None here).
    shown_defaults: the defaults --help states, where the caller's differ (bench/gpu.py's recipe)."""
    group = parser
    for f in fields(TrainingSettings):
        if names is not None and f.name not in names:
            continue
        spec = f.metadata["setting"]
        if f.name in SECTIONS and names is None:
            group = parser.add_argument_group(SECTIONS[f.name])
        shown = (shown_defaults or {}).get(f.name, f.default)
        default = "decided at the start" if shown is None else shown
        # A default of the caller's replaces what the help says the run would decide.
        about = spec.help.split(" (default:")[0] if f.name in (shown_defaults or {}) else spec.help
        if spec.kind is bool:  # a pair of flags: yes, no
            pair = group.add_mutually_exclusive_group()
            yes, no = TrainingSettings.flag(f.name), spec.negative_flag
            chosen = f"(default: {yes if shown else no})"
            pair.add_argument(yes, dest=f.name, action="store_true", default=None, help=f"{about} {chosen}")
            pair.add_argument(no, dest=f.name, action="store_false", default=None, help=f"the opposite of {yes} {chosen}")
            continue
        group.add_argument(
            TrainingSettings.flag(f.name),
            *spec.aliases,
            dest=f.name,
            type=spec.kind,
            choices=spec.choices or None,
            metavar=None if spec.choices else {int: "N", float: "X"}[spec.kind],
            default=None,
            help=f"{about} (default: {default})",
        )


def given_flags(args: argparse.Namespace, names=None) -> dict:
    """The settings' flags given on the command line (of those in `names`, or all), by field name."""
    chosen = [f.name for f in fields(TrainingSettings) if names is None or f.name in names]
    return {name: getattr(args, name) for name in chosen if getattr(args, name) is not None}


class PrintAndExit(argparse.Action):
    """A flag that prints a text as it is (argparse's "version" action would rewrap it) and exits."""

    def __init__(self, option_strings, dest, text: str, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.text = text

    def __call__(self, parser, namespace, values, option_string=None):
        print(self.text)
        parser.exit()


def given_settings(args: argparse.Namespace) -> dict:
    """The settings the command line names: the preset's, then the flags given."""
    given = given_flags(args)
    return {**PRESETS[args.preset], **given} if args.preset else given


def settings_from_args(args: argparse.Namespace, resumed: TrainingSettings | None = None) -> TrainingSettings:
    """The run's settings: the defaults, or a resumed run's own, with what the command line names."""
    if resumed is not None:
        return resumed.resumed_with(**given_settings(args))
    return TrainingSettings(**given_settings(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.train", description=__doc__.splitlines()[0])
    p.add_argument("--text", required=True, type=Path, help="UTF-8 text file to learn from (required)")
    p.add_argument(
        "--out", required=True, type=Path,
        help="checkpoint to write, a .safetensors file, with <name>.optim.safetensors beside it to resume from (required)",
    )
    p.add_argument(
        "--resume", type=Path, default=None, metavar="CHECKPOINT",
        help="continue the run saved in this checkpoint (and its .optim.safetensors): its settings, "
        "unless a flag changes one a resumed run may change (default: a new run)",
    )
    p.add_argument(
        "--preset", choices=tuple(PRESETS), default=None,
        help="start from one of the app's presets (gpt/presets.py); other flags change it (default: none)",
    )
    p.add_argument(
        "--settings-table", action=PrintAndExit, text=markdown_table(),
        help="print the settings below as a Markdown table (the README's) and exit (default: train)",
    )
    add_settings_flags(p)
    run = p.add_argument_group("where it runs")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    run.add_argument("--precision", choices=PRECISIONS, default="auto", help="number format (default: auto)")
    run.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: torch's choice)")
    return p


# --- what it prints --------------------------------------------------------------------------


def progress_line(event, bar: bool = True, width: int = 24) -> str:
    val = f" val {event.val_loss:.4f}" if event.val_loss is not None else ""
    where = f"{event.step}/{event.max_steps}"
    if bar:
        filled = int(width * event.step / event.max_steps)
        where = f"[{'#' * filled}{'-' * (width - filled)}] {where}"
    else:
        where = f"step {where}"
    return (
        f"{where} loss {event.train_loss:.4f}{val} "
        f"lr {event.lr:.2e} {event.tokens_per_s:,.0f} tok/s {event.elapsed_s:.0f}s"
    )


class Progress:
    """The run's log on a stream. On a terminal, one line redrawn at every step and kept at
    each evaluation. Anywhere else (a log file, CI, torchrun's output) one plain line per
    evaluation, rather than a redrawn bar repeated thousands of times. Only rank 0 speaks."""

    def __init__(self, stream, speaks: bool = True):
        self.stream = stream
        self.speaks = speaks
        self.live = speaks and stream.isatty()
        self._redrawn = False  # a line that \r redraws is on screen

    def event(self, event) -> None:
        evaluated = event.eval_train_loss is not None or event.val_loss is not None
        if not self.speaks or not (self.live or evaluated):
            return
        if self.live:
            self.stream.write("\r" + progress_line(event, bar=True))
            self._redrawn = not evaluated
            self.stream.write("" if self._redrawn else "\n")
        else:
            self.stream.write(progress_line(event, bar=False) + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        if not self.speaks:
            return
        if self._redrawn:
            self.stream.write("\n")
            self._redrawn = False
        self.stream.write(text + "\n")
        self.stream.flush()


@contextmanager
def stop_on_signals(stop):
    """While the block runs, SIGINT (Ctrl-C) and SIGTERM (what torchrun sends each process when
    it gets Ctrl-C) call stop(): the run ends after the step in progress and is saved. A second
    signal raises KeyboardInterrupt: quit now, writing nothing. Yields the list of signals
    received (the handler only records: printing from it could collide with a print under way)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return

    def handler(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --- checks before anything trains -------------------------------------------------------------


def check_out(out: Path) -> None:
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder: give a file in it, such as {out / 'model.safetensors'}.")
    if out.suffix.lower() != ".safetensors":
        raise ValueError(
            f"--out {out.name} must end in .safetensors, the only checkpoint format the app and gpt.load read "
            "(they never unpickle a .pt or .bin file)."
        )
    if not out.resolve().parent.is_dir():
        raise ValueError(f"the folder for --out ({out.resolve().parent}) does not exist: create it first.")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resumed_settings(args, text: str) -> TrainingSettings:
    """The settings of the run --resume names, with the flags given (checked against its own)."""
    record = read_resume_header(resume_path(args.resume))
    run = record["run"]
    try:
        saved = TrainingSettings(**run["settings"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{resume_path(args.resume).name} holds no settings this version can read ({exc}).") from None
    if run.get("text_sha256") != text_sha256(text):
        raise ValueError(
            f"--text {args.text} is not the text this run trained on ({run.get('text', 'unknown')}): "
            "resume it with the same text, or start a new run."
        )
    return settings_from_args(args, resumed=saved)


# --- the run --------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    speaks = launch_rank() == 0  # under torchrun, the other ranks keep quiet

    def error(message: str, code: int = 2) -> int:
        if speaks:
            print(f"error: {message}", file=sys.stderr)
        return code

    try:
        check_out(args.out)
    except ValueError as exc:
        return error(str(exc))
    try:
        text = args.text.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the text
    except (OSError, UnicodeDecodeError) as exc:
        return error(f"cannot read {args.text} as UTF-8 text: {exc}")
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        settings = resumed_settings(args, text) if args.resume else settings_from_args(args)
        tokenizer = make_tokenizer(settings.tokenizer, text)
        config = settings.model_config(tokenizer.vocab_size)
        train_config = settings.train_config(device=args.device, precision=args.precision)
        train_ids, val_ids = split_ids(tokenizer.encode(text), config.block_size)
        device = resolve_device(args.device)
        with joined(device) as world:
            return train(args, settings, text, tokenizer, config, train_config, train_ids, val_ids, world)
    except (ValueError, FileNotFoundError) as exc:
        return error(str(exc))


def train(args, settings, text, tokenizer, config, train_config, train_ids, val_ids, world: World) -> int:
    log = Progress(sys.stderr, speaks=world.is_main)
    torch.manual_seed(settings.seed)
    model = GPT(config)
    resume = load_resume(resume_path(args.resume), model) if args.resume else None
    trainer = Trainer(model, train_ids, val_ids, train_config, world=world, resume=resume)
    log.say(
        f"{config.num_parameters:,} parameters, {settings.tokenizer} tokenizer ({tokenizer.vocab_size} tokens), "
        f"{train_ids.numel():,} train / {val_ids.numel():,} val tokens, "
        f"{trainer.device.type} {trainer.precision}"
    )
    log.say(
        f"global batch {settings.batch_size} x {settings.grad_accum} x {world.size} = {trainer.global_batch} windows "
        f"of {config.block_size} tokens per step (batch_size x grad_accum x processes)"
    )
    if resume is not None:
        log.say(f"resuming at step {resume.step} of {settings.max_steps} from {resume_path(args.resume).name}")
    last = state = None
    record = {"settings": asdict(settings), "text": args.text.name, "text_sha256": text_sha256(text)}
    events = trainer.run()
    try:
        with stop_on_signals(trainer.stop) as signals:
            for event in events:
                if signals and event.stopped:
                    log.say(f"signal received: stopping at step {event.step} and saving (again to quit without saving)")
                last = event
                log.event(event)
                if event.done:  # every rank: the generators of all are gathered
                    state = trainer.resume_state(record)
    except KeyboardInterrupt:
        log.say("interrupted: nothing written (any earlier checkpoint is unchanged)")
        return 130
    except TrainingDiverged as exc:
        log.say(f"error: {exc}")
        return 1
    finally:
        events.close()  # the run ends: with --keep-best the model now holds its best weights
    if world.is_main:
        if last is not None and last.restored_best:
            log.say(f"kept the weights of step {last.best_step} (best val loss {last.best_val_loss:.4f})")
        meta = {**trainer.summary(last), "text": args.text.name, "example": text_snippet(text)}
        # The resume state first: it never depends on the checkpoint, so a kill between the two
        # writes leaves each file whole (gpt/resume.py).
        save_resume(resume_path(args.out), state)
        save(args.out, model, tokenizer, meta)
        log.say(f"wrote {args.out} and {resume_path(args.out).name}")
        if state.step < settings.max_steps:
            launcher = "python" if world.size == 1 else f"torchrun --standalone --nproc_per_node={world.size}"
            log.say(
                f"stopped at step {state.step} of {settings.max_steps}; to continue: "
                f"{launcher} -m gpt.train --text {args.text} --resume {args.out} --out {args.out}"
            )
    world.barrier()  # the other ranks wait while rank 0 writes
    return 0


if __name__ == "__main__":
    sys.exit(main())
