"""The Attention tab: where each head of each layer looks, for a text you type."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import attention
from .clients import plot_width
from .context import AppContext
from .errors import user_errors
from .gpu import on_gpu
from .i18n import language, static
from .sessions import session_id
from .widgets import index_slider


@dataclass
class AttentionTab:
    text: gr.Textbox
    layer: gr.Slider
    head: gr.Slider
    refresh: tuple  # (fn, inputs, outputs): redraw every view, for page load, a new model and a new language
    relabel: dict  # an event spec: what else the server wrote, in the page's language (after a switch)


def build(ctx: AppContext) -> AttentionTab:
    config, example = ctx.registry.default.config, ctx.registry.default.example
    with gr.Tab(static("tab.attention"), id="attention"):
        gr.Markdown(static("attention.intro"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=300):
                text = gr.Textbox(
                    value=example, label=static("attention.text"), lines=2, max_lines=5, elem_id="attention-text"
                )
            with gr.Column(scale=1, min_width=160):
                show = gr.Button(static("attention.show"), variant="primary", elem_id="attention-button")
        tokens = gr.HTML(elem_id="tokens")
        layer = index_slider(
            config.n_layer,
            elem_id="attention-layer",
            label=static("attention.layer"),
            info=static("attention.layer.info"),
        )
        grid = gr.Plot(label=static("attention.grid"), show_label=False, elem_id="attention-grid")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=160):
                head = index_slider(
                    config.n_head,
                    elem_id="attention-head-index",
                    label=static("attention.head"),
                    info=static("attention.head.info"),
                )
            with gr.Column(scale=4, min_width=300):
                single = gr.Plot(show_label=False, elem_id="attention-head")
        with gr.Accordion(static("attention.overview"), open=False) as overview_box:
            overview = gr.Plot(show_label=False, elem_id="attention-overview")
        overview_open = gr.State(False)

    def model(request):
        return ctx.registry.model(session_id(request))

    def widths(request) -> tuple[int | None, int | None]:
        """The grid's width (the whole row) and the single head's (four fifths of it), for this tab."""
        client = ctx.clients.get(session_id(request))
        return plot_width(client), plot_width(client, share=4 / 5)

    @user_errors
    @on_gpu(duration=30)
    def attention_grid(text, layer=0, request: gr.Request = None):
        """Every head of one layer as heatmaps (rows: query tokens, columns: key tokens)."""
        return attention.grid_figure(model(request), text, layer, widths(request)[0], language(request))

    @on_gpu(duration=30)
    def tokens_and_head(text, layer, head, request: gr.Request = None):
        """Runs beside attention_grid on the same triggers: a bad text is said once, by the grid's
        toast; here it only becomes the tokens area's note."""
        handle, lang = model(request), language(request)
        try:
            single = attention.head_figure(handle, text, layer, head, widths(request)[1], lang)
            return attention.tokens_html(handle, text, lang), single
        except ValueError as exc:
            return attention.note_html(exc, lang), gr.skip()

    @user_errors
    @on_gpu(duration=30)
    def one_head(text, layer, head, request: gr.Request = None):
        return attention.head_figure(model(request), text, layer, head, widths(request)[1], language(request))

    @on_gpu(duration=30)
    def all_layers(text, is_open, request: gr.Request = None):
        if not is_open:  # drawn only while its accordion is open: it is the heaviest figure
            return gr.skip()
        try:
            return attention.overview_figure(model(request), text, language(request))
        except ValueError:  # said by the grid's toast, or the tokens area's note
            return gr.skip()

    @on_gpu(duration=30)
    def views(text, layer, head, request: gr.Request = None):
        """Every view redrawn for the session's model (page load, a new model). Never raises: it runs
        without anyone asking, so a text the model cannot read is said in the tokens area, not a toast."""
        handle, (grid_width, head_width), lang = model(request), widths(request), language(request)
        layer = min(int(layer or 0), handle.config.n_layer - 1)
        head = min(int(head or 0), handle.config.n_head - 1)
        try:
            return (
                attention.tokens_html(handle, text, lang),
                attention.grid_figure(handle, text, layer, grid_width, lang),
                attention.head_figure(handle, text, layer, head, head_width, lang),
            )
        except ValueError as exc:
            return attention.note_html(exc, lang), gr.skip(), gr.skip()

    # A slider moved quickly fires many events: "always_last" runs at most one at a time per view
    # and then only the latest, so the last move wins and no stale answer arrives after it.
    inference = dict(
        concurrency_id="inference",
        concurrency_limit=ctx.policy.inference_concurrency,
        preprocess=False,
        trigger_mode="always_last",
    )
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
    relabel = dict(fn=all_layers, inputs=[text, overview_open], outputs=overview, **private)
    return AttentionTab(
        text=text,
        layer=layer,
        head=head,
        refresh=(views, [text, layer, head], [tokens, grid, single]),
        relabel=relabel,
    )
