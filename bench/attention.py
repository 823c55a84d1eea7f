"""Inspection: server-side time of the app's attention view for 128 tokens.

    python bench/attention.py [--quick]

Times what the app's /attention endpoint does on the server: ui.attention.grid_figure
(a forward pass with return_attention=True, then viz.head_grid: every head of one layer as
heatmaps), plus fig.to_json(), which is how Gradio's Plot component serialises a plotly
figure before sending it. The model is the bundled checkpoint (MIRADOR_MODEL or
assets/shakespeare-char.safetensors); if it is missing or its context is shorter than 128
tokens, a random-weight model of the bundled shape (4 layers, 4 heads, 192 wide, block 128)
stands in, and the table says so. The handler runs with the app's request thread policy
(ui.threads.inference); the benchmark restores the process's thread count afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench.common import ROOT, KeptThreadCount, Section, Stopwatch, bundled_model_path, standalone  # noqa: E402

TOKENS = 128
TARGET_MS = 300.0
STAND_IN = dict(n_layer=4, n_head=4, n_embd=192, block_size=128)


def model_handle():
    """(handle, description): the bundled model, or a stand-in of its shape."""
    from gpt import GPT, GPTConfig, make_tokenizer
    from ui.checkpoints import load_bundled
    from ui.context import CORPUS
    from ui.sessions import ModelHandle

    corpus = CORPUS.read_text(encoding="utf-8")
    path = bundled_model_path()
    if path.is_file():
        handle = load_bundled(path, corpus)
        if handle.config.block_size >= TOKENS:
            return handle, f"bundled model {path.name}"
        why = f"{path.name} has a {handle.config.block_size}-token context"
    else:
        why = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} is missing"
    tokenizer = make_tokenizer("char", corpus)
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **STAND_IN))
    desc = f"random-weight stand-in of the bundled shape ({why})"
    return ModelHandle.serving(model, tokenizer, {}, "untrained", "stand-in", None), desc


def text_of(handle, n_tokens: int) -> str:
    from ui.context import CORPUS

    corpus = CORPUS.read_text(encoding="utf-8")
    start = corpus.find("ROMEO:")
    ids = handle.tokenizer.encode(corpus[max(start, 0) : max(start, 0) + 8 * n_tokens])[:n_tokens]
    return handle.tokenizer.decode(ids)


def run(quick: bool = False) -> Section:
    from ui import attention, threads

    handle, desc = model_handle()
    text = text_of(handle, TOKENS)
    n_tokens = len(attention.encode(handle, text))
    repeats = 5 if quick else 15
    watch = Stopwatch(warmup=2)
    ids = attention.encode(handle, text)
    with KeptThreadCount() as kept:
        for _ in watch.rounds(repeats):
            fig = attention.grid_figure(handle, text, 0)  # what the /attention handler runs
            watch.lap("figure")
            fig.to_json()  # what Gradio's Plot then does with the figure
            watch.lap("json")
            with threads.inference():
                attention.attention_maps(handle.model, ids)  # the forward pass with attention, alone
            watch.lap("maps")
    ms = watch.median_ms("figure", "json")
    section = Section(f"Inspection: attention maps for {n_tokens} tokens, all heads of one layer")
    section.row("server-side ms: grid_figure (forward + viz.head_grid) + fig.to_json()", None, ms, None, f"<= {TARGET_MS:.0f} ms", ms <= TARGET_MS, unit="ms")
    section.row("  of which grid_figure (what the handler returns)", None, watch.median_ms("figure"), unit="ms")
    section.row("  of which fig.to_json() (Gradio's serialisation)", None, watch.median_ms("json"), unit="ms")
    section.row("  forward pass with return_attention alone", None, watch.median_ms("maps"), unit="ms")
    c = handle.config
    section.notes += [
        f"Model: {desc}: {c.n_layer} layers x {c.n_head} heads x {c.n_embd} wide, block {c.block_size}.",
        f"Median of {repeats} calls after 2 warm-up calls, with the app's request policy of {kept.left} torch thread(s).",
    ]
    section.json = {"attention_ms_128": ms, "attention_figure_ms": watch.median_ms("figure"), "attention_json_ms": watch.median_ms("json")}
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
