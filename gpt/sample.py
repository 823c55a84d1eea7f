"""Command line: continue a prompt with a trained checkpoint, printing tokens as they come.

    python -m gpt.sample --ckpt assets/shakespeare-char.safetensors --prompt "ROMEO:" --temperature 0.8
    python -m gpt.sample --ckpt model.safetensors --prompt-file prompt.txt --seed 1 > out.txt

Standard output carries the text alone, the prompt followed by its continuation, so it pipes
(errors go to standard error); a newline is added only on a terminal. The sampling flags mean
what the app's Generate tab means: --top-k 0 and --top-p 1 turn those filters off.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from .checkpoint import load
from .tokenizer import text_pieces


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.sample", description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True, type=Path, help="a Mirador checkpoint (.safetensors) (required)")
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    prompt.add_argument(
        "--prompt-file", type=Path, default=None, help="read the prompt from this UTF-8 file, - for standard input (default: none)"
    )
    p.add_argument("--max-new-tokens", type=int, default=300, help="tokens to add after the prompt (default: 300)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 always takes the likeliest token (default: 0.8)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens only; 0 = off (default: 0)")
    p.add_argument("--top-p", type=float, default=1.0, help="sample among the likeliest tokens that make up p; 1 = off (default: 1.0)")
    p.add_argument("--seed", type=int, default=None, help="same seed, same text (default: a different text each time)")
    # One sequence decodes one token at a time: small matrix-vector products that a second
    # thread barely speeds up, and that stall badly when another process wants that core.
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default: 1)")
    return p


def read_prompt(args) -> str:
    if args.prompt_file is None:
        return args.prompt
    if str(args.prompt_file) == "-":
        return sys.stdin.read()
    try:
        return args.prompt_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read --prompt-file {args.prompt_file} as UTF-8 text: {exc}") from None


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    if args.top_k < 0:
        print(f"error: --top-k must be 0 (off) or more, got {args.top_k}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        prompt = read_prompt(args)
        model, tokenizer, _ = load(args.ckpt)
        ids = tokenizer.encode(prompt)
        generator = torch.Generator().manual_seed(args.seed) if args.seed is not None else None
        tokens = model.generate_stream(
            torch.tensor([ids], dtype=torch.long),
            args.max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k or None,  # 0: off, as in the app
            top_p=None if args.top_p == 1.0 else args.top_p,
            generator=generator,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        out.write(prompt)
        for piece in text_pieces(tokenizer, (token[0, 0] for token in tokens), drop_incomplete=True):
            out.write(piece)
            out.flush()
        if out.isatty():
            out.write("\n")  # so the shell's prompt starts on a line of its own
        out.flush()
    except BrokenPipeError:  # the reader had enough (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())  # Python's final flush of stdout must not fail again
    return 0


if __name__ == "__main__":
    sys.exit(main())
