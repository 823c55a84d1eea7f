"""The Learn tab ("Aprende"): how this GPT works, one idea per section, each beside its equation,
the lines of Mirador's code that compute it, and live figures from the session's model on the
visitor's own sentence.

The texts are static (locales/learn_*.py, translated in the browser); the code is read from the
library when the app starts (ui/learn_code.py); the figures are drawn by ui/learn.py from one
trace of the sentence, in the page's language. Nothing is computed until the tab is first
opened; after that, a new model (trained, uploaded, reset) or a language switch redraws it.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from locales import error_text
from viz.learn_tables import CSS as TABLES_CSS
from viz.learn_tables import note_html

from . import learn
from .context import AppContext
from .examples import encodes
from .gpu import on_gpu
from .i18n import language, static
from .learn_code import section_code
from .sessions import session_id
from .widgets import index_slider

# Display equations: symbols only, the same in every language (the texts explain them). Each
# $$…$$ is one line, so that a phone wraps between them instead of scrolling sideways.
EQUATIONS = {
    1: r"$$E \in \mathbb{R}^{V \times C}, \qquad \text{logits} = x\,E^{\top}$$",
    2: r"$$\mathcal{L}_{\text{uniform}} = -\ln \tfrac{1}{V} = \ln V$$",
    3: "$$x_t = E[\\,\\text{id}_t\\,] + P[\\,t\\,]$$\n\n"
    "$$\\cos(P_i, P_j) = \\frac{P_i \\cdot P_j}{\\lVert P_i \\rVert\\, \\lVert P_j \\rVert}$$",
    4: "$$\\text{Attention}(Q,K,V) = \\text{softmax}\\!\\left(\\frac{QK^{\\top}}{\\sqrt{d}} + M\\right)V$$\n\n"
    "$$M_{ij} = \\begin{cases} 0 & j \\le i \\\\ -\\infty & j > i \\end{cases}$$",
    5: r"$$\text{MultiHead}(x) = \text{Concat}(\text{head}_1, \dots, \text{head}_h)\,W^{O}$$",
    6: "$$\\text{FFN}(x) = \\text{GELU}(x W_1 + b_1)\\,W_2 + b_2$$\n\n"
    "$$W_1 \\in \\mathbb{R}^{C \\times 4C}, \\qquad \\text{GELU}(u) = u\\,\\Phi(u)$$",
    7: "$$x \\leftarrow x + \\text{Attn}(\\text{LN}_1(x))$$\n\n"
    "$$x \\leftarrow x + \\text{MLP}(\\text{LN}_2(x))$$\n\n"
    "$$\\text{LN}(x) = \\gamma \\odot \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + \\beta$$",
    8: r"$$\text{logits}_{\ell} = \text{LN}_f(x_{\ell})\,E^{\top}$$",
    9: r"$$p_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}$$",
    10: "$$\\mathcal{L} = -\\frac{1}{N}\\sum_{t} \\ln p(x_{t+1} \\mid x_{\\le t})$$\n\n"
    "$$\\tilde{h} = \\frac{m \\odot h}{1-p}, \\quad m_i \\sim \\text{Bernoulli}(1-p)$$",
}
DISPLAY_MATH = [{"left": "$$", "right": "$$", "display": True}]
INLINE_MATH = [{"left": "$", "right": "$", "display": False}]

# Each section's views, a row of the page per inner tuple (two views share a row on a wide screen).
LAYOUT = {
    1: (("tokens",),),
    2: (("bigram", "bigram_stats"),),
    3: (("embeddings", "positions"),),
    4: (("qkv",), ("scores",), ("softmax", "weighted_sum")),
    5: (("heads",), ("projection",)),
    6: (("gelu", "units"),),
    7: (("stream_norm", "layernorm"),),
    8: (("logit_lens",),),
    9: (("sampling",),),
    10: (("surprise", "dropout"),),
}
HTML_VIEWS = {"tokens", "bigram_stats", "logit_lens"}
assert {v for rows in LAYOUT.values() for row in rows for v in row} | {"note"} == set(learn.VIEWS)
# The sampling sliders, as on the Generate tab.
TEMPERATURE = dict(minimum=0.0, maximum=2.0, value=0.8, step=0.05)
TOP_K = dict(minimum=0, maximum=100, value=0, step=1)
TOP_P = dict(minimum=0.05, maximum=1.0, value=1.0, step=0.05)


@dataclass
class LearnTab:
    text: gr.Textbox
    refresh: tuple  # (fn, inputs, outputs): redraw for the session's model, once the tab has been opened


# The layer, head and token sliders: their label and help (keys written out, so a test finds them).
SLIDER_TEXTS = {
    "layer": ("learn.layer.label", "learn.layer.info"),
    "head": ("learn.head.label", "learn.head.info"),
    "position": ("learn.position.label", "learn.position.info"),
}


def _slider(kind: str, count: int, value=0) -> gr.Slider:
    """The layer, head or position (token) slider, or its update: one of count, numbered from 0."""
    label, info = SLIDER_TEXTS[kind]
    return index_slider(count, value, label=static(label), info=static(info), elem_id=f"learn-{kind}")


def _section(n: int) -> None:
    gr.Markdown(static(f"learn.s{n}.title"), elem_id=f"learn-s{n}", elem_classes=["learn-title"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            gr.Markdown(static(f"learn.s{n}.text"), latex_delimiters=INLINE_MATH, elem_classes=["learn-text"])
            gr.Markdown(EQUATIONS[n], latex_delimiters=DISPLAY_MATH, elem_classes=["learn-eq"])
        with gr.Column(scale=1, min_width=300):
            gr.Code(
                section_code(n),
                language="python",
                interactive=False,
                label=static("learn.code.label"),
                wrap_lines=True,
                show_line_numbers=False,
                elem_id=f"learn-code-{n}",
            )


def _views_row(names, views: dict) -> None:
    """Views side by side; each in a column of at least 300 px, so that a phone stacks them."""
    with gr.Row(equal_height=False):
        for name in names:
            elem_id = "learn-" + name.replace("_", "-")
            with gr.Column(min_width=300):
                if name in HTML_VIEWS:
                    views[name] = gr.HTML(elem_id=elem_id, css_template=TABLES_CSS)
                else:
                    views[name] = gr.Plot(show_label=False, elem_id=elem_id)


def build(ctx: AppContext) -> LearnTab:
    refs = learn.references(ctx.corpus)  # once: a BPE fitted to the bundled text reads all of it
    default = ctx.registry.default
    config = default.config
    with gr.Tab(static("tab.learn"), id="learn") as tab:
        gr.Markdown(static("learn.intro"))
        with gr.Row(equal_height=False):
            text = gr.Textbox(
                value=default.example,
                label=static("learn.sentence.label"),
                info=static("learn.sentence.info"),
                lines=2,
                max_lines=4,
                elem_id="learn-text",
                scale=4,
                min_width=280,
            )
            show = gr.Button(static("learn.show"), variant="primary", elem_id="learn-button", scale=1, min_width=140)
        with gr.Row():
            layer = _slider("layer", config.n_layer)
            head = _slider("head", config.n_head)
            tokens = len(learn.read(default, default.example).ids)
            position = _slider("position", tokens, tokens - 1)
        views = {"note": gr.HTML(elem_id="learn-note", css_template=TABLES_CSS)}
        sampling_inputs = []
        for n, rows in LAYOUT.items():
            _section(n)
            if n == 9:
                with gr.Row():
                    sampling_inputs = [
                        gr.Slider(
                            **TEMPERATURE,
                            label=static("learn.sampling.temperature"),
                            info=static("learn.sampling.temperature.info"),
                            elem_id="learn-temperature",
                        ),
                        gr.Slider(
                            **TOP_K,
                            label=static("learn.sampling.top_k"),
                            info=static("learn.sampling.top_k.info"),
                            elem_id="learn-top-k",
                        ),
                        gr.Slider(
                            **TOP_P,
                            label=static("learn.sampling.top_p"),
                            info=static("learn.sampling.top_p.info"),
                            elem_id="learn-top-p",
                        ),
                    ]
            for row in rows:
                _views_row(row, views)
        opened = gr.State(False)

    focus_inputs = [text, layer, head, position]
    all_inputs = focus_inputs + sampling_inputs

    def context(request):
        sid = session_id(request)
        return ctx.registry.model(sid), language(request), ctx.clients.get(sid)

    def controls(layer_, head_, position_, temperature=0.8, top_k=0, top_p=1.0) -> learn.Controls:
        return learn.Controls(layer_, head_, position_, temperature, top_k, top_p)

    def drawn(handle, sentence, names, ctl, lang, client) -> list:
        out = learn.views(handle, refs, sentence, ctl, lang, client, names=names)
        return [out[name] for name in names]

    def position_slider(handle, sentence, value):
        """The token slider for this sentence: its tokens, the chosen one kept (None: the last)."""
        count = len(learn.read(handle, sentence).ids)
        return _slider("position", count, count - 1 if value is None else value)

    @on_gpu(duration=30)
    def look(sentence, layer_, head_, _position, temperature, top_k, top_p, request: gr.Request = None):
        """A new sentence: every view, the chosen token back to the sentence's last."""
        handle, lang, client = context(request)
        try:
            ctl = controls(layer_, head_, None, temperature, top_k, top_p)
            out = drawn(handle, sentence, learn.VIEWS, ctl, lang, client)
            return [position_slider(handle, sentence, None), *out]
        except ValueError as exc:
            return [gr.skip(), note_html(error_text(exc, lang))] + [gr.skip()] * (len(learn.VIEWS) - 1)

    @on_gpu(duration=30)
    def look_closer(sentence, layer_, head_, position_, request: gr.Request = None):
        """Another layer, head or token: the views that depend on them."""
        handle, lang, client = context(request)
        try:
            return drawn(handle, sentence, learn.FOCUS_VIEWS, controls(layer_, head_, position_), lang, client)
        except ValueError:  # the sentence's note already says why
            return [gr.skip()] * len(learn.FOCUS_VIEWS)

    @on_gpu(duration=30)
    def resample(sentence, temperature, top_k, top_p, request: gr.Request = None):
        """Other sampling settings: section 9's figure (one output: the figure itself, not a list)."""
        handle, lang, client = context(request)
        try:
            ctl = controls(0, 0, None, temperature, top_k, top_p)
            return learn.views(handle, refs, sentence, ctl, lang, client, names=("sampling",))["sampling"]
        except ValueError:
            return gr.skip()

    @on_gpu(duration=30)
    def refresh(sentence, layer_, head_, position_, temperature, top_k, top_p, is_open, request: gr.Request = None):
        """The whole page again for the session's model and the page's language (a new model, a
        language switch), once the tab has been opened. Never raises: a sentence the model cannot
        read is replaced by one it can."""
        if not is_open:
            return [gr.skip()] * (4 + len(learn.VIEWS))
        handle, lang, client = context(request)
        if not encodes(handle.tokenizer, sentence):
            sentence = handle.example
        c = handle.config
        sliders = [_slider("layer", c.n_layer, layer_), _slider("head", c.n_head, head_)]
        try:
            ctl = controls(layer_, head_, position_, temperature, top_k, top_p)
            out = drawn(handle, sentence, learn.VIEWS, ctl, lang, client)
            return [sentence, *sliders, position_slider(handle, sentence, position_), *out]
        except ValueError as exc:
            return [sentence, *sliders, gr.skip(), note_html(error_text(exc, lang))] + [gr.skip()] * (
                len(learn.VIEWS) - 1
            )

    view_components = [views[name] for name in learn.VIEWS]
    focus_components = [views[name] for name in learn.FOCUS_VIEWS]
    inference = dict(
        concurrency_id="inference",
        concurrency_limit=ctx.policy.inference_concurrency,
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="always_last",  # a slider moved quickly: the last move wins
    )
    gr.on([show.click, text.submit], look, all_inputs, [position, *view_components], **inference)
    # "input": a drag or a number typed in the slider's box (not the updates a new model makes).
    gr.on([layer.input, head.input, position.input], look_closer, focus_inputs, focus_components, **inference)
    gr.on([s.input for s in sampling_inputs], resample, [text, *sampling_inputs], [views["sampling"]], **inference)
    refresh_outputs = [text, layer, head, position, *view_components]

    def first_look(sentence, layer_, head_, position_, temperature, top_k, top_p, is_open, request: gr.Request = None):
        """The tab opened: drawn the first time only (later, a new model or language redraws it)."""
        if is_open:
            return [gr.skip()] * (len(refresh_outputs) + 1)
        return [*refresh(sentence, layer_, head_, position_, temperature, top_k, top_p, True, request), True]

    tab.select(first_look, [*all_inputs, opened], [*refresh_outputs, opened], **inference)
    return LearnTab(text=text, refresh=(refresh, [*all_inputs, opened], refresh_outputs))
