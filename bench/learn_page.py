"""The Learn tab: server time of the whole page for a 64-token sentence on the bundled model.

    python bench/learn_page.py [--quick]

Times what the tab's handler does when a sentence is submitted: ui.learn.views for every
section (one trace of the sentence, the bigram view's batch of one-token sequences, and every
figure and table), plus fig.to_json() for each figure, which is how Gradio's Plot component
serialises it before sending. In English, for a 1400-px window (the laptop layout). Then the
two partial redraws: another layer, head or token (sections 4 to 8 and dropout), and other
sampling settings (section 9). The model is the bundled checkpoint, or a random-weight stand-in
of its shape (bench/attention.py's), as the table says. The handler runs with the app's request
thread policy (ui.threads.inference); the process's thread count is restored afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python bench/<name>.py): import bench.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.attention import model_handle, text_of  # noqa: E402
from bench.common import KeptThreadCount, Section, Stopwatch, median, standalone  # noqa: E402

TOKENS = 64
TARGET_MS = 1500.0


def serialised(views: dict) -> int:
    """What Gradio sends: each figure as JSON, each table as its HTML; returns the bytes."""
    total = 0
    for view in views.values():
        if hasattr(view, "to_json"):
            total += len(view.to_json())
        elif isinstance(view, str):
            total += len(view)
    return total


def run(quick: bool = False) -> Section:
    from ui import learn
    from ui.clients import Client
    from ui.context import CORPUS

    handle, desc = model_handle()
    sentence = text_of(handle, TOKENS)
    n_tokens = len(learn.read(handle, sentence).ids)
    refs = learn.references(CORPUS.read_text(encoding="utf-8"))
    client = Client(width_px=1400)
    controls = learn.Controls(layer=1, head=1, position=n_tokens // 2, temperature=0.8, top_k=10, top_p=0.9)
    repeats = 5 if quick else 15
    watch = Stopwatch(warmup=2)
    sizes = []  # the bytes of one page: the same in every round
    with KeptThreadCount() as kept:
        for _ in watch.rounds(repeats):
            views = learn.views(handle, refs, sentence, controls, "en", client)  # every section
            watch.lap("views")
            sizes.append(serialised(views))  # what Gradio then does with the figures
            watch.lap("json")
            learn.run_trace(handle, learn.read(handle, sentence))  # the one forward pass, alone
            watch.lap("trace")
            serialised(learn.views(handle, refs, sentence, controls, "en", client, names=learn.FOCUS_VIEWS))
            watch.lap("focus")
            serialised(learn.views(handle, refs, sentence, controls, "en", client, names=learn.SAMPLING_VIEWS))
            watch.lap("sampling")
    ms = watch.median_ms("views", "json")
    section = Section(f"Learn tab: the whole page for a {n_tokens}-token sentence")
    section.row(
        "server-side ms: every section (ui.learn.views) + fig.to_json()",
        None,
        ms,
        None,
        f"<= {TARGET_MS:.0f} ms",
        ms <= TARGET_MS,
        unit="ms",
    )
    section.row("  of which the views (one trace, every figure and table)", None, watch.median_ms("views"), unit="ms")
    section.row("  of which fig.to_json() (Gradio's serialisation)", None, watch.median_ms("json"), unit="ms")
    section.row("  the trace (one forward pass with every tap) alone", None, watch.median_ms("trace"), unit="ms")
    section.row(
        "another layer, head or token: sections 4-8 and dropout, + JSON", None, watch.median_ms("focus"), unit="ms"
    )
    section.row("other sampling settings: section 9, + JSON", None, watch.median_ms("sampling"), unit="ms")
    c = handle.config
    section.notes += [
        f"Model: {desc}: {c.n_layer} layers x {c.n_head} heads x {c.n_embd} wide, block {c.block_size}, "
        f"{c.vocab_size} tokens ({handle.tokenizer.kind}).",
        f"Median of {repeats} calls after 2 warm-up calls, with the app's request policy of {kept.left} torch "
        f"thread(s); English, a 1400-px window; {median(sizes) / 1000:.0f} kB sent to the browser per page.",
    ]
    section.json = {
        "learn_page_ms": ms,
        "learn_trace_ms": watch.median_ms("trace"),
        "learn_focus_ms": watch.median_ms("focus"),
        "learn_sampling_ms": watch.median_ms("sampling"),
    }
    return section


if __name__ == "__main__":
    standalone(run, __doc__.splitlines()[0])
