"""The Generate tab: continue a prompt, token by token, and see the odds of the next one."""

from __future__ import annotations

import random
from dataclasses import dataclass

import gradio as gr

from . import generation, limits, watch
from .context import AppContext
from .errors import user_errors
from .gpu import on_gpu
from .i18n import language, static
from .sessions import session_id


@dataclass
class GenerateTab:
    prompt: gr.Textbox
    output: gr.Textbox
    relabel: dict  # an event spec: the next-token figure again, in the page's language (after a switch)


def build(ctx: AppContext) -> GenerateTab:
    with gr.Tab(static("tab.generate"), id="generate"):
        gr.Markdown(static("generate.intro"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                prompt = gr.Textbox(
                    value=ctx.registry.default.prompt,
                    label=static("generate.prompt"),
                    lines=3,
                    max_lines=8,
                    elem_id="prompt",
                )
                prompt_surprise = gr.HTML(elem_id="prompt-surprise")
                max_new_tokens = gr.Slider(0, limits.MAX_NEW_TOKENS, value=300, step=10, label="max_new_tokens")
                temperature = gr.Slider(
                    0.0,
                    2.0,
                    value=0.8,
                    step=0.05,
                    label=static("generate.temperature"),
                    info=static("generate.temperature.info"),
                )
                with gr.Row():
                    top_k = gr.Slider(0, 100, value=0, step=1, label="top_k", info=static("generate.top_k.info"))
                    top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="top_p", info=static("generate.top_p.info"))
                with gr.Row(equal_height=True):
                    seed = gr.Number(value=1337, precision=0, minimum=0, label=static("generate.seed"), scale=3)
                    reseed = gr.Button(static("generate.new_seed"), size="sm", scale=1)
                with gr.Row():
                    run = gr.Button(static("generate.run"), variant="primary", elem_id="generate-button")
                    stop = gr.Button(static("generate.stop"), variant="stop")
            with gr.Column(scale=3, min_width=300):
                output = gr.Textbox(
                    label=static("generate.output"),
                    info=static("generate.output.info"),
                    lines=12,
                    max_lines=20,
                    interactive=False,
                    elem_id="generated",
                )
                bars = gr.Plot(label=static("generate.plot"), show_label=False, elem_id="next-token-plot")

    settings_inputs = [max_new_tokens, temperature, top_k, top_p, seed]

    @user_errors
    @on_gpu(duration=60)
    def generate(
        prompt, max_new_tokens=300, temperature=0.8, top_k=0, top_p=1.0, seed=1337, request: gr.Request = None
    ):
        """Continue `prompt`; streams prompt + continuation. top_k=0 and top_p=1.0 mean off."""
        settings = generation.parse_sampling(prompt, max_new_tokens, temperature, top_k, top_p, seed)
        yield from generation.stream_text(ctx.registry.model(session_id(request)), settings)

    def draw_next_tokens(text, max_new_tokens, temperature, top_k, top_p, seed, request):
        settings = generation.parse_sampling(text, max_new_tokens, temperature, top_k, top_p, seed)
        handle = ctx.registry.model(session_id(request))
        return generation.next_token_figure(handle, text, settings, lang=language(request))

    @user_errors
    @on_gpu(duration=30)
    def next_tokens(text, max_new_tokens, temperature, top_k, top_p, seed, request: gr.Request = None):
        return draw_next_tokens(text, max_new_tokens, temperature, top_k, top_p, seed, request)

    @on_gpu(duration=30)
    def redraw_next_tokens(text, max_new_tokens, temperature, top_k, top_p, seed, prompt, request: gr.Request = None):
        """The figure and the prompt's surprise again, in the page's language (after a switch): only once
        a text was generated, and never a toast, since it runs without anyone asking."""
        if not text:
            return gr.skip(), gr.skip()
        try:
            bars = draw_next_tokens(text, max_new_tokens, temperature, top_k, top_p, seed, request)
        except ValueError:
            bars = gr.skip()
        return bars, prompt_strip(prompt, request)

    def prompt_strip(prompt, request):
        """The prompt's tokens coloured by the model's surprise; never a toast (it runs after a
        generation, whose own errors are said once)."""
        if not isinstance(prompt, str) or not prompt:
            return gr.skip()
        try:
            return watch.prompt_strip(ctx.registry.model(session_id(request)), prompt, language(request))
        except ValueError:
            return gr.skip()

    @on_gpu(duration=30)
    def surprise_of(prompt, request: gr.Request = None):
        return prompt_strip(prompt, request)

    inference = dict(concurrency_id="inference", concurrency_limit=ctx.policy.inference_concurrency)
    event = gr.on(
        [run.click, prompt.submit],
        generate,
        [prompt, *settings_inputs],
        output,
        api_name="generate",
        preprocess=False,
        show_progress="minimal",
        **inference,
    )
    event.success(
        next_tokens,
        [output, *settings_inputs],
        bars,
        api_visibility="private",
        preprocess=False,
        show_progress="hidden",
        **inference,
    )
    event.success(
        surprise_of,
        prompt,
        prompt_surprise,
        api_visibility="private",
        preprocess=False,
        show_progress="hidden",
        **inference,
    )
    stop.click(None, cancels=[event])
    reseed.click(lambda: random.randrange(generation.MAX_SEED), None, seed, api_visibility="private", queue=False)
    relabel = dict(
        fn=redraw_next_tokens,
        inputs=[output, *settings_inputs, prompt],
        outputs=[bars, prompt_surprise],
        api_visibility="private",
        preprocess=False,
        show_progress="hidden",
        **inference,
    )
    return GenerateTab(prompt=prompt, output=output, relabel=relabel)
