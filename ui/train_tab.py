"""The Train tab: text, tokenizer, model size, Start/Stop, and the run as it happens."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gpt.presets import DEFAULT_PRESET, PRESETS
from gpt.presets import preset as preset_settings
from gpt.settings import FORM_FIELDS, TrainingSettings
from viz import loss_curve

from . import checkpoints, plan, train_form, training
from .context import AppContext
from .errors import user_errors
from .sessions import session_id

INTRO = """
**Train a GPT on any text, live.** Pick a text and a model size, press **Train**, and watch three things:
the **loss** (how surprised the model is by the next token: it falls as the model learns), the **samples**
(noise, then letters, then words) and the **attention** of one layer on a fixed sentence (each head starts
uniform and learns where to look). **Stop** keeps the model as it is; either way it becomes *your* model for
the other tabs. {at_once}; others wait in line.
"""


@dataclass
class TrainTab:
    text: gr.Textbox
    status: gr.Markdown
    n_layer: gr.Slider
    event: object  # the training event, for app.py to chain the model refresh on
    corpus: object  # () -> the bundled text, filled in on page load (it is 1 MB; the API's text has no default)


def _form_input(name: str, value):
    """The input for one field of the training form, built from its Setting."""
    spec = TrainingSettings.spec(name)
    label, elem_id = spec.label or name, TrainingSettings.flag(name).removeprefix("--")
    if spec.form == "choice":
        return gr.Radio(list(spec.choices), value=value, label=label, info=spec.help, elem_id=elem_id)
    if spec.form == "number":
        return gr.Number(value=value, label=label, info=spec.help, elem_id=elem_id)
    minimum, maximum, step = spec.form
    maximum = train_form.app_range(name)[1] if maximum is None else maximum
    return gr.Slider(minimum, maximum, value=value, step=step, label=label, info=spec.help, elem_id=elem_id)


def build(ctx: AppContext) -> TrainTab:
    defaults = train_form.DEFAULTS
    with gr.Tab("Train", id="train"):
        gr.Markdown(INTRO.format(at_once="One training runs at a time" if ctx.queue.slots == 1 else f"{ctx.queue.slots} trainings run at a time"))
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                text = gr.Textbox(label="Training text", lines=5, max_lines=8, placeholder="Paste some text here…")
                with gr.Row():
                    use_corpus = gr.Button("Use Shakespeare (1 MB)", size="sm")
                    upload = gr.UploadButton("Upload .txt", file_types=[".txt"], size="sm")
                    clear = gr.Button("Clear", size="sm")
                info = gr.State(ctx.corpus_info)
                text_stats = gr.Markdown(plan.describe_text(ctx.corpus_info), elem_classes="hint")
                form = {"tokenizer": _form_input("tokenizer", defaults.tokenizer)}
                preset = gr.Radio(
                    list(PRESETS),
                    value=DEFAULT_PRESET,
                    label="Model size",
                    info=plan.PRESET_NOTES[DEFAULT_PRESET],
                )
                summary = gr.Markdown(plan.plan_summary(ctx.timer, ctx.corpus_info, defaults), elem_classes="plan")
                with gr.Row():
                    start = gr.Button("Train", variant="primary", elem_id="train-button")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop-button")
                with gr.Accordion("Advanced settings", open=False, elem_id="advanced"):
                    numbers = [name for name in FORM_FIELDS if name not in form]
                    for pair in (numbers[i : i + 2] for i in range(0, len(numbers), 2)):
                        with gr.Row():
                            for name in pair:
                                form[name] = _form_input(name, getattr(defaults, name))
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
                    defaults.n_layer - 1,
                    value=0,
                    step=1,
                    label="Layer to watch",
                    info="the attention below is this layer's, refreshed at each evaluation",
                )
                probe = gr.Plot(label="attention", show_label=False, elem_id="probe-plot")

    inputs = [form[name] for name in FORM_FIELDS]

    # --- logic wired to the components ---------------------------------------------------

    def analyse(new_text):
        text_info = plan.text_info(new_text)
        return text_info, plan.describe_text(text_info, new_text)

    @user_errors
    def load_txt(path):
        new_text = checkpoints.read_text_upload(path)
        return (new_text, *analyse(new_text))

    def apply_preset(name):
        chosen = preset_settings(name)
        values = [gr.skip() if n == "tokenizer" else getattr(chosen, n) for n in FORM_FIELDS]
        return gr.Radio(info=plan.PRESET_NOTES[name]), *values

    def summarise(text_info, *values):
        return plan.form_summary(ctx.timer, text_info, dict(zip(FORM_FIELDS, values)))

    @user_errors
    def train(
        text,
        tokenizer=defaults.tokenizer,
        n_layer=defaults.n_layer,
        n_head=defaults.n_head,
        n_embd=defaults.n_embd,
        block_size=defaults.block_size,
        max_steps=defaults.max_steps,
        batch_size=defaults.batch_size,
        learning_rate=defaults.learning_rate,
        dropout=defaults.dropout,
        time_budget_s=defaults.time_budget_s,
        warmup_steps=defaults.warmup_steps,
        watch_layer=0,
        request: gr.Request = None,
    ):
        """Train a new model on `text` and make it this session's model; streams progress."""
        arguments = locals()
        parsed = train_form.parse_request(text, watch_layer, **{name: arguments[name] for name in FORM_FIELDS})
        for update in training.train(ctx.registry, ctx.queue, ctx.timer, session_id(request), parsed):
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
    preset.change(apply_preset, preset, [preset, *inputs], **light)
    gr.on(
        [info.change, *(c.change for c in inputs)],
        summarise,
        [info, *inputs],
        summary,
        trigger_mode="always_last",
        **light,
    )
    form["n_layer"].change(
        lambda n: gr.Slider(maximum=max(int(n) - 1, 0), value=0), form["n_layer"], watch_layer, **light
    )
    watch_layer.change(watch, watch_layer, None, **light)

    event = start.click(
        train,
        [text, *inputs, watch_layer],
        [status, loss, samples, probe],
        api_name="train",
        preprocess=False,
        # No limit in Gradio: a limit would hold the calls beyond it in Gradio's own queue, unseen
        # by ours (no "Waiting" message, no refusal, Stop unable to find them). Our TrainingQueue
        # orders them, refuses beyond its cap at once, and holds at most slots + cap of them.
        concurrency_id="train",
        concurrency_limit=None,
        show_progress="minimal",
        show_progress_on=[status],
    )
    stop.click(stop_run, None, status, api_name="stop_training", queue=False)
    return TrainTab(text=text, status=status, n_layer=form["n_layer"], event=event, corpus=lambda: ctx.corpus)
