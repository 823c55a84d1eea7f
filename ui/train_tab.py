"""The Train tab: text, tokenizer, model size, Start/Stop, and the run as it happens."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from viz import loss_curve

from . import checkpoints, limits, plan, training
from .context import AppContext
from .errors import user_errors
from .sessions import session_id

INTRO = """
**Train a GPT on any text, live.** Pick a text and a model size, press **Train**, and watch three things:
the **loss** (how surprised the model is by the next token: it falls as the model learns), the **samples**
(noise, then letters, then words) and the **attention** of one layer on a fixed sentence (each head starts
uniform and learns where to look). **Stop** keeps the model as it is; either way it becomes *your* model for
the other tabs. One training runs at a time; others wait in line.
"""

TOKENIZER_INFO = (
    "char: one token per character, as in the lecture. bpe: GPT-2's word pieces (bigger vocabulary, more parameters)."
)


@dataclass
class TrainTab:
    text: gr.Textbox
    status: gr.Markdown
    n_layer: gr.Slider
    event: object  # the training event, for app.py to chain the model refresh on
    corpus: object  # () -> the bundled text, filled in on page load (it is 1 MB; the API's text has no default)


def build(ctx: AppContext) -> TrainTab:
    preset0 = plan.PRESETS[plan.DEFAULT_PRESET]
    initial_plan = plan.plan_summary(
        ctx.timer,
        ctx.corpus_info,
        "char",
        preset0.n_layer,
        preset0.n_head,
        preset0.n_embd,
        preset0.block_size,
        preset0.batch_size,
        preset0.max_steps,
        preset0.time_budget_s,
    )
    with gr.Tab("Train", id="train"):
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                text = gr.Textbox(label="Training text", lines=5, max_lines=8, placeholder="Paste some text here…")
                with gr.Row():
                    use_corpus = gr.Button("Use Shakespeare (1 MB)", size="sm")
                    upload = gr.UploadButton("Upload .txt", file_types=[".txt"], size="sm")
                    clear = gr.Button("Clear", size="sm")
                info = gr.State(ctx.corpus_info)
                text_stats = gr.Markdown(plan.describe_text(ctx.corpus_info), elem_classes="hint")
                tokenizer = gr.Radio(["char", "bpe"], value="char", label="Tokenizer", info=TOKENIZER_INFO)
                preset = gr.Radio(
                    list(plan.PRESETS),
                    value=plan.DEFAULT_PRESET,
                    label="Model size",
                    info=plan.PRESET_NOTES[plan.DEFAULT_PRESET],
                )
                summary = gr.Markdown(initial_plan, elem_classes="plan")
                with gr.Row():
                    start = gr.Button("Train", variant="primary", elem_id="train-button")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop-button")
                with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
                    with gr.Row():
                        n_layer = gr.Slider(
                            1, 12, value=preset0.n_layer, step=1, label="n_layer", info="blocks stacked"
                        )
                        n_head = gr.Slider(1, 12, value=preset0.n_head, step=1, label="n_head", info="heads per block")
                    with gr.Row():
                        n_embd = gr.Slider(
                            16, 768, value=preset0.n_embd, step=16, label="n_embd", info="width (÷ n_head)"
                        )
                        block_size = gr.Slider(
                            8,
                            limits.MAX_BLOCK_SIZE,
                            value=preset0.block_size,
                            step=8,
                            label="block_size",
                            info="context, in tokens",
                        )
                    with gr.Row():
                        batch_size = gr.Slider(
                            1, limits.MAX_BATCH_SIZE, value=preset0.batch_size, step=1, label="batch_size"
                        )
                        dropout = gr.Slider(0.0, 0.5, value=preset0.dropout, step=0.05, label="dropout")
                    with gr.Row():
                        max_steps = gr.Slider(
                            10,
                            limits.MAX_STEPS,
                            value=preset0.max_steps,
                            step=10,
                            label="max_steps",
                            elem_id="max-steps",
                        )
                        time_budget = gr.Slider(
                            5,
                            limits.MAX_TRAIN_SECONDS,
                            value=preset0.time_budget_s,
                            step=5,
                            label="time budget (s)",
                            elem_id="time-budget",
                        )
                    learning_rate = gr.Number(
                        value=preset0.learning_rate,
                        label="learning_rate",
                        info="peak, after warm-up; cosine decay to a tenth",
                    )
            with gr.Column(scale=3, min_width=300):
                status = gr.Markdown(
                    "Press **Train** to start. The `fast` preset shows results in seconds.",
                    label="status",
                    elem_id="train-status",
                )
                loss = gr.Plot(loss_curve([], [], [], []), label="loss", show_label=False, elem_id="loss-plot")
                samples = gr.Textbox(
                    label="Samples",
                    info="what the model writes at each evaluation, newest first",
                    lines=7,
                    max_lines=12,
                    interactive=False,
                    elem_id="samples",
                )
                watch_layer = gr.Slider(
                    0,
                    preset0.n_layer - 1,
                    value=0,
                    step=1,
                    label="Layer to watch",
                    info="the attention below is this layer's, refreshed at each evaluation",
                )
                probe = gr.Plot(label="attention", show_label=False, elem_id="probe-plot")

    sizes = [n_layer, n_head, n_embd, block_size, batch_size, max_steps, time_budget]

    # --- logic wired to the components ---------------------------------------------------

    def analyse(new_text):
        text_info = plan.text_info(new_text)
        return text_info, plan.describe_text(text_info, new_text)

    @user_errors
    def load_txt(path):
        new_text = checkpoints.read_text_upload(path)
        return (new_text, *analyse(new_text))

    def apply_preset(name):
        values = plan.preset_values(name)
        return (
            gr.Radio(info=plan.PRESET_NOTES[name]),
            *(
                values[k]
                for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_steps", "time_budget_s")
            ),
            values["learning_rate"],
            values["dropout"],
        )

    def summarise(text_info, tokenizer_kind, *size_values):
        n_layer_, n_head_, n_embd_, block_size_, batch_size_, max_steps_, budget_ = size_values
        return plan.plan_summary(
            ctx.timer,
            text_info,
            tokenizer_kind,
            n_layer_,
            n_head_,
            n_embd_,
            block_size_,
            batch_size_,
            max_steps_,
            budget_,
        )

    @user_errors
    def train(
        text,
        tokenizer="char",
        n_layer=preset0.n_layer,
        n_head=preset0.n_head,
        n_embd=preset0.n_embd,
        block_size=preset0.block_size,
        max_steps=preset0.max_steps,
        batch_size=preset0.batch_size,
        learning_rate=preset0.learning_rate,
        dropout=preset0.dropout,
        time_budget_s=preset0.time_budget_s,
        watch_layer=0,
        request: gr.Request = None,
    ):
        """Train a new model on `text` and make it this session's model; streams progress."""
        settings = training.parse_settings(
            text,
            tokenizer,
            n_layer,
            n_head,
            n_embd,
            block_size,
            max_steps,
            batch_size,
            learning_rate,
            dropout,
            time_budget_s,
            watch_layer,
        )
        for update in training.train(ctx.registry, ctx.queue, ctx.timer, session_id(request), settings):
            yield tuple(
                gr.skip() if v is None else v for v in (update.status, update.loss, update.samples, update.attention)
            )

    def stop_run(request: gr.Request = None):
        """Stop this session's training after the current step (or leave the queue)."""
        return training.stop_training(ctx.registry, ctx.queue, session_id(request))

    def watch(layer, request: gr.Request = None):
        training.set_watch_layer(ctx.registry, session_id(request), layer)

    light = dict(concurrency_limit=None, api_visibility="private", show_progress="hidden")
    use_corpus.click(
        lambda: (ctx.corpus, ctx.corpus_info, plan.describe_text(ctx.corpus_info)),
        None,
        [text, info, text_stats],
        **light,
    )
    clear.click(lambda: ("", None, plan.describe_text(None)), None, [text, info, text_stats], **light)
    upload.upload(load_txt, upload, [text, info, text_stats], **light)
    text.blur(analyse, text, [info, text_stats], **light)
    preset.change(apply_preset, preset, [preset, *sizes, learning_rate, dropout], **light)
    gr.on(
        [info.change, tokenizer.change, *(c.change for c in sizes)],
        summarise,
        [info, tokenizer, *sizes],
        summary,
        trigger_mode="always_last",
        **light,
    )
    n_layer.change(lambda n: gr.Slider(maximum=max(int(n) - 1, 0), value=0), n_layer, watch_layer, **light)
    watch_layer.change(watch, watch_layer, None, **light)

    event = start.click(
        train,
        [
            text,
            tokenizer,
            n_layer,
            n_head,
            n_embd,
            block_size,
            max_steps,
            batch_size,
            learning_rate,
            dropout,
            time_budget,
            watch_layer,
        ],
        [status, loss, samples, probe],
        api_name="train",
        preprocess=False,
        concurrency_id="train",
        concurrency_limit=limits.MAX_WAITING_TRAININGS + 1,  # our TrainingQueue orders them
        show_progress="minimal",
        show_progress_on=[status],
    )
    stop.click(stop_run, None, status, api_name="stop_training", queue=False)
    return TrainTab(text=text, status=status, n_layer=n_layer, event=event, corpus=lambda: ctx.corpus)
