"""The lines of the library that the Learn tab shows beside each idea, read from the source.

Each excerpt names a function or method (`CausalSelfAttention.attend`) and, optionally, the first
and last lines to keep (by a piece of text each contains). The lines are found with Python's own
parser when the app starts, so the page always shows the code that runs: rename a function or
reword a line and the excerpt fails at start-up instead of drifting (tests/test_learn.py).
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Excerpt:
    path: str  # relative to the repository: "gpt/model.py"
    name: str  # a function, or Class.method
    first: str | None = None  # keep from the first line containing this (None: the def line)
    last: str | None = None  # up to the first line after it containing this (None: the end)


# What each section shows, in the order of the page.
EXCERPTS: dict[int, tuple[Excerpt, ...]] = {
    1: (Excerpt("gpt/model.py", "GPT.__init__", "self.tok_emb =", "self.lm_head.weight ="),),
    2: (Excerpt("gpt/model.py", "GPT.forward", "logits = self.lm_head", "loss = F.cross_entropy"),),
    3: (Excerpt("gpt/model.py", "GPT.residual_stream"),),
    4: (
        Excerpt("gpt/model.py", "CausalSelfAttention.forward", "q, k, v = self.qkv(x)", "v = self.hook_v"),
        Excerpt("gpt/model.py", "CausalSelfAttention.attend"),
    ),
    5: (
        Excerpt("gpt/model.py", "CausalSelfAttention.__init__", "self.qkv =", "self.proj ="),
        Excerpt("gpt/model.py", "CausalSelfAttention.forward", "y = self.hook_heads_out", "return"),
    ),
    6: (
        Excerpt("gpt/model.py", "MLP.__init__", "self.fc =", "self.proj ="),
        Excerpt("gpt/model.py", "MLP.forward"),
    ),
    7: (Excerpt("gpt/model.py", "Block.forward"),),
    8: (Excerpt("gpt/trace.py", "trace", "streams =", "# (n_layer + 1, T, V)"),),
    9: (
        Excerpt("gpt/sampling.py", "sample_next", "if temperature == 0", "probs = logits.softmax"),
        Excerpt("gpt/sampling.py", "filter_logits", "if top_k is not None", "return logits"),
    ),
    10: (
        Excerpt("gpt/model.py", "GPT._init_weights"),
        Excerpt("gpt/model.py", "CausalSelfAttention.__init__", "self.attn_dropout", "self.resid_dropout"),
        Excerpt("gpt/model.py", "GPT.forward", "loss = F.cross_entropy", "loss = F.cross_entropy"),
    ),
}


def _find(tree: ast.Module, name: str) -> ast.FunctionDef:
    """The function `name` ("f" or "Class.method") defined at the top of a module."""
    scope: list = tree.body
    *outer, last = name.split(".")
    for part in outer:
        scope = next((n.body for n in scope if isinstance(n, ast.ClassDef) and n.name == part), None)
        if scope is None:
            raise LookupError(f"{name}: no class {part!r}")
    for node in scope:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == last:
            return node
    raise LookupError(f"{name}: no function {last!r}")


def _line_with(lines: list[str], text: str, start: int, name: str) -> int:
    for i in range(start, len(lines)):
        if text in lines[i]:
            return i
    raise LookupError(f"{name}: no line containing {text!r}")


def excerpt_lines(excerpt: Excerpt) -> list[str]:
    """The excerpt's lines as they stand in the file (indentation included)."""
    source = (ROOT / excerpt.path).read_text(encoding="utf-8")
    node = _find(ast.parse(source), excerpt.name)
    start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    lines = source.splitlines()[start - 1 : node.end_lineno]
    first = _line_with(lines, excerpt.first, 0, excerpt.name) if excerpt.first else 0
    last = _line_with(lines, excerpt.last, first, excerpt.name) if excerpt.last else len(lines) - 1
    return lines[first : last + 1]


def _render(excerpt: Excerpt) -> str:
    header = f"# {excerpt.path} · {excerpt.name}"
    return header + "\n" + textwrap.dedent("\n".join(excerpt_lines(excerpt)))


@lru_cache(maxsize=None)
def section_code(section: int) -> str:
    """The code shown in one section: each excerpt under a comment naming its file and function."""
    return "\n\n".join(_render(e) for e in EXCERPTS[section])
