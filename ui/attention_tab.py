"""The Attention tab: where each head of each layer looks, for a text you type."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import attention, threads
from .context import AppContext
from .errors import user_errors
from .gpu import on_gpu
from .sessions import session_id

INTRO = """
**What is attention?** Each token builds a *query* ("what am I looking for?"), and every token up to it offers a
*key* ("what do I contain?") and a *value* ("what I pass on"). A head compares the query with each key, turns
the scores into weights that add up to 1 (a softmax) and takes the weighted mix of values. Below, a **row** is a
token doing the looking and the **columns** are the tokens it looks at; bright cells carry most weight. The
upper triangle stays dark: a token never sees the future. Different heads learn different habits: look at the
previous character, at the start of the word, at the last space, at the line's speaker…
"""

DEFAULT_TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?"


@dataclass
class AttentionTab:
    layer: gr.Slider
    head: gr.Slider
    refresh: tuple  # (fn, inputs, outputs): redraw every view, for page load and a new model


def build(ctx: AppContext) -> AttentionTab:
    config = ctx.registry.default.config
    with gr.Tab("Attention", id="attention"):
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=300):
                text = gr.Textbox(
                    value=DEFAULT_TEXT, label="Text to look at", lines=2, max_lines=5, elem_id="attention-text"
                )
            with gr.Column(scale=1, min_width=160):
                show = gr.Button("Show attention", variant="primary", elem_id="attention-button")
        tokens = gr.HTML(elem_id="tokens")
        layer = gr.Slider(
            0,
            config.n_layer - 1,
            value=0,
            step=1,
            label="Layer",
            info="layer 0 reads the raw tokens; later layers read what earlier ones wrote",
        )
        grid = gr.Plot(label="attention grid", show_label=False, elem_id="attention-grid")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=160):
                head = gr.Slider(
                    0,
                    config.n_head - 1,
                    value=0,
                    step=1,
                    label="Head",
                    info="one head, large: hover a cell for query, key and weight",
                )
            with gr.Column(scale=4, min_width=300):
                single = gr.Plot(show_label=False, elem_id="attention-head")
        with gr.Accordion("All layers × all heads", open=False) as overview_box:
            overview = gr.Plot(show_label=False, elem_id="attention-overview")
        overview_open = gr.State(False)

    def model(request):
        return ctx.registry.model(session_id(request))

    @user_errors
    @on_gpu(duration=30)
    def attention_grid(text, layer=0, request: gr.Request = None):
        """Every head of one layer as heatmaps (rows: query tokens, columns: key tokens)."""
        return attention.grid_figure(model(request), text, layer)

    @user_errors
    @on_gpu(duration=30)
    def tokens_and_head(text, layer, head, request: gr.Request = None):
        handle = model(request)
        return attention.tokens_html(handle, text), attention.head_figure(handle, text, layer, head)

    @user_errors
    @on_gpu(duration=30)
    def one_head(text, layer, head, request: gr.Request = None):
        return attention.head_figure(model(request), text, layer, head)

    @user_errors
    @on_gpu(duration=30)
    def all_layers(text, is_open, request: gr.Request = None):
        if not is_open:  # drawn only while its accordion is open: it is the heaviest figure
            return gr.skip()
        return attention.overview_figure(model(request), text)

    @user_errors
    @on_gpu(duration=30)
    def views(text, layer, head, request: gr.Request = None):
        handle = model(request)
        layer = min(int(layer), handle.config.n_layer - 1)
        head = min(int(head), handle.config.n_head - 1)
        return (
            attention.tokens_html(handle, text),
            attention.grid_figure(handle, text, layer),
            attention.head_figure(handle, text, layer, head),
        )

    inference = dict(concurrency_id="inference", concurrency_limit=threads.INFERENCE_CONCURRENCY, preprocess=False)
    private = dict(api_visibility="private", show_progress="hidden", **inference)
    triggers = [show.click, text.submit, layer.release]
    gr.on(triggers, attention_grid, [text, layer], grid, api_name="attention", show_progress="minimal", **inference)
    gr.on(triggers, tokens_and_head, [text, layer, head], [tokens, single], **private)
    head.release(one_head, [text, layer, head], single, **private)
    overview_box.expand(lambda: True, None, overview_open, queue=False, api_visibility="private").then(
        all_layers, [text, overview_open], overview, **private
    )
    overview_box.collapse(lambda: False, None, overview_open, queue=False, api_visibility="private")
    gr.on([show.click, text.submit], all_layers, [text, overview_open], overview, **private)
    return AttentionTab(layer=layer, head=head, refresh=(views, [text, layer, head], [tokens, grid, single]))
