"""Command line: continue a prompt with a trained checkpoint, printing tokens as they come.

    python -m gpt.sample --ckpt assets/shakespeare.safetensors --prompt "ROMEO:" --temperature 0.8
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .checkpoint import load
from .tokenizer import text_pieces


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpt.sample", description=__doc__.splitlines()[0])
    p.add_argument("--ckpt", required=True, type=Path)
    p.add_argument("--prompt", default="\n")
    p.add_argument("--max-new-tokens", type=int, default=300)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    # One sequence decodes one token at a time: small matrix-vector products that a second
    # thread barely speeds up, and that stall badly when another process wants that core.
    p.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads < 1:
        print("error: --threads must be at least 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    try:
        model, tokenizer, _ = load(args.ckpt)
        ids = tokenizer.encode(args.prompt)
        generator = torch.Generator().manual_seed(args.seed) if args.seed is not None else None
        tokens = model.generate_stream(
            torch.tensor([ids], dtype=torch.long),
            args.max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            generator=generator,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(args.prompt)
    for piece in text_pieces(tokenizer, (token[0, 0] for token in tokens), drop_incomplete=True):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
